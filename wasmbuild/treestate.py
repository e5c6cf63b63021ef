"""A content signature of a source tree that stays cheap on a no-op and ignores `touch`.

doit's md5 checker re-hashes a touched file on *every* run until the task runs again
(after a branch switch: +0.2 s per no-op at 5k files). Here the hashes live in their
own cache keyed by (size, mtime): a touched file is hashed once, its new mtime is
remembered at once whether or not any task runs, and the signature -- a hash over
(path, content hash) of every file -- is what a task compares with its last success.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .atomic import write_text
from .digests import hash_file

# Folders never part of what make reads.
ALWAYS_SKIP = {".git", ".hg", "__pycache__", "cross-build", "build", ".wasmbuild",
               "node_modules", ".mypy_cache", ".pytest_cache"}
# Files of wasmbuild's own in a source tree (the default source's unpack stamp).
SKIP_FILES = {".wasmbuild-source.json"}


def scan(root: Path, subdirs: list[str] | None, skip: set[str]) -> dict[str, tuple[int, int]]:
    """relpath -> (size, mtime_ns) for every file under root (or under root/subdirs)."""
    out: dict[str, tuple[int, int]] = {}
    stack = [root / d for d in subdirs] if subdirs is not None else [root]
    root_s = str(root) + os.sep
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except FileNotFoundError:
            continue
        with it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    if e.name not in skip:
                        stack.append(e.path)
                elif e.is_file(follow_symlinks=False) and e.name not in SKIP_FILES:
                    st = e.stat(follow_symlinks=False)
                    out[e.path[len(root_s):]] = (st.st_size, st.st_mtime_ns)
    return out


class TreeState:
    """Signature of `root` (optionally limited to `subdirs`, plus `extra` files)."""

    def __init__(self, root: Path, cache_file: Path, subdirs: list[str] | None = None,
                 skip: set[str] | None = None, skip_top: set[str] | None = None,
                 extra: list[str] | None = None):
        self.root, self.cache_file = root, cache_file
        self.subdirs, self.skip = subdirs, ALWAYS_SKIP | (skip or set())
        self.skip_top, self.extra = skip_top or set(), extra or []
        self._files: dict[str, str] | None = None
        self._digest: str | None = None

    def files(self) -> dict[str, str]:
        """relpath -> sha1 of content; computed once per process."""
        if self._files is not None:
            return self._files
        seen = scan(self.root, self.subdirs, self.skip)
        if self.skip_top:
            seen = {p: v for p, v in seen.items() if p.split(os.sep, 1)[0] not in self.skip_top}
        for rel in self.extra:
            try:
                st = os.stat(self.root / rel)
                seen[rel] = (st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                pass
        cache = self._load_cache()
        changed = False
        hashes = {}
        for rel, (size, mtime) in seen.items():
            old = cache.get(rel)
            if old and old[0] == size and old[1] == mtime:
                hashes[rel] = old[2]
            else:
                hashes[rel] = hash_file(self.root / rel, "sha1")
                cache[rel] = [size, mtime, hashes[rel]]
                changed = True
        if len(cache) != len(seen):
            cache = {k: v for k, v in cache.items() if k in seen}
            changed = True
        if changed:
            write_text(self.cache_file, json.dumps(cache, separators=(",", ":")))
        self._files = hashes
        return hashes

    def digest(self) -> str:
        """Computed once per process, as files() is (several tasks ask for it)."""
        if self._digest is None:
            h = hashlib.sha256()
            for rel, sha in sorted(self.files().items()):
                h.update(f"{rel}\0{sha}\n".encode())
            self._digest = h.hexdigest()
        return self._digest

    def _load_cache(self) -> dict:
        try:
            return json.loads(self.cache_file.read_text())
        except (OSError, ValueError):
            return {}


class unchanged:
    """doit `uptodate` entry: True while the tree's signature equals the one saved at the
    task's last success (the same protocol as doit.tools.config_changed).

    On success it also keeps a snapshot of the tree beside doit's state, so that when
    the signature differs the build report can name the files that changed."""

    def __init__(self, tree: TreeState, key: str, snapshots: Path):
        self.tree, self.key, self.snapshots = tree, key, snapshots
        self.digest = None
        self.changed: list[str] | None = None          # set when not up to date

    def _snapshot(self, task) -> Path:
        return self.snapshots / f"{task.name.replace(':', '-')}.{self.key}.json"

    def configure_task(self, task):
        def save():
            digest = self.digest or self.tree.digest()
            write_text(self._snapshot(task), json.dumps(self.tree.files(), separators=(",", ":")))
            return {self.key: digest}
        task.value_savers.append(save)

    def __call__(self, task, values):
        self.digest = self.tree.digest()
        if values.get(self.key) == self.digest:
            return True
        try:
            before = json.loads(self._snapshot(task).read_text())
        except (OSError, ValueError):
            before = None
        now = self.tree.files()
        if before is not None:
            self.changed = sorted(p for p in before.keys() | now.keys() if before.get(p) != now.get(p))
        return False
