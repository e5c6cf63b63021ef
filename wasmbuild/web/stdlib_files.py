"""The stdlib zip's members as files of the web folder, with a listing beside them.

The basic REPL's worker (templates/python.worker.mjs.j2) makes every listed file a file of
the interpreter's file system whose bytes are fetched when Python first reads it: only
what an import needs comes over the wire, and the page starts without the whole zip
(3.13.5: its three startup modules instead of 2.2 MB of brotli). The listing gives each
file's size, so that a stat() or a directory scan by the import system fetches nothing.

    <folder>/<member>          every file of the zip, bytes as they are in it
    <folder>.json              {"files": {member: size, ...}, "preload": [member, ...]}

"preload" names the members Python's start reads (the target's web.stdlib_preload).
The worker has the listing and those members written into its own script (`embedded`,
rendered at web: time): its start asks for neither, and Python's start reads no file
over the wire (each request was another wait between python.mjs's compile and
instantiation).

A file is rewritten only when its bytes change (its precompressed siblings, made from
those bytes, stay valid); a file or folder the zip no longer has is removed.
"""
from __future__ import annotations

import base64
import json
import zipfile
from pathlib import Path, PurePosixPath

from ..atomic import atomic_path, write_text
from ..errors import WasmbuildError


def listing_path(folder: Path) -> Path:
    return folder.with_name(folder.name + ".json")


def write_stdlib_files(zip_path: Path, folder: Path, preload: list[str] = ()) -> dict[str, int]:
    """Lay out zip_path's members under folder and write the listing (with `preload`,
    each of which must be a member); returns the members' sizes."""
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            member = PurePosixPath(info.filename)
            if member.is_absolute() or ".." in member.parts:
                raise WasmbuildError(f"{zip_path}: member {info.filename!r} is not a relative path "
                                     f"inside the zip: rebuild the stdlib zip (doit host:<target>)")
            files[info.filename] = zf.read(info)
    missing = [name for name in preload if name not in files]
    if missing:
        raise WasmbuildError(f"web.stdlib_preload: {', '.join(missing)} not in the stdlib zip "
                             f"{zip_path.name}: name its members as the zip does (e.g. "
                             f"encodings/__init__.pyc), or drop them from the target's YAML")
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = folder / name
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
            tmp.chmod(0o644)          # served to anyone, as the folder's other files
    _remove_others(folder, set(files))
    listing = {name: len(data) for name, data in sorted(files.items())}
    write_text(listing_path(folder), json.dumps({"files": listing, "preload": list(preload)},
                                                separators=(",", ":")) + "\n")
    return listing


def embedded(folder: Path, listing: dict[str, int], preload: list[str] = ()) -> dict:
    """What the worker's script holds of the stdlib: every file's size by name, and the
    bytes (base64) of the members Python's start reads."""
    return {"files": listing,
            "preloaded": {name: base64.b64encode((folder / name).read_bytes()).decode("ascii")
                          for name in preload}}


def _remove_others(folder: Path, keep: set[str]) -> None:
    """Files the zip does not have (a precompressed sibling stays with its file: the
    compress step removes the ones whose file is gone), then folders left empty."""
    from .compress import SIBLINGS
    suffixes = tuple(SIBLINGS.values())
    for path in sorted(folder.rglob("*"), reverse=True):
        rel = path.relative_to(folder).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif rel not in keep and not (rel.endswith(suffixes) and rel.rsplit(".", 1)[0] in keep):
            path.unlink()
