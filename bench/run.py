#!/usr/bin/env python3
"""Benchmark: wasmbuild against CPython's own script on the same source, same toolchain root.

    python3 bench/run.py [--cpython PATH] [--skip-official] [--cold-only] [--incremental-only]

Scenarios (emscripten, CPython 3.13's Tools/wasm/wasm_build.py emscripten-node-dl):
cold build (ccache bypassed: CCACHE_RECACHE; no saved configure answers), no-op, one C file edited, one Lib file edited,
clean rebuild with a warm ccache. The short scenarios run three times and their medians are
compared; `make` by hand runs right after each of wasmbuild's C-edit runs, on the same tree. Each tool works on its own copy of the source. Prints a
table of wall times and ratios and writes bench/RESULTS.md.

The official script runs inside the same Debian root through the same sandbox, with the
two smallest adaptations it needs here (listed in the table): EM_CONFIG pointing at the
root's writable emscripten config, and EM_COMPILER_WRAPPER made absolute (emcc execv()s it).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PROJECT, as_a_plain_shell, base_source, copy_source
from wasmbuild.paths import cache_dir
from wasmbuild.plan import Settings, make_plan

ADAPTATIONS = [
    "EM_CONFIG=/opt/wasmbuild/emscripten/config (the root's writable emscripten config; "
    "the script looks in /opt/emsdk/.emscripten)",
    'EM_COMPILER_WRAPPER: "ccache" -> shutil.which("ccache") (emcc execv()s it without PATH)',
]


REPEAT = 3
NOOP_REPEAT = 5          # the no-op goal is a median of 5


def timed(argv, env=None, cwd=None) -> float:
    start = time.monotonic()
    out = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.monotonic() - start
    if out.returncode != 0:
        sys.exit(f"failed: {argv}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return took


class Ours:
    name = "wasmbuild"

    def __init__(self, src: Path):
        self.src = src

    def build(self, env_extra=None) -> float:
        env = dict(os.environ, **(env_extra or {}))
        took = timed([sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"), "-d",
                      str(PROJECT), "host:emscripten", f"cpython={self.src}"], env=env)
        report = self.src / "cross-build" / ".wasmbuild" / "report.json"
        self.steps = json.loads(report.read_text())["tasks"] if report.exists() else []
        return took

    def clean(self):
        shutil.rmtree(self.src / "cross-build", ignore_errors=True)


class Official:
    name = "wasm_build.py"

    def __init__(self, src: Path):
        self.src = src
        plan = make_plan(Settings(cpython=str(src)))
        self.sandbox = plan.toolchains["emscripten"].sandbox
        script = src / "Tools" / "wasm" / "wasm_build.py"
        text = script.read_text()
        old = '"EM_COMPILER_WRAPPER": "ccache" if HAS_CCACHE else None,'
        assert old in text, "the official script changed: update the adaptation"
        script.write_text(text.replace(old, '"EM_COMPILER_WRAPPER": shutil.which("ccache") '
                                            'if HAS_CCACHE else None,'))

    def run(self, *args, env_extra=None) -> float:
        env = {"EM_CONFIG": "/opt/wasmbuild/emscripten/config", "MAKEFLAGS": f"-j{os.cpu_count()}"}
        env.update(env_extra or {})
        argv, e = self.sandbox.command(["python3", "Tools/wasm/wasm_build.py", "emscripten-node-dl", *args],
                                       self.src, rw=[self.src, Path(self.sandbox.env["CCACHE_DIR"])],
                                       extra_env=env)
        return timed(argv, env=e, cwd=self.src)

    def build(self, env_extra=None) -> float:
        return self.run("build", env_extra=env_extra)

    def clean(self):
        shutil.rmtree(self.src / "builddir", ignore_errors=True)


def use_fresh_config_cache(cache: Path) -> None:
    """A cold build has no configure answers saved: the bench runs with its own cache
    dir, sharing the toolchain root, downloads, sources and ccache (bypassed in the cold
    runs) with the user's, but with an empty config-cache."""
    real = cache_dir()
    (cache / "config-cache").mkdir(parents=True)
    for sub in ("toolchains", "downloads", "sources", "ccache"):
        (real / sub).mkdir(parents=True, exist_ok=True)
        (cache / sub).symlink_to(real / sub)
    os.environ["WASMBUILD_CACHE"] = str(cache)


def make_by_hand(src: Path) -> float:
    """`make` in the two build dirs a C edit affects, through the same sandbox."""
    plan = make_plan(Settings(cpython=str(src)))
    total = 0.0
    for sandbox, cwd, wrapper in [(plan.native.sandbox, plan.build_python_dir, []),
                                  (plan.targets["emscripten"].toolchain.sandbox,
                                   plan.targets["emscripten"].build_dir, ["emmake"])]:
        argv, env = sandbox.command([*wrapper, "make", f"-j{os.cpu_count()}", "all"], cwd,
                                    rw=[plan.cross_build, Path(sandbox.env.get("CCACHE_DIR", "/tmp"))],
                                    ro=[src])
        total += timed(argv, env=env, cwd=cwd)
    return total


HEADER = "header only edited (Objects/clinic/listobject.c.h)"
MAKE_TOUCHED = "make by hand"          # after touching the .c file that includes the header


def append_doc(src: Path) -> str:
    """What list.append.__doc__ says in the built interpreter."""
    out = subprocess.run([str(src / "cross-build" / "wasm32-emscripten" / "python.sh"), "-c",
                          "print(list.append.__doc__)"], capture_output=True, text=True)
    return out.stdout.strip()


def header_scenario(t, sample, notes: list[str]) -> None:
    """A header the Makefile does not list, edited alone. wasmbuild must show the new
    docstring; plain make by hand leaves the interpreter stale (the anchor's result),
    and make by hand after touching the .c file that includes the header is the yardstick."""
    header = t.src / "Objects" / "clinic" / "listobject.c.h"
    original = header.read_text()
    for i in range(REPEAT):
        doc = f"Append object to the end of the list (bench {i})."
        header.write_text(re.sub(r'"Append object to the end of the list[^"]*"', f'"{doc}"', original))
        sample(HEADER, t.name, t.build())
        notes.append(f"wasmbuild run {i}: interpreter says {append_doc(t.src)!r} (edited: {doc!r})")
        by_hand = f"Append object to the end of the list (by hand {i})."
        header.write_text(re.sub(r'"Append object to the end of the list[^"]*"', f'"{by_hand}"', original))
        make_by_hand(t.src)
        notes.append(f"plain make by hand {i}: interpreter says {append_doc(t.src)!r} (edited: {by_hand!r})")
        (t.src / "Objects" / "listobject.c").touch()
        sample(HEADER, MAKE_TOUCHED, make_by_hand(t.src))
        notes.append(f"make by hand after touching Objects/listobject.c {i}: {append_doc(t.src)!r}")
    t.build()                                 # takes in the edits made by hand


def edit(path: Path, marker: str):
    path.write_text(path.read_text() + f"\n/* {marker} */\n" if path.suffix == ".c"
                    else path.read_text() + f"\n# {marker}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpython", help="CPython source (default: wasmbuild's default source)")
    ap.add_argument("--skip-official", action="store_true")
    ap.add_argument("--cold-only", action="store_true", help="only the cold builds (bench/RESULTS-cold.md)")
    ap.add_argument("--incremental-only", action="store_true",
                    help="wasmbuild only, warm caches: no-op, C edit and header edit beside make by "
                         "hand (bench/RESULTS-incremental.md)")
    args = ap.parse_args()
    as_a_plain_shell()
    if args.incremental_only:
        args.skip_official = True
    base = base_source(args.cpython)
    work = Path(tempfile.mkdtemp(prefix="wasmbuild-bench-"))
    if not args.incremental_only:
        use_fresh_config_cache(work / "cache")
    tools = []
    for cls in ([Ours] if args.skip_official else [Ours, Official]):
        tools.append(cls(copy_source(base, work / cls.__name__.lower() / "cpython")))
    rows = {}
    cold_steps = []
    cold = {"CCACHE_RECACHE": "1"}          # compile everything, as with an empty ccache

    stale_notes: list[str] = []

    def sample(scenario, name, seconds):
        rows.setdefault(scenario, {}).setdefault(name, []).append(seconds)

    c_file = "C file edited (Objects/listobject.c)"
    for t in tools:
        if args.incremental_only:
            # a first build with the user's warm caches (not a cold-build sample)
            print(f"[{t.name}] first build (warm caches, not timed) ...", flush=True)
            t.build()
        else:
            print(f"[{t.name}] cold build ...", flush=True)
            sample("cold build", t.name, t.build(cold))
            cold_steps = getattr(t, "steps", cold_steps)
        if args.cold_only:
            continue
        # the short scenarios are repeated and their medians compared: one sample of a
        # few seconds says more about the machine's moment than about the tool
        for _ in range(NOOP_REPEAT):
            sample("no-op", t.name, t.build())
        for i in range(REPEAT):
            edit(t.src / "Objects" / "listobject.c", f"bench edit {i}")
            sample(c_file, t.name, t.build())
            if isinstance(t, Ours):
                # make by hand on the same tree right after, so both see the same machine
                edit(t.src / "Objects" / "listobject.c", f"bench edit by hand {i}")
                sample(c_file, "make by hand", make_by_hand(t.src))
        if isinstance(t, Ours):
            t.build()                         # takes in the last edit made by hand
            header_scenario(t, sample, stale_notes)
        if args.incremental_only:
            continue
        for i in range(REPEAT):
            edit(t.src / "Lib" / "json" / "encoder.py", f"bench edit {i}")
            sample("Lib file edited (Lib/json/encoder.py)", t.name, t.build())
        t.clean()
        sample("clean rebuild, warm ccache", t.name, t.build())
    dest = "RESULTS-cold.md" if args.cold_only else \
        "RESULTS-incremental.md" if args.incremental_only else "RESULTS.md"
    report(rows, [t.name for t in tools], cold_steps, PROJECT / "bench" / dest, stale_notes)


def report(rows, names, cold_steps, dest: Path, notes=()):
    header = "| scenario | " + " | ".join(f"{n} (s)" for n in names + ["make by hand"] if
                                         any(n in r for r in rows.values())) + " | ratio |"
    lines = [f"# Benchmark results ({time.strftime('%Y-%m-%d')}, {platform.node()}, "
             f"{os.cpu_count()} cores, {platform.platform()})", "",
             "Same CPython source, same Debian trixie toolchain root, each tool on its own copy.", "",
             header, "|" + "---|" * (header.count("|") - 1)]
    med = {sc: {n: statistics.median(v) for n, v in r.items()} for sc, r in rows.items()}
    for scenario, r in med.items():
        cells = [f"{r[n]:.2f}" if n in r else "–" for n in names + ["make by hand"]
                 if any(n in rr for rr in rows.values())]
        ours = r["wasmbuild"]
        if "make by hand" in r:
            ratio = f"wasmbuild / make by hand = {ours / r['make by hand']:.2f}"
        elif "wasm_build.py" in r:
            ratio = f"wasmbuild / official = {ours / r['wasm_build.py']:.2f}"
        else:
            ratio = ""
        if scenario.startswith("clean rebuild"):
            ratio += f"; / own cold = {ours / med['cold build']['wasmbuild']:.2f}"
        lines.append(f"| {scenario} | " + " | ".join(cells) + f" | {ratio} |")
    repeated = {sc: r for sc, r in rows.items() if any(len(v) > 1 for v in r.values())}
    if repeated:
        lines += ["", f"Short scenarios: median of {REPEAT} runs each ({NOOP_REPEAT} for the no-op; the C edit: each wasmbuild "
                  "run followed by `make` by hand after another edit of the same file). All samples:", ""]
        lines += [f"- {sc}: " + "; ".join(f"{n} " + ", ".join(f"{x:.2f}" for x in v)
                                          for n, v in r.items()) for sc, r in repeated.items()]
    if notes:
        lines += ["", "What each header-only run left in the interpreter (list.append.__doc__):", "",
                  *[f"- {n}" for n in notes]]
    lines += ["", "Adaptations of the official script:", *[f"- {a}" for a in ADAPTATIONS]]
    if cold_steps:
        lines += ["", "wasmbuild's cold build, step by step (two steps run at once; "
                  "a step's time includes waiting for the CPU):", "",
                  "| step | s |", "|---|---|",
                  *[f"| {r['task']} | {r['seconds']} |" for r in cold_steps]]
    text = "\n".join(lines) + "\n"
    print(text)
    dest.write_text(text)


if __name__ == "__main__":
    main()
