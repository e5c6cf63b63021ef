#!/usr/bin/env python3
"""Benchmark: C-extension wheels on existing builds (wasmbuild/extensions).

    python3 bench/extensions.py [--build emscripten=DEFAULT] [--build emscripten-forky=~/src/Python-3.14.7]

Per build (target=CPython tree; DEFAULT is the default source), on a copy of nothing: the
extensions' own folder (<build_dir>-ext) is removed first, then
- cold: `doit wheel:<target>` with CCACHE_RECACHE=1 (every compile runs: the cross env,
  libyaml and the three wheels of targets/_extensions.yaml), and its steps' times;
- warm: the same after removing the folder again, ccache read as usual;
- no-op: `doit wheel:<target>` five times (median);
- one C file edited: the two-file project of tests/e2e/ext_project, its value.c given a new
  number three times (median), with ccache's counts of the last one;
- wheel_test: `doit wheel_test:<target>` (site-packages, checks, the named tests), twice,
  and what pytest reported.
Writes bench/EXTENSIONS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))


def doit(*args, env=None) -> tuple[float, str]:
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"), "-d", str(PROJECT),
                          *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
    took = time.monotonic() - start
    if out.returncode != 0:
        raise SystemExit(f"doit {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return took, out.stderr


def steps(stderr: str) -> dict[str, str]:
    return dict(re.findall(r"^ok (\S+) \((\S+)\)$", stderr, re.M))


def build_dir_of(target: str, cpython: str | None) -> Path:
    from wasmbuild import variables
    from wasmbuild.plan import make_plan
    plan = make_plan(variables.settings({"cpython": cpython} if cpython else {}))
    return plan.targets[target].build_dir


def bench(target: str, cpython: str | None, work: Path) -> dict:
    src = [f"cpython={cpython}"] if cpython else []
    bdir = build_dir_of(target, cpython)
    ext = bdir.parent / f"{bdir.name}-ext"
    row: dict = {"target": target, "build": str(bdir), "load": [os.getloadavg()[0]]}
    shutil.rmtree(ext, ignore_errors=True)
    doit("forget", *[f"{b}:{target}" for b in ("crossenv", "site")], *src)
    took, err = doit(f"wheel:{target}", *src, env={"CCACHE_RECACHE": "1"})
    row["cold"] = (took, {k: v for k, v in steps(err).items() if not k.startswith(("host", "make", "stdlib", "loaders"))})
    shutil.rmtree(ext / "wheels", ignore_errors=True)
    shutil.rmtree(ext / "src", ignore_errors=True)
    shutil.rmtree(ext / "lib", ignore_errors=True)
    doit("forget", *[f"wheel:{target}-{p}" for p in ("markupsafe", "msgpack", "pyyaml")],
         f"wheel_lib:{target}-libyaml", *src)
    took, err = doit(f"wheel:{target}", *src)
    row["warm"] = (took, steps(err))
    row["noop"] = statistics.median(doit(f"wheel:{target}", *src)[0] for _ in range(5))
    proj = work / target / "twofiles"      # the folder's name is the wheel task's
    shutil.rmtree(proj, ignore_errors=True)
    shutil.copytree(PROJECT / "tests" / "e2e" / "ext_project", proj)
    packages = f"packages={proj}"
    doit(f"wheel:{target}", *src, packages)
    edits = []
    for _ in range(3):
        (proj / "src" / "value.c").write_text(f"int twofiles_value(void) {{ return {random.randrange(10**6)}; }}\n")
        edits.append(doit(f"wheel:{target}", *src, packages)[0])
    row["edit"] = statistics.median(edits)
    row["edit_ccache"] = json.loads((ext / "wheels" / "twofiles.json").read_text())["ccache"]
    row["edit_noop"] = doit(f"wheel:{target}", *src, packages)[0]
    tests = []
    for _ in range(2):
        took, err = doit(f"wheel_test:{target}", *src)
        tests.append(took)
    row["wheel_test"] = tests
    row["tests"] = re.findall(r"^   ((?:markupsafe|msgpack|pyyaml): .*)$", err, re.M)
    row["load"].append(os.getloadavg()[0])
    return row


def table(rows: list[dict]) -> str:
    out = ["# C-extension wheels (bench/extensions.py)", "",
           f"Measured {time.strftime('%Y-%m-%d')} on this machine ({os.cpu_count()} cores), on the "
           "existing builds; each wheel built by pip in the target's cross env, in its toolchain root.", ""]
    for r in rows:
        cold_t, cold_steps = r["cold"]
        warm_t, warm_steps = r["warm"]
        c = r["edit_ccache"]
        out += [f"## {r['target']} ({r['build']})", "",
                f"Load average (1 min) before and after: {r['load'][0]:.1f}, {r['load'][1]:.1f} "
                "(other builds shared the two cores).", "",
                "| scenario | wall |", "|---|---|",
                f"| cold: env + libyaml + 3 wheels (CCACHE_RECACHE=1) | {cold_t:.1f} s |",
                f"| warm: libyaml + 3 wheels again (env kept, ccache read) | {warm_t:.1f} s |",
                f"| no-op `doit wheel:` (median of 5) | {r['noop']:.2f} s |",
                f"| local project, one of its two C files edited (median of 3) | {r['edit']:.1f} s "
                f"(ccache: {c.get('cache_miss', 0)} miss, {c.get('local_storage_hit', 0)} hit) |",
                f"| local project, no-op after the edit | {r['edit_noop']:.2f} s |",
                f"| `doit wheel_test:` (site-packages, checks, tests), first / second | "
                f"{r['wheel_test'][0]:.1f} s / {r['wheel_test'][1]:.1f} s |", "",
                "Cold steps: " + ", ".join(f"`{k}` {v}" for k, v in cold_steps.items()) + ".", "",
                "Warm steps: " + ", ".join(f"`{k}` {v}" for k, v in warm_steps.items()) + ".", "",
                "Tests in the interpreter: " + "; ".join(r["tests"]) + ".", ""]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", action="append", metavar="TARGET=CPYTHON",
                    help="a target and its tree (DEFAULT: the default source); repeatable")
    ap.add_argument("--out", default=str(PROJECT / "bench" / "EXTENSIONS.md"))
    args = ap.parse_args(argv)
    builds = args.build or ["emscripten=DEFAULT", f"emscripten-forky={Path.home() / 'src' / 'Python-3.14.7'}"]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for item in builds:
            target, _, cpython = item.partition("=")
            rows.append(bench(target, None if cpython in ("", "DEFAULT") else os.path.expanduser(cpython), Path(work)))
            print(json.dumps(rows[-1], indent=1, default=str))
    Path(args.out).write_text(table(rows))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
