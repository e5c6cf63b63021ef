"""Files of registry packages that the page loads (xterm.js, its tty add-on), put into
the web folder at `web:` time, so the page needs no CDN and works offline.

Each asset is a package tarball (npm's) fetched into the download cache, verified by
the sha256 pinned in the YAML and, when given, by the registry's own integrity string
(`dist.integrity`, `sha512-<base64>`), which is what `npm` itself checks; then the
named members are copied out of it, and nothing else of the tarball is run or kept.
"""
from __future__ import annotations

import base64
import hashlib
import tarfile
from pathlib import Path

from ..atomic import atomic_path
from ..errors import SourceError
from ..fetch import fetch


def check_integrity(path: Path, integrity: str) -> None:
    """An SRI string (`sha512-<base64>`; several, space-separated: any one must match)."""
    actual = algorithm = ""
    for item in integrity.split():
        algorithm, _, expected = item.partition("-")
        if algorithm not in ("sha256", "sha384", "sha512"):
            raise SourceError(f"{path.name}: integrity {item!r}: unknown algorithm "
                              f"(expected sha512-<base64>, as npm's dist.integrity)")
        with open(path, "rb") as f:
            actual = base64.b64encode(hashlib.file_digest(f, algorithm).digest()).decode()
        if actual == expected:
            return
    raise SourceError(f"{path}: integrity mismatch: expected {integrity}, got "
                      f"{algorithm}-{actual}; the file is refused (delete it to download it again)")


def install(assets, dest: Path) -> list[str]:
    """Fetch and verify each asset's tarball, write its named members into `dest`.
    Returns the names written."""
    written = []
    for asset in assets:
        tarball = fetch(asset.download)
        if asset.integrity:
            check_integrity(tarball, asset.integrity)
        with tarfile.open(tarball) as tf:
            for member_name, name in asset.files.items():
                if not name or "/" in name or name in (".", ".."):
                    raise SourceError(f"{asset.download.file}: {member_name} -> {name!r}: the "
                                      f"name in the web folder must be a plain file name")
                try:
                    member = tf.getmember(member_name)
                except KeyError:
                    raise SourceError(f"{asset.download.file} has no {member_name} (web.assets "
                                      f"files: name a file of the tarball, e.g. "
                                      f"package/lib/xterm.js)") from None
                if not member.isfile():
                    raise SourceError(f"{asset.download.file}: {member_name} is not a regular file")
                data = tf.extractfile(member).read()
                with atomic_path(dest / name) as tmp:
                    tmp.write_bytes(data)
                written.append(name)
    return written
