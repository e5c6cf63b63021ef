"""The doit tasks of third-party C extensions, per target with an `extensions:` key:

- crossenv:<target>     the cross env (build Python venv + the target's sysconfig), and the
                        tags the interpreter accepts, from its own answers
- wheel_lib:<target>-X  a C library a package links (libyaml), built for the target
- wheel:<target>-X      one wheel (a package of _extensions.yaml, or packages=PATH)
- wheel:<target>        every wheel packages= names (default: all the YAML declares)
- site:<target>         the wheels (and wheels=FILES) installed into its site-packages
- web_site:<target>     that site-packages in the browser example (its worker loads it)
- wheel_test:<target>   each package's check and named tests, in python.sh
- cross:<target> -- ARGS  a program of the cross env (pip wheel, python -m build) by hand

A target whose YAML says `extensions: {unsupported: why}` (WASI) gets the same names,
each failing with that one line.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from doit.exceptions import TaskFailed

from .. import treestate
from ..digests import digest
from ..plan import Plan
from ..tasks_common import _rmtree, _unlink, action, config_changed
from . import layout

GROUPS = [
    ("crossenv", "a cross-build env for a target's C extensions: pip wheel / python -m build in it"),
    ("wheel_lib", "a C library that an extension links, built for the target (libyaml)"),
    ("wheel", "wheels of C extensions for a target (packages=NAME,SDIST,FOLDER; default: _extensions.yaml)"),
    ("site", "install a target's wheels (and wheels=FILES) where its interpreter finds them"),
    ("web_site", "the browser example with the target's site-packages, installed by its worker"),
    ("wheel_test", "each built package's check and named tests in the target's interpreter"),
    ("cross", "a program of the cross env in the toolchain's sandbox: doit cross:emscripten -- pip wheel ."),
]


def _lazy(module: str, fn: str):
    """`wasmbuild.extensions.<module>.<fn>` as an action, imported when it runs: loading
    the tasks (every doit run, a no-op too) needs none of the action modules."""
    import inspect

    def run(*args, log, name, **kwargs):
        import importlib
        f = getattr(importlib.import_module(f"{__package__}.{module}"), fn)
        wanted = inspect.signature(f).parameters
        return f(*args, **kwargs, **{k: v for k, v in (("log", log), ("name", name)) if k in wanted})
    run.__name__ = fn
    return run


def _refuse(message: str):
    """An action for a target that loads no C extension: the YAML's one line."""
    def fail():
        return TaskFailed(message)
    return fail


def groups():
    for base, doc in GROUPS:
        yield {"basename": base, "name": None, "doc": doc}


def extension_tasks(plan: Plan, extensions: dict[str, layout.ExtPlan]):
    yield from groups()
    for tgt in plan.targets.values():
        spec = tgt.target.extensions
        if tgt.unsupported or spec is None:
            continue
        if spec.unsupported:
            for base, _doc in GROUPS:
                if base != "wheel_lib":
                    yield {"basename": base, "name": tgt.name, "doc": f"(unsupported) {spec.unsupported}",
                           "actions": [_refuse(f"{base}:{tgt.name}: {spec.unsupported}")]}
            continue
        yield from _target_tasks(plan, extensions[tgt.name])


class site_intact:
    """uptodate: every file the last site: installed is still there (site-packages is
    writable through python.sh: a test, pip or a hand may remove them)."""

    def __init__(self, record: Path):
        self.record = record

    def __call__(self, task, values):
        from .site import installed, missing_files
        data = installed(self.record)
        return bool(data) and not missing_files(data)


def _target_tasks(plan: Plan, ep: layout.ExtPlan):
    t, bdir, tp = ep.name, ep.tgt.build_dir, ep.tgt.toolchain
    yield {
        "basename": "crossenv", "name": t,
        "doc": f"cross env {ep.env}: the {t} interpreter's sysconfig and tags for pip wheel / python -m build",
        "actions": [action(plan, f"crossenv:{t}", _lazy("crossenv", "make_env"), ep, plan)],
        "file_dep": [str(bdir / "Makefile"), str(bdir / "pyconfig.h"), str(bdir / "pybuilddir.txt"),
                     str(tp.identity)],
        "task_dep": [f"host:{t}"],
        "uptodate": [config_changed(digest([ep.project.build_requirements, ep.project.pyemscripten,
                                            ep.project.emscripten_defaults, ep.spec]))],
        "targets": [str(ep.facts)],
        "clean": [(_rmtree, [ep.env])],
    }
    libs = {}
    for source in ep.sources:
        for lib in (source.package.libraries if source.package else []):
            libs[lib] = ep.project.libraries[lib]
    lib_outputs = {}
    for name in libs:
        src = ep.library_src(name)
        lib = ep.library(name)
        lib_outputs[name] = list(lib.outputs)
        yield {
            "basename": "wheel_lib", "name": f"{t}-{name}",
            "doc": f"{name} {lib.version} for {ep.tgt.target.triple}, linked by extensions",
            "actions": [action(plan, f"wheel_lib:{t}-{name}", _lazy("build", "build_library"), ep, plan, name, lib)],
            "file_dep": [str(tp.identity)],
            "task_dep": [tp.task],
            "uptodate": [config_changed(digest(lib))],
            "targets": list(lib.outputs),
            "clean": [(_rmtree, [src]), *[(_unlink, [o]) for o in lib.outputs]],
        }
    names = []
    for source in ep.sources:
        task = f"wheel:{t}-{source.name}"
        names.append(task)
        own_libs = source.package.libraries if source.package else []
        uptodate = [config_changed(digest([dataclasses.asdict(source.package) if source.package
                                           else str(source.path)]))]
        file_dep = [str(ep.facts), *[o for lib in own_libs for o in lib_outputs[lib]]]
        if source.is_folder:
            tree = treestate.TreeState(source.path, plan.state_dir / f"tree-wheel-{t}-{source.name}.json",
                                       skip=layout.FOLDER_OUTPUTS)
            uptodate.append(treestate.unchanged(tree, "folder", plan.state_dir / "snapshots"))
        elif source.path is not None:
            file_dep.append(str(source.path))
        yield {
            "basename": "wheel", "name": f"{t}-{source.name}",
            "doc": f"the {source.name} wheel for {t}" + (f" from {source.path}" if source.path else
                                                         f" ({source.package.version}, sdist from PyPI)"),
            "actions": [action(plan, task, _lazy("build", "build_wheel"), ep, plan, source)],
            "file_dep": file_dep,
            "task_dep": [f"crossenv:{t}", *[f"wheel_lib:{t}-{lib}" for lib in own_libs]],
            "uptodate": uptodate,
            "targets": [str(ep.record(source))],
            "clean": [(_rmtree, [ep.work(source)]), (_remove_wheel, [ep.record(source)])],
        }
    yield {"basename": "wheel", "name": t, "doc": f"every wheel packages= names, for {t}",
           "actions": None, "task_dep": names}
    yield {
        "basename": "site", "name": t,
        "doc": f"install {t}'s wheels into {ep.site}",
        "actions": [action(plan, f"site:{t}", _install_site, ep)],
        "file_dep": [str(ep.facts), *[str(ep.record(s)) for s in ep.sources], *map(str, ep.extra_wheels)],
        "task_dep": [f"wheel:{t}"],
        # the folder is part of what it did: a site-packages moved in the YAML is installed anew
        "uptodate": [config_changed(digest([[s.name for s in ep.sources], [str(w) for w in ep.extra_wheels],
                                            str(ep.site)])),
                     site_intact(ep.site_record)],
        "targets": [str(ep.site_record)],
        "clean": [(_rmtree, [ep.site]), (_unlink, [ep.site_record])],
    }
    web = ep.tgt.target.web
    if web is not None:
        web_dir = Path(web.dir)
        yield {
            "basename": "web_site", "name": t,
            "doc": f"the browser example in {web_dir} with {t}'s site-packages (its worker installs them)",
            "actions": [action(plan, f"web_site:{t}", _web_site, ep, web_dir)],
            "file_dep": [str(ep.site_record)],
            "task_dep": [f"web:{t}", f"site:{t}"],
            "targets": [str(web_dir / "site-packages.json")],
            "clean": [(_rmtree, [web_dir / "site-packages"]), (_unlink, [web_dir / "site-packages.json"])],
        }
    yield {
        "basename": "cross", "name": t,
        "doc": f"run a program of {t}'s cross env: doit cross:{t} -- pip wheel --no-build-isolation -w dist .",
        "actions": [(_run_in_env, [ep, plan])],
        "pos_arg": "args",
        "task_dep": [f"crossenv:{t}"], "uptodate": [False], "verbosity": 2,
    }
    yield {
        "basename": "wheel_test", "name": t,
        "doc": f"each package's check and named tests in {t}'s python.sh",
        "actions": [action(plan, f"wheel_test:{t}", _lazy("checks", "run_package_tests"), ep)],
        "task_dep": [f"site:{t}"],
        "uptodate": [False],
        "verbosity": 2,
    }


def _remove_wheel(record: Path) -> None:
    """Clean action of wheel:<target>-<name>: the wheel its record names, and the record."""
    try:
        (record.parent / json.loads(record.read_text())["wheel"]).unlink(missing_ok=True)
    except (OSError, ValueError, KeyError):
        pass
    record.unlink(missing_ok=True)


def _run_in_env(ep: layout.ExtPlan, plan: Plan, args=()):
    from .crossenv import run_in_env
    return run_in_env(ep, plan, args)


def _install_site(ep: layout.ExtPlan):
    from . import crossenv, site as site_mod
    record = crossenv.read_facts(ep)
    bind = ep.tgt.target.vars.get("site_packages_bind")
    sandbox = ep.tgt.toolchain.sandbox
    if bind and sandbox.root is not None:
        # python.sh binds the folder there (3.13's NODERAWFS): its mount point, an empty
        # folder in the read-only root, as build commands' mount points are made
        sandbox._mount_point(Path(bind))
    wheels = [ep.wheels / json.loads(ep.record(s).read_text())["wheel"] for s in ep.sources]
    site_mod.install_wheels([*wheels, *ep.extra_wheels], ep.site, record["tags"],
                            crossenv.describe(record), ep.site_record)
    return {"notes": [w.name for w in [*wheels, *ep.extra_wheels]]}


def _web_site(ep: layout.ExtPlan, web_dir: Path):
    """The installed files under web/site-packages/ and their list in
    web/site-packages.json, which the worker fetches and writes into the Emscripten file
    system's site-packages before Python starts."""
    from ..atomic import write_text
    from . import site as site_mod
    import shutil
    dest = web_dir / "site-packages"
    shutil.rmtree(dest, ignore_errors=True)
    count = site_mod.copy_site(ep.site_record, dest)
    files = site_mod.installed(ep.site_record).get("files", [])
    write_text(web_dir / "site-packages.json", json.dumps({"files": files}, indent=1) + "\n")
    return {"notes": [f"{count} files of site-packages"]}
