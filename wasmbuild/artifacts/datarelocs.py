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

A value may also come from one of the module's own globals: wasm-ld's GOT entries for the
module's own symbols, which its start function (`__wasm_apply_global_relocs`) sets to a
base plus a constant while the module is instantiated, before the JS calls
`__wasm_apply_data_relocs`. Such a global's value is known too, if that is all the start
function does, the global is not exported (which the JS could set) and no other function
sets it (each one whose bytes could hold a `global.set` of it is decoded instruction by
instruction; one that cannot be is taken to set it): 4,718 of the 4,719 stores 3.13.5's
page still made at start-up were of these (2026-12-05).

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
from .wasmbinary import (CODE, CUSTOM, DATA, EXPORT, GLOBAL, IMPORT, MAGIC, START, NotWasm, name_at,
                         read_sleb, read_uleb, section, sections, sleb, uleb)

FUNCTION_NAME = "__wasm_apply_data_relocs"
BASES = ("__memory_base", "__table_base")
GLOBAL_GET, GLOBAL_SET, I32_CONST, I32_ADD, I32_SUB, I32_NE, I32_STORE, IF, UNREACHABLE, END = (
    0x23, 0x24, 0x41, 0x6A, 0x6B, 0x47, 0x36, 0x04, 0x00, 0x0B)
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


def _exports(data: bytes, sec) -> list[tuple[str, int, int]]:
    """The module's exports: (name, kind, index); kind 0 a function, 3 a global."""
    count, i = read_uleb(data, sec.payload)
    out = []
    for _ in range(count):
        name, i = name_at(data, i)
        kind = data[i]
        index, i = read_uleb(data, i + 1)
        out.append((name, kind, index))
    return out


def _bodies(data: bytes, code) -> list[tuple[int, int, int]]:
    """Each function body's (entry, start, end) in `data`, by defined function index: its
    size's first byte, its own first byte, and the byte after it."""
    count, i = read_uleb(data, code.payload)
    out = []
    for _ in range(count):
        size, start = read_uleb(data, i)
        out.append((i, start, start + size))
        i = start + size
    return out


# Instructions' immediates, for finding where each instruction of a body ends (_sets):
# opcode -> the LEBs that follow it (MVP, sign extension, bulk memory, reference types,
# tail calls and the exception handling that Emscripten emits). Anything else: unknown.
_NO_IMMEDIATE = set(range(0x45, 0xC5)) | {0x00, 0x01, 0x05, 0x0A, 0x0B, 0x0F, 0x19, 0x1A, 0x1B,
                                           0xD1, 0xD3, 0xD4}
_LEBS = {0x02: 1, 0x03: 1, 0x04: 1, 0x06: 1, 0x07: 1, 0x08: 1, 0x09: 1, 0x0C: 1, 0x0D: 1,
         0x10: 1, 0x11: 2, 0x12: 1, 0x13: 2, 0x14: 1, 0x15: 1, 0x18: 1, 0x20: 1, 0x21: 1, 0x22: 1,
         0x23: 1, 0x24: 1, 0x25: 1, 0x26: 1, 0x3F: 1, 0x40: 1, 0x41: 1, 0x42: 1, 0xD0: 1, 0xD2: 1,
         0xD5: 1, 0xD6: 1, **{op: 2 for op in range(0x28, 0x3F)}}          # loads, stores: memarg
_FC_LEBS = {**{n: 0 for n in range(8)}, 8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1,
            16: 1, 17: 1}


def _sets(body: bytes) -> set[int] | None:
    """The global indices a function body's `global.set`s name; None where it has an
    instruction this does not know (then it may set anything)."""
    out, i, end = set(), _locals_end(body), len(body)
    while i < end:
        op = body[i]
        i += 1
        if op in _NO_IMMEDIATE:
            continue
        if op == GLOBAL_SET:
            index, i = read_uleb(body, i)
            out.add(index)
        elif op in _LEBS:
            for _ in range(_LEBS[op]):
                _, i = read_uleb(body, i)
        elif op == 0x43 or op == 0x44:                   # f32.const, f64.const
            i += 4 if op == 0x43 else 8
        elif op == 0x0E:                                 # br_table: vec(label) label
            count, i = read_uleb(body, i)
            for _ in range(count + 1):
                _, i = read_uleb(body, i)
        elif op == 0x1C:                                 # select with types: vec(valtype)
            count, i = read_uleb(body, i)
            i += count
        elif op == 0xFC:
            sub, i = read_uleb(body, i)
            if sub not in _FC_LEBS:
                return None
            for _ in range(_FC_LEBS[sub]):
                _, i = read_uleb(body, i)
        else:                                            # SIMD, atomics, GC, ...
            return None
    # read to its last byte, which is the body's `end`: else it was not read right
    return out if i == end and body[-1] == END else None


def _set_elsewhere(data: bytes, bodies: list[tuple[int, int, int]], skip: int,
                   candidates: set[int]) -> set[int]:
    """Which of `candidates` a function other than the skip-th may set. Only the functions
    whose bytes hold a `global.set` of one (the opcode's byte and the index in a LEB of any
    length: wasm-ld pads to 5 bytes, wasm-opt writes the shortest) are decoded; a body that
    cannot be decoded may set them all."""
    patterns = {bytes([GLOBAL_SET]) + bytes((g >> (7 * k)) & 0x7F | (0x80 if k < length - 1 else 0)
                                            for k in range(length))
                for g in candidates for length in range(1, 6) if g < 1 << (7 * length)}
    first = re.compile(b"|".join(re.escape(p) for p in sorted(patterns, key=len, reverse=True)))
    out = set()
    for n, (_, start, end) in enumerate(bodies):
        if n == skip or not first.search(data, start, end):
            continue
        try:
            sets = _sets(data[start:end])
        except (NotWasm, IndexError):           # ran past the body: not read right
            sets = None
        out |= candidates if sets is None else sets & candidates
    return out


def _relocated_globals(data: bytes, by_id: dict, bodies: list[tuple[int, int, int]],
                       imported_functions: int, imported_globals: int,
                       bases: dict[int, int]) -> dict[int, int]:
    """The module's own globals whose value at start-up is known: {index: value}. Those the
    start function sets to a known base plus a constant (wasm-ld's
    `__wasm_apply_global_relocs`, which is nothing else), that are not exported, and that
    no other function may set. {} unless the start function is exactly that."""
    if START not in by_id or GLOBAL not in by_id:
        return {}
    start_function = read_uleb(data, by_id[START].payload)[0] - imported_functions
    if not 0 <= start_function < len(bodies):
        return {}
    _, first, end = bodies[start_function]
    body = data[first:end]
    i, values, seen = _locals_end(body), {}, set()
    while i < len(body) - 1:
        if body[i] != GLOBAL_GET:
            return {}
        base, i = read_uleb(body, i + 1)
        addend = 0
        if body[i] == I32_CONST:
            addend, i = read_sleb(body, i + 1)
            if body[i] != I32_ADD:
                return {}
            i += 1
        if body[i] != GLOBAL_SET:
            return {}
        target, i = read_uleb(body, i + 1)
        if target in seen:
            values.pop(target, None)            # set twice: not a constant
        elif base in bases:
            values[target] = (bases[base] + addend) & 0xFFFFFFFF
        seen.add(target)
    if body[-1:] != bytes([END]):
        return {}
    exported = {index for _, kind, index in _exports(data, by_id[EXPORT]) if kind == 3}
    values = {g: v for g, v in values.items() if g >= imported_globals and g not in exported}
    changed = _set_elsewhere(data, bodies, start_function, set(values)) if values else set()
    return {g: v for g, v in values.items() if g not in changed}


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
    function = next((index for name, kind, index in _exports(data, by_id[EXPORT])
                     if kind == 0 and name == FUNCTION_NAME), None)
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
    bodies = _bodies(data, by_id[CODE])
    wanted = function - imported_functions
    if not 0 <= wanted < len(bodies):
        return nothing(f"{FUNCTION_NAME} is not a function of the module")
    body_entry, body_start, body_end = bodies[wanted]
    body = data[body_start:body_end]
    # the stores of start-up that stay are written once the bases are what is assumed here
    guard = b"".join(bytes([GLOBAL_GET]) + uleb(index) + bytes([I32_CONST]) + sleb(value)
                     + bytes([I32_NE, IF, VOID, UNREACHABLE, END])
                     for index, value in bases.items())
    if body[:1 + len(guard)] == b"\0" + guard:
        return Result(0, 0, 0)               # done before
    stores = _stores(body, _locals_end(body))
    if stores is None:
        return nothing(f"{FUNCTION_NAME} is not only stores of bases plus constants")

    # a value may be a base or one of the module's own globals the start function sets
    known = {**_relocated_globals(data, by_id, bodies, imported_functions, len(imported), bases),
             **bases}
    patched = bytearray(data)
    kept, written = [], set()
    for (where, x), (base, y), offset in stores:
        address = x + offset
        if where != memory_base or base not in known or not 0 <= address <= size - 4:
            kept.append(_store_code((where, x), (base, y), offset))
            continue
        if address in written:
            return nothing(f"an address is written twice by {FUNCTION_NAME}")
        written.add(address)
        value = (known[base] + y) & 0xFFFFFFFF
        patched[segment + address:segment + address + 4] = value.to_bytes(4, "little")
    if not written:
        return Result(0, len(kept), 0)       # nothing to do
    new_body = b"\0" + guard + b"".join(kept) + bytes([END])
    code_payload = (bytes(patched[by_id[CODE].payload:body_entry]) + uleb(len(new_body)) + new_body
                    + bytes(patched[body_end:by_id[CODE].end]))
    out = (bytes(patched[:by_id[CODE].start]) + section(CODE, code_payload)
           + bytes(patched[by_id[CODE].end:]))
    if out[:8] != MAGIC:
        raise NotWasm("lost the header")
    mode = wasm.stat().st_mode & 0o777
    with atomic_path(wasm) as tmp:
        tmp.write_bytes(out)
        tmp.chmod(mode)
    return Result(len(written), len(kept), len(data) - len(out))
