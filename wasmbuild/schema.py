"""Validate plain YAML data against the dataclasses of `model`, and build them.

The dataclasses are the schema: their type hints say what each key must be, a field
without a default is required, and `metadata={"key": "other-name"}` maps a YAML key
that is not a Python identifier. Every error names the file and the dotted key path,
e.g. `targets/wasm32-emscripten.yaml: configure.args[3]: expected a string, got a mapping`.
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing

from .errors import ConfigError

_KIND = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    float: "a number",
    dict: "a mapping",
    list: "a list",
}


def kind_of(value) -> str:
    if value is None:
        return "nothing (null)"
    for t in (bool, int, float, str, dict, list):
        if isinstance(value, t):
            return _KIND[t]
    return type(value).__name__


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def yaml_key(field: dataclasses.Field) -> str:
    return field.metadata.get("key", field.name)


def build(cls, data, file, path="", partial=False):
    """Return `cls(**data)` after checking every key; raise ConfigError on the first error.

    With partial=True, required keys may be missing (used for overlays, which are
    validated on their own before they are merged into the base document).
    """
    return _convert(cls, data, file, path, partial)


def _convert(tp, value, file, path, partial):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, file, path, partial)
    if origin is typing.Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise ConfigError(file, path, f"expected one of {allowed}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(file, path, f"expected a list, got {kind_of(value)}")
        return [_convert(args[0], v, file, _join(path, i), partial) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(file, path, f"expected a mapping, got {kind_of(value)}")
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(file, _join(path, str(k)), f"keys must be strings, got {kind_of(k)}")
            # in an overlay, `key: null` removes an entry the base declares
            out[k] = None if partial and v is None else _convert(args[1], v, file, _join(path, k), partial)
        return out
    if dataclasses.is_dataclass(tp):
        return _convert_dataclass(tp, value, file, path, partial)
    if tp is typing.Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        # YAML reads 3.13 as a float; a version or a number where a string is meant
        # is what the author wrote, so keep its text.
        return str(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(file, path, f"expected {_KIND.get(tp, tp.__name__)}, got {kind_of(value)}")
    return value


@functools.cache
def _shape(cls):
    """A dataclass's resolved type hints and its fields by YAML key. Resolving the hints
    (string annotations) is most of a validation's cost, and the classes never change."""
    return typing.get_type_hints(cls), {yaml_key(f): f for f in dataclasses.fields(cls) if f.init}


def _convert_dataclass(cls, value, file, path, partial):
    if not isinstance(value, dict):
        raise ConfigError(file, path or "(top level)", f"expected a mapping, got {kind_of(value)}")
    hints, fields = _shape(cls)
    kwargs = {}
    for key in value:
        appends = partial and isinstance(key, str) and key.endswith("+")
        base = key[:-1] if appends else key
        if base not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(file, _join(path, key), f"unknown key (expected one of: {known})")
        if appends:
            tp = hints[fields[base].name]
            if typing.get_origin(tp) is not list:
                raise ConfigError(file, _join(path, key), "only a list can be extended with '+'")
            kwargs[key] = _convert(tp, value[key], file, _join(path, key), partial)
    for key, field in fields.items():
        sub = _join(path, key)
        if key in value:
            kwargs[field.name] = None if partial and value[key] is None else \
                _convert(hints[field.name], value[key], file, sub, partial)
        elif partial:
            continue
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(file, sub, f"missing required key ({_describe(hints[field.name])})")
    if partial:
        return kwargs
    return cls(**kwargs)


def _describe(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return "expected a list"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "expected a mapping"
    return f"expected {_KIND.get(tp, getattr(tp, '__name__', str(tp)))}"
