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

from .wasmbinary import (CODE, CUSTOM, DATA, EXPORT, IMPORT, MAGIC, NotWasm, name_at, read_sleb,
                         read_uleb, section, sections, sleb, uleb)

FUNCTION_NAME = "__wasm_apply_data_relocs"
BASES = ("__memory_base", "__table_base")
GLOBAL_GET, I32_CONST, I32_ADD, I32_SUB, I32_NE, I32_STORE, IF, UNREACHABLE, END = (
    0x23, 0x41, 0x6A, 0x6B, 0x47, 0x36, 0x04, 0x00, 0x0B)
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


def _imported_globals(data: bytes, sec) -> dict[str, int]:
    """'module.name' -> global index, for the imported globals."""
    count, i = read_uleb(data, sec.payload)
    out, index = {}, 0
    for _ in range(count):
        module, i = name_at(data, i)
        name, i = name_at(data, i)
        kind = data[i]
        i += 1
        if kind == 0:                       # function: type index
            _, i = read_uleb(data, i)
        elif kind == 1:                     # table: reftype, limits
            flags = data[i + 1]
            _, i = read_uleb(data, i + 2)
            if flags & 1:
                _, i = read_uleb(data, i)
        elif kind == 2:                     # memory: limits
            flags = data[i]
            _, i = read_uleb(data, i + 1)
            if flags & 1:
                _, i = read_uleb(data, i)
        elif kind == 3:                     # global: type, mutability
            out[f"{module}.{name}"] = index
            index += 1
            i += 2
        else:
            raise NotWasm(f"an import of kind {kind}")
    return out


def _imported_functions(data: bytes, sec) -> int:
    count, i = read_uleb(data, sec.payload)
    functions = 0
    for _ in range(count):
        _, i = name_at(data, i)
        _, i = name_at(data, i)
        kind = data[i]
        i += 1
        if kind == 0:
            functions += 1
            _, i = read_uleb(data, i)
        elif kind in (1, 2):
            if kind == 1:
                i += 1
            flags = data[i]
            _, i = read_uleb(data, i + 1)
            if flags & 1:
                _, i = read_uleb(data, i)
        elif kind == 3:
            i += 2
    return functions


def _exported_function(data: bytes, sec, wanted: str) -> int | None:
    count, i = read_uleb(data, sec.payload)
    for _ in range(count):
        name, i = name_at(data, i)
        kind = data[i]
        index, i = read_uleb(data, i + 1)
        if kind == 0 and name == wanted:
            return index
    return None


def _stores(body: bytes, start: int):
    """The function's instructions after its locals, as groups that each end with an
    i32.store: [(first byte, end, [(opcode, operand), ...], store offset)], or None if it
    is anything but stack-balanced groups of global.get, i32.const, i32.add or i32.sub
    and i32.store."""
    groups, ops, depth, group_start, i = [], [], 0, start, start
    while i < len(body):
        op = body[i]
        i += 1
        if op == END and i == len(body):
            return groups if depth == 0 and not ops else None
        if op == GLOBAL_GET:
            index, i = read_uleb(body, i)
            ops.append((op, index))
            depth += 1
        elif op == I32_CONST:
            value, i = read_sleb(body, i)
            ops.append((op, value))
            depth += 1
        elif op in (I32_ADD, I32_SUB):      # wasm-ld writes a negative addend as a sub
            if depth < 2:
                return None
            ops.append((op, None))
            depth -= 1
        elif op == I32_STORE:
            _, i = read_uleb(body, i)               # alignment
            offset, i = read_uleb(body, i)
            if depth != 2:
                return None
            groups.append((group_start, i, ops, offset))
            ops, depth, group_start = [], 0, i
        else:
            return None
    return None


def _static_store(ops, offset: int, memory_base: int, bases: dict[int, int]) -> tuple[int, int] | None:
    """(address relative to the memory base, value) of a store `memory[memory base ± X] =
    base ± Y` (global indices), else None."""
    if len(ops) != 6 or [o for o, _ in ops[:2] + ops[3:5]] != [GLOBAL_GET, I32_CONST] * 2:
        return None
    signs = {I32_ADD: 1, I32_SUB: -1}
    (_, where), (_, x), (add_x, _), (_, base), (_, y), (add_y, _) = ops
    if where != memory_base or base not in bases or add_x not in signs or add_y not in signs:
        return None
    return signs[add_x] * x + offset, (bases[base] + signs[add_y] * y) & 0xFFFFFFFF


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
    imported = _imported_globals(data, by_id[IMPORT])
    bases = {imported[f"env.{name}"]: constants[name]
             for name in BASES if f"env.{name}" in imported and name in constants}
    if f"env.{BASES[0]}" not in imported or BASES[0] not in constants or \
            any(f"env.{n}" in imported and n not in constants for n in BASES):
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
    imported_functions = _imported_functions(data, by_id[IMPORT])
    n_bodies, i = read_uleb(data, by_id[CODE].payload)
    wanted = function - imported_functions
    if not 0 <= wanted < n_bodies:
        return nothing(f"{FUNCTION_NAME} is not a function of the module")
    for _ in range(wanted):
        body_size, i = read_uleb(data, i)
        i += body_size
    body_size, body_start = read_uleb(data, i)
    body_entry, body = i, data[body_start:body_start + body_size]
    if body[:1] != b"\0":
        return nothing(f"{FUNCTION_NAME} has locals")
    # the stores of start-up that stay are written once the bases are what is assumed here
    guard = b"".join(bytes([GLOBAL_GET]) + uleb(index) + bytes([I32_CONST]) + sleb(value)
                     + bytes([I32_NE, IF, VOID, UNREACHABLE, END])
                     for index, value in bases.items())
    if body[1:1 + len(guard)] == guard:
        return Result(0, 0, 0)               # done before
    groups = _stores(body, 1)
    if groups is None:
        return nothing(f"{FUNCTION_NAME} is not only stores of bases plus constants")

    patched = bytearray(data)
    kept, written = [], set()
    for first, end, ops, offset in groups:
        store = _static_store(ops, offset, memory_base, bases)
        if store is None or not 0 <= store[0] <= size - 4:
            kept.append(body[first:end])
            continue
        address, value = store
        if address in written:
            return nothing(f"an address is written twice by {FUNCTION_NAME}")
        written.add(address)
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
    tmp = wasm.with_name(wasm.name + ".prelink")
    tmp.write_bytes(out)
    tmp.chmod(wasm.stat().st_mode & 0o777)
    tmp.replace(wasm)
    return Result(len(written), len(kept), len(data) - len(out))
