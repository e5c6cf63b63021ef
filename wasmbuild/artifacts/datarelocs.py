"""A main module's data relocations applied at build time, where its addresses are fixed.

Emscripten links a MAIN_MODULE (the interpreter, so that C extensions can be loaded) as
position-independent code: every pointer in its static data (type objects' slots, method
tables, string pointers: ~35,000 for CPython 3.13) is written at start-up by
`__wasm_apply_data_relocs`, a function wasm-ld generates with one store each,
`memory[__memory_base + X] = __memory_base (or __table_base) + Y`. In CPython 3.13's
python.wasm (Emscripten 3.1.69) it is 0.6 MB, the largest function of the module: the
engine downloads it, compiles it (Liftoff, ~9 ms in Chromium) and runs it once, before
Python's first line.

But the main module is not moved: the JS Emscripten writes beside it instantiates it with
constants (`___memory_base = new WebAssembly.Global({...}, 1024)`, `___table_base` 1).
With those, each such store writes a known value at a known place in the one data
segment, which is copied into memory just before. So the values are written into the
segment here, and the function keeps only the stores that depend on something not known
until start-up (GOT entries, set by the dynamic linker), behind a guard that traps if the
module is ever instantiated at other bases.

Nothing is done (and the module is left as it was) unless all of that is exactly so: one
active data segment at `__memory_base`, a function made of such stores only, each
address written once and inside the segment, both bases in the JS, no DWARF or source map
(whose offsets into the code section would move). Running it again changes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_path
from .wasmbinary import (CODE, CUSTOM, DATA, EXPORT, IMPORT, MAGIC, NotWasm, name_at, read_sleb,
                         read_uleb, section, sections, sleb, uleb)

FUNCTION_NAME = "__wasm_apply_data_relocs"
BASES = ("__memory_base", "__table_base")
GLOBAL_GET, I32_CONST, I32_ADD, I32_SUB, I32_NE, I32_STORE, IF, UNREACHABLE, END = (
    0x23, 0x41, 0x6A, 0x6B, 0x47, 0x36, 0x04, 0x00, 0x0B)
LOCAL_GET, LOCAL_SET, LOCAL_TEE = 0x20, 0x21, 0x22
VOID = 0x40


@dataclass(frozen=True)
class Result:
    applied: int        # stores whose values are now in the data segment
    kept: int           # stores the function still makes at start-up
    saved: int          # bytes of the module
    why_not: str = ""   # why nothing was done, if so


def bases_from_loader(js: str) -> dict[str, int]:
    """The constant bases Emscripten's JS instantiates the main module with."""
    found = {}
    for name in BASES:
        m = re.search(r"_" + name + r"\s*=\s*new WebAssembly\.Global\(\{[^}]*\},\s*(\d+)\)", js)
        if m:
            found[name] = int(m.group(1))
    return found


def _imports(data: bytes, sec) -> tuple[dict[str, int], int]:
    """The imported globals ('module.name' -> global index) and the number of imported
    functions (the first function indices are theirs)."""
    count, i = read_uleb(data, sec.payload)
    globals_, functions = {}, 0
    for _ in range(count):
        module, i = name_at(data, i)
        name, i = name_at(data, i)
        kind = data[i]
        i += 1
        if kind == 0:                       # function: type index
            functions += 1
            _, i = read_uleb(data, i)
        elif kind in (1, 2):                # table: reftype, limits; memory: limits
            if kind == 1:
                i += 1
            flags = data[i]
            _, i = read_uleb(data, i + 1)
            if flags & 1:
                _, i = read_uleb(data, i)
        elif kind == 3:                     # global: type, mutability
            globals_[f"{module}.{name}"] = len(globals_)
            i += 2
        else:
            raise NotWasm(f"an import of kind {kind}")
    return globals_, functions


def _exported_function(data: bytes, sec, wanted: str) -> int | None:
    count, i = read_uleb(data, sec.payload)
    for _ in range(count):
        name, i = name_at(data, i)
        kind = data[i]
        index, i = read_uleb(data, i + 1)
        if kind == 0 and name == wanted:
            return index
    return None


def _locals_end(body: bytes) -> int:
    """Where the instructions start (after the local declarations)."""
    groups, i = read_uleb(body, 0)
    for _ in range(groups):
        _, i = read_uleb(body, i)
        i += 1                                  # the type
    return i


def _stores(body: bytes, start: int):
    """The function's stores in order, [((global, addend), (global, addend), offset)]:
    address and value each a global (None: none) plus a constant, evaluated through
    locals (wasm-opt -Oz keeps a value in a local to use it again). None if the function is
    anything else than global.get, i32.const, i32.add, i32.sub, local.get/set/tee and
    i32.store."""
    stack, local, out, i = [], {}, [], start
    while i < len(body):
        op = body[i]
        i += 1
        if op == END and i == len(body):
            return out if not stack else None
        if op == GLOBAL_GET:
            index, i = read_uleb(body, i)
            stack.append((index, 0))
        elif op == I32_CONST:
            value, i = read_sleb(body, i)
            stack.append((None, value))
        elif op in (I32_ADD, I32_SUB):        # wasm-ld writes a negative addend as a sub
            if len(stack) < 2:
                return None
            (gb, cb), (ga, ca) = stack.pop(), stack.pop()
            if gb is not None and (op == I32_SUB or ga is not None):
                return None                     # a sum of two globals
            stack.append((ga if ga is not None else gb, ca + cb if op == I32_ADD else ca - cb))
        elif op in (LOCAL_GET, LOCAL_SET, LOCAL_TEE):
            index, i = read_uleb(body, i)
            if op == LOCAL_GET:
                if index not in local:
                    return None
                stack.append(local[index])
            elif not stack:
                return None
            else:
                local[index] = stack.pop() if op == LOCAL_SET else stack[-1]
        elif op == I32_STORE:
            _, i = read_uleb(body, i)               # alignment
            offset, i = read_uleb(body, i)
            if len(stack) != 2:
                return None
            value, address = stack.pop(), stack.pop()
            out.append((address, value, offset))
        else:
            return None
    return None


def _expression(term) -> bytes:
    index, addend = term
    if index is None:
        return bytes([I32_CONST]) + sleb(addend)
    code = bytes([GLOBAL_GET]) + uleb(index)
    return code + (bytes([I32_CONST]) + sleb(addend) + bytes([I32_ADD]) if addend else b"")


def _store_code(address, value, offset: int) -> bytes:
    """A store as wasm-ld writes one: address, value, i32.store."""
    return _expression(address) + _expression(value) + bytes([I32_STORE, 2]) + uleb(offset)


def prelink(wasm: Path, loader: Path) -> Result:
    """Apply the static data relocations of `wasm` (instantiated by `loader`, Emscripten's
    JS beside it) into its data segment, in place."""
    try:
        return _prelink(wasm, loader)
    except (NotWasm, IndexError) as e:        # a module it cannot read is left as it is
        return Result(0, 0, 0, f"not a module it can read ({e or type(e).__name__})")


def _prelink(wasm: Path, loader: Path) -> Result:
    data = wasm.read_bytes()
    nothing = lambda why: Result(0, 0, 0, why)
    secs = sections(data)
    if any((s.name or "").startswith(".debug_") or s.name == "sourceMappingURL" for s in secs):
        return nothing("it has DWARF or a source map, whose code offsets would move")
    by_id = {s.id: s for s in secs if s.id != CUSTOM}
    if not {IMPORT, EXPORT, CODE, DATA} <= by_id.keys():
        return nothing("no imports, exports, code or data")
    function = _exported_function(data, by_id[EXPORT], FUNCTION_NAME)
    if function is None:
        return nothing(f"it has no {FUNCTION_NAME}")
    constants = bases_from_loader(loader.read_text(encoding="utf-8", errors="replace"))
    imported, imported_functions = _imports(data, by_id[IMPORT])
    # the bases the module imports, each with the JS's constant (the memory base at least)
    bases = {imported[f"env.{name}"]: constants.get(name) for name in BASES if f"env.{name}" in imported}
    if f"env.{BASES[0]}" not in imported or None in bases.values():
        return nothing(f"{loader.name} does not instantiate it at constant bases")
    memory_base = imported[f"env.{BASES[0]}"]

    # the data segment: exactly one, active, at global.get __memory_base
    count, i = read_uleb(data, by_id[DATA].payload)
    if count != 1:
        return nothing(f"{count} data segments")
    flags, i = read_uleb(data, i)
    expr = bytes([GLOBAL_GET]) + uleb(memory_base) + bytes([END])
    if flags != 0 or data[i:i + len(expr)] != expr:
        return nothing("its data segment is not placed at __memory_base")
    size, segment = read_uleb(data, i + len(expr))

    # the function's body
    n_bodies, i = read_uleb(data, by_id[CODE].payload)
    wanted = function - imported_functions
    if not 0 <= wanted < n_bodies:
        return nothing(f"{FUNCTION_NAME} is not a function of the module")
    for _ in range(wanted):
        body_size, i = read_uleb(data, i)
        i += body_size
    body_size, body_start = read_uleb(data, i)
    body_entry, body = i, data[body_start:body_start + body_size]
    # the stores of start-up that stay are written once the bases are what is assumed here
    guard = b"".join(bytes([GLOBAL_GET]) + uleb(index) + bytes([I32_CONST]) + sleb(value)
                     + bytes([I32_NE, IF, VOID, UNREACHABLE, END])
                     for index, value in bases.items())
    if body[:1 + len(guard)] == b"\0" + guard:
        return Result(0, 0, 0)               # done before
    stores = _stores(body, _locals_end(body))
    if stores is None:
        return nothing(f"{FUNCTION_NAME} is not only stores of bases plus constants")

    patched = bytearray(data)
    kept, written = [], set()
    for (where, x), (base, y), offset in stores:
        address = x + offset
        if where != memory_base or base not in bases or not 0 <= address <= size - 4:
            kept.append(_store_code((where, x), (base, y), offset))
            continue
        if address in written:
            return nothing(f"an address is written twice by {FUNCTION_NAME}")
        written.add(address)
        value = (bases[base] + y) & 0xFFFFFFFF
        patched[segment + address:segment + address + 4] = value.to_bytes(4, "little")
    if not written:
        return Result(0, len(kept), 0)       # nothing to do
    new_body = b"\0" + guard + b"".join(kept) + bytes([END])
    code_payload = (bytes(patched[by_id[CODE].payload:body_entry]) + uleb(len(new_body)) + new_body
                    + bytes(patched[body_start + body_size:by_id[CODE].end]))
    out = (bytes(patched[:by_id[CODE].start]) + section(CODE, code_payload)
           + bytes(patched[by_id[CODE].end:]))
    if out[:8] != MAGIC:
        raise NotWasm("lost the header")
    mode = wasm.stat().st_mode & 0o777
    with atomic_path(wasm) as tmp:
        tmp.write_bytes(out)
        tmp.chmod(mode)
    return Result(len(written), len(kept), len(data) - len(out))
