"""What the task modules share: an action bound to its task's log, clean actions, and
config_changed (the report's, which remembers why a task ran)."""
from __future__ import annotations

import shutil
from pathlib import Path

from . import actions
from .plan import Plan
from .report import settings_changed as config_changed

def action(plan: Plan, task: str, fn, /, *args, **kwargs):
    """`fn(*args, **kwargs)` as the doit action of `task`, logging to the plan's log of
    that task (actions.task_action gives it its name, log and changed files)."""
    return actions.task_action(task, plan.log(task), fn, *args, **kwargs)


# Clean actions. `doit clean` prints their names ("executing 'Python: function _rmtree'").
def _rmtree(path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _unlink(path) -> None:
    Path(path).unlink(missing_ok=True)
