"""Precompressed siblings of the web folder's files, made at `web:` time: X.zst, X.br
and X.gz.

serve.py sends a sibling instead of X when the browser accepts its coding, so the
compression costs nothing per request and can be the slowest, smallest one.

The same bytes in, the same bytes out, on every machine:
- brotli: PyPI's `brotli` (Google's own bindings, which bundle the C library),
  pinned to one version in pyproject.toml. Brotli's output depends on the library's
  version; Debian's `brotli` differs by release (bookworm 1.0.9, trixie 1.1.0), so
  the host's command would give other bytes on another host.
- zstd: PyPI's `zstandard` (which bundles libzstd), pinned likewise: zstd's output
  depends on the library's version too.
- gzip: the standard library's zlib at level 9, with no name and no time in the
  header (mtime=0).

A sibling is written only when it is smaller than the file. What was compressed is
recorded (`state`: name -> digest of the file and of its siblings), so that assembling
the folder again with the same python.wasm does not spend the seconds again.
"""
from __future__ import annotations

import fnmatch
import gzip
import json
import os
import zipfile
from pathlib import Path

from ..atomic import atomic_path, write_text
from ..digests import hash_file

# coding (as in Content-Encoding) -> the sibling's suffix, in the server's order of
# preference (serve.py). zstd first: in Chromium on these 2 cores the page's python.wasm
# came fetched and compiled in 158 ms as zstd against 238 ms as brotli (decoding; 3.13.5,
# 8 fresh contexts each, bench/WEB.md), for 6 % more bytes (2.64 against 2.49 MB then).
# Brotli, the smallest, for browsers without zstd; gzip for any other client.
SIBLINGS = {"zstd": ".zst", "br": ".br", "gzip": ".gz"}

# Brotli's densest setting: quality 11 with the largest standard window (16 MiB), which
# finds repeats across the whole of python.wasm. Decoding is as fast at any quality.
BROTLI_QUALITY = 11
BROTLI_WINDOW = 24
GZIP_LEVEL = 9
# zstd's densest level, with a window of at most 8 MiB: the most a browser must decode
# (RFC 9659); Chromium fails the fetch of a response that needs more (python.wasm at
# level 22 asks for 128 MiB unless told).
ZSTD_LEVEL = 22
ZSTD_WINDOW_LOG = 23


def brotli_bytes(data: bytes) -> bytes:
    import brotli   # here: only web: needs it
    return brotli.compress(data, mode=brotli.MODE_GENERIC, quality=BROTLI_QUALITY,
                           lgwin=BROTLI_WINDOW)


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def zstd_bytes(data: bytes) -> bytes:
    import zstandard   # here: only web: needs it
    # zstd fits the window to the source's size itself (a small file asks its decoder
    # for no more than it needs); only a large one is held to the browsers' bound
    params = zstandard.ZstdCompressionParameters.from_level(ZSTD_LEVEL, source_size=len(data))
    if params.window_log > ZSTD_WINDOW_LOG:
        params = zstandard.ZstdCompressionParameters.from_level(
            ZSTD_LEVEL, source_size=len(data), window_log=ZSTD_WINDOW_LOG)
    return zstandard.ZstdCompressor(compression_params=params).compress(data)


_COMPRESSORS = {"zstd": zstd_bytes, "br": brotli_bytes, "gzip": gzip_bytes}


def selected(folder: Path, patterns: list[str]) -> list[Path]:
    """The folder's regular files, in it or below it, whose paths relative to it match
    one of the patterns (fnmatch: `*` matches a `/` too), siblings never."""
    sibling_suffixes = tuple(SIBLINGS.values())
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not p.name.endswith(sibling_suffixes)
                  and any(fnmatch.fnmatchcase(_rel(folder, p), pat) for pat in patterns))


def _rel(folder: Path, path: Path) -> str:
    return path.relative_to(folder).as_posix()


def compress_folder(folder: Path, patterns: list[str], state: Path) -> list[dict]:
    """Write X.zst, X.br and X.gz beside each selected file X (when smaller than X); remove
    siblings of files that are no longer selected or no longer shrink. Returns one
    row per file: name and sizes (raw, and per coding; None where none is kept)."""
    try:
        known = json.loads(state.read_text())
    except (OSError, ValueError):
        known = {}
    files = selected(folder, patterns)
    rows, record = [], {}
    for path in files:
        digest = hash_file(path, "sha256")
        name = _rel(folder, path)
        row = {"name": name, "raw": path.stat().st_size}
        previous = known.get(name, {})
        entry = {"sha256": digest}
        for coding, suffix in SIBLINGS.items():
            sibling = path.with_name(path.name + suffix)
            done = previous.get(coding)
            if (previous.get("sha256") == digest and done is not None
                    and (done == "none" and not sibling.exists()
                         or done != "none" and sibling.is_file()
                         and hash_file(sibling, "sha256") == done)):
                entry[coding] = done          # made from these bytes before: kept
                row[coding] = None
                if done != "none":
                    row[coding] = sibling.stat().st_size
                    _touch_after(sibling, path)
                continue
            packed = _COMPRESSORS[coding](path.read_bytes())
            if len(packed) < row["raw"]:
                with atomic_path(sibling) as tmp:
                    tmp.write_bytes(packed)
                entry[coding] = hash_file(sibling, "sha256")
                row[coding] = len(packed)
            else:
                sibling.unlink(missing_ok=True)
                entry[coding] = "none"
                row[coding] = None
        record[name] = entry
        rows.append(row)
    chosen = {_rel(folder, p) for p in files}
    for p in folder.rglob("*"):
        for suffix in SIBLINGS.values():
            if p.name.endswith(suffix) and _rel(folder, p)[:-len(suffix)] not in chosen and p.is_file():
                p.unlink()            # a sibling whose file is gone or no longer compressed
    write_text(state, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return rows


def _touch_after(sibling: Path, original: Path) -> None:
    """A kept sibling must not look older than its file, which web: has just copied
    again (serve.py never sends a sibling older than its file: it would be stale)."""
    o = original.stat().st_mtime_ns
    if sibling.stat().st_mtime_ns < o:
        os.utime(sibling, ns=(o, o))


def table(rows: list[dict]) -> list[str]:
    """The sizes for the log: one line per file, in bytes."""
    def size(n):
        return "-" if n is None else f"{n:,}"
    return [f"{r['name']}: {r['raw']:,} raw, {size(r.get('gzip'))} gzip, {size(r.get('br'))} brotli, "
            f"{size(r.get('zstd'))} zstd" for r in rows]


def stored_zip_copy(src: Path, dest: Path) -> None:
    """A copy of a zip whose entries are stored, not deflated: the same names, order,
    times and modes. The page's stdlib zip travels brotli-compressed as a whole, which
    finds the repeats across its thousand .pyc files that per-entry deflate cannot
    (3.13.5's: 3.43 MB brotli deflated, 2.22 MB stored), and an import reads its module
    without inflating it in wasm."""
    with zipfile.ZipFile(src) as zin, atomic_path(dest) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zout:
            for info in zin.infolist():
                out = zipfile.ZipInfo(info.filename, info.date_time)
                out.compress_type, out.external_attr = zipfile.ZIP_STORED, info.external_attr
                out.create_system = info.create_system
                zout.writestr(out, zin.read(info))
