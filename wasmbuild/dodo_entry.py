"""What dodo.py exposes to doit: DOIT_CONFIG and the task generators.

A bad YAML file, a bad cpython= path or an unknown provider stops here with one
line on stderr and exit status 2: nothing is run and nothing is written.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .errors import WasmbuildError
from .plan import Settings, make_plan
from .tasks import Graph


def settings_from_vars(get_var) -> Settings:
    s = Settings(cpython=get_var("cpython", None), cross_build=get_var("cross_build", None),
                 provider=get_var("provider", None))
    if get_var("targets", None):
        s.targets_dir = Path(get_var("targets")).resolve()
    if get_var("toolchains", None):
        s.toolchains_dir = Path(get_var("toolchains")).resolve()
    if get_var("jobs", None):
        s.jobs = int(get_var("jobs"))
    return s


def load(get_var) -> dict:
    try:
        plan = make_plan(settings_from_vars(get_var))
    except WasmbuildError as e:
        print(f"wasmbuild: {e}", file=sys.stderr)
        raise SystemExit(2)
    plan.state_dir.mkdir(parents=True, exist_ok=True)
    graph = Graph(plan)

    def task_wasmbuild():
        yield from graph.toolchain_tasks()
        yield from graph.source_tasks()
        yield from graph.build_python_tasks()
        for base, doc in [
            ("dep", "build a target's dependencies (libffi, mpdecimal, zlib, ...)"),
            ("configure_host", "configure CPython for a target"),
            ("make_host", "make CPython for a target"),
            ("stdlib_zip", "the stdlib zip of a target"),
            ("loaders", "render a target's loaders (python.sh, node_entry.mjs, ...)"),
            ("host", "build a target: interpreter, loaders, stdlib zip (host:emscripten, host:wasi)"),
            ("test", "smoke check and CPython test modules in a built interpreter"),
            ("pythoninfo", "python -m test.pythoninfo in a built interpreter"),
            ("run", "run a built interpreter: doit run:wasi -- -c 'print(1)'"),
        ]:
            yield {"basename": base, "name": None, "doc": doc}
        for tgt in plan.targets.values():
            yield from graph.target_tasks(tgt)
            yield from graph.use_tasks(tgt)

    config = {
        "dep_file": str(plan.state_dir / "doit.db"),
        "backend": "sqlite3",
        "check_file_uptodate": "md5",
        "default_tasks": ["host:emscripten"],
    }
    return {"DOIT_CONFIG": config, "task_wasmbuild": task_wasmbuild, "PLAN": plan}
