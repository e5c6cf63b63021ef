"""The plan: YAML model + command-line settings -> concrete paths, sandboxes and values.

Everything a task needs is computed here once, when doit loads dodo.py; nothing is
run and nothing is written.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import config, paths, provision, sharing, source, versions
from .errors import ConfigError
from .model import DEBIAN_ROOT, PROVIDERS, SYSTEM, Dependency, Project, Target, Toolchain
from .render import expand
from .sandbox import Sandbox


@dataclass
class Settings:
    """What the user can say on the doit command line (`doit host:emscripten cpython=PATH`)."""
    cpython: str | None = None
    release: str | None = None                  # a release the YAML names (default: its default)
    cross_build: str | None = None
    provider: str | None = None                 # override every toolchain's default provider
    targets_dir: Path = paths.PROJECT_DIR / "targets"
    toolchains_dir: Path = paths.PROJECT_DIR / "toolchains"
    templates_dir: Path = paths.PROJECT_DIR / "templates"
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    modules: str | None = None                  # test:<target>: all, a named set, or test_a,test_b
    remote_cache: str | None = None             # redis://host:port/db or unix:///socket (|read-only)
    packages: str | None = None                 # wheel:<target>: names in _extensions.yaml, sdists, folders
    wheels: str | None = None                   # site:<target>: more wheel files to install


@dataclass
class ToolchainPlan:
    toolchain: Toolchain
    provider: str
    sandbox: Sandbox
    stamp: Path
    digest: str
    yaml: Path

    @property
    def task(self) -> str:
        return f"toolchain:{self.toolchain.name}"

    @property
    def identity(self) -> Path:
        return provision.identity_path(self.stamp)


@dataclass
class DepPlan:
    dep: Dependency
    src: Path                                   # unpacked source (also where it builds)
    task: str


@dataclass
class TargetPlan:
    target: Target
    yaml: Path
    build_dir: Path
    deps_dir: Path
    toolchain: ToolchainPlan | None
    deps: list[DepPlan]
    context: dict
    unsupported: str | None = None              # why this target cannot build this source

    @property
    def name(self) -> str:
        return self.target.name


@dataclass
class Plan:
    settings: Settings
    source: source.Source
    cross_build: Path
    project: Project
    build_python_dir: Path
    native: ToolchainPlan
    toolchains: dict[str, ToolchainPlan]
    targets: dict[str, TargetPlan]
    context: dict                  # the variables every YAML file sees

    @property
    def state_dir(self) -> Path:
        """doit's DB, tree signatures and logs: with the outputs, one per cross-build dir."""
        return self.cross_build / ".wasmbuild"

    @functools.cached_property
    def configure_identity(self) -> str:
        """What the config.cache key knows of configure itself: its content (an edited
        configure must not be answered from the cache of the old one: CPython gh-139596),
        or, for a release not unpacked yet, the release tarball's sha256."""
        try:
            return "sha256:" + hashlib.sha256((self.source.path / "configure").read_bytes()).hexdigest()
        except OSError:
            return "release:" + self.project.cpython.sha256

    @functools.cached_property
    def path_map(self) -> sharing.PathMap:
        return sharing.PathMap.of(self.source.path, self.cross_build)

    @functools.cached_property
    def remote(self):
        """The remote cache server (None: off), connected on first use: loading the plan
        never talks to it."""
        if not self.settings.remote_cache:
            return None
        from .remote import RemoteCache
        from .runlog import say
        return RemoteCache.from_setting(self.settings.remote_cache, warn=lambda line: say(f"warning: {line}"))

    @property
    def build_python(self) -> Path:
        return self.build_python_dir / self.project.build_python.executable

    def log(self, task_name: str) -> Path:
        return self.state_dir / "logs" / (task_name.replace(":", "-") + ".log")


def build_triple() -> str:
    machine = os.uname().machine or "x86_64"   # platform's import costs 5 ms
    return f"{machine}-pc-linux-gnu"


def make_plan(settings: Settings) -> Plan:
    project = config.load_project(settings.targets_dir)
    release = settings.release or project.cpython_version
    if release != project.cpython_version and release not in project.releases:
        known = ", ".join([project.cpython_version, *project.releases])
        raise ConfigError(settings.targets_dir / config.SHARED_FILE, "releases",
                          f"release={release} is not declared (declared: {known})")
    if release != project.cpython_version:
        project = dataclasses.replace(project, cpython=project.releases[release],
                                      cpython_version=release)
    src = source.resolve(settings.cpython, release)
    cross_build = Path(settings.cross_build).expanduser().resolve() if settings.cross_build \
        else src.path / "cross-build"
    toolchain_defs = config.load_toolchains(settings.toolchains_dir)
    # a checkout is told by its files; the release is not unpacked yet: its version says
    targets = config.load_targets(settings.targets_dir, src.version,
                                  src.path if not src.default or src.path.joinpath("configure").exists()
                                  else None)
    config.check_references(targets, toolchain_defs, settings.templates_dir)
    if "native" not in toolchain_defs:
        raise ConfigError(settings.toolchains_dir / "native.yaml", "",
                          "missing: the build Python needs a toolchain named 'native'")

    base = {
        "source": str(src.path), "cross_build": str(cross_build), "cache": str(paths.cache_dir()),
        "version": src.version, "py_major_minor": src.major_minor,
        "py_nodot": src.major_minor.replace(".", ""), "build_triple": build_triple(),
        "jobs": str(settings.jobs),
    }
    build_python_dir = cross_build / "build"
    base["build_python_dir"] = str(build_python_dir)
    base["build_python"] = str(build_python_dir / project.build_python.executable)
    project = expand(project, base, settings.targets_dir / config.SHARED_FILE)
    if project.build_python.launcher:
        # what targets run as their build Python (configure starts before the binary exists)
        base["build_python"] = project.build_python.launcher.output

    toolchains = {name: _toolchain_plan(tc, settings) for name, tc in toolchain_defs.items()}
    users: dict[str, list[str]] = {}            # toolchain -> the targets built with it
    for target, _ in targets.values():
        if target.profile == target.default_profile:      # a profile's variant is not named
            users.setdefault(target.toolchain, []).append(f"host:{target.name}")
    plans = {}
    for name, (target, path) in targets.items():
        plans[name] = _target_plan(target, path, base, cross_build, toolchains, src, users)
    return Plan(settings, src, cross_build, project, build_python_dir, toolchains["native"],
                toolchains, plans, base)


def _toolchain_plan(tc: Toolchain, settings: Settings) -> ToolchainPlan:
    yaml_path = settings.toolchains_dir / f"{tc.name}.yaml"
    provider = settings.provider or tc.default_provider
    key = provider.replace("-", "_")
    spec = getattr(tc.providers, key, None)
    if provider not in PROVIDERS:
        raise ConfigError(yaml_path, "default_provider",
                          f"provider={provider!r} is not one of: {', '.join(PROVIDERS)}")
    if spec is None:
        raise ConfigError(yaml_path, f"providers.{provider}",
                          f"provider {provider!r} was asked for but this toolchain has no such section")
    ctx = {"cache": str(paths.cache_dir()), "vars": getattr(spec, "vars", {})}
    spec = expand(spec, ctx, yaml_path, f"providers.{provider}")
    tc = dataclasses.replace(tc, env=expand(tc.env, ctx, yaml_path, "env"))
    tc.providers = dataclasses.replace(tc.providers, **{key: spec})
    env = {**tc.env, **spec.env}
    if provider == DEBIAN_ROOT:
        root = provision.root_dir(spec)
        sandbox = Sandbox(DEBIAN_ROOT, root, env, spec.path, spec.writable, spec.host_writable)
    else:
        root = None
        sandbox = Sandbox(SYSTEM, None, env, spec.path)
    return ToolchainPlan(tc, provider, sandbox, provision.stamp_path(tc, provider, root),
                         provision.spec_digest(tc, provider), yaml_path)


def _target_plan(target: Target, path: Path, base: dict, cross_build: Path,
                 toolchains: dict[str, ToolchainPlan], src: source.Source,
                 users: dict[str, list[str]]) -> TargetPlan:
    build_dir = cross_build / target.build_dir
    # Dependencies live beside the build dir, not in it: CPython's `make clean` deletes
    # every *.a and *.wasm below the build dir.
    deps_dir = cross_build / f"{target.build_dir}-deps"
    ctx = dict(base, target=target.name, triple=target.triple, build_dir=str(build_dir),
               deps_dir=str(deps_dir), prefix=str(deps_dir / "prefix"),
               relbuilddir=os.path.relpath(build_dir, src.path))
    ctx["vars"] = expand(target.vars, ctx, path, "vars")
    unsupported = None
    if not versions.matches(src.version, target.python):
        unsupported = (f"{path}: python: CPython {src.version} (from {src.path}) is not "
                       f"supported by this target (supported: {target.python})")
    tp = toolchains[target.toolchain]
    for capability, why in target.requires.items():
        if capability not in tp.toolchain.provides:
            having = [n for n, other in toolchains.items() if capability in other.toolchain.provides]
            unsupported = (f"CPython {src.version} needs {why}: toolchain {tp.toolchain.name} "
                           f"({tp.toolchain.description}) does not provide {capability!r}; "
                           + (f"toolchain {', '.join(having)} does (build with "
                              f"{', '.join(t for h in having for t in users.get(h, [])) or 'a target using it'})"
                              if having else "no toolchain in toolchains/ does"))
            break
    deps, dep_ctx = [], {}
    for i, dep in enumerate(target.dependencies):
        dsrc = deps_dir / dep.name
        dep_vars = dict(ctx, dep_name=dep.name, dep_version=dep.version, dep_src=str(dsrc),
                        dep_build=str(dsrc), deps=dep_ctx)
        dep = expand(dep, dep_vars, path, f"dependencies[{i}]")
        dep_ctx[dep.name] = {"prefix": ctx["prefix"], "src": str(dsrc), "version": dep.version}
        deps.append(DepPlan(dep, dsrc, f"dep:{target.name}-{dep.name}"))
    ctx["deps"] = dep_ctx
    rest = dataclasses.replace(target, dependencies=[])
    rest = expand(rest, ctx, path)
    target = dataclasses.replace(rest, dependencies=[d.dep for d in deps])
    return TargetPlan(target, path, build_dir, deps_dir, tp, deps, ctx, unsupported)

