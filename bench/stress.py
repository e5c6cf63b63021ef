#!/usr/bin/env python3
"""Interrupt real builds at random points; check each time that the next run recovers.

    python3 bench/stress.py [--runs 20] [--seed N] [--cpython PATH]

Each round gives the build work to do (an edit of a C file and of a Lib file, plus,
depending on the round, a clean of the target, a dependency's tarball removed from the
download cache, or a toolchain root to provision from nothing), starts
`doit host:emscripten` in its own process group and, at a random moment, sends the
group SIGINT (what Ctrl-C in a terminal does) or SIGKILL (a crash, an OOM kill, a
closed session). Then:
  - the next `doit host:emscripten` must finish,
  - the interpreter must show both edits of this round (nothing stale was trusted),
  - one more `doit host:emscripten` must run nothing (doit's state tells the truth).
A build that finishes before its signal gets the same work again and a signal within the
time it took (three tries). Prints a table and the counts (interrupts, recoveries, failures) and writes
bench/STRESS.md. Works on its own copy of the source, with its own toolchain root and
download cache.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PROJECT, base_source, copy_source
from wasmbuild.paths import cache_dir

# round kind -> (how many of the 20, the window in which the signal lands, seconds)
KINDS = {
    "edit": (8, (0.5, 30.0)),          # C + Lib edit: build-Python make, make-host, zip
    "lib-edit": (3, (0.05, 1.5)),      # Lib edit only: the zip
    "clean": (5, (0.5, 110.0)),        # doit clean host:emscripten: deps, configure, make, zip, loaders
    "download": (2, (0.1, 35.0)),      # libffi tarball gone + its build cleaned: fetch, dep, relink
    "toolchain": (2, (1.0, 150.0)),    # a toolchain root from nothing: debootstrap, apt, setup
}
STEP_LINE = re.compile(r"^(>>|ok|!!) (\S+)")
DOC_RE = re.compile(r'See PEP 585(?: \[stress \d+\])?')


class Stress:
    def __init__(self, src: Path, work: Path, root: Path | None = None):
        self.src, self.work = src, work
        self.last_duration = 0.0
        self.build_dir = src / "cross-build" / "wasm32-emscripten"
        # its own toolchain root (provisioned by the first build), so that nothing else
        # on this machine re-provisions the root under it; ccache and config-cache shared
        self.cache = work / "cache"
        self.cache.mkdir()
        real = cache_dir()
        for sub in ("ccache", "config-cache"):
            (real / sub).mkdir(parents=True, exist_ok=True)
            (self.cache / sub).symlink_to(real / sub)
        if root:                                  # --toolchains: one provisioned by an earlier run
            (self.cache / "toolchains").symlink_to(root.resolve())
        shutil.copytree(real / "downloads", self.cache / "downloads")   # rounds delete from it

    def doit_argv(self, *args):
        return [sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"), "-d", str(PROJECT),
                *args, f"cpython={self.src}"]

    def env(self, cache: Path):
        return dict(os.environ, WASMBUILD_CACHE=str(cache))

    def doit(self, *args, cache: Path, timeout=3600):
        start = time.monotonic()
        out = subprocess.run(self.doit_argv(*args), env=self.env(cache), capture_output=True,
                             text=True, timeout=timeout)
        return out, time.monotonic() - start

    def edit(self, n: int, c_too: bool = True):
        if c_too:
            c = self.src / "Objects" / "listobject.c"
            c.write_text(DOC_RE.sub(f"See PEP 585 [stress {n}]", c.read_text(), count=1))
        enc = self.src / "Lib" / "json" / "encoder.py"
        text = re.sub(r"\nSTRESS_MARK = \d+\n", "\n", enc.read_text())
        enc.write_text(text + f"\nSTRESS_MARK = {n}\n")

    def prepare(self, kind: str, n: int, cache: Path):
        self.edit(n, c_too=kind != "lib-edit")
        if kind == "clean":
            self.doit("clean", "host:emscripten", cache=cache)
        elif kind == "download":
            for p in (cache / "downloads").glob("libffi*"):
                p.unlink()
            self.doit("clean", "dep:emscripten-libffi", cache=cache)

    def interrupt(self, cache: Path, delay: float, sig: int):
        """Start the build, signal its process group after `delay` s. Returns (landed,
        steps running at that moment, exit status)."""
        log = self.work / "interrupted.log"
        start = time.monotonic()
        with open(log, "w") as f:
            proc = subprocess.Popen(self.doit_argv("host:emscripten"), env=self.env(cache), stdout=f,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                proc.wait(timeout=delay)
                landed = False
                self.last_duration = time.monotonic() - start
            except subprocess.TimeoutExpired:
                landed = True
                os.killpg(proc.pid, sig)
                try:
                    proc.wait(timeout=120)
                except subprocess.TimeoutExpired:       # Ctrl-C did not stop it: that is a failure
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return landed, ["(did not stop within 120 s of SIGINT)"], None
        running = {}
        for line in log.read_text(errors="replace").splitlines():
            m = STEP_LINE.match(line)
            if m:
                if m.group(1) == ">>":
                    running[m.group(2)] = True
                else:
                    running.pop(m.group(2), None)
        return landed, list(running), proc.returncode

    def check(self, n: int, kind: str, cache: Path) -> tuple[bool, str, float]:
        out, took = self.doit("host:emscripten", cache=cache)
        if out.returncode != 0:
            return False, "recovery run failed: " + (out.stdout + out.stderr)[-600:], took
        probe = subprocess.run(
            [str(self.build_dir / "python.sh"), "-c",
             "import json.encoder, zlib, ctypes, sqlite3; "
             "print(list.__class_getitem__.__doc__); print(json.encoder.STRESS_MARK)"],
            capture_output=True, text=True, cwd=self.work, timeout=300)
        want_doc = "See PEP 585" if kind == "lib-edit" else f"See PEP 585 [stress {n}]"
        lines = probe.stdout.split("\n")
        if probe.returncode != 0 or len(lines) < 2 or not lines[0].startswith(want_doc) \
                or lines[1] != str(n):
            return False, f"interpreter: {probe.stdout.strip()!r} {probe.stderr.strip()[-400:]!r}", took
        again, _ = self.doit("host:emscripten", cache=cache)
        ran = [l[3:].strip() for l in again.stdout.splitlines() if l.startswith(".  ")]
        if again.returncode != 0 or ran:
            return False, f"the run after recovery was not a no-op: ran {ran}", took
        return True, "", took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--cpython", help="CPython source to copy (default: wasmbuild's default source)")
    ap.add_argument("--toolchains", type=Path,
                    help="a toolchains dir an earlier stress run provisioned (default: provision one)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="wasmbuild-stress-"))
    src = copy_source(base_source(args.cpython), work / "cpython")
    st = Stress(src, work, args.toolchains)
    print(f"seed {args.seed}; work in {work}; first build ...", flush=True)
    out, took = st.doit("host:emscripten", cache=st.cache)
    if out.returncode != 0:
        sys.exit("the first build failed:\n" + out.stdout[-3000:] + out.stderr[-3000:])
    print(f"first build {took:.0f} s", flush=True)

    plan = [k for k, (count, _) in KINDS.items() for _ in range(count)]
    while len(plan) < args.runs:
        plan.append("edit")
    plan = plan[:args.runs]
    rng.shuffle(plan)
    rows = []
    for n, kind in enumerate(plan, 1):
        sig = rng.choice([signal.SIGINT, signal.SIGKILL])
        lo, hi = KINDS[kind][1]
        for attempt in range(3):
            # when the build finished before the signal, the same work again, and a signal
            # within the time it took
            mark = n * 10 + attempt
            cache = st.cache
            if kind == "toolchain":
                cache = work / "cache-toolchain"            # an empty toolchains dir: provision anew
                shutil.rmtree(cache, ignore_errors=True)
                cache.mkdir()
                for sub in ("ccache", "config-cache", "downloads"):
                    (cache / sub).symlink_to(st.cache / sub)
            st.prepare(kind, mark, cache)
            delay = round(rng.uniform(lo, hi), 2)
            landed, running, rc = st.interrupt(cache, delay, sig)
            if landed:
                break
            hi = max(lo * 1.5, 0.9 * st.last_duration)
        ok, why, took = st.check(mark, kind, cache)
        if kind == "toolchain":
            shutil.rmtree(cache, ignore_errors=True)
        row = {"n": n, "kind": kind, "signal": sig.name, "after_s": delay, "attempts": attempt + 1,
               "landed": landed, "running": running, "recovery_s": round(took, 1), "ok": ok, "why": why}
        rows.append(row)
        print(json.dumps(row), flush=True)
    report(rows, args.seed)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r["ok"] for r in rows) else 1


def report(rows, seed):
    landed = [r for r in rows if r["landed"]]
    lines = [f"# Interrupt stress ({time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, "
             f"{os.cpu_count()} cores, seed {seed})", "",
             f"- rounds: {len(rows)}; interrupts that landed while the build ran: {len(landed)} "
             f"(SIGINT {sum(r['signal'] == 'SIGINT' for r in landed)}, "
             f"SIGKILL {sum(r['signal'] == 'SIGKILL' for r in landed)})",
             f"- recoveries (next run finished, interpreter showed this round's edits, the run "
             f"after did nothing): {sum(r['ok'] for r in landed)} of {len(landed)}",
             f"- failures: {sum(not r['ok'] for r in rows)}", "",
             "| # | round | signal | after (s) | steps running when it landed | recovery (s) | result |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        steps = ", ".join(r["running"]) if r["landed"] else "(build finished first)"
        after = f"{r['after_s']}" + (f" (try {r['attempts']})" if r.get("attempts", 1) > 1 else "")
        lines.append(f"| {r['n']} | {r['kind']} | {r['signal']} | {after} | {steps} | "
                     f"{r['recovery_s']} | {'ok' if r['ok'] else 'FAILED: ' + r['why'][:200]} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (PROJECT / "bench" / "STRESS.md").write_text(text)


if __name__ == "__main__":
    sys.exit(main())
