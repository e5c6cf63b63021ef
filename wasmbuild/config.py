"""Load the YAML files, apply the overlays that match the CPython version, validate.

Data flows one way: YAML text -> plain data -> (overlays merged) -> dataclasses of
`model`. Nothing here runs a command or writes a file, so a bad YAML file stops
wasmbuild before anything is built.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import yaml

from . import schema, versions
from .errors import ConfigError
from .model import Project, Target, Toolchain

SHARED_FILE = "_shared.yaml"
# libyaml's loader when PyYAML has it: the pure-Python one costs ~0.14 s per run,
# a quarter of a no-op build
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(path, "", f"cannot read: {e.strerror}") from None
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(path, "", f"not valid YAML at {where}: {problem}") from None
    if data is None:
        raise ConfigError(path, "", "the file is empty (expected a mapping)")
    return data


def merge(base, overlay):
    """Deep-merge `overlay` into a copy of `base`: mappings merge, `key+` appends to a list,
    anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if key.endswith("+"):
            key = key[:-1]
            out[key] = list(out.get(key) or []) + list(value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_target(path: Path, python_version: str) -> Target:
    """Validate the whole file, then the overlays that apply, then the merged result."""
    raw = read_yaml(path)
    base = schema.build(Target, raw, path)      # full check of the file as written
    if (problem := versions.check_range(base.python)):
        raise ConfigError(path, "python", problem)
    for i, overlay in enumerate(base.overlays):
        if (problem := versions.check_range(overlay.when)):
            raise ConfigError(path, f"overlays[{i}].when", problem)
        schema.build(Target, overlay.set, path, f"overlays[{i}].set", partial=True)
    merged = {k: v for k, v in raw.items() if k != "overlays"}
    for i, overlay in enumerate(base.overlays):
        if versions.matches(python_version, overlay.when):
            merged = merge(merged, raw["overlays"][i]["set"])
    target = schema.build(Target, merged, path)
    return dataclasses.replace(target, overlays=[])


def target_files(targets_dir: Path) -> list[Path]:
    if not targets_dir.is_dir():
        raise ConfigError(targets_dir, "", "targets folder not found")
    return sorted(p for p in targets_dir.glob("*.yaml") if not p.name.startswith("_"))


def load_targets(targets_dir: Path, python_version: str) -> dict[str, tuple[Target, Path]]:
    out: dict[str, tuple[Target, Path]] = {}
    for path in target_files(targets_dir):
        target = load_target(path, python_version)
        if target.name in out:
            raise ConfigError(path, "name", f"target name {target.name!r} is also used by "
                                            f"{out[target.name][1]}")
        out[target.name] = (target, path)
    return out


def load_project(targets_dir: Path) -> Project:
    path = targets_dir / SHARED_FILE
    return schema.build(Project, read_yaml(path), path)


def load_toolchains(toolchains_dir: Path) -> dict[str, Toolchain]:
    out = {}
    for path in sorted(toolchains_dir.glob("*.yaml")):
        tc = schema.build(Toolchain, read_yaml(path), path)
        if tc.name != path.stem:
            raise ConfigError(path, "name", f"expected {path.stem!r} (the file's name), got {tc.name!r}")
        provider_key = tc.default_provider.replace("-", "_")
        if getattr(tc.providers, provider_key) is None:
            raise ConfigError(path, "default_provider",
                              f"{tc.default_provider!r} has no section under providers")
        out[tc.name] = tc
    return out


def check_references(targets: dict[str, tuple[Target, Path]], toolchains: dict[str, Toolchain],
                     templates_dir: Path) -> None:
    """Cross-file checks: every name a target uses must exist."""
    for target, path in targets.values():
        if target.toolchain not in toolchains:
            known = ", ".join(sorted(toolchains)) or "none"
            raise ConfigError(path, "toolchain", f"unknown toolchain {target.toolchain!r} "
                                                 f"(toolchains/ defines: {known})")
        for i, loader in enumerate(target.loaders):
            if not (templates_dir / loader.template).is_file():
                raise ConfigError(path, f"loaders[{i}].template",
                                  f"no template {loader.template!r} in {templates_dir}")
        names = [d.name for d in target.dependencies]
        for i, dep in enumerate(target.dependencies):
            if names.count(dep.name) > 1:
                raise ConfigError(path, f"dependencies[{i}].name", f"{dep.name!r} is declared twice")
            for j, other in enumerate(dep.after):
                if other not in names[:i]:
                    raise ConfigError(path, f"dependencies[{i}].after[{j}]",
                                      f"{other!r} is not a dependency declared before {dep.name!r}")
            if dep.download and len(dep.download.sha256) != 64:
                raise ConfigError(path, f"dependencies[{i}].download.sha256",
                                  "expected 64 hex digits")
