"""The CPython source: a checkout given with cpython=PATH, or the default release tarball."""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import fetch, paths
from .atomic import write_text
from .errors import SourceError
from .model import Download

_PY_VERSION = re.compile(r'^#define\s+PY_VERSION\s+"([^"]+)"', re.M)


@dataclass(frozen=True)
class Source:
    path: Path
    version: str               # e.g. "3.13.5"
    default: bool              # the cached release tarball, not the user's checkout

    @property
    def major_minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def read_version(path: Path) -> str:
    header = path / "Include" / "patchlevel.h"
    if not (path / "configure").is_file() or not header.is_file():
        raise SourceError(f"cpython={path}: not a CPython source tree "
                          f"(expected {path}/configure and {path}/Include/patchlevel.h)")
    m = _PY_VERSION.search(header.read_text(encoding="utf-8", errors="replace"))
    if not m:
        raise SourceError(f"{header}: no PY_VERSION define found")
    return m.group(1)


def default_source_dir(version: str) -> Path:
    return paths.cache_dir() / "sources" / f"cpython-{version}"


def resolve(cpython: str | None, default_version: str) -> Source:
    if cpython:
        path = Path(cpython).expanduser().resolve()
        if not path.is_dir():
            raise SourceError(f"cpython={cpython}: no such directory")
        return Source(path, read_version(path), default=False)
    return Source(default_source_dir(default_version), default_version, default=True)


STAMP = ".wasmbuild-source.json"


def is_unpacked(download: Download, dest: Path) -> bool:
    """The release is unpacked at dest (any cross-build dir may ask: the stamp lives in
    the source, not in one cross-build's doit state)."""
    try:
        return json.loads((dest / STAMP).read_text()).get("sha256") == download.sha256
    except (OSError, ValueError):
        return False


def unpack_release(download: Download, dest: Path) -> None:
    """Fetch, verify and unpack a CPython release tarball to `dest` (atomically: a
    half-unpacked tree is never left under the final name)."""
    (dest / STAMP).unlink(missing_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    fetch.unpack(download, partial)            # Python-3.13.5/ stripped
    # dest may already hold the cross-build dir (doit's state lives there): move the
    # tree in beside it, `configure` last, since its presence marks the unpack done.
    dest.mkdir(parents=True, exist_ok=True)
    children = sorted(partial.iterdir(), key=lambda p: p.name == "configure")
    for child in children:
        target = dest / child.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        child.rename(target)
    shutil.rmtree(partial)
    read_version(dest)
    write_text(dest / STAMP, json.dumps({"sha256": download.sha256, "file": download.file}))
