"""A target's Node.js start-up snapshot (model.NodeSnapshot): the command that builds it
is the runner's own node command, up to its --snapshot-blob, so that the V8 flags match
(Node refuses a snapshot built with other flags, and says only that they differ)."""
from __future__ import annotations

SNAPSHOT_FLAG = "--snapshot-blob"


def runner_problem(runner: list[str], snapshot) -> str | None:
    """Why `runner` cannot start from `snapshot`, or None."""
    pairs = [i for i, a in enumerate(runner[:-1]) if a == SNAPSHOT_FLAG]
    if [runner[i + 1] for i in pairs] != [snapshot.blob]:
        return (f"expected the runner to load node_snapshot.blob once: "
                f"{SNAPSHOT_FLAG} {snapshot.blob!r} among its arguments")
    return None


def build_command(runner: list[str], snapshot, dest: str) -> list[str]:
    """The runner's command up to --snapshot-blob, building the snapshot into `dest`."""
    i = runner.index(SNAPSHOT_FLAG)
    return [*runner[:i], SNAPSHOT_FLAG, dest, "--build-snapshot", snapshot.entry]
