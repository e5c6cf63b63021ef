#!/usr/bin/env python3
"""Benchmark on CPython 3.14.7 (shared/sources): wasmbuild's `doit host:emscripten-forky`
beside CPython's own `python Platforms/emscripten build` in the same forky toolchain root.

    python3 bench/upstream314.py [--tree TARBALL] [--repeat 3]

Scenarios: cold build (wasmbuild: empty configure cache, CCACHE_RECACHE=1; upstream's
script uses no ccache), no-op, one C file edited (Objects/listobject.c). Each tool builds
its own unpacked copy of the tree. The short scenarios run `--repeat` times; medians are
compared. Writes bench/UPSTREAM-314.md.

Upstream's script runs through wasmbuild's sandbox: `build build` in the native root (as
wasmbuild's build Python: it has zlib's headers), `build host` in the forky root with
EM_CONFIG pointing at the root's emscripten config, `--host-runner node` (it would install
Node with nvm), and its two downloads served from the download cache
(bench/upstream_emscripten_shim.py says how; libffi is Debian's 3.4.8, as wasmbuild's).
ccache is off for it (CCACHE_DISABLE=1).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from common import PROJECT, as_a_plain_shell
from run import timed, use_fresh_config_cache
from wasmbuild.paths import cache_dir
from wasmbuild.plan import Settings, make_plan

TREE = PROJECT.parent / "shared" / "sources" / "Python-3.14.7-from-git.tar.xz"
SHIM = PROJECT / "bench" / "upstream_emscripten_shim.py"


def unpack(tarball: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    with tarfile.open(tarball) as tf:
        tf.extractall(dest, filter="tar")
    return dest / "Python-3.14.7"


class Ours:
    name = "wasmbuild"

    def __init__(self, src: Path):
        self.src = src

    def build(self, env_extra=None) -> float:
        return timed([sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"), "-d", str(PROJECT),
                      "host:emscripten-forky", f"cpython={self.src}"],
                     env=dict(os.environ, **(env_extra or {})))


class Upstream:
    """`python Platforms/emscripten build`, in the two parts its `build all` runs: `build build`
    (configure and make the build Python) in the native root, which has zlib's headers as
    the build Python needs them (the zip step compresses), as wasmbuild builds its own build
    Python there; then `build host` (libffi, mpdecimal, configure and make for Emscripten) in
    the forky root. No ccache: the script has none of its own."""
    name = "Platforms/emscripten"

    def __init__(self, src: Path):
        self.src = src
        plan = make_plan(Settings(cpython=str(src)))
        self.native = plan.native.sandbox
        self.forky = plan.toolchains["emscripten-forky"].sandbox
        self.downloads = cache_dir() / "downloads"

    def build(self, env_extra=None) -> float:
        env = {"CCACHE_DISABLE": "1", **(env_extra or {})}
        took = 0.0
        for sandbox, part, extra in [(self.native, ["build"], {}),
                                     (self.forky, ["host", "--host-runner", "node"],
                                      {"EM_CONFIG": "/opt/wasmbuild/emscripten/config"})]:
            argv, e = sandbox.command(
                ["python3", str(SHIM), str(self.src), str(self.downloads), "build", *part],
                self.src, rw=[self.src], ro=[self.downloads, PROJECT / "bench"], extra_env={**env, **extra})
            took += timed(argv, env=e, cwd=self.src)
        return took


def edit(path: Path, marker: str) -> None:
    path.write_text(path.read_text() + f"\n/* {marker} */\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", default=str(TREE))
    ap.add_argument("--repeat", type=int, default=3, help="no-op and C-edit runs of wasmbuild")
    ap.add_argument("--upstream-repeat", type=int, default=1,
                    help="of upstream's script, whose every run reconfigures (minutes each)")
    args = ap.parse_args()
    as_a_plain_shell()
    work = Path(tempfile.mkdtemp(prefix="wasmbuild-bench314-"))
    use_fresh_config_cache(work / "cache")
    rows: dict[str, dict[str, list[float]]] = {}
    # upstream's first: a step of it that fails here fails before wasmbuild's 6 minutes
    tools = [Upstream(unpack(Path(args.tree), work / "upstream")), Ours(unpack(Path(args.tree), work / "ours"))]
    for t in tools:
        def sample(scenario, seconds, t=t):
            rows.setdefault(scenario, {}).setdefault(t.name, []).append(seconds)
            print(f"[{t.name}] {scenario}: {seconds:.2f} s", flush=True)
        sample("cold build", t.build({"CCACHE_RECACHE": "1"}))
        repeat = args.repeat if isinstance(t, Ours) else args.upstream_repeat
        for _ in range(repeat):
            sample("no-op", t.build())
        for i in range(repeat):
            edit(t.src / "Objects" / "listobject.c", f"bench edit {i}")
            sample("C file edited (Objects/listobject.c)", t.build())
    lines = [f"# wasmbuild beside CPython 3.14.7's own Platforms/emscripten ({time.strftime('%Y-%m-%d')}, "
             f"{os.cpu_count()} cores, {platform.platform()})", "",
             "Same tree (shared/sources), same Debian forky root (Emscripten 6.0.5, Node 24), "
             "one run of this script, each tool on its own copy.", "",
             "| scenario | wasmbuild (s) | Platforms/emscripten (s) | ratio |", "|---|---|---|---|"]
    for scenario, r in rows.items():
        ours, theirs = statistics.median(r["wasmbuild"]), statistics.median(r["Platforms/emscripten"])
        lines.append(f"| {scenario} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} |")
    lines += ["", f"No-op and C edit: medians of {args.repeat} (wasmbuild) and {args.upstream_repeat} "
              f"(upstream's script). All samples:", ""]
    lines += [f"- {sc}: " + "; ".join(f"{n} " + ", ".join(f"{x:.2f}" for x in v) for n, v in r.items())
              for sc, r in rows.items()]
    lines += ["", "Upstream's script, as it is but for: EM_CONFIG (the root's emscripten config), "
              "`--host-runner node` (no nvm here), and its downloads from the download cache "
              "(libffi: Debian's 3.4.8 .orig with autoreconf, as wasmbuild builds it; mpdecimal "
              "4.0.1: the same tarball); `build build` in the native (trixie) root, whose zlib headers "
              "its build Python needs for the zip step, as wasmbuild's build Python is built there, "
              "then `build host` in the forky root; no ccache (CCACHE_DISABLE=1). Its `build` reruns "
              "both configures every time: that is its no-op."]
    text = "\n".join(lines) + "\n"
    print(text)
    (PROJECT / "bench" / "UPSTREAM-314.md").write_text(text)


if __name__ == "__main__":
    main()
