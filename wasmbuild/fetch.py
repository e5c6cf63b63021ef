"""Downloads into the cache, verified by sha256 before they are ever used."""
from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

from . import paths
from .atomic import atomic_path
from .digests import hash_file
from .errors import SourceError
from .model import Download

CONNECT_TIMEOUT = 20


def cached_path(download: Download) -> Path:
    return paths.downloads_dir() / download.file


def verify(path: Path, expected: str) -> None:
    actual = hash_file(path, "sha256")
    if actual != expected:
        raise SourceError(f"{path}: sha256 mismatch: expected {expected}, got {actual}; "
                          f"the file is refused (delete it to download it again)")


def fetch(download: Download) -> Path:
    """Return the verified cached file, downloading it first if it is missing.

    A cached file that does not match is refused, not replaced: a tampered or
    truncated cache is something the user should see.
    """
    dest = cached_path(download)
    if dest.exists():
        verify(dest, download.sha256)
        return dest
    errors = []
    for url in download.urls:
        try:
            with atomic_path(dest) as tmp:
                _get(url, tmp)
                actual = hash_file(tmp, "sha256")
                if actual != download.sha256:
                    errors.append(f"{url}: sha256 {actual}, expected {download.sha256}")
                    raise _Mismatch()
            return dest
        except _Mismatch:
            continue
        except OSError as e:
            errors.append(f"{url}: {e}")
    raise SourceError(f"could not download {download.file}: " + "; ".join(errors))


class _Mismatch(Exception):
    pass


def _get(url: str, dest: Path) -> None:
    if url.startswith("file://"):
        shutil.copyfile(url[len("file://"):], dest)
        return
    print(f"  downloading {url}", file=sys.stderr, flush=True)
    import urllib.request   # here: http.client and email cost a no-op build 15 ms
    with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT) as resp, open(dest, "wb") as out:
        shutil.copyfileobj(resp, out, 1 << 20)


def unpack(download: Download, dest: Path) -> None:
    """Fetch (verified) and extract the tarball into the empty folder `dest`; a single
    top folder (libffi-3.4.6/, Python-3.13.5/) is stripped."""
    tarball = fetch(download)
    import tarfile
    with tarfile.open(tarball) as tf:
        tf.extractall(dest, filter="data")
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        # renamed first: it may hold an entry of its own name (foo-1.0/foo-1.0)
        top = entries[0].rename(dest / f".top-{uuid.uuid4().hex}")
        for child in list(top.iterdir()):
            child.rename(dest / child.name)
        top.rmdir()
