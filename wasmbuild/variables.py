"""The doit command-line variables (`doit host:emscripten cpython=PATH jobs=4`), checked.

Each bad value is one line naming the variable, what was given and what is expected;
an unknown name gets a "did you mean". Nothing is built or written before this passes.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import WasmbuildError
from .model import PROVIDERS
from .plan import Settings

# name: what it expects (the text of the error message)
KNOWN = {
    "cpython": "a CPython source tree (a folder with configure and Include/patchlevel.h)",
    "release": "a CPython release declared in targets/_shared.yaml (e.g. 3.13.15)",
    "cross_build": "a folder wasmbuild can create or write",
    "provider": " or ".join(PROVIDERS),
    "jobs": "a whole number from 1 to 256",
    "targets": "a folder of target YAML files",
    "toolchains": "a folder of toolchain YAML files",
    "templates": "a folder of Jinja templates (as the project's templates/)",
    "modules": "all, a set named in the target YAML (e.g. quick), or test_a,test_b",
    "remote_cache": "redis://HOST:PORT/DB or unix:///PATH/TO.sock, optionally followed by |read-only",
    "packages": "names declared in targets/_extensions.yaml, sdist files or project folders, comma-separated",
    "wheels": "wheel files (.whl), comma-separated",
}
REMOTE_ENV = "WASMBUILD_REMOTE_CACHE"     # the same setting for CI, where a variable is awkward


def _bad(name: str, value: str, why: str = "") -> WasmbuildError:
    return WasmbuildError(f"{name}={value}: {why + '; ' if why else ''}expected {KNOWN[name]}")


def _yaml_dir(name: str, value: str) -> Path:
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        raise _bad(name, value, "no such folder")
    if not any(path.glob("*.yaml")):
        raise _bad(name, value, "no .yaml file in it")
    return path


def _templates_dir(value: str) -> Path:
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        raise _bad("templates", value, "no such folder")
    if not any(path.glob("*.j2")):
        raise _bad("templates", value, "no .j2 file in it")
    return path


def _writable_dir(name: str, value: str) -> str:
    """Created now (wasmbuild writes its state there next): what cannot be is refused."""
    path = Path(value).expanduser().absolute()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _bad(name, value, f"cannot create it ({e.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise _bad(name, value, "not writable")
    return value


def settings(variables: dict[str, str]) -> Settings:
    """Settings from the command line's name=value pairs; WasmbuildError on a bad one."""
    for name in variables:
        if name not in KNOWN:
            import difflib
            close = difflib.get_close_matches(name, KNOWN, n=1)
            hint = f" (did you mean {close[0]}=?)" if close else ""
            raise WasmbuildError(f"unknown variable {name}={variables[name]}{hint}; "
                                 f"known: {', '.join(f'{k}=' for k in KNOWN)}")
    for name, value in variables.items():
        if not value.strip():
            raise _bad(name, value, "empty value")
    s = Settings(cpython=variables.get("cpython"), modules=variables.get("modules"),
                 packages=variables.get("packages"), wheels=variables.get("wheels"))
    if "cpython" in variables and not Path(variables["cpython"]).expanduser().is_dir():
        raise _bad("cpython", variables["cpython"], "no such folder")
    if "release" in variables:
        if "cpython" in variables:
            raise _bad("release", variables["release"], "cpython= names the source already; give one of the two")
        if not re.fullmatch(r"\d+\.\d+\.\d+\w*", variables["release"]):
            raise _bad("release", variables["release"], "not a version")
        s.release = variables["release"]
    if "cross_build" in variables:
        s.cross_build = _writable_dir("cross_build", variables["cross_build"])
    if "provider" in variables:
        if variables["provider"] not in PROVIDERS:
            raise _bad("provider", variables["provider"])
        s.provider = variables["provider"]
    if "jobs" in variables:
        try:
            s.jobs = int(variables["jobs"])
        except ValueError:
            raise _bad("jobs", variables["jobs"]) from None
        if not 1 <= s.jobs <= 256:
            raise _bad("jobs", variables["jobs"])
    if "targets" in variables:
        s.targets_dir = _yaml_dir("targets", variables["targets"])
    if "toolchains" in variables:
        s.toolchains_dir = _yaml_dir("toolchains", variables["toolchains"])
    if "templates" in variables:
        s.templates_dir = _templates_dir(variables["templates"])
    remote = variables.get("remote_cache", os.environ.get(REMOTE_ENV) or None)
    if remote:
        # parsed now (nothing connects yet), so a bad one stops the run before anything runs
        from .remote import RemoteCache
        try:
            RemoteCache.from_setting(remote)
        except ValueError as e:
            name = "remote_cache" if "remote_cache" in variables else REMOTE_ENV
            raise WasmbuildError(f"{name}: {e}") from None
        s.remote_cache = remote
    return s
