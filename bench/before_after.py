#!/usr/bin/env python3
"""Issue 26's ratios, taken in one run: the default source's Emscripten builds as they are
now against the same source built by commit BEFORE (the last one before the issue's work:
python.wasm 10.70 MB served uncompressed, the old page and python.sh). Writes
bench/BEFORE-AFTER.md.

    python3 bench/before_after.py --before DIR [--make-before] [--rounds 10] [--loads 7]
        [--target emscripten-forky --cpython TREE --before-cpython OTHER_TREE]
    python3 bench/before_after.py --before DIR --workloads 3     (item 4 alone: 3 runs)

--make-before builds the before state into DIR first: a git worktree of BEFORE, its own
cache (WASMBUILD_CACHE=DIR/cache, with today's downloads) and a copy of today's trixie
root (WASMBUILD_TOOLCHAINS=DIR/toolchains: the older YAML must not re-provision the root
that today's builds use), then its `doit web:<target>`. For a tree of its own (3.14.7:
--before-cpython, a copy of the tree today's builds use, so that neither build dir is the
other's), the before build is that tree's.

What is compared, the before build against today's TARGET (speed, the default) and
TARGET-size (both must be built: `doit web:emscripten web:emscripten-size`):
- the page's python.wasm: raw, gzip -9 and brotli 11 bytes, and what the page transfers
  (the before page was served without compression);
- `python.sh -c pass`, the three taken in turn (the order rotated each round), medians;
- the time to the first prompt in Chromium (bench/webtiming.py), cold loads in turn;
- bench/pybench's workloads in each interpreter and the native build Python (3 processes
  each, in turn; the median of their medians of 5 runs), as ratios to native and as
  today's time / before's.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import PROJECT, as_a_plain_shell, rotated
from artifacts import NAMES, native_python, process_median, sizes

BEFORE = "47f50a2"
LINK = "desktop-10mbit"


def make_before(before: Path, target: str, cpython: str | None) -> None:
    from wasmbuild.paths import cache_dir
    from wasmbuild.plan import Settings, make_plan
    wt = before / "wt"
    if not wt.exists():
        subprocess.run(["git", "-C", str(PROJECT), "worktree", "add", "--detach", str(wt), BEFORE], check=True)
    cache, roots = before / "cache", before / "toolchains"
    if not (cache / "downloads").exists():
        shutil.copytree(cache_dir() / "downloads", cache / "downloads")
    plan = make_plan(Settings())
    root = plan.toolchains[plan.targets[target].target.toolchain].sandbox.root
    if not (roots / root.name).exists():
        roots.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", str(root), str(roots / root.name)], check=True)
    env = {**os.environ, "WASMBUILD_CACHE": str(cache), "WASMBUILD_TOOLCHAINS": str(roots),
           "PYTHONPATH": str(wt)}
    subprocess.run([sys.executable, "-m", "doit", f"web:{target}", *([f"cpython={cpython}"] if cpython else [])],
                   cwd=wt, env=env, check=True)


def before_build_dir(before: Path, build_dir: str, cpython: str | None) -> Path:
    if cpython:
        return Path(cpython).resolve() / "cross-build" / build_dir
    found = sorted((before / "cache" / "sources").glob(f"cpython-*/cross-build/{build_dir}"))
    if not found:
        raise SystemExit(f"no before build under {before}/cache/sources: run with --make-before")
    return found[0]


def wasm_row(web: Path) -> dict:
    """python.wasm's sizes, and what the page transfers: the sibling serve: sends Chromium
    (which accepts zstd, br and gzip) when the folder has one, else the raw file."""
    from wasmbuild.web.serve import accepted_codings
    from wasmbuild.web.compress import SIBLINGS
    data = (web / "python.wasm").read_bytes()
    row = sizes(data)
    sent = next((s for c in accepted_codings("gzip, deflate, br, zstd")
                 if (s := web / f"python.wasm{SIBLINGS[c]}").exists()), None)
    row["transferred"] = sent.stat().st_size if sent else len(data)
    return row


def pass_times(scripts: list[str], rounds: int) -> list[list[float]]:
    """`python.sh -c pass` of each, in turn, the order rotated each round."""
    out = [[] for _ in scripts]
    for round_ in range(rounds):
        for i in rotated(range(len(scripts)), round_):
            script = scripts[i]
            start = time.monotonic()
            subprocess.run([script, "-c", "pass"], check=True, capture_output=True, cwd="/tmp")
            out[i].append(time.monotonic() - start)
    return out


def workloads(interpreters: dict[str, tuple[list[str], dict | None]], processes: int, runs: int,
              spread: dict | None = None, names: list[str] = NAMES) -> dict:
    """Each workload in every interpreter, `processes` processes each taken in turn, the
    order rotated each round (A B C D, B C D A, ...: a process runs slower right after
    another one, whose Node may still be ending, and no interpreter should always follow
    the same one): the median of the processes' medians (each process's own median goes in
    `spread`[interpreter][workload], if given). One process's runs vary with when V8
    tiers the eval loop up and with the VM (richards 1.0-1.8 s in one process here)."""
    out = {k: {} for k in interpreters}
    order = list(interpreters)
    for name in names:
        got = {k: [] for k in interpreters}
        for round_ in range(processes):
            for k in rotated(order, round_):
                argv, env = interpreters[k]
                got[k].append(process_median(argv, name, runs, env))
        for k in interpreters:
            out[k][name] = statistics.median(got[k])
            if spread is not None:
                spread.setdefault(k, {})[name] = got[k]
        print(name, {k: round(v[name], 3) for k, v in out.items()}, flush=True)
    return out


AGAIN = "before again"


def noise_verdict(ratios: list[float], controls: list[float]) -> tuple[float, float, bool]:
    """Item 4's test for one workload: the median of today's / before's ratios over the runs,
    the noise (the largest distance from 1 of the same interpreter timed twice, before
    again / before, in the same runs), and whether today's is no slower within it."""
    noise = max(abs(c - 1) for c in controls)
    median = statistics.median(ratios)
    return median, noise, median <= 1 + noise


def repeated_workloads(plan, builds: dict[str, Path], repeats: int, processes: int, runs: int,
                       out: Path, names: list[str] = NAMES) -> None:
    """Issue 26's item 4 (the default profile no slower than before on any workload, within
    noise: 3 runs, medians): the workloads alone, `repeats` times, before against today's
    default; each run's ratio, their median, and each run's spread of process medians.
    The before build is also timed a second time under another name (an A/A control, in
    turn with the others): its ratio to itself is what this machine's noise alone gives,
    the yardstick for "within noise"."""
    before = ([str(builds["before"] / "python.sh")], None)
    interpreters = {"native": native_python(plan), "before": before, AGAIN: before,
                    "speed": ([str(builds["speed"] / "python.sh")], None)}
    start = time.strftime("%Y-%m-%d %H:%M")
    results = []
    for _ in range(repeats):
        spread = {}
        results.append((workloads(interpreters, processes, runs, spread, names), spread))
    load = open("/proc/loadavg").read().split()[:3]
    lines = [f"# Issue 26's item 4: the workloads, today's default build against before's, "
             f"{repeats} runs ({start}, {platform.platform()}, load average at the end {' '.join(load)})", "",
             f"`python3 bench/before_after.py --before DIR --workloads {repeats} --processes {processes}"
             f"{'' if names == NAMES else ' --only ' + ','.join(names)}`, source "
             f"{plan.source.version}: before (commit {BEFORE}, `{builds['before']}`) and speed "
             f"(today's default, `{builds['speed']}`). Each run: {processes} processes per "
             f"interpreter taken in turn (native, before, before again, speed), each the median "
             f"of {runs} timings (`import`: one); the run's figure is the median of its "
             "processes' medians. *before again* is the before build timed a second time: "
             "before again / before is the noise alone, and today's is called no slower when "
             "its median ratio is at most 1 + the largest such distance from 1 in the runs.", "",
             "| workload | speed / before, run by run | median | before again / before, run by run "
             "| noise | no slower within noise | speed / native (median) "
             "| before's process medians, min-max (s) | speed's (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for n in names:
        ratios = [w["speed"][n] / w["before"][n] for w, _ in results]
        controls = [w[AGAIN][n] / w["before"][n] for w, _ in results]
        median, noise, ok = noise_verdict(ratios, controls)
        native = statistics.median(w["speed"][n] / w["native"][n] for w, _ in results)
        spans = {k: " ".join(f"{min(sp[k][n]):.3f}-{max(sp[k][n]):.3f}" for _, sp in results)
                 for k in ("before", "speed")}
        lines.append(f"| {n} | {' '.join(f'{r:.2f}' for r in ratios)} | {median:.2f} "
                     f"| {' '.join(f'{c:.2f}' for c in controls)} | {noise:.2f} | {'yes' if ok else '**no**'} "
                     f"| {native:.2f} | {spans['before']} | {spans['speed']} |")
    Path(out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, help="the before state's folder")
    ap.add_argument("--make-before", action="store_true")
    ap.add_argument("--target", default="emscripten", help="today's target (its -size profile too)")
    ap.add_argument("--cpython", help="today's tree (default: the default source)")
    ap.add_argument("--before-cpython", help="the before state's tree (default: its default source)")
    ap.add_argument("--page", default="python.html",
                    help="today's page to load, e.g. python.html?repl=basic (3.14's default page is "
                         "the terminal; the before state had only the basic REPL)")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--loads", type=int, default=7)
    ap.add_argument("--link-loads", type=int, default=5,
                    help=f"cold loads over {LINK} (0: none)")
    ap.add_argument("--processes", type=int, default=3, help="per workload and interpreter")
    ap.add_argument("--runs", type=int, default=5, help="of a workload in one process")
    ap.add_argument("--out", help="default: bench/BEFORE-AFTER.md, or BEFORE-AFTER-<target>.md "
                                  "(--workloads: BEFORE-AFTER-workloads.md)")
    ap.add_argument("--workloads", type=int, metavar="N",
                    help="only the workloads, before against the default build, N times (item 4)")
    ap.add_argument("--only", type=lambda v: v.split(","), default=NAMES, metavar="NAME[,NAME]",
                    help=f"--workloads: these workloads only (of {','.join(NAMES)}), e.g. to time one "
                         "that sits at the edge with more --processes")
    args = ap.parse_args()
    # both states' python.sh read their own tree's Lib: the first round writes its bytecode
    as_a_plain_shell()
    before = Path(args.before).resolve()
    if args.make_before:
        make_before(before, args.target, args.before_cpython)
    from wasmbuild.plan import Settings, make_plan
    plan = make_plan(Settings(cpython=args.cpython) if args.cpython else Settings())
    speed, size = plan.targets[args.target], plan.targets[f"{args.target}-size"]
    builds = {"before": before_build_dir(before, speed.build_dir.name, args.before_cpython),
              "speed": speed.build_dir, "size": size.build_dir}
    if args.workloads:
        unknown = sorted(set(args.only) - set(NAMES))
        if unknown:
            ap.error(f"--only: no workload {', '.join(unknown)}; expected some of {','.join(NAMES)}")
        repeated_workloads(plan, builds, args.workloads, args.processes, args.runs,
                           args.out or PROJECT / "bench" / "BEFORE-AFTER-workloads.md", args.only)
        return
    webs = {name: d / "web" for name, d in builds.items()}
    for name, web in webs.items():
        if not (web / "python.html").exists():
            raise SystemExit(f"{name}: no page in {web} (doit web:{args.target} web:{args.target}-size)")
    start = time.strftime("%Y-%m-%d %H:%M")
    wasm = {name: wasm_row(web) for name, web in webs.items()}
    passes = dict(zip(builds, pass_times([str(d / "python.sh") for d in builds.values()], args.rounds)))
    passed = {k: statistics.median(v) for k, v in passes.items()}
    print(passed, flush=True)
    from webtiming import interleaved
    from wasmbuild.web.serve import make_server
    pages = {name: "python.html" if name == "before" else args.page for name in builds}
    setups = [(webs[name], pages[name], make_server) for name in builds]
    loads = dict(zip(builds, interleaved(setups, args.loads)))
    prompt = {k: statistics.median(r["seconds"] for r in v) for k, v in loads.items()}
    print(prompt, flush=True)
    # the same pages over a throttled link (webtiming.LINKS), where the bytes count
    linked = dict(zip(builds, interleaved(setups, args.link_loads, link=LINK))) if args.link_loads else {}
    prompt_linked = {k: statistics.median(r["seconds"] for r in v) for k, v in linked.items()}
    print(prompt_linked, flush=True)
    work = workloads({"native": native_python(plan),
                      **{name: ([str(d / "python.sh")], None) for name, d in builds.items()}},
                     args.processes, args.runs)
    load = open("/proc/loadavg").read().split()[:3]

    def mb(n):
        return f"{n / 1e6:.2f}"

    def ratio(a, b):
        return f"{a / b:.2f}"

    lines = [f"# Issue 26's ratios: today's Emscripten builds against the build before the work "
             f"({start}, {platform.platform()}, load average at the end {' '.join(load)})", "",
             f"One run of `python3 bench/before_after.py`{'' if args.target == 'emscripten' else ' --target ' + args.target}, source {plan.source.version}. **before**: commit "
             f"{BEFORE} (`{builds['before']}`); **speed** and **size**: today's `{args.target}` (the "
             f"default) and `{args.target}-size`. Each measurement takes the builds in turn, the order rotated "
             "each round (A B C, B C A, C A B, ...), so that the machine's drift falls on all of "
             "them alike and none always comes right after the same one.", "",
             "| build | python.wasm raw / gzip / brotli (MB) | python.wasm transferred by the page (MB) "
             "| `python.sh -c pass`, median (s) | vs before | first prompt in Chromium, median (s) | vs before "
             f"| first prompt over {LINK}, median (s) | vs before |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in builds:
        w = wasm[name]
        lines.append(f"| {name} | {mb(w['raw'])} / {mb(w['gzip'])} / {mb(w['brotli'])} | "
                     f"{mb(w['transferred'])} | {passed[name]:.3f} | {ratio(passed[name], passed['before'])} | "
                     f"{prompt[name]:.2f} | {ratio(prompt[name], prompt['before'])} | " +
                     (f"{prompt_linked[name]:.2f} | {ratio(prompt_linked[name], prompt_linked['before'])} |"
                      if linked else "- | - |"))
    lines += ["", f"`python.sh -c pass`, {args.rounds} rounds (s): " + "; ".join(
        f"{k} " + " ".join(f"{t:.2f}" for t in v) for k, v in passes.items()),
        "", f"Pages loaded: before `python.html`, today's `{args.page}`.",
        "", f"First prompt, {args.loads} cold loads each (s): " + "; ".join(
        f"{k} " + " ".join(f"{r['seconds']:.2f}" for r in v) for k, v in loads.items()),
        "", f"First prompt over {LINK} (bench/webtiming.py LINKS: Lighthouse's desktop throttling, "
            f"Chromium's network emulation), {args.link_loads} cold loads each (s): " + "; ".join(
        f"{k} " + " ".join(f"{r['seconds']:.2f}" for r in v) for k, v in linked.items()),
        "", "The pages' own marks, medians (s): " + "; ".join(
        f"{k} " + ", ".join(f"{m.removeprefix('python:')} {statistics.median(r['marks'][m] for r in v if m in r['marks']):.2f}"
                            # a load may end (its prompt seen) before the page sets its last mark
                            for m in v[0]["marks"]) for k, v in loads.items() if v[0]["marks"]),
        "", f"Pure-Python workloads (bench/pybench), seconds: {args.processes} processes per "
            f"interpreter taken in turn, the median of their medians of {args.runs} runs (`import`: "
            "one run per process); ratios to the native build Python, and today's / before's "
            "(lower is better):", "",
        "| workload | native | before | speed | size | before / native | speed / native "
        "| size / native | speed / before | size / before |", "|---|---|---|---|---|---|---|---|---|---|"]
    for n in NAMES:
        t = {k: work[k][n] for k in work}
        lines.append(f"| {n} | {t['native']:.3f} | {t['before']:.3f} | {t['speed']:.3f} | {t['size']:.3f} | "
                     f"{ratio(t['before'], t['native'])} | {ratio(t['speed'], t['native'])} | "
                     f"{ratio(t['size'], t['native'])} | {ratio(t['speed'], t['before'])} | "
                     f"{ratio(t['size'], t['before'])} |")
    out = args.out or PROJECT / "bench" / ("BEFORE-AFTER.md" if args.target == "emscripten"
                                           else f"BEFORE-AFTER-{args.target}.md")
    Path(out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
