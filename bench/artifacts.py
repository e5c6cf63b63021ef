#!/usr/bin/env python3
"""What users download and wait for, for every target and build profile, in one run:
writes bench/ARTIFACTS.md.

    python3 bench/artifacts.py [--cpython313 DIR] [--cpython314 DIR] [--targets a,b] [--skip-build]
                               [--reproduce-in DIR]

For each build (3.13.5, the default source: emscripten, wasi and their -size profiles;
3.14.7, shared/sources: emscripten-forky, wasi-forky and their -size profiles):
- python.wasm and the stdlib zip as shipped (the web folder's for Emscripten, the
  package's for WASI, its python.wasm stripped): raw, gzip -9 and brotli 11 bytes;
- `python.sh -c pass`, median of 10 (start-up: Node or wasmtime, the module, Python);
- time to the first prompt in Chromium (Emscripten), median of 5 cold loads
  (bench/webtiming.py);
- a fixed set of pure-Python workloads (bench/pybench/workloads.py), each run in the wasm
  interpreter and in the native build Python of the same source (timed inside the
  interpreter, 3 runs, medians), as the ratio wasm / native.
Pyodide's published figures are in the table as anchors.

Each source is a fresh copy (no wheels from an earlier `site:` in its packages). With
`--reproduce-in DIR` (another unpacked 3.14.7 tree), the 3.14 builds are packaged there too
and the two packages' sha256 compared, for every target and profile.
"""
from __future__ import annotations

import argparse
import gzip
import json
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from common import PROJECT, base_source, copy_source

sys.path.insert(0, str(PROJECT / "bench"))

WORKLOADS = PROJECT / "bench" / "pybench" / "workloads.py"
NAMES = ["nbody", "richards", "json", "regex", "sort_strings", "import"]
TREE_314 = PROJECT.parent / "shared" / "sources" / "Python-3.14.7-from-git.tar.xz"
# (target, whether it has a web page)
BUILDS_313 = [("emscripten", True), ("emscripten-size", True), ("wasi", False), ("wasi-size", False)]
BUILDS_314 = [("emscripten-forky", True), ("emscripten-forky-size", True), ("wasi-forky", False),
              ("wasi-forky-size", False)]
# Pyodide #6340 (2026-07): pyodide.asm.wasm
ANCHORS = "Pyodide's pyodide.asm.wasm (Pyodide #6340, 2026-07): 9.6 MB raw, 3.55 MB gzip, 2.74 MB brotli"


def doit(*args) -> float:
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"), "-d", str(PROJECT),
                          *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"doit {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return time.monotonic() - start


def plan_of(src: Path):
    from wasmbuild.plan import Settings, make_plan
    return make_plan(Settings(cpython=str(src)))


def sizes(data: bytes) -> dict:
    import brotli
    return {"raw": len(data), "gzip": len(gzip.compress(data, 9, mtime=0)),
            "brotli": len(brotli.compress(data, quality=11))}


def shipped(plan, target: str, web: bool, name: str, member: str) -> bytes:
    """A file as users get it: `name` in the web folder (Emscripten), or `member` of the
    package (WASI: its python.wasm stripped, its stdlib zip under lib/)."""
    tgt = plan.targets[target]
    if web:
        return (Path(tgt.target.web.dir) / name).read_bytes()
    tarball = plan.cross_build / "packages" / f"{tgt.target.package.name}.tar.gz"
    with tarfile.open(tarball) as tf:
        return tf.extractfile(f"{tgt.target.package.name}/{member}").read()


def run_times(argv: list[str], runs: int, env=None) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run(argv, check=True, capture_output=True, env=env, cwd="/tmp")
        out.append(time.monotonic() - start)
    return out


def process_median(argv: list[str], name: str, runs: int, env=None) -> float:
    """One process: the median of its `runs` timings of `name` (`import`: its one run)."""
    out = subprocess.run([*argv, str(WORKLOADS), name, str(runs)], check=True, capture_output=True,
                         text=True, env=env, cwd="/tmp").stdout.split()
    return statistics.median(float(x) for x in out[1:])


def workload(argv: list[str], name: str, env=None) -> float:
    """The median of the interpreter's own timings of `name` (3 runs in one process;
    `import`: the median of 3 processes, once each)."""
    if name == "import":
        return statistics.median(process_median(argv, name, 1, env) for _ in range(3))
    return process_median(argv, name, 3, env)


def native_python(plan) -> tuple[list[str], dict]:
    """The build Python of this source, in its toolchain root (it links the root's libc)."""
    argv, env = plan.native.sandbox.command([str(plan.build_python)], Path("/tmp"),
                                            ro=[plan.source.path, PROJECT], rw=[Path("/tmp")])
    return argv, env


def package_digests(src: Path, targets: list[str]) -> dict[str, str]:
    import hashlib
    doit(*(f"package:{t}" for t in targets), f"cpython={src}")
    plan = plan_of(src)
    return {t: hashlib.sha256((plan.cross_build / "packages" / f"{plan.targets[t].target.package.name}.tar.gz")
                              .read_bytes()).hexdigest() for t in targets}


def measure(src: Path, builds: list[tuple[str, bool]], only: set[str] | None, skip_build: bool) -> list[dict]:
    plan = plan_of(src)
    builds = [(t, web) for t, web in builds if not only or t in only]
    if not skip_build:
        for target, web in builds:
            took = doit(f"host:{target}", f"web:{target}" if web else f"package:{target}", f"package:{target}",
                        f"cpython={src}")
            print(f"[{target}] built in {took:.0f} s", flush=True)
    native, native_env = native_python(plan)
    base = {name: workload(native, name, native_env) for name in NAMES}
    print(f"[native {plan.source.version}] " + ", ".join(f"{k} {v:.3f}" for k, v in base.items()), flush=True)
    from webtiming import time_to_prompt
    rows = []
    for target, web in builds:
        tgt = plan.targets[target]
        python_sh = str(tgt.build_dir / "python.sh")
        zip_name = tgt.target.stdlib_zip.name
        row = {"source": plan.source.version, "target": target, "profile": tgt.target.profile,
               "wasm": sizes(shipped(plan, target, web, "python.wasm", "python.wasm")),
               "zip": sizes(shipped(plan, target, web, zip_name, f"lib/{zip_name}")),
               "pass": statistics.median(run_times([python_sh, "-c", "pass"], 10)),
               "native": base}
        if web:
            row["prompt"] = statistics.median(time_to_prompt(Path(tgt.target.web.dir), "python.html", runs=5))
        row["workloads"] = {name: workload([python_sh], name) for name in NAMES}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def mb(n: int) -> str:
    return f"{n / 1e6:.2f}"


def table(rows: list[dict]) -> list[str]:
    lines = ["| build | profile | python.wasm raw / gzip / brotli (MB) | stdlib zip raw / brotli (MB) "
             "| `python.sh -c pass` (s) | first prompt in Chromium (s) |", "|---|---|---|---|---|---|"]
    for r in rows:
        w, z = r["wasm"], r["zip"]
        lines.append(f"| {r['source']} {r['target']} | {r['profile']} | {mb(w['raw'])} / {mb(w['gzip'])} / "
                     f"{mb(w['brotli'])} | {mb(z['raw'])} / {mb(z['brotli'])} | {r['pass']:.3f} | "
                     + (f"{r['prompt']:.2f}" if "prompt" in r else "-") + " |")
    lines += ["", "Pure-Python workloads: wasm time / native build Python time (same source, medians "
                  "of 3; lower is better):", "",
              "| build | profile | " + " | ".join(NAMES) + " |", "|---|---|" + "---|" * len(NAMES)]
    for r in rows:
        lines.append(f"| {r['source']} {r['target']} | {r['profile']} | "
                     + " | ".join(f"{r['workloads'][n] / r['native'][n]:.2f}" for n in NAMES) + " |")
    lines += ["", "Native build Python, seconds: " + "; ".join(
        f"{v}: " + ", ".join(f"{n} {t:.3f}" for n, t in next(r['native'] for r in rows if r['source'] == v).items())
        for v in sorted({r["source"] for r in rows}))]
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpython313")
    ap.add_argument("--cpython314", help="a 3.14.7 tree (default: shared/sources, unpacked here)")
    ap.add_argument("--targets", help="only these, e.g. emscripten,emscripten-size")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--reproduce-in", help="another unpacked 3.14.7 tree: package there too, compare")
    ap.add_argument("--out", default=str(PROJECT / "bench" / "ARTIFACTS.md"))
    args = ap.parse_args()
    only = set(args.targets.split(",")) if args.targets else None
    work = Path(tempfile.mkdtemp(prefix="wasmbuild-artifacts-"))
    src313 = Path(args.cpython313) if args.cpython313 else copy_source(base_source(None), work / "cpython-3.13")
    src314 = Path(args.cpython314) if args.cpython314 else None
    if src314 is None:
        with tarfile.open(TREE_314) as tf:
            tf.extractall(work, filter="tar")
        src314 = work / "Python-3.14.7"
    start = time.strftime("%Y-%m-%d %H:%M")
    rows = measure(src313, BUILDS_313, only, args.skip_build)
    rows += measure(src314, BUILDS_314, only, args.skip_build)
    same = []
    if args.reproduce_in:
        targets = [t for t, _ in BUILDS_314 if not only or t in only]
        here, there = package_digests(src314, targets), package_digests(Path(args.reproduce_in), targets)
        same = [f"- {t}: {here[t][:16]}... here, {there[t][:16]}... in {args.reproduce_in}: "
                f"{'the same' if here[t] == there[t] else 'DIFFERENT'}" for t in targets]
    load = open("/proc/loadavg").read().split()[:3]
    lines = [f"# What users download and wait for ({start}, {platform.platform()}, "
             f"load average at the end {' '.join(load)})", "",
             "One run of `python3 bench/artifacts.py`: every build of the table measured in it. "
             "python.wasm as shipped: the web folder's (Emscripten), the package's with its DWARF "
             "split off (WASI). Times: medians.", "", *table(rows), "", f"Anchor: {ANCHORS}."]
    if same:
        lines += ["", f"Packages of the same 3.14.7 source built in two folders ({src314} and "
                      f"{args.reproduce_in}), sha256:", "", *same]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
