"""CPython's whole test suite on both targets, through wasmbuild's runner, and upstream's
own command on the same emscripten build (the tree's `test-args` from
Platforms/emscripten/config.toml where it has them, else 3.13's CI command); writes
bench/TESTSUITE.md (--out).

    python3 bench/testsuite.py [--cpython PATH] [--jobs 2] [--no-upstream] [--upstream-wasi]

It builds the default source (or PATH) for both targets (a no-op when they are built),
then runs `doit test:<target>` (every module `-m test --list-tests` names, one process
each, `jobs` at a time) and reads the runner's results.json. The serial time beside the
wall time is the sum of the modules' own times (what one process at a time would take,
less the scheduling). Upstream's command (3.13: `-m test -uall --rerun --single-process`;
3.14.7: `-m test -v -uall --rerun --single-process -W`) runs through python.sh as a user
types it.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from common import PROJECT, as_a_plain_shell, base_source

BUILD_DIRS = {"emscripten": "wasm32-emscripten", "wasi": "wasm32-wasip1",
              "emscripten-forky": "wasm32-emscripten-forky", "wasi-forky": "wasm32-wasip1-forky"}
# upstream's own command where the tree does not say (3.13's CI for Emscripten)
DEFAULT_UPSTREAM = ["-m", "test", "-uall", "--rerun", "--single-process"]


def upstream_test_args(src: Path) -> list[str]:
    """The tree's own `test-args` (Platforms/emscripten/config.toml, 3.14.4+ and main),
    else 3.13's CI command."""
    import tomllib
    toml = src / "Platforms" / "emscripten" / "config.toml"
    if toml.is_file():
        return list(tomllib.loads(toml.read_text()).get("test-args") or DEFAULT_UPSTREAM)
    return DEFAULT_UPSTREAM


def doit(*args, check=True) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"), "-d", str(PROJECT),
                          *args], capture_output=True, text=True)
    took = time.monotonic() - start
    if check and out.returncode not in (0, 1):
        raise SystemExit(f"doit {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return out, took


def runner(src: Path, target: str, jobs: int, modules: str | None) -> dict:
    extra = [f"modules={modules}"] if modules else []
    out, wall = doit(f"test:{target}", f"cpython={src}", f"jobs={jobs}", *extra, check=False)
    results = json.loads((src / "cross-build" / ".wasmbuild" / "tests" / target / "results.json").read_text())
    mods = results["modules"]
    serial = sum(m["first"]["seconds"] + (m["rerun"]["seconds"] if m["rerun"] else 0) for m in mods)
    return {"wall": wall, "serial": serial, "exit": out.returncode, "summary": results["summary"],
            "modules": len(mods), "runner_wall": results["wall_seconds"],
            "bad": [(m["module"], m["outcome"], m["verdict"]) for m in mods
                    if m["verdict"] not in ("ok", "skipped by manifest")],
            "tail": (out.stdout + out.stderr)[-1500:]}


def upstream(src: Path, target: str, args: list[str], log: Path) -> dict:
    python_sh = src / "cross-build" / BUILD_DIRS[target] / "python.sh"
    start = time.monotonic()
    with open(log, "w") as f:
        proc = subprocess.run([str(python_sh), *args], stdout=f, stderr=subprocess.STDOUT,
                              cwd=python_sh.parent, stdin=subprocess.DEVNULL)
    return dict(read_upstream_log(log), wall=time.monotonic() - start, exit=proc.returncode)


def read_upstream_log(log: Path) -> dict:
    """What regrtest's log says: how far its main pass got and its summary, and how far
    the --rerun pass got (it runs in the same process with --single-process)."""
    text = log.read_text(errors="replace")
    main_pass, _, rerun = text.partition("Re-running ")
    progress = r"^\S*\s*(?:load avg: [\d.]+ )?\[\s*(\d+)/(\d+)(?:/\d+)?\] (\S+)"
    reached = re.findall(progress, main_pass, re.M)
    again = re.findall(progress, rerun, re.M)
    counts = [l.strip() for l in main_pass.splitlines()
              if re.match(r"\s*\d+ tests? (OK|failed|skipped|altered|run no tests)", l)
              or l.startswith("== Tests result")]
    failed = re.search(r"^\d+ tests? failed:\n((?:    .*\n)+)", main_pass, re.M)
    return {"main_pass": f"{reached[-1][0]}/{reached[-1][1]}" if reached else "none",
            "main_summary": counts,
            "failed": failed.group(1).split() if failed else [],
            "rerun": (f"{again[-1][0]}/{again[-1][1]} ({again[-1][2]})" if again else "none"),
            "final": re.findall(r"^(?:Result: .*|Total tests: .*)$", rerun or main_pass, re.M)[-2:],
            # a process that died: the last error line node printed
            "died": next((l.strip() for l in reversed((rerun or main_pass).splitlines())
                          if l.startswith(("RuntimeError:", "RangeError:", "Aborted("))), "")}


def fmt(s: float) -> str:
    return f"{int(s) // 60}m{int(s) % 60:02d}s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpython")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--modules", help="a subset (default: the whole suite)")
    ap.add_argument("--targets", default="emscripten,wasi",
                    help="comma-separated target names (e.g. emscripten-forky,wasi-forky)")
    ap.add_argument("--no-upstream", action="store_true")
    ap.add_argument("--upstream-wasi", action="store_true",
                    help="also `python.sh -m test` on WASI, as a user types it (about 30 min)")
    ap.add_argument("--upstream-only", action="store_true",
                    help="only upstream's command, its results kept in bench/logs/upstream.json "
                         "for a later run's --reuse-upstream")
    ap.add_argument("--reuse-upstream", action="store_true",
                    help="report bench/logs/upstream.json (same build) instead of running it again")
    ap.add_argument("--out", default=str(PROJECT / "bench" / "TESTSUITE.md"))
    a = ap.parse_args()
    saved = PROJECT / "bench" / "logs" / "upstream.json"
    if a.reuse_upstream and not saved.exists():
        raise SystemExit(f"--reuse-upstream: {saved} is not here (--upstream-only writes it, on "
                         "this machine): run that first, or leave --reuse-upstream out")
    as_a_plain_shell()
    src = base_source(a.cpython)
    started = time.strftime("%Y-%m-%d %H:%M")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True,
                            text=True).stdout.strip()
    targets = a.targets.split(",")
    _, build = doit(*(f"host:{t}" for t in targets), f"cpython={src}")
    logs = PROJECT / "bench" / "logs"
    logs.mkdir(exist_ok=True)
    saved = logs / "upstream.json"
    up = {}
    if a.reuse_upstream:
        # the same run's result, its log read again (bench/logs/ stays on this machine)
        up = json.loads(saved.read_text())
        for cmd, r in up.items():
            log = logs / ("upstream-wasi.log" if cmd.startswith("wasi") else "upstream-emscripten.log")
            r.update(read_upstream_log(log))
    elif not a.no_upstream and (ems := [t for t in targets if t.startswith("emscripten")]):
        when = f"{time.strftime('%Y-%m-%d %H:%M')}, commit {commit}"
        args = upstream_test_args(src)
        up[f"{ems[0]}: {' '.join(args)} ({when})"] = upstream(src, ems[0], args, logs / "upstream-emscripten.log")
        if a.upstream_wasi:
            wasi = next(t for t in targets if t.startswith("wasi"))
            up[f"{wasi}: -m test ({when})"] = upstream(src, wasi, ["-m", "test"], logs / "upstream-wasi.log")
        saved.write_text(json.dumps(up, indent=1))
    if a.upstream_only:
        print(json.dumps(up, indent=1))
        return
    rows = {t: runner(src, t, a.jobs, a.modules) for t in targets}

    w = ["# CPython's test suite on wasmbuild's builds\n",
         f"`python3 bench/testsuite.py` on {started} (commit {commit}), CPython from {src}, "
         f"jobs={a.jobs}, 2 cores, targets {', '.join(targets)}. Builds before the runs: "
         f"{build:.0f} s (no-op when built).\n",
         "## wasmbuild's runner (`doit test:<target>`)\n",
         "| target | modules | passed | skipped | no tests | failed | crashed | timed out | not run (manifest) "
         "| tests run | wall | serial (sum of module times) | unexpected |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for t, r in rows.items():
        c = r["summary"]["counts"]
        w.append(f"| {t} | {r['modules']} | {c.get('passed', 0)} | {c.get('skipped', 0)} | {c.get('no tests', 0)} "
                 f"| {c.get('failed', 0)} | {c.get('crashed', 0)} | {c.get('timed out', 0)} | {c.get('not run', 0)} "
                 f"| {r['summary']['tests_run']} | {fmt(r['wall'])} | {fmt(r['serial'])} "
                 f"| {len(r['summary']['unexpected'])} |")
    for t, r in rows.items():
        w.append(f"\n### {t}: modules not plainly ok\n")
        w += [f"- {m}: {o} ({v})" for m, o, v in r["bad"]] or ["- none"]
        if r["summary"]["unexpected"]:
            w.append("\nUnexpected: " + "; ".join(r["summary"]["unexpected"]))
    if up:
        w.append("\n## Upstream's own command, on the same build (python.sh as typed)\n")
        w.append("| command | wall | exit | main pass | its summary | --rerun pass | how it ended |")
        w.append("|---|---|---|---|---|---|---|")
        for cmd, r in up.items():
            w.append(f"| `{cmd}` | {fmt(r['wall'])} | {r['exit']} | {r['main_pass']} modules "
                     f"| {'; '.join(r['main_summary'])} | reached {r['rerun']} "
                     f"| {r['died'] or '; '.join(r['final'])} |")
            w.append(f"\nFailed in its main pass: {', '.join(r['failed'])}\n")
    out = Path(a.out)
    marker = "\n## Upstream's own command, on the same build"
    if not up and out.is_file() and marker in (earlier := out.read_text()):
        # --no-upstream: an earlier run's section stays, said to be earlier (its own
        # command line carries its date and commit)
        w.append(marker.replace("on the same build", "from an earlier run of this script")
                 + earlier.split(marker, 1)[1].split("\n", 1)[1].rstrip("\n"))
    out.write_text("\n".join(w) + "\n")
    print("\n".join(w))


if __name__ == "__main__":
    main()
