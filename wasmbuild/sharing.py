"""What one build can reuse from another: another checkout, another user cache, another
machine (through the remote cache, `remote_cache=`).

- Keys are digests of a task's inputs with every machine path replaced by a placeholder
  (`PathMap`), so equal inputs in two checkouts give equal keys.
- configure's `config.cache` and a dependency's product (the files its steps wrote into
  the target's dependency prefix) are stored with those placeholders in their text and
  get the reader's paths back when restored.
- ccache gets the settings that let a hit survive another checkout path and another
  provisioning of the same toolchain, and the remote server as its remote storage.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import paths
from .atomic import write_text

CONFIG_CACHE = "config-cache"          # the namespace of config.cache entries (and the local folder)
PRODUCT = "dep-product"                # the namespace of dependency products
STATS_LOG = ".wasmbuild-ccache-stats.log"


@dataclass
class PathMap:
    """Machine paths <-> placeholders. The longest path is replaced first (the cross-build
    dir is usually inside the source, the source inside the cache)."""
    pairs: list[tuple[str, str]]

    @classmethod
    def of(cls, source: Path, cross_build: Path) -> "PathMap":
        pairs = [(str(cross_build), "@CROSS_BUILD@"), (str(source), "@SOURCE@"),
                 (str(paths.roots_dir()), "@TOOLCHAINS@"), (str(paths.cache_dir()), "@CACHE@"),
                 (str(paths.PROJECT_DIR), "@PROJECT@")]
        return cls(sorted(pairs, key=lambda p: -len(p[0])))

    def normalise(self, text: str) -> str:
        for path, placeholder in self.pairs:
            text = text.replace(path, placeholder)
        return text

    def localise(self, text: str) -> str:
        for path, placeholder in self.pairs:
            text = text.replace(placeholder, path)
        return text

    def key(self, parts) -> str:
        """The digest of `parts` (JSON data) with machine paths normalised."""
        text = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(self.normalise(text).encode()).hexdigest()


@dataclass
class Traffic:
    """What one task got from the caches, for its line in the build report."""
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] | None = None        # the remote cache's calls of this task

    def values(self) -> dict:
        out = {"notes": self.notes} if self.notes else {}
        if self.counts and (remote := {k: n for k, n in self.counts.items() if n}):
            out["remote"] = remote
        return out


@contextlib.contextmanager
def traffic(remote, notes=()):
    """A Traffic that counts the remote calls this task's thread makes in the block."""
    t = Traffic(list(notes))
    if remote is None:
        yield t
        return
    with remote.counting() as counts:
        t.counts = counts
        yield t


# ---------------------------------------------------------------- config.cache

def local_config_cache(key: str) -> Path:
    return paths.cache_dir() / CONFIG_CACHE / f"{key}.cache"


def restore_config_cache(key: str, dest: Path, path_map: PathMap, remote) -> str | None:
    """Put the answers stored for `key` at dest, with this checkout's paths; return where
    they came from ("local", "remote") or None (dest removed: configure starts without)."""
    local = local_config_cache(key)
    sources = [("local", lambda: local.read_bytes() if local.exists() else None)]
    if remote:
        sources.append(("remote", lambda: remote.get(CONFIG_CACHE, key)))
    for where, read in sources:
        blob = read()
        try:
            text = path_map.localise(blob.decode("utf-8")) if blob is not None else None
        except UnicodeDecodeError:
            text = None
        if text is not None:
            write_text(dest, text)
            return where
    dest.unlink(missing_ok=True)
    return None


def keep_config_cache(key: str, src: Path, path_map: PathMap, remote, upload: bool) -> bool:
    """Keep configure's answers for the next configure with the same key, here and (upload)
    on the remote server, with placeholders for machine paths both times: the key is the
    same for every checkout, so the answers must fit every checkout (autoconf refuses a
    cache whose LIBFFI_CFLAGS names another checkout's prefix). True when the server took
    them."""
    text = path_map.normalise(src.read_text("utf-8"))
    local = local_config_cache(key)
    local.parent.mkdir(parents=True, exist_ok=True)
    write_text(local, text)
    if not (upload and remote):
        return False
    return remote.put(CONFIG_CACHE, key, text.encode())


# ---------------------------------------------------------------- dependency products

def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """relpath -> (size, mtime_ns) of every file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return out


def pack(root: Path, rels: list[str], path_map: PathMap) -> bytes:
    """A tar of root/rels: text files with placeholders for machine paths (libtool's .la and
    pkg-config's .pc name the prefix), binary files as they are. Deterministic: sorted,
    without owners or times."""
    import gzip
    import io
    import tarfile
    buf = io.BytesIO()
    # the gzip header's time is 0: tarfile's "w:gz" writes the current time there, so two
    # packs of the same files a second apart differed (seen as a flaky unit test)
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for rel in sorted(rels):
            path = root / rel
            if path.is_symlink():
                info = tarfile.TarInfo(rel)
                info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
                tf.addfile(info)
                continue
            data = path.read_bytes()
            if b"\0" not in data:
                try:
                    data = path_map.normalise(data.decode("utf-8")).encode("utf-8")
                except UnicodeDecodeError:
                    pass
            info = tarfile.TarInfo(rel)
            info.size, info.mode = len(data), path.stat().st_mode & 0o777
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def unpack(blob: bytes, root: Path, path_map: PathMap) -> list[str]:
    """Write the files of a `pack` blob under root, with this machine's paths; each file is
    written to a temporary name and renamed. Returns the files written."""
    import io
    import tarfile
    written = []
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tf:
        members = tf.getmembers()
        for m in members:
            if m.name.startswith("/") or ".." in Path(m.name).parts:
                raise ValueError(f"unsafe path in a cached product: {m.name}")
        for m in members:
            dest = root / m.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if m.issym():
                dest.unlink(missing_ok=True)
                dest.symlink_to(m.linkname)
            else:
                data = tf.extractfile(m).read()
                if b"\0" not in data:
                    try:
                        data = path_map.localise(data.decode("utf-8")).encode("utf-8")
                    except UnicodeDecodeError:
                        pass
                tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
                tmp.write_bytes(data)
                tmp.chmod(m.mode)
                os.replace(tmp, dest)
            written.append(m.name)
    return written


# ---------------------------------------------------------------- ccache

def identity_digest(identity: Path) -> str:
    try:
        return hashlib.sha256(identity.read_bytes()).hexdigest()[:32]
    except OSError:
        return "unknown"


def source_date_epoch(source: Path) -> str:
    """The time a build writes into its outputs (__DATE__ and __TIME__ in sys.version):
    the caller's SOURCE_DATE_EPOCH, else the mtime of the source's patchlevel.h (a release
    tarball's, the same in every unpacked copy), so two builds of one source give the
    same bytes, and ccache can share getbuildinfo.o."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return os.environ["SOURCE_DATE_EPOCH"]
    try:
        return str(int((source / "Include" / "patchlevel.h").stat().st_mtime))
    except OSError:
        return "0"


def build_env(source: Path, identity: Path, remote, stats_log: Path | None) -> dict[str, str]:
    """The environment every build command gets besides the toolchain's, none of it part of
    a task's signature: SOURCE_DATE_EPOCH, and ccache's settings:
    - base_dir: absolute paths below the source (the cross-build dir, the dependency prefix)
      are hashed as relative ones, so another checkout path hits;
    - no hash_dir: with -g the working directory is hashed otherwise (it is only in the
      debug info's DW_AT_comp_dir, which then names the first builder's folder);
    - the compiler is known by the toolchain's identity (package versions, patches), not by
      its mtime, which differs on every machine that provisions the same toolchain;
    - the remote server as remote storage, and a per-task stats log for the report."""
    env = {"SOURCE_DATE_EPOCH": source_date_epoch(source),
           "CCACHE_BASEDIR": str(source), "CCACHE_NOHASHDIR": "1",
           "CCACHE_COMPILERCHECK": f"string:{identity_digest(identity)}"}
    if remote is not None and not remote.down:
        env["CCACHE_REMOTE_STORAGE"] = remote.ccache_url()
    if stats_log is not None:
        env["CCACHE_STATSLOG"] = str(stats_log)
    return env


def ccache_counts(stats_log: Path) -> dict[str, int]:
    """Counts of the results ccache logged (local/remote hits, misses) since the log was
    started; the log is removed."""
    counts: dict[str, int] = {}
    try:
        lines = stats_log.read_text(errors="replace").splitlines()
    except OSError:
        return counts
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            counts[line] = counts.get(line, 0) + 1
    stats_log.unlink(missing_ok=True)
    return counts


def describe_ccache(counts: dict[str, int]) -> str | None:
    """One line: compiles, local hits, remote hits, misses."""
    local = counts.get("local_storage_hit", 0)
    remote = counts.get("remote_storage_hit", 0)
    miss = counts.get("cache_miss", 0)
    if not (local or remote or miss):
        return None
    return f"ccache: {local} local hits, {remote} remote hits, {miss} misses"
