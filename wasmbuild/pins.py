"""What a CPython tree pins for its wasm toolchains (`Platforms/emscripten/config.toml`,
`Platforms/WASI/config.toml`), beside what the toolchain in use has: a CPython main
checkout says which Emscripten its developers test with, and a build with another one
says so in one line."""
from __future__ import annotations

from pathlib import Path


def read(source: Path, rel: str, key: str) -> str | None:
    """The value at the dotted `key` of the TOML file `rel` in the source; None if the
    file, the key or valid TOML is missing."""
    import tomllib   # here: only a configure reads a pin
    try:
        data = tomllib.loads((source / rel).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return None if isinstance(data, (dict, list)) else str(data)


def compare(rel: str, key: str, pinned: str, found: str, toolchain: str, command: str) -> str | None:
    """One line when the toolchain's version is not the pinned one ('6.0.5+dfsg-1' is 6.0.5)."""
    if found == pinned or found.startswith(pinned + "+") or found.startswith(pinned + "-"):
        return None
    return f"{rel} pins {key} {pinned}; toolchain {toolchain} has {command} {found}"
