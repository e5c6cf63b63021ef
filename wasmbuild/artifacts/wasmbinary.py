"""Reading a WebAssembly binary: the header, its sections and LEB128 numbers (the
WebAssembly core spec's binary format, version 1)."""
from __future__ import annotations

from dataclasses import dataclass

MAGIC = b"\0asm\x01\0\0\0"
CUSTOM, TYPE, IMPORT, FUNCTION, TABLE, MEMORY, GLOBAL, EXPORT, START, ELEMENT, CODE, DATA = range(12)


class NotWasm(ValueError):
    pass


@dataclass(frozen=True)
class Section:
    id: int
    name: str | None          # custom sections only
    start: int                # the section's first byte (its id)
    payload: int              # its payload's first byte (after the size, and a custom name)
    end: int


def _read_leb(data: bytes, i: int, signed: bool) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise NotWasm("a section runs past the end of the file")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return (value - (1 << shift) if signed and byte & 0x40 else value), i


def read_uleb(data: bytes, i: int) -> tuple[int, int]:
    """The unsigned LEB128 number at `i`, and the index after it."""
    return _read_leb(data, i, signed=False)


def read_sleb(data: bytes, i: int) -> tuple[int, int]:
    """The signed LEB128 number at `i`, and the index after it."""
    return _read_leb(data, i, signed=True)


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def name_at(data: bytes, i: int) -> tuple[str, int]:
    length, i = read_uleb(data, i)
    return data[i:i + length].decode("utf-8", "replace"), i + length


def sections(data: bytes) -> list[Section]:
    if data[:8] != MAGIC:
        raise NotWasm("not a WebAssembly module (version 1)")
    out, i = [], 8
    while i < len(data):
        sid = data[i]
        size, body = read_uleb(data, i + 1)
        end = body + size
        if end > len(data):
            raise NotWasm("a section runs past the end of the file")
        name, payload = None, body
        if sid == CUSTOM:
            name, payload = name_at(data, body)
        out.append(Section(sid, name, i, payload, end))
        i = end
    return out


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload
