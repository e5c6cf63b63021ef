"""Copied by `doit crossenv:<target>` into the cross env's site-packages as
_wasmbuild_cross.py and imported by _wasmbuild_cross.pth when any Python of the env starts
(pip, its build backends and their subprocesses alike): it points the build Python's
sysconfig at the target's, as CPython's own Makefile does when it cross-builds modules
(PYTHON_FOR_BUILD), so that setuptools, pip and `python -m build` compile for the target,
name modules with its EXT_SUFFIX and tag wheels with its platform.

WASMBUILD_CROSS=0 in the environment turns it off (to pip-install tools for the env itself).
Its settings are in _wasmbuild_cross.json beside it; this file is not rendered.
"""
import json
import os
import sys


def _apply():
    if os.environ.get("WASMBUILD_CROSS", "1") == "0":
        return
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "_wasmbuild_cross.json"), encoding="utf-8") as f:
        settings = json.load(f)
    os.environ.update(settings["env"])
    for key, value in settings["defaults"].items():
        os.environ.setdefault(key, value)
    # 3.13's sysconfig imports _PYTHON_SYSCONFIGDATA_NAME by name (3.14 also reads
    # _PYTHON_SYSCONFIGDATA_PATH); subprocesses import this module again
    if settings["sysconfigdata_dir"] not in sys.path:
        sys.path.append(settings["sysconfigdata_dir"])
    # A venv of an uninstalled build Python has sys._home (its build dir), and setuptools'
    # distutils takes that folder's pyconfig.h (the native one) before _PYTHON_PROJECT_BASE's
    # (the target's): without _home, the target's build dir is the "Python build" it reads.
    # Nothing has read _home yet: sysconfig is not imported before .pth files run.
    if hasattr(sys, "_home"):
        del sys._home


_apply()
