"""Helpers of the end-to-end tests (fixtures are in conftest.py).

One real build per target, shared by every e2e test.

The default CPython source (fetched and verified by `doit source:cpython`) is copied
to a session work dir, so incremental scenarios may edit it freely; the toolchain
root, downloads, ccache and config.cache under the user cache are shared with every
other run on this machine.
"""
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml


PROJECT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT / "tests" / "artifacts"


def doit(*args, check=True, timeout=3600, env=None) -> subprocess.CompletedProcess:
    """doit on the project; `env`: variables added to this process's environment."""
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"),
                          "-d", str(PROJECT), *args], capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, **env} if env else None)
    out.seconds = time.monotonic() - start
    if check and out.returncode != 0:
        raise AssertionError(f"doit {' '.join(args)} failed ({out.returncode}):\n"
                             f"{out.stdout[-4000:]}\n{out.stderr[-6000:]}")
    return out


def start(*args, output: Path) -> subprocess.Popen:
    """doit in the background, in its own process group (so that a signal reaches the
    whole group, as Ctrl-C in a terminal does), its output in `output`."""
    with open(output, "w") as f:
        return subprocess.Popen([sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"),
                                 "-d", str(PROJECT), *args], stdout=f, stderr=subprocess.STDOUT,
                                start_new_session=True)


def wait_for(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def sigkill_during_make(b: "Build", output: Path, compiling) -> str:
    """Start `doit host:<target>` in the background, SIGKILL its whole process group once
    the make-host log (of this run) satisfies `compiling`, and return what doit printed."""
    since = time.time()
    proc = start(f"host:{b.target}", f"cpython={b.source}", output=output)
    task = f"make_host:{b.target}"
    wait_for(lambda: compiling(log_of(b.source, task, since)), 600, f"{task} to compile")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return output.read_text()


def log_path(b_source: Path, task: str) -> Path:
    """Where wasmbuild writes the log of `task` for a source built into its cross-build/."""
    return b_source / "cross-build" / ".wasmbuild" / "logs" / (task.replace(":", "-") + ".log")


def log_of(b_source: Path, task: str, since: float) -> str:
    """The log of `task` if that task started after `since` (else "")."""
    log = log_path(b_source, task)
    try:
        return log.read_text(errors="replace") if log.stat().st_mtime >= since else ""
    except FileNotFoundError:
        return ""


def step_times(out) -> dict[str, str]:
    """'ok make_host:wasi (2m03s)' lines -> {task: time}."""
    return dict(re.findall(r"^ok (\S+) \((\S+)\)$", out.stderr, re.M))


def ran(out) -> list[str]:
    return [line[3:].strip() for line in out.stdout.splitlines() if line.startswith(".  ")]


def record(name: str, data) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "e2e-measurements.json"
    try:
        all_data = json.loads(path.read_text())
    except (OSError, ValueError):
        all_data = {}
    all_data[name] = data
    path.write_text(json.dumps(all_data, indent=1, sort_keys=True))


@dataclass
class Build:
    target: str
    source: Path
    build_dir: Path
    times: dict = field(default_factory=dict)

    @property
    def python_sh(self) -> Path:
        return self.build_dir / "python.sh"

    def py(self, *args, input=None, cwd=None, timeout=600) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.python_sh), *args], capture_output=True, text=True,
                              input=input, cwd=cwd, timeout=timeout)

    def doit(self, *args, check=True):
        return doit(*args, f"cpython={self.source}", check=check)

    def log(self, task: str) -> str:
        """The text of the last log of `task` on this build."""
        return log_path(self.source, task).read_text(errors="replace")


def targets_copy(tmp_path, edit, target="wasm32-wasi.yaml"):
    """A copy of targets/ with `edit` applied to the data of one target's YAML."""
    dest = tmp_path / "targets"
    dest.mkdir()
    for p in (PROJECT / "targets").glob("*.yaml"):
        (dest / p.name).write_text(p.read_text())
    data = yaml.safe_load((dest / target).read_text())
    edit(data)
    (dest / target).write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def default_version() -> str:
    return str(yaml.safe_load((PROJECT / "targets" / "_shared.yaml").read_text())["cpython_version"])


def target_data(target: str) -> dict:
    """The target's YAML data (with its base merged), found by its name."""
    from wasmbuild import config
    for path in config.target_files(PROJECT / "targets"):
        data = config.inherit(path)
        if data.get("name") == target:
            return data
    raise KeyError(target)


def build(target: str, src: Path) -> Build:
    out = doit(f"host:{target}", f"cpython={src}")
    b = Build(target, src, src / "cross-build" / target_data(target)["build_dir"], step_times(out))
    b.times["total"] = f"{out.seconds:.0f}s"
    record(f"build-{target}", b.times)
    return b


def check_regrtest(b: Build, target: str, smoke: str) -> None:
    """`doit test:<target> modules=quick`: the smoke check, then the target's quick set
    through the suite runner (one process per module), all of it as the manifest expects."""
    out = b.doit(f"test:{target}", "modules=quick")
    text = out.stdout + out.stderr
    assert f"smoke: {smoke}" in text
    results = json.loads((b.source / "cross-build" / ".wasmbuild" / "tests" / target
                          / "results.json").read_text())
    quick = target_data(target)["tests"]["sets"]["quick"]
    assert [m["module"] for m in results["modules"]] == quick
    assert results["summary"]["unexpected"] == [], text[-3000:]
    assert results["summary"]["tests_run"] >= 2000, results["summary"]
    assert "result: OK (no unexpected result)" in text, text[-3000:]
    record(f"regrtest-{target}-{b.source.name}", {"wall": f"{out.seconds:.0f}s", "summary": results["summary"]})


def tree_digest(root: Path) -> str:
    """sha256 over every path, mode and content of `root` outside cross-build/."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if Path(dirpath, d) != root / "cross-build")
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            path = Path(dirpath, name)
            st = path.lstat()
            h.update(f"{path.relative_to(root)}\0{st.st_mode:o}\0".encode())
            h.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
    return h.hexdigest()


# each build's effect on the tree, outside cross-build/: (before, after) digests. Taken
# around the build itself: python.sh typed by hand writes bytecode into the source's
# Lib/__pycache__, as upstream's does, and tests run it between the builds.
TREE_DIGESTS: dict[str, tuple[str, str]] = {}
