"""The doit task graph, built from the plan.

Names are the contract: host:<target>, test:<target>, web:emscripten; underneath,
toolchain:*, source:cpython, fetch:*, build_python:{configure,make}, dep:<target>-<name>,
configure_host:*, make_host:*, stdlib_zip:*, loaders:*. Inputs are declared as
file_dep/targets where they are files, as config_changed where they are YAML values,
and as a tree signature (treestate) where they are thousands of source files.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .report import settings_changed as config_changed

from doit.exceptions import TaskFailed

from . import actions, source, stdlib_zip, suite, treestate
from .digests import digest
from . import fetch
from .fetch import cached_path
from .plan import Plan, TargetPlan
from .runlog import run_logged

# Top-level folders of a CPython tree that make never reads.
NOT_BUILD_INPUTS = {"Lib", "Doc", "PC", "PCbuild", "Mac", "iOS", "Android", "Apple", "Platforms",
                    "cross-build", "build", ".github", ".azure-pipelines", ".devcontainer"}


def frozen_lib_files(src: Path) -> list[str]:
    """Lib files that make freezes into the interpreter (FROZEN_FILES_IN of Makefile.pre.in)."""
    try:
        text = (src / "Makefile.pre.in").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    m = re.search(r"^FROZEN_FILES_IN\s*=((?:.*\\\n)*.*)$", text, re.M)
    if not m:
        return []
    return [w.replace("$(srcdir)/", "") for w in m.group(1).replace("\\\n", " ").split()
            if "Lib/" in w]


def _rmtree(path) -> None:
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def _unlink(path) -> None:
    Path(path).unlink(missing_ok=True)


class Graph:
    def __init__(self, plan: Plan):
        self.plan = plan
        src = plan.source.path
        state = plan.state_dir
        self.src_tree = treestate.TreeState(src, state / "tree-sources.json",
                                            skip={"NEWS.d"}, skip_top=NOT_BUILD_INPUTS,
                                            extra=frozen_lib_files(src))
        self.lib_tree = treestate.TreeState(src / "Lib", state / "tree-lib.json")
        inputs = plan.project.build_python.bytecode_inputs
        self.bytecode_tree = treestate.TreeState(
            src, state / "tree-bytecode.json", subdirs=[p.rstrip("/") for p in inputs if p.endswith("/")],
            extra=[p for p in inputs if not p.endswith("/")])
        self.snapshots = state / "snapshots"

    # ------------------------------------------------------------ helpers
    def _action(self, task_name, fn, /, *args, **kwargs):
        return actions.task_action(task_name, self.plan.log(task_name), fn, *args, **kwargs)

    def _source_deps(self) -> list[str]:
        return ["source:cpython"] if self.plan.source.default else []

    # ------------------------------------------------------------ toolchains
    def toolchain_tasks(self):
        yield {"basename": "toolchain", "name": None,
               "doc": "provision a toolchain (Debian root via debootstrap, or check the system one)"}
        for tp in self.plan.toolchains.values():
            name = tp.task
            yield {
                "basename": "toolchain", "name": tp.toolchain.name,
                "doc": f"{tp.toolchain.description} [{tp.provider}]",
                "actions": [self._action(name, actions.provision_toolchain, tp)],
                "uptodate": [actions.stamp_matches(tp)],
                "targets": [str(tp.stamp), str(tp.identity)],
                "verbosity": 2,
            }

    # ------------------------------------------------------------ sources
    def source_tasks(self):
        plan = self.plan
        if plan.source.default:
            dl = plan.project.cpython
            yield {
                "basename": "source", "name": "cpython",
                "doc": f"fetch and unpack the default CPython source ({plan.source.version})",
                "actions": [self._action("source:cpython", source.unpack_release, dl,
                                         plan.source.path)],
                "targets": [str(plan.source.path / "configure")],
                "uptodate": [lambda dl=dl: source.is_unpacked(dl, plan.source.path)],
            }
        else:
            yield {"basename": "source", "name": None,
                   "doc": f"CPython source: {plan.source.path} ({plan.source.version})",
                   "actions": None}
        seen = set()
        yield {"basename": "fetch", "name": None,
               "doc": "download dependency sources into the cache (sha256-verified)"}
        for tgt in plan.targets.values():
            for dp in tgt.deps:
                dl = dp.dep.download
                if dl is None or dl.file in seen:
                    continue
                seen.add(dl.file)
                yield {
                    "basename": "fetch", "name": dl.file, "doc": f"download {dl.file}",
                    "actions": [self._action(f"fetch:{dl.file}", fetch.fetch, dl)],
                    "targets": [str(cached_path(dl))],
                    "uptodate": [config_changed(dl.sha256)],
                }

    # ------------------------------------------------------------ build Python
    def build_python_tasks(self):
        plan, bp, tp = self.plan, self.plan.project.build_python, self.plan.native
        cwd = plan.build_python_dir
        configure_rel = os.path.relpath(plan.source.path / "configure", cwd)
        argv = [*bp.configure.wrapper, configure_rel, *bp.configure.args]
        env = dict(bp.configure.env)
        key = digest([tp.digest, tp.sandbox.env, plan.source.version, argv, env])
        yield {"basename": "build_python", "name": None,
               "doc": "the native build Python, shared by every target"}
        yield {
            "basename": "build_python", "name": "configure",
            "doc": "configure the native build Python",
            "actions": [self._action("build_python:configure", actions.configure, plan, tp.sandbox,
                                     cwd=cwd, argv=argv, env=env, cache_key=key)],
            "file_dep": [str(plan.source.path / "configure"), str(tp.identity)],
            "task_dep": [tp.task, *self._source_deps()],
            "uptodate": [config_changed({"argv": argv, "env": env})],
            "targets": [str(cwd / "Makefile"), str(cwd / "config.status")],
            "clean": [(_rmtree, [cwd])],
        }

        def make_task(task: str, doc: str, targets: list[str], outputs: list[str], file_dep: list[str],
                      task_dep: list[str]) -> dict:
            argv = [*bp.make.wrapper, "make", f"-j{plan.settings.jobs}", *bp.make.args, *targets]
            sources = treestate.unchanged(self.src_tree, "sources", self.snapshots)
            return {
                "basename": "build_python", "name": task.split(":")[1], "doc": doc,
                "actions": [self._action(task, actions.make, plan, tp.sandbox, cwd=cwd, argv=argv,
                                         env=dict(bp.make.env), toolchain_stamp=tp.identity, sources=sources)],
                "file_dep": [str(cwd / "Makefile"), str(tp.identity), *file_dep],
                "task_dep": task_dep,
                "uptodate": [sources, config_changed({"argv": argv, "env": bp.make.env})],
                "targets": outputs,
                "clean": True,
            }

        # configure deletes pybuilddir.txt: as a target it makes make run after any
        # configure, even one that wrote an identical Makefile
        yield make_task("build_python:make", "make the native build Python", bp.make.targets,
                        [str(plan.build_python), str(cwd / "pybuilddir.txt")], [],
                        ["build_python:configure"])
        if bp.launcher:
            variables = dict(plan.context, build_python=str(plan.build_python))
            yield {
                "basename": "build_python", "name": "launcher",
                "doc": "render the launcher that targets run as their build Python",
                "actions": [self._action("build_python:launcher", actions.render_loaders,
                                         plan.settings.templates_dir, [bp.launcher], variables)],
                "file_dep": [str(plan.settings.templates_dir / bp.launcher.template)],
                "uptodate": [config_changed(digest([variables, bp.launcher]))],
                "targets": [bp.launcher.output],
                "clean": True,
            }

    @property
    def configure_waits_for(self) -> str:
        """A target's configure runs its build Python: the launcher, or else the whole build."""
        return "build_python:launcher" if self.plan.project.build_python.launcher else "build_python:make"

    # ------------------------------------------------------------ one target
    def target_tasks(self, tgt: TargetPlan):
        if tgt.unsupported:
            yield from self._unsupported(tgt)
            return
        plan, t, tp = self.plan, tgt.target, tgt.toolchain
        bdir = tgt.build_dir
        dep_outputs = []
        for dp in tgt.deps:
            dep = dp.dep
            file_dep = [str(tp.identity)] + ([str(cached_path(dep.download))] if dep.download else [])
            yield {
                "basename": "dep", "name": f"{t.name}-{dep.name}",
                "doc": f"build {dep.name} {dep.version} for {t.triple}",
                "actions": [self._action(dp.task, actions.build_dependency, plan, tp, dp)],
                "file_dep": file_dep,
                "task_dep": [tp.task] + ([f"fetch:{dep.download.file}"] if dep.download else [])
                            + [f"dep:{t.name}-{a}" for a in dep.after],
                "uptodate": [config_changed(digest(dep))],
                "targets": list(dep.outputs),
                "clean": [(_rmtree, [dp.src]), *[(_unlink, [o]) for o in dep.outputs]],
            }
            dep_outputs += dep.outputs

        # configure-host
        configure_rel = os.path.relpath(plan.source.path / "configure", bdir)
        argv = [*t.configure.wrapper, configure_rel, *t.configure.args]
        env = dict(t.configure.env)
        for dp in tgt.deps:
            env.update(dp.dep.provides)
        # not the build Python's binary: a C edit relinks it, and configure only needs it to
        # exist (task_dep) and its version (in the arguments and the cache key)
        file_dep = [str(plan.source.path / "configure"), str(tp.identity)]
        if t.configure.config_site:
            env["CONFIG_SITE"] = t.configure.config_site
            file_dep.append(t.configure.config_site)
        key = digest([tp.digest, tp.sandbox.env, plan.source.version, argv, env,
                              Path(t.configure.config_site).read_text()
                              if t.configure.config_site and Path(t.configure.config_site).exists()
                              else None])
        name = f"configure_host:{t.name}"
        yield {
            "basename": "configure_host", "name": t.name,
            "doc": f"configure CPython for {t.triple}",
            "actions": [self._action(name, actions.configure, plan, tp.sandbox, cwd=bdir, argv=argv,
                                     env=env, cache_key=key, setup_local=t.setup_local)],
            "file_dep": file_dep,
            "task_dep": [self.configure_waits_for, *[dp.task for dp in tgt.deps]],
            "uptodate": [config_changed({"argv": argv, "env": env,
                                         "setup_local": digest(t.setup_local)})],
            "targets": [str(bdir / "Makefile"), str(bdir / "config.status")],
            # configure made the build dir: cleaning it removes the dir (and a Setup.local
            # that wasmbuild wrote into the source)
            "clean": [(_rmtree, [bdir]), (actions.remove_setup_local, [plan.state_dir / "setup-local.json"])],
        }

        # make-host
        margv = [*t.make.wrapper, "make", f"-j{plan.settings.jobs}", *t.make.args, *t.make.targets]
        artifacts = [str(bdir / a) for a in t.artifacts]
        name = f"make_host:{t.name}"
        sources = treestate.unchanged(self.src_tree, "sources", self.snapshots)
        yield {
            "basename": "make_host", "name": t.name,
            "doc": f"make CPython for {t.triple}",
            "actions": [self._action(name, actions.make, plan, tp.sandbox, cwd=bdir, argv=margv,
                                     env=dict(t.make.env), toolchain_stamp=tp.identity, relink=[Path(a) for a in artifacts],
                                     relink_if=dep_outputs, sources=sources)],
            "file_dep": [str(bdir / "Makefile"), str(plan.build_python), str(tp.identity), *dep_outputs],
            # make runs the build Python (freezing, checks): all of it, modules included
            "task_dep": [f"configure_host:{t.name}", "build_python:make"],
            "uptodate": [sources, config_changed({"argv": margv, "env": t.make.env})],
            "targets": [*artifacts, str(bdir / "pybuilddir.txt")],
            "clean": True,
        }

        # stdlib zip
        zip_path = bdir / t.stdlib_zip.name
        staging = plan.state_dir / "pyc" / t.name
        name = f"stdlib_zip:{t.name}"

        def run_build_python(args, name=name):
            argv, env = plan.native.sandbox.command([str(plan.build_python), *args],
                                                    plan.build_python_dir, rw=[plan.cross_build],
                                                    ro=[plan.source.path])
            return run_logged(argv, env=env, cwd=plan.build_python_dir, log=plan.log(name), name=name)

        def make_zip(spec=t.stdlib_zip, name=name):     # `name` is rebound below
            staging.mkdir(parents=True, exist_ok=True)
            result = stdlib_zip.build_zip(lib_tree=self.lib_tree, build_dir=bdir, staging=staging,
                                          dest=zip_path, spec=spec, run_build_python=run_build_python,
                                          bytecode=self.bytecode_tree.digest())
            if isinstance(result, dict):
                with open(plan.log(name), "a") as f:
                    f.write(f"{result}\n")
                return None
            return result

        yield {
            "basename": "stdlib_zip", "name": t.name,
            "doc": f"stdlib zip for {t.triple} (.pyc only, deflated)",
            "actions": [self._action(name, make_zip)],
            # not the build Python's binary, which every C edit relinks: what decides the
            # bytecode is its bytecode_inputs (a compiler edit recompiles every .pyc)
            "file_dep": [str(bdir / "Makefile"), str(bdir / "pybuilddir.txt")],
            "task_dep": [f"make_host:{t.name}"],
            "uptodate": [treestate.unchanged(self.lib_tree, "lib", self.snapshots),
                         treestate.unchanged(self.bytecode_tree, "bytecode", self.snapshots),
                         config_changed(digest(t.stdlib_zip))],
            "targets": [str(zip_path)],
            "clean": [(_unlink, [zip_path]), (_rmtree, [staging])],
        }

        # loaders
        variables = dict(tgt.context, runner=t.runner, sandbox=self._sandbox_vars(tgt),
                         stdlib_zip=str(zip_path), artifacts=artifacts)
        name = f"loaders:{t.name}"
        yield {
            "basename": "loaders", "name": t.name,
            "doc": f"render {', '.join(Path(l.output).name for l in t.loaders)} from templates",
            "actions": [self._action(name, actions.render_loaders, plan.settings.templates_dir,
                                     t.loaders, variables)],
            "file_dep": [str(plan.settings.templates_dir / l.template) for l in t.loaders],
            "uptodate": [config_changed(digest([variables, [l.vars for l in t.loaders]]))],
            "targets": [l.output for l in t.loaders],
            "clean": True,
        }

        yield {
            "basename": "host", "name": t.name,
            "doc": f"CPython for {t.triple}: interpreter, loaders and stdlib zip in {bdir}",
            "actions": None,
            "task_dep": [f"make_host:{t.name}", f"stdlib_zip:{t.name}", f"loaders:{t.name}"],
            # `doit clean host:<target>`: everything this target produced
            "clean": [(_rmtree, [bdir]), (_rmtree, [staging]), (_rmtree, [tgt.deps_dir]),
                      (actions.remove_setup_local, [plan.state_dir / "setup-local.json"])],
        }

    def use_tasks(self, tgt: TargetPlan):
        """test:, run: and pythoninfo: -- they run the built interpreter through python.sh."""
        if tgt.unsupported:
            return
        t = tgt.target
        python_sh = next((l.output for l in t.loaders if Path(l.output).name == "python.sh"), None)
        if python_sh is None:
            return
        name = f"test:{t.name}"
        state = self.plan.state_dir
        run = suite.SuiteRun(name, Path(python_sh), t.tests, state / "tests" / t.name,
                             self.plan.settings.jobs,
                             tree=state / "test-tree" / t.name
                             if tgt.toolchain.provider == "debian-root" else None,
                             yaml=str(tgt.yaml))
        yield {
            "basename": "test", "name": t.name,
            "doc": f"smoke check + CPython's test suite on {t.triple} (modules=quick|NAME,...)",
            "actions": [self._action(name, actions.run_tests, run, t.tests.smoke, t.tests.expect,
                                     self.plan.settings.modules, self.plan.source.path)],
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

    def web_tasks(self, tgt: TargetPlan):
        """web:<target> assembles the browser example; serve:<target> serves it."""
        t, plan = tgt.target, self.plan
        if tgt.unsupported or t.web is None:
            return
        web = Path(t.web.dir)
        zip_path = tgt.build_dir / t.stdlib_zip.name
        name = f"web:{t.name}"
        variables = dict(tgt.context, stdlib_zip=t.stdlib_zip.name)
        outputs = [web / Path(f).name for f in t.web.files] + [web / t.stdlib_zip.name] \
            + [Path(l.output) for l in t.web.loaders]
        yield {
            "basename": "web", "name": t.name,
            "doc": f"the browser example in {web}: page, worker, module, wasm, stdlib zip",
            "actions": [self._action(name, actions.assemble_web, plan, tgt.toolchain, t.web, zip_path,
                                     plan.settings.templates_dir, variables)],
            "file_dep": [str(tgt.build_dir / a) for a in t.artifacts] + [str(zip_path)]
                        + [str(plan.settings.templates_dir / l.template) for l in t.web.loaders],
            "task_dep": [f"host:{t.name}"],
            "uptodate": [config_changed(digest([t.web, variables]))],
            "targets": [str(o) for o in outputs],
            "clean": [(_rmtree, [web])],
        }
        yield {
            "basename": "serve", "name": t.name,
            "doc": "serve the browser example on http://127.0.0.1:8000/python.html (Ctrl-C stops)",
            "actions": [(actions.serve_web, [web])],
            "task_dep": [name], "uptodate": [False], "verbosity": 2,
        }

    def _sandbox_vars(self, tgt: TargetPlan) -> dict:
        """What the loader templates need to start the interpreter the way the build does."""
        sb = tgt.toolchain.sandbox
        return {"provider": sb.provider, "root": str(sb.root) if sb.root else "",
                "env": sb.environment() if sb.provider != "system" else dict(sb.env),
                "path": ":".join([*sb.path, "/usr/local/bin:/usr/bin:/bin"]),
                "writable": [str(sb.root) + p for p in sb.writable] if sb.root else [],
                "writable_in_root": list(sb.writable),
                "source": str(self.plan.source.path),
                # not the ccache dir (host_rw): running the interpreter compiles nothing
                "rw": [str(self.plan.cross_build)]}

    def _unsupported(self, tgt: TargetPlan):
        def fail():
            return TaskFailed(tgt.unsupported)
        for base in ("host", "test"):
            yield {"basename": base, "name": tgt.name, "doc": f"(unsupported) {tgt.unsupported}",
                   "actions": [fail]}
