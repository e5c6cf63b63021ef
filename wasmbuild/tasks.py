"""The doit task graph of the build, from the plan: the build Python and each target.

Names are the contract: host:<target>, test:<target>, web:emscripten; underneath,
toolchain:*, source:cpython, fetch:* (tasks_inputs), build_python:{configure,make},
dep:<target>-<name>, configure_host:*, make_host:*, stdlib_zip:*, loaders:* (here), and
test:, run:, pythoninfo: (tasks_use), web:, serve: (tasks_web). Inputs are declared as
file_dep/targets where they are files, as config_changed where they are YAML values,
and as a tree signature (treestate) where they are thousands of source files.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from doit.exceptions import TaskFailed

from . import actions, treestate
from .digests import digest
from .render import loader_input, loader_inputs, render_loader
from .fetch import cached_path
from .model import Configure, Make
from .plan import Plan, TargetPlan, ToolchainPlan
from .tasks_common import _rmtree, _unlink, action, config_changed

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

    def _source_deps(self) -> list[str]:
        return ["source:cpython"] if self.plan.source.default else []

    # ------------------------------------------------------------ configure and make
    def _configure_task(self, task: str, doc: str, tp: ToolchainPlan, cwd: Path, conf: Configure,
                        task_dep: list[str], tgt: TargetPlan | None = None) -> dict:
        """configure in `cwd`: the build Python's, or (tgt) a target's, whose configure also
        gets its dependencies' env, its config.site and its Modules/Setup.local."""
        plan = self.plan
        if conf.patches:
            # a patched copy beside the build, told where the source is: relative, as an
            # out-of-tree build's own (VPATH is compiled in: getpath finds the stdlib by it)
            script = ["./" + actions.PATCHED_CONFIGURE, f"--srcdir={os.path.relpath(plan.source.path, cwd)}"]
        else:
            script = [os.path.relpath(plan.source.path / "configure", cwd)]
        argv = [*conf.wrapper, *script, *conf.args]
        env = dict(conf.env)
        # not a target's build Python binary: a C edit relinks it, and configure only needs
        # it to exist (task_dep) and its version (in the arguments and the cache key)
        file_dep = [str(plan.source.path / "configure"), str(tp.identity)]
        clean = [(_rmtree, [cwd])]
        key_extra, settings_extra, setup_local, pinned = [], {}, None, []
        if tgt is not None:
            pinned = [(p.file, p.key, tp.toolchain.name, tp.stamp, p.version_of) for p in tgt.target.pins]
            for dp in tgt.deps:
                env.update(dp.dep.provides)
            site = conf.config_site
            if site:
                file_dep.append(site)
            sites = [site] if site else []
            if conf.site_vars:
                sites.append(str(cwd / actions.SITE_VARS_FILE))
                settings_extra["site_vars"] = conf.site_vars
            if sites:
                env["CONFIG_SITE"] = " ".join(sites)
            key_extra = [Path(site).read_text() if site and Path(site).exists() else None,
                         *([conf.site_vars] if conf.site_vars else [])]
            setup_local = tgt.target.setup_local
            settings_extra["setup_local"] = digest(setup_local)
            # configure made the build dir: cleaning it removes the dir (and a Setup.local
            # that wasmbuild wrote into the source)
            clean.append((actions.remove_setup_local, [plan.state_dir / "setup-local.json"]))
        # the toolchain is known by its identity, read when configure runs (what was installed)
        key_parts = [tp.sandbox.env, plan.source.version, argv, env, *key_extra,
                     *([conf.patches] if conf.patches else []), plan.configure_identity]
        basename, name = task.split(":")
        return {
            "basename": basename, "name": name, "doc": doc,
            "actions": [action(plan, task, actions.configure, plan, tp.sandbox, cwd=cwd, argv=argv,
                               env=env, key_parts=key_parts, identity=tp.identity,
                               setup_local=setup_local, pinned=pinned,
                               patches=conf.patches, site_vars=conf.site_vars)],
            "file_dep": file_dep,
            "task_dep": task_dep,
            "uptodate": [config_changed({"argv": argv, "env": env, **settings_extra,
                                         **({"patches": digest(conf.patches)} if conf.patches else {})})],
            "targets": [str(cwd / "Makefile"), str(cwd / "config.status")],
            "clean": clean,
        }

    def _make_task(self, task: str, doc: str, tp: ToolchainPlan, cwd: Path, spec: Make,
                   artifacts: list[str], task_dep: list[str], file_dep: list[str] = (),
                   relink_if: list[str] = (), keep: list[str] = (), source_patches=(),
                   variables: dict | None = None) -> dict:
        """make in `cwd`; the artifacts are relinked when one of `relink_if` changed.
        The spec's inputs are rendered with `variables` first."""
        plan = self.plan
        argv = [*spec.wrapper, "make", f"-j{plan.settings.jobs}", *spec.args, *spec.targets]
        sources = treestate.unchanged(self.src_tree, "sources", self.snapshots)
        templates_dir = plan.settings.templates_dir
        # rendered once, here: their text decides whether make runs, and the action writes it
        inputs = [(l.output, render_loader(templates_dir, l, variables or {}),
                   0o755 if l.executable else 0o644) for l in spec.inputs]
        basename, name = task.split(":")
        return {
            "basename": basename, "name": name, "doc": doc,
            "actions": [action(plan, task, actions.make, plan, tp.sandbox, cwd=cwd, argv=argv,
                               env=dict(spec.env), toolchain_stamp=tp.identity,
                               relink=[Path(a) for a in artifacts], relink_if=relink_if,
                               sources=sources, keep=[*keep, *(l.output for l in spec.inputs)],
                               source_patches=list(source_patches), inputs=inputs,
                               prelink=spec.prelink, eager_factory=spec.eager_factory)],
            "file_dep": [str(cwd / "Makefile"), str(tp.identity), *file_dep,
                         *(loader_input(templates_dir, l) for l in spec.inputs)],
            "task_dep": task_dep,
            "uptodate": [sources, config_changed({"argv": argv, "env": spec.env,
                                                  **({"source_patches": digest(list(source_patches))}
                                                     if source_patches else {}),
                                                  # their text, not every variable there is
                                                  **({"inputs": digest(inputs)} if inputs else {}),
                                                  **({"prelink": spec.prelink} if spec.prelink else {}),
                                                  **({"eager_factory": spec.eager_factory}
                                                     if spec.eager_factory else {})})],
            # configure deletes pybuilddir.txt: as a target it makes make run after any
            # configure, even one that wrote an identical Makefile
            "targets": [*artifacts, str(cwd / "pybuilddir.txt")],
            "clean": True,
        }

    # ------------------------------------------------------------ build Python
    def build_python_tasks(self):
        plan, bp, tp = self.plan, self.plan.project.build_python, self.plan.native
        cwd = plan.build_python_dir
        yield {"basename": "build_python", "name": None,
               "doc": "the native build Python, shared by every target"}
        yield self._configure_task("build_python:configure", "configure the native build Python",
                                   tp, cwd, bp.configure, [tp.task, *self._source_deps()])
        yield self._make_task("build_python:make", "make the native build Python", tp, cwd, bp.make,
                              [str(plan.build_python)], ["build_python:configure"])
        if bp.launcher:
            variables = dict(plan.context, build_python=str(plan.build_python))
            yield {
                "basename": "build_python", "name": "launcher",
                "doc": "render the launcher that targets run as their build Python",
                "actions": [action(plan, "build_python:launcher", actions.render_loaders,
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
                "actions": [action(plan, dp.task, actions.build_dependency, plan, tp, dp,
                                   prefix=tgt.deps_dir / "prefix")],
                "file_dep": file_dep,
                "task_dep": [tp.task] + ([f"fetch:{dep.download.file}"] if dep.download else [])
                            + [f"dep:{t.name}-{a}" for a in dep.after],
                "uptodate": [config_changed(digest(dep))],
                "targets": list(dep.outputs),
                "clean": [(_rmtree, [dp.src]), *[(_unlink, [o]) for o in dep.outputs]],
            }
            dep_outputs += dep.outputs

        yield self._configure_task(f"configure_host:{t.name}", f"configure CPython for {t.triple}",
                                   tp, bdir, t.configure,
                                   [self.configure_waits_for, *[dp.task for dp in tgt.deps]], tgt)
        artifacts = [str(bdir / a) for a in t.artifacts]
        # make runs the build Python (freezing, checks): all of it, modules included
        yield self._make_task(f"make_host:{t.name}", f"make CPython for {t.triple}", tp, bdir,
                              t.make, artifacts, [f"configure_host:{t.name}", "build_python:make"],
                              [str(plan.build_python), *dep_outputs], relink_if=dep_outputs,
                              keep=[l.output for l in t.loaders], source_patches=t.source_patches,
                              variables=tgt.context)

        zip_path = bdir / t.stdlib_zip.name
        staging = plan.state_dir / "pyc" / t.name
        yield {
            "basename": "stdlib_zip", "name": t.name,
            "doc": f"stdlib zip for {t.triple} (.pyc only, deflated)",
            "actions": [action(plan, f"stdlib_zip:{t.name}", actions.make_stdlib_zip, plan,
                               t.stdlib_zip, lib_tree=self.lib_tree, bytecode_tree=self.bytecode_tree,
                               build_dir=bdir, staging=staging, dest=zip_path)],
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

        sandbox = tp.sandbox.interpreter(plan.source.path, rw=[plan.cross_build])
        variables = dict(tgt.context, runner=t.runner, sandbox=sandbox, stdlib_zip=str(zip_path),
                         artifacts=artifacts)
        yield {
            "basename": "loaders", "name": t.name,
            "doc": f"render {', '.join(Path(l.output).name for l in t.loaders)} from templates",
            "actions": [action(plan, f"loaders:{t.name}", actions.render_loaders,
                               plan.settings.templates_dir, t.loaders, variables)],
            "file_dep": loader_inputs(plan.settings.templates_dir, t.loaders),
            "uptodate": [config_changed(digest([variables, [l.vars for l in t.loaders]]))],
            "targets": [l.output for l in t.loaders],
            "clean": True,
        }

        snapshot_task = []
        if (snap := t.node_snapshot):
            snapshot_task = [f"node_snapshot:{t.name}"]
            yield {
                "basename": "node_snapshot", "name": t.name,
                "doc": f"Node's start-up snapshot of {Path(snap.entry).name}, which python.sh loads",
                "actions": [action(plan, f"node_snapshot:{t.name}", actions.build_node_snapshot,
                                   plan, tp, t.runner, snap)],
                # Node and V8 are the toolchain's: a new toolchain, a new snapshot
                "file_dep": [snap.entry, *snap.inputs, str(tp.identity)],
                "task_dep": [f"loaders:{t.name}"],
                "uptodate": [config_changed(digest([t.runner, snap]))],
                "targets": [snap.blob],
                "clean": True,
            }

        yield {
            "basename": "host", "name": t.name,
            "doc": f"CPython for {t.triple}: interpreter, loaders and stdlib zip in {bdir}",
            "actions": None,
            "task_dep": [f"make_host:{t.name}", f"stdlib_zip:{t.name}", f"loaders:{t.name}",
                         *snapshot_task],
            # `doit clean host:<target>`: everything this target produced
            "clean": [(_rmtree, [bdir]), (_rmtree, [staging]), (_rmtree, [tgt.deps_dir]),
                      (actions.remove_setup_local, [plan.state_dir / "setup-local.json"])],
        }

    def _unsupported(self, tgt: TargetPlan):
        def fail():
            return TaskFailed(tgt.unsupported)
        for base in ("host", "test"):
            yield {"basename": base, "name": tgt.name, "doc": f"(unsupported) {tgt.unsupported}",
                   "actions": [fail]}
