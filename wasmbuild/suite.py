"""Run CPython's test suite in a built interpreter, the way a crash cannot end it.

Every module runs in an interpreter process of its own (`python.sh -m test ARGS MODULE`),
`jobs` at a time, each with a timeout; a module that failed, crashed or hung runs once
more alone, as upstream's `--rerun` does. What each run came to, and whether the
manifest expected it, is decided in `manifest.py`; here are only the processes.

Tests see a writable copy of the source (`sync_tree`) bound over the source's path, as
a developer's checkout is writable: tests that write next to modules work, and the
user's tree stays read-only. The copy is kept between runs and updated by size and
mtime, so the `.pyc` files that earlier runs wrote into it stay valid and are reused.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import manifest
from .atomic import write_text
from .errors import WasmbuildError
from .model import Expectation, Tests
from .runlog import Progress, format_seconds, kill_group, say, tracked

# Top-level folders of a source tree that tests never read from the copy: the build
# output is bound in from the real tree, .git is not the tests' business.
TREE_SKIP_TOP = {"cross-build", ".git", ".hg"}
# What python.sh reads to bind a writable copy over the source (debian-root provider).
TREE_ENV = "WASMBUILD_SOURCE_VIEW"


@dataclass
class SuiteRun:
    name: str                      # the task, e.g. test:emscripten (progress lines)
    python_sh: Path
    tests: Tests
    out_dir: Path                  # results, logs, durations: <state>/tests/<target>
    jobs: int
    tree: Path | None = None       # the writable copy of the source that tests see
    yaml: str = "target YAML"      # for messages naming the manifest

    def env(self) -> dict:
        # the caller's PYTHON* variables would change what the tests see (python.sh passes
        # them on, and an Emscripten 6 interpreter reads its host's environment): a
        # PYTHONDONTWRITEBYTECODE in a developer's shell fails test_pydoc, for one
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        if self.tree is not None:
            env[TREE_ENV] = str(self.tree)
        return env

    @property
    def cwd(self) -> Path:
        return self.python_sh.parent


def sync_tree(source: Path, dest: Path) -> tuple[int, int]:
    """Make `dest` a copy of `source` (less TREE_SKIP_TOP) and return (copied, removed).

    Files are compared by size and mtime and copied with their mtime, so a `.pyc` in
    dest's __pycache__ stays valid for an unchanged module; files that tests left in
    dest are removed, __pycache__ folders are kept."""
    copied = removed = 0
    wanted: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(source):
        rel = os.path.relpath(dirpath, source)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d not in TREE_SKIP_TOP]
            rel = ""
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        os.makedirs(dest / rel, exist_ok=True)
        wanted.add(rel)
        for name in filenames:
            relf = os.path.join(rel, name)
            wanted.add(relf)
            s = os.lstat(os.path.join(dirpath, name))
            try:
                d = os.lstat(dest / relf)
                if (d.st_size, d.st_mtime_ns) == (s.st_size, s.st_mtime_ns):
                    continue
                (dest / relf).unlink()
            except FileNotFoundError:
                pass
            shutil.copy2(os.path.join(dirpath, name), dest / relf, follow_symlinks=False)
            copied += 1
    for dirpath, dirnames, filenames in os.walk(dest, topdown=True):
        rel = os.path.relpath(dirpath, dest)
        rel = "" if rel == "." else rel
        keep = []
        for d in dirnames:
            reld = os.path.join(rel, d)
            if d == "__pycache__" or reld in wanted:
                keep.append(d)
            else:
                shutil.rmtree(dest / reld, ignore_errors=True)
                removed += 1
        dirnames[:] = [d for d in keep if d != "__pycache__"]
        for name in filenames:
            if os.path.join(rel, name) not in wanted:
                (dest / rel / name).unlink(missing_ok=True)
                removed += 1
    return copied, removed


def list_modules(run: SuiteRun, log: Path) -> list[str]:
    """Every module regrtest would run: `-m test --list-tests` in the built interpreter."""
    out = subprocess.run([str(run.python_sh), "-m", "test", "--list-tests"], env=run.env(),
                         cwd=run.cwd, capture_output=True, text=True, timeout=600)
    with open(log, "a") as f:
        f.write(f"$ python.sh -m test --list-tests\n{out.stdout}{out.stderr}[exit {out.returncode}]\n")
    names = [line.strip() for line in out.stdout.splitlines()
             if line.strip().startswith(("test_", "test."))]
    if out.returncode != 0 or not names:
        raise WasmbuildError(f"-m test --list-tests failed (exit {out.returncode}): "
                             f"{(out.stdout + out.stderr).strip()[-300:]}")
    return names


def run_module(run: SuiteRun, module: str, extra: list[str], log: Path) -> manifest.RunResult:
    """One interpreter process for one module; killed (with all it started) on timeout."""
    argv = [str(run.python_sh), "-m", "test", *extra, *manifest.regrtest_args(run.tests, module)]
    timeout = manifest.timeout_of(run.tests, module)
    start = time.monotonic()
    timed_out = False
    with open(log, "w", encoding="utf-8", errors="replace") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        proc = subprocess.Popen(argv, env=run.env(), cwd=run.cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        with tracked(proc):
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                kill_group(proc)
                rc = proc.returncode
        seconds = time.monotonic() - start
        out.write(f"\n[exit {rc}{', killed after its timeout of %d s' % timeout if timed_out else ''}"
                  f", {seconds:.1f} s]\n")
    return manifest.classify(rc, log.read_text(errors="replace"), timed_out, seconds)


def _order(modules: list[str], durations: dict[str, float]) -> list[str]:
    """Longest first (from the last run), so that a long module does not start last and
    leave one core idle at the end; modules never timed go right after the known-long."""
    return sorted(modules, key=lambda m: -durations.get(m, 60.0))


class _Status:
    """Done/total, failures so far and an estimate of the time left, for the progress line."""

    def __init__(self, progress: Progress, total: int):
        self.progress, self.total = progress, total
        self.done = self.bad = 0
        self.running: list[str] = []
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self._show()

    def started(self, module):
        with self.lock:
            self.running.append(module)
            self._show()

    def finished(self, module, bad: bool):
        with self.lock:
            self.running.remove(module)
            self.done += 1
            self.bad += bad
            self._show()

    def _show(self):
        left = ""
        if self.done:
            per = (time.monotonic() - self.start) / self.done
            left = f", ~{format_seconds(per * (self.total - self.done))} left"
        self.progress.current = (f"{self.done}/{self.total} modules, {self.bad} failing{left}: "
                                 f"{' '.join(self.running)}")


def run_suite(run: SuiteRun, modules: list[str]) -> list[manifest.ModuleResult]:
    logs = run.out_dir / "logs"
    if logs.exists():
        shutil.rmtree(logs)
    logs.mkdir(parents=True)
    durations = _load_durations(run.out_dir)
    todo = [m for m in modules if run.tests.manifest.get(m, Expectation()).status != "skip"]
    results: dict[str, manifest.ModuleResult] = {
        m: manifest.ModuleResult(m, run.tests.manifest[m],
                                 manifest.RunResult(manifest.NOT_RUN, None, 0.0),
                                 verdict=manifest.DECLARED_SKIP)
        for m in modules if m not in todo}

    with Progress(run.name) as progress:
        status = _Status(progress, len(todo))

        def first_pass(module):
            status.started(module)
            log = logs / f"{module}.log"
            first = run_module(run, module, [], log)
            exp = run.tests.manifest.get(module, Expectation())
            r = manifest.ModuleResult(module, exp, first, log=str(log))
            status.finished(module, manifest.needs_rerun(exp, first))
            if first.outcome in manifest.BAD:
                say(f"   {module}: {first.outcome}"
                    + (f" ({first.failures} failures)" if first.failures else "")
                    + (f", declared xfail: {exp.reason}" if exp.status == "xfail" else ", will rerun"))
            return r

        with ThreadPoolExecutor(max_workers=run.jobs) as pool:
            for r in pool.map(first_pass, _order(todo, durations)):
                results[r.module] = r
            # as upstream's --rerun: failed modules once more, each alone, verbosely
            again = [r for r in results.values() if manifest.needs_rerun(r.expectation, r.first)]
            status.total += len(again)

            def rerun(r):
                status.started(r.module)
                log = logs / f"{r.module}.rerun.log"
                r.rerun = run_module(run, r.module, ["-v"], log)
                r.log = str(log)
                status.finished(r.module, r.rerun.outcome in manifest.BAD)
                say(f"   {r.module}: {r.rerun.outcome} when run again alone")
                return r

            list(pool.map(rerun, again))

    for r in results.values():
        r.verdict = r.verdict or manifest.judge(r.expectation, r.first, r.rerun)
    durations.update({m: r.first.seconds for m, r in results.items() if r.first.seconds})
    write_text(run.out_dir / "durations.json", json.dumps(durations, indent=0, sort_keys=True))
    return [results[m] for m in modules]


def _load_durations(out_dir: Path) -> dict[str, float]:
    try:
        return json.loads((out_dir / "durations.json").read_text())
    except (OSError, ValueError):
        return {}
