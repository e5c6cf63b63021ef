"""Tasks that use a built interpreter through its python.sh: test:, pythoninfo:, run:."""
from __future__ import annotations

from pathlib import Path

from . import actions, suite
from .model import DEBIAN_ROOT
from .plan import Plan, TargetPlan
from .tasks_common import action


def use_tasks(plan: Plan, tgt: TargetPlan):
    if tgt.unsupported:
        return
    t = tgt.target
    python_sh = next((l.output for l in t.loaders if Path(l.output).name == "python.sh"), None)
    if python_sh is None:
        return
    name = f"test:{t.name}"
    state = plan.state_dir
    run = suite.SuiteRun(name, Path(python_sh), t.tests, state / "tests" / t.name,
                         plan.settings.jobs,
                         tree=state / "test-tree" / t.name
                         if tgt.toolchain.provider == DEBIAN_ROOT else None,
                         yaml=str(tgt.yaml))
    yield {
        "basename": "test", "name": t.name,
        "doc": f"smoke check + CPython's test suite on {t.triple} (modules=quick|NAME,...)",
        "actions": [action(plan, name, actions.run_tests, run, t.tests.smoke, t.tests.expect,
                           plan.settings.modules, plan.source.path)],
        "task_dep": [f"host:{t.name}"],
        "uptodate": [False],
        "verbosity": 2,
    }
    yield {
        "basename": "pythoninfo", "name": t.name,
        "doc": f"run -m test.pythoninfo in the {t.triple} interpreter",
        "actions": [(actions.run_interpreter, [python_sh, ["-m", "test.pythoninfo"]])],
        "task_dep": [f"host:{t.name}"], "uptodate": [False], "verbosity": 2,
    }
    yield {
        "basename": "run", "name": t.name,
        "doc": f"run the {t.triple} interpreter: doit run:{t.name} -- -c 'print(1)'",
        "actions": [(actions.run_interpreter, [python_sh])],
        "pos_arg": "args",
        "task_dep": [f"host:{t.name}"], "uptodate": [False], "verbosity": 2,
    }
