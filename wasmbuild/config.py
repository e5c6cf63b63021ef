"""Load the YAML files, apply their bases and the overlays that match the CPython source,
validate.

Data flows one way: YAML text -> plain data -> (overlays merged) -> dataclasses of
`model`. Nothing here runs a command or writes a file, so a bad YAML file stops
wasmbuild before anything is built.
"""
from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

import yaml

from . import node_snapshot, schema, versions
from .errors import ConfigError
from .model import Project, Target, Toolchain

SHARED_FILE = "_shared.yaml"
# libyaml's loader when PyYAML has it: the pure-Python one costs ~0.14 s per run,
# a quarter of a no-op build
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# path -> (stat key, parsed data): a base is read once for every file built on it
_PARSED: dict[Path, tuple[tuple, object]] = {}


def read_yaml(path: Path):
    """The file's data, parsed once per process while the file is unchanged (a copy: callers
    merge into it)."""
    try:
        st = path.stat()
        key = (st.st_size, st.st_mtime_ns)
        if (hit := _PARSED.get(path)) and hit[0] == key:
            return copy.deepcopy(hit[1])
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
    _PARSED[path] = (key, data)
    return copy.deepcopy(data)


def merge(base, overlay):
    """Deep-merge `overlay` into a copy of `base`: mappings merge, `key+` appends to a list,
    `key: null` removes the key (back to its default: a variant drops what its base
    declares), anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
        elif key.endswith("+"):
            key = key[:-1]
            out[key] = list(out.get(key) or []) + list(value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def inherit(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """The file's data on top of its `base:` (a file of the same folder, by name, itself
    maybe based on another): a variant is the few keys that differ. Mappings merge, a
    list is replaced unless the key ends in `+` (then it is extended)."""
    raw = read_yaml(path)
    if not isinstance(raw, dict) or "base" not in raw:
        return raw
    name = raw["base"]
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(path, "base", f"expected the name of a file in {path.parent} "
                                        f"(without .yaml), got {name!r}")
    base_path = base_file(path, name)
    if base_path in seen or base_path == path:
        raise ConfigError(path, "base", f"{name!r} leads back to this file (a cycle of bases)")
    if not base_path.is_file():
        known = ", ".join(sorted(p.stem for p in path.parent.glob("*.yaml") if p != path))
        raise ConfigError(path, "base", f"no file {base_path.name} in {path.parent} (there: {known})")
    return merge(inherit(base_path, (*seen, path)), raw)


def base_file(path: Path, name: str) -> Path:
    """The file that `base: name` in `path` names: one of the same folder."""
    return path.parent / f"{name.removesuffix('.yaml')}.yaml"


def bases_first(paths: list[Path]) -> list[Path]:
    """The files, each after the one it is based on: an error in a base is then named in
    its own file, not in a variant's."""
    out: list[Path] = []

    def visit(path: Path, depth: int = 0):
        if path in out or depth > len(paths):
            return
        try:
            base = read_yaml(path).get("base")
        except (ConfigError, AttributeError):
            base = None                    # inherit() reports it, in its turn
        if isinstance(base, str) and base_file(path, base) in paths:
            visit(base_file(path, base), depth + 1)
        if path not in out:
            out.append(path)
    for p in paths:
        visit(p)
    return out


def overlay_applies(overlay, python_version: str, source: Path | None) -> bool:
    if overlay.when and not versions.matches(python_version, overlay.when):
        return False
    if source is None:
        return not overlay.exists and not overlay.missing
    return (all((source / p).exists() for p in overlay.exists)
            and not any((source / p).exists() for p in overlay.missing))


def load_target(path: Path, python_version: str, source: Path | None = None) -> Target:
    """The target as `host:<name>` builds it: with its default profile (if it has profiles)."""
    return load_target_profiles(path, python_version, source)[0]


def load_target_profiles(path: Path, python_version: str, source: Path | None = None) -> list[Target]:
    """Validate the whole file (on top of its base), then the overlays, then the result of
    merging those that apply to this source: its version and the files it has. Then one
    target per build profile, the default one first: each other one is named
    `<name>-<profile>` and builds in `<build_dir>-<profile>`."""
    raw = inherit(path)
    if "profile" in raw:
        raise ConfigError(path, "profile", "is set by wasmbuild (the profile a target was made "
                                           "with); name the default one with default_profile:")
    base = schema.build(Target, raw, path)      # full check of the file as written
    if (problem := versions.check_range(base.python)):
        raise ConfigError(path, "python", problem)
    for i, overlay in enumerate(base.overlays):
        if overlay.when and (problem := versions.check_range(overlay.when)):
            raise ConfigError(path, f"overlays[{i}].when", problem)
        for key in ("exists", "missing"):
            for j, rel in enumerate(getattr(overlay, key)):
                if rel.startswith("/") or ".." in Path(rel).parts:
                    raise ConfigError(path, f"overlays[{i}].{key}[{j}]",
                                      f"expected a path inside the CPython source, got {rel!r}")
        schema.build(Target, overlay.set, path, f"overlays[{i}].set", partial=True)
    for name, settings in base.profiles.items():
        if not isinstance(settings, dict):
            raise ConfigError(path, f"profiles.{name}", "expected a mapping of target settings ({} for none)")
        if not re.fullmatch(r"[a-z][a-z0-9]*", name):
            raise ConfigError(path, f"profiles.{name}", "a profile name is lowercase letters and digits "
                                                        "(it ends the variant's task and folder names)")
        if any(k in settings for k in ("name", "build_dir", "base", "profiles", "default_profile", "overlays")):
            raise ConfigError(path, f"profiles.{name}", "may not set name, build_dir, base, profiles, "
                                                        "default_profile or overlays")
        schema.build(Target, settings, path, f"profiles.{name}", partial=True)
    if base.profiles and base.default_profile not in base.profiles:
        raise ConfigError(path, "default_profile", f"expected one of the profiles "
                                                   f"({', '.join(base.profiles)}), got {base.default_profile!r}")
    if base.default_profile and not base.profiles:
        raise ConfigError(path, "default_profile", "names a profile, but the target has no profiles:")
    merged = {k: v for k, v in raw.items() if k != "overlays"}
    for i, overlay in enumerate(base.overlays):
        if overlay_applies(overlay, python_version, source):
            merged = merge(merged, raw["overlays"][i]["set"])
    if not base.profiles:
        return [dataclasses.replace(schema.build(Target, merged, path), overlays=[])]
    order = [base.default_profile, *(p for p in base.profiles if p != base.default_profile)]
    out = []
    for profile in order:
        data = merge(merged, raw["profiles"][profile])
        if profile != base.default_profile:
            data = dict(data, name=f"{base.name}-{profile}", build_dir=f"{base.build_dir}-{profile}")
        out.append(dataclasses.replace(schema.build(Target, data, path), overlays=[], profile=profile))
    return out


def target_files(targets_dir: Path) -> list[Path]:
    if not targets_dir.is_dir():
        raise ConfigError(targets_dir, "", "targets folder not found")
    return sorted(p for p in targets_dir.glob("*.yaml") if not p.name.startswith("_"))


def load_targets(targets_dir: Path, python_version: str,
                 source: Path | None = None) -> dict[str, tuple[Target, Path]]:
    out: dict[str, tuple[Target, Path]] = {}
    for path in bases_first(target_files(targets_dir)):
        for target in load_target_profiles(path, python_version, source):
            for key in ("name", "build_dir"):
                other = next((p for t, p in out.values() if getattr(t, key) == getattr(target, key)), None)
                if other:
                    raise ConfigError(path, key, f"target {key} {getattr(target, key)!r} is also used by {other}"
                                                 + (" (a variant sets its own)" if target.base else "")
                                                 + (f" (profile {target.profile})" if target.profile else ""))
            out[target.name] = (target, path)
    return out


def load_project(targets_dir: Path) -> Project:
    path = targets_dir / SHARED_FILE
    return schema.build(Project, read_yaml(path), path)


def load_toolchains(toolchains_dir: Path) -> dict[str, Toolchain]:
    out = {}
    for path in bases_first(sorted(toolchains_dir.glob("*.yaml"))):
        tc = schema.build(Toolchain, inherit(path), path)
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
        for key, loaders in (("loaders", target.loaders), ("make.inputs", target.make.inputs)):
            for i, loader in enumerate(loaders):
                if bool(loader.template) == bool(loader.copy):
                    raise ConfigError(path, f"{key}[{i}]", "expected either template: or copy: "
                                                           "(a file under templates/, or one to copy)")
                if loader.template and not (templates_dir / loader.template).is_file():
                    raise ConfigError(path, f"{key}[{i}].template",
                                      f"no template {loader.template!r} in {templates_dir}")
        if (snap := target.node_snapshot):
            if snap.entry not in [l.output for l in target.loaders]:
                raise ConfigError(path, "node_snapshot.entry", f"expected one of the target's loader "
                                                               f"outputs, got {snap.entry!r}")
            if (problem := node_snapshot.runner_problem(target.runner, snap)):
                raise ConfigError(path, "runner", problem)
        if target.web and target.web.stdlib_files and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*",
                                                                        target.web.stdlib_files):
            raise ConfigError(path, "web.stdlib_files", f"expected the name of one folder in the web "
                                                        f"folder (e.g. stdlib), got {target.web.stdlib_files!r}")
        if target.web and target.web.stdlib_preload and not target.web.stdlib_files:
            raise ConfigError(path, "web.stdlib_preload", "preloads members of web.stdlib_files, which "
                                                          "this target does not set: set it, or drop "
                                                          "web.stdlib_preload")
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
