"""Debug info kept, not shipped: a wasm module's DWARF split off into a file of its own.

A WebAssembly binary is a header and a list of sections; DWARF lives in custom sections
named `.debug_*` (for WASI's python.wasm, 23 MB of its 31). The shipped module keeps every
other section and gains two custom ones, by the WebAssembly tool conventions:
- `external_debug_info`: the debug file's name, relative to the module (Emscripten's
  -gseparate-dwarf writes the same; Chrome's DWARF support and lldb's wasm plugin look
  there), so a debugger finds the file beside the module;
- `build_id` (tool-conventions BuildId.md): the same id in both files, so a debug file is
  known to belong to its module. Where the linker wrote none, the id is the first 16 bytes
  of the sha256 of the code section, which the two files share byte for byte.
The debug file is the whole module as linked (DWARF addresses are offsets into its code
section), with that build_id. Both are made from the linked module alone: the same
module gives the same files.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from .wasmbinary import CODE, CUSTOM, MAGIC, NotWasm, Section, read_uleb, sections, uleb

DEBUG_PREFIX = ".debug_"
EXTERNAL_DEBUG_INFO = "external_debug_info"
BUILD_ID = "build_id"


def custom_section(name: str, payload: bytes) -> bytes:
    encoded = name.encode()
    body = uleb(len(encoded)) + encoded + payload
    return bytes([CUSTOM]) + uleb(len(body)) + body


def has_debug_info(path: Path) -> bool:
    data = path.read_bytes()
    return any((s.name or "").startswith(DEBUG_PREFIX) for s in sections(data))


def build_id(data: bytes, secs: list[Section] | None = None) -> bytes:
    """The module's build id: the linker's, else one made from its code section."""
    secs = sections(data) if secs is None else secs
    for s in secs:
        if s.name == BUILD_ID:
            length, at = read_uleb(data, s.payload)
            return data[at:at + length]
    code = next((s for s in secs if s.id == CODE), None)
    if code is None:
        raise NotWasm("no code section")
    return hashlib.sha256(data[code.start:code.end]).digest()[:16]


def split(module: Path, shipped: Path, debug: Path, debug_name: str) -> dict:
    """Write `shipped` (module without its DWARF, naming `debug_name`) and `debug` (the
    whole module). Returns what a package records of them."""
    data = module.read_bytes()
    secs = sections(data)
    ident = build_id(data, secs)
    id_section = custom_section(BUILD_ID, uleb(len(ident)) + ident)
    has_id = any(s.name == BUILD_ID for s in secs)
    kept = [s for s in secs if not (s.name or "").startswith(DEBUG_PREFIX)
            and s.name != EXTERNAL_DEBUG_INFO]
    link = custom_section(EXTERNAL_DEBUG_INFO, uleb(len(debug_name.encode())) + debug_name.encode())
    shipped_bytes = MAGIC + b"".join(data[s.start:s.end] for s in kept) + (b"" if has_id else id_section) + link
    debug_bytes = data + (b"" if has_id else id_section)
    shipped.write_bytes(shipped_bytes)
    debug.write_bytes(debug_bytes)
    return {"file": debug_name, "build_id": ident.hex(), "size": len(debug_bytes),
            "sha256": hashlib.sha256(debug_bytes).hexdigest(),
            "stripped": sum(s.end - s.start for s in secs if s not in kept)}


def matches(shipped: Path, debug: Path) -> bool:
    """Whether `debug` is the debug file of `shipped`: the same build id, the same code."""
    a, b = shipped.read_bytes(), debug.read_bytes()
    sa, sb = sections(a), sections(b)
    code = lambda data, secs: next(data[s.start:s.end] for s in secs if s.id == CODE)
    return build_id(a, sa) == build_id(b, sb) and code(a, sa) == code(b, sb)
