"""What dodo.py exposes to doit: DOIT_CONFIG and the task generators.

A bad YAML file, a bad cpython= path or an unknown provider stops here with one
line on stderr and exit status 2: nothing is run and nothing is written.
"""
from __future__ import annotations

import fcntl
import os
import signal
import sys
from pathlib import Path

from .errors import WasmbuildError
from . import report, runlog
from . import variables
from .plan import make_plan
from .tasks import Graph
from .tasks_inputs import source_tasks, toolchain_tasks
from .tasks_use import use_tasks
from .tasks_package import package_tasks
from .tasks_web import web_tasks
from .extensions.layout import plan_extensions
from .extensions.tasks import extension_tasks


def command_line_variables() -> dict[str, str]:
    """Every name=value of the command line. doit offers get_var(name) only, which cannot
    tell a misspelt variable (jbos=4) from one not given: its table is read instead."""
    from doit import doit_cmd
    return dict(doit_cmd._CMDLINE_VARS or {})


# doit commands that only read: they never take the cross-build lock. Every other one
# does (run, clean, forget, ignore, reset-dep, strace, a plugin's).
READ_ONLY_COMMANDS = {"list", "info", "help", "dumpdb", "tabcompletion", "graph"}
_held_locks = []


def doit_command() -> str | None:
    """The name of the doit command that is loading the tasks (run, list, clean, ...), as
    doit chose it; None if it cannot be found (then taken as one that writes).

    Not from sys.argv: in `doit run:wasi -- -c list` the command is run, whatever words
    come after it. doit's loader API hands the command object to the task loader,
    TaskLoader2.load_tasks(cmd, pos_args), and the default loader (DodoTaskLoader) calls
    dodo.py's task creators from there without it: a creator takes it from that frame.
    (A lock taken lazily, when an action first runs, would not do: doit runs actions in
    worker threads, where a refusal cannot end the run with exit status 2, and `doit
    clean` removes a `clean: True` task's targets without calling wasmbuild's code.)"""
    from doit.cmd_base import Command
    frame = sys._getframe(1)
    while frame is not None:
        cmd = next((v for v in frame.f_locals.values() if isinstance(v, Command)), None)
        if cmd is not None:
            return cmd.name
        frame = frame.f_back
    return None


def lock_cross_build(state_dir: Path, cross_build: Path) -> None:
    """One run at a time per cross-build dir: doit saves its state when a run ends,
    so a second run would redo (and race with) the first one's work."""
    if _held_locks:
        return                       # this process holds it (tasks created once more)
    f = open(state_dir / "lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        pid = f.read().strip() or "?"
        print(f"wasmbuild: another wasmbuild run (pid {pid}) holds {cross_build}; "
              f"wait for it to finish", file=sys.stderr)
        raise SystemExit(2)
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    _held_locks.append(f)            # held until this process exits


def stop_on_signals() -> None:
    """Ctrl-C (SIGINT) or SIGTERM: stop the commands of the running steps too. They run
    in their own process groups, so a terminal's Ctrl-C reaches only doit; and doit's
    worker threads would otherwise wait for them (or leave them running)."""
    def handler(signum, frame):
        if not runlog.stop_running_commands(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM):
            return                     # `doit run:<target>`: the interpreter handles its Ctrl-C
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def load() -> dict:
    try:
        plan = make_plan(variables.settings(command_line_variables()))
        extensions = plan_extensions(plan)
    except WasmbuildError as e:
        print(f"wasmbuild: {e}", file=sys.stderr)
        raise SystemExit(2)
    plan.state_dir.mkdir(parents=True, exist_ok=True)
    graph = Graph(plan)
    artifacts = {f"{tgt.name}/{name}": tgt.build_dir / name for tgt in plan.targets.values()
                 for name in [*tgt.target.artifacts, tgt.target.stdlib_zip.name]}

    def task_wasmbuild():
        # doit creates the tasks before it checks or runs any: the lock is taken here,
        # where the command is known, in doit's main thread
        if doit_command() not in READ_ONLY_COMMANDS:
            lock_cross_build(plan.state_dir, plan.cross_build)
            stop_on_signals()
        yield from toolchain_tasks(plan)
        yield from source_tasks(plan)
        yield from graph.build_python_tasks()
        for base, doc in [
            ("dep", "build a target's dependencies (libffi, mpdecimal, zlib, ...)"),
            ("configure_host", "configure CPython for a target"),
            ("make_host", "make CPython for a target"),
            ("stdlib_zip", "the stdlib zip of a target"),
            ("loaders", "render a target's loaders (python.sh, node_entry.cjs/.mjs, ...)"),
            ("node_snapshot", "Node's start-up snapshot of a target's entry, which python.sh loads"),
            ("host", "build a target: interpreter, loaders, stdlib zip (host:emscripten, host:wasi)"),
            ("test", "smoke check and CPython test modules in a built interpreter"),
            ("pythoninfo", "python -m test.pythoninfo in a built interpreter"),
            ("run", "run a built interpreter: doit run:wasi -- -c 'print(1)'"),
            ("web", "the browser example: page, worker, python.mjs, wasm, stdlib zip"),
            ("serve", "serve the browser example with cross-origin isolation headers"),
            ("package", "a reproducible tarball of a built interpreter (package:emscripten)"),
        ]:
            yield {"basename": base, "name": None, "doc": doc}
        for tgt in plan.targets.values():
            yield from graph.target_tasks(tgt)
            yield from use_tasks(plan, tgt)
            yield from web_tasks(plan, tgt)
            yield from package_tasks(plan, tgt)
        yield from extension_tasks(plan, extensions)

    config = {
        "dep_file": str(plan.state_dir / "doit.db"),
        "backend": "sqlite3",
        "check_file_uptodate": "md5",
        "default_tasks": ["host:emscripten"],
        "reporter": report.reporter_for(plan.state_dir / "report.json", artifacts),
        # two steps at a time: a serial step (a configure, libffi) overlaps a parallel
        # make instead of waiting for it; `doit -n 1` runs one at a time
        "num_process": 2,
        "par_type": "thread",
    }
    return {"DOIT_CONFIG": config, "task_wasmbuild": task_wasmbuild}
