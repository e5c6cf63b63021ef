"""crossenv:<target>: a virtual environment of the native build Python whose builds are
for the target: its compiler, sysconfig (EXT_SUFFIX, include dirs) and platform tag.

Not the PyPI `crossenv` package, which was tried first (1.6.2, on the 3.14.7 build): it
makes its cross Python report sys.platform == "emscripten", and pip's own urllib3 then
takes itself for Pyodide in a browser (`import js`: ModuleNotFoundError), so its cross
pip cannot even be installed; and the platform it tags wheels with is the Makefile's
_PYTHON_HOST_PLATFORM, which in 3.13 lacks the Emscripten version (emscripten-wasm32).
Here the build Python stays itself (sys.platform linux) and only sysconfig is the
target's (_PYTHON_SYSCONFIGDATA_NAME, _PYTHON_PROJECT_BASE), with the platform that the
built interpreter itself answers (`PROBE`), as CPython's Makefile cross-builds modules.
"""
from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

from doit.exceptions import TaskFailed

from ..atomic import copy_file, write_text
from ..digests import digest
from ..errors import WasmbuildError
from ..runlog import run_logged, say
from . import tags

# sysconfig variables that hold the flags the interpreter was compiled and linked with
FLAG_VARS = ["CFLAGS", "CONFIGURE_CFLAGS_NODIST", "LDFLAGS", "PY_LDFLAGS_NODIST",
             "LINKFORSHARED", "MODLIBS", "LIBS"]

# What the built interpreter says about itself (run by its python.sh): the truth the
# tags are made from.
PROBE = r"""
import importlib.machinery, json, site, sys, sysconfig
v = sysconfig.get_config_vars()
info = getattr(sys, "_emscripten_info", None)
print(json.dumps({
    "platform": sysconfig.get_platform(), "version": list(sys.version_info[:3]),
    "implementation": sys.implementation.name, "soabi": v.get("SOABI"),
    "ext_suffix": v.get("EXT_SUFFIX"),
    "extension_suffixes": importlib.machinery.EXTENSION_SUFFIXES,
    "emscripten": ".".join(map(str, info.emscripten_version)) if info else None,
    "pyemscripten": v.get("PYEMSCRIPTEN_PLATFORM_VERSION"),
    "flags": {k: v.get(k) for k in %r},
    "site_packages": site.getsitepackages(), "prefix": sys.prefix}))
""" % FLAG_VARS


def probe(python_sh: Path, cwd: Path, log: Path) -> dict:
    """The interpreter's answers (PROBE's JSON); its output also goes to the log."""
    out = subprocess.run([str(python_sh), "-c", PROBE], capture_output=True, text=True, cwd=cwd)
    with open(log, "a") as f:
        f.write(f"$ {python_sh} -c PROBE\n{out.stdout}{out.stderr}[exit {out.returncode}]\n")
    if out.returncode != 0:
        raise WasmbuildError(f"the interpreter did not answer ({python_sh}, exit {out.returncode}): "
                             f"{(out.stderr or out.stdout).strip()[-300:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ldshared(spec, facts: dict) -> str:
    """How an extension module is linked: the target's `ldshared` plus each ABI setting
    the interpreter itself has (a side module must match its main module's)."""
    flags = tags.link_flags(facts)
    wanted = [f for f in spec.abi_flags if f in flags or f + "=1" in flags]
    return " ".join([spec.ldshared, *wanted]).strip()


def settings_for(ep, facts: dict, claimed: list[str], sysconfigdata: Path) -> dict:
    """What _wasmbuild_cross.py sets in every Python of the env."""
    platform = f"pyemscripten_{claimed[0]}_wasm32" if claimed else facts["platform"]
    env = {"_PYTHON_HOST_PLATFORM": platform,
           "_PYTHON_SYSCONFIGDATA_NAME": sysconfigdata.stem,
           "_PYTHON_SYSCONFIGDATA_PATH": str(ep.env / "wasmbuild-target"),
           "_PYTHON_PROJECT_BASE": str(ep.tgt.build_dir)}
    # what a user (or a package's YAML) may set otherwise: only where it is not set
    defaults = {**({"LDSHARED": ldshared(ep.spec, facts)} if ep.spec.ldshared else {}), **ep.spec.env}
    return {"env": env, "defaults": defaults, "sysconfigdata_dir": str(ep.env / "wasmbuild-target")}


def _site_packages(env: Path) -> Path:
    found = sorted(env.glob("lib/python3*/site-packages"))
    if not found:
        raise WasmbuildError(f"{env}: the virtual environment has no lib/python3.X/site-packages")
    return found[0]


def make_env(ep, plan, *, log: Path, name: str):
    """The env (made again only when the build requirements changed), then the
    interpreter's answers, the tags, and the cross settings; the facts file last."""
    from ..stdlib_zip import sysconfigdata
    from ..actions import _rw
    sandbox = ep.tgt.toolchain.sandbox
    env = ep.env
    stamp = env / ".wasmbuild-requirements"
    wanted = digest([ep.project.build_requirements, str(plan.build_python)])
    ep.facts.unlink(missing_ok=True)
    if not (env / "pyvenv.cfg").is_file() or not stamp.is_file() or stamp.read_text() != wanted:
        shutil.rmtree(env, ignore_errors=True)
        env.parent.mkdir(parents=True, exist_ok=True)
        pip_cache = _pip_cache(plan)
        steps = [([str(plan.build_python), "-m", "venv", str(env)], False),
                 ([str(env / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                   *ep.project.build_requirements], True)]
        for argv, network in steps[:1 if not ep.project.build_requirements else 2]:
            full, run_env = sandbox.command(argv, env.parent, rw=[*_rw(plan), pip_cache], ro=[plan.source.path],
                                            network=network,
                                            extra_env={"PIP_CACHE_DIR": str(pip_cache),
                                                       "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt"})
            failed = run_logged(full, env=run_env, cwd=env.parent, log=log, name=name, title=shlex.join(argv))
            if failed:
                return failed
        write_text(stamp, wanted)
    facts = probe(ep.tgt.build_dir / "python.sh", ep.root, log)
    claimed, notes = tags.pyemscripten_claims(facts, ep.project.pyemscripten, ep.project.emscripten_defaults)
    accepted = tags.interpreter_tags(facts, claimed)
    data = sysconfigdata(ep.tgt.build_dir)
    (env / "wasmbuild-target").mkdir(exist_ok=True)
    copy_file(data, env / "wasmbuild-target" / data.name)
    site = _site_packages(env)
    copy_file(Path(__file__).with_name("startup.py"), site / "_wasmbuild_cross.py")
    settings = settings_for(ep, facts, claimed, data)
    write_text(site / "_wasmbuild_cross.json", json.dumps(settings, indent=1, sort_keys=True) + "\n")
    write_text(site / "_wasmbuild_cross.pth", "import _wasmbuild_cross\n")
    # the wheels depend on this file: what changes how they are built is in it
    record = {"target": ep.name, "python": ".".join(map(str, facts["version"])), "facts": facts,
              "pyemscripten": claimed, "notes": notes, "tags": accepted, "settings": settings,
              "build_requirements": ep.project.build_requirements}
    write_text(ep.facts, json.dumps(record, indent=1, sort_keys=True) + "\n")
    say(f"   {ep.name}: wheels are tagged {accepted[0]}")
    for note in notes:
        say(f"   {note}")
    return {"notes": [f"tag {accepted[0]}", *notes]}


def _pip_cache(plan) -> Path:
    from ..paths import cache_dir
    path = cache_dir() / "pip"
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_facts(ep) -> dict:
    try:
        return json.loads(ep.facts.read_text())
    except (OSError, ValueError):
        raise WasmbuildError(f"{ep.facts} is missing or unreadable: run doit crossenv:{ep.name}") from None


def describe(record: dict) -> str:
    """How a refusal names the interpreter."""
    return f"{record['target']} (CPython {record['python']})"


def run_in_env(ep, plan, args=()):
    """`doit cross:<target> -- pip wheel -w dist ./project`: a program of the cross env
    (pip, python, ...) in the toolchain's sandbox (where emcc is), in the folder doit was
    started in (bound writable: paths outside it are not seen), with the network (pip may
    download). Its exit status is kept."""
    import os
    from ..actions import _rw
    from ..runlog import foreground
    args = list(args)
    # `--native` first: the build Python as itself (WASMBUILD_CROSS=0), to install a tool
    # for the env (a build backend); doit takes any NAME=VALUE word for its own variables
    settings = {"WASMBUILD_CROSS": "0"} if args[:1] == ["--native"] else {}
    args = args[1:] if settings else args
    if not args:
        return TaskFailed(f"cross:{ep.name}: name a program of the env: doit cross:{ep.name} -- pip wheel .")
    program = ep.env / "bin" / args[0]
    if not program.exists():
        return TaskFailed(f"cross:{ep.name}: {args[0]!r} is not in {ep.env / 'bin'}")
    # the folder doit was started in (doit itself changes into the project's): the shell's PWD
    pwd = os.environ.get("PWD", "")
    cwd = Path(pwd) if pwd.startswith("/") and Path(pwd).is_dir() else Path(os.getcwd())
    argv, env = ep.tgt.toolchain.sandbox.command(
        [str(program), *args[1:]], cwd, rw=[*_rw(plan), cwd, _pip_cache(plan)], ro=[plan.source.path],
        network=True, extra_env={"PIP_CACHE_DIR": str(_pip_cache(plan)),
                                 "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt", **settings})
    with foreground():
        rc = subprocess.call(argv, env=env, cwd=cwd)
    return None if rc == 0 else TaskFailed(f"cross:{ep.name}: {args[0]} exited with status {rc}")
