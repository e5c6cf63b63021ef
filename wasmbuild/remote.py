"""A content-addressed blob store on a Redis server, shared between builders.

A remote cache is an optimisation, never a dependency: a slow, dead or wrong server
must cost at most one timeout and one warning line, after which the build goes on
locally. Bytes are only handed out after their sha256 and size match the pointer.
"""
from __future__ import annotations

import contextlib
import hashlib
import re
import sys
import threading
from urllib.parse import parse_qs, unquote, urlsplit

_FORMS = ("redis://HOST:PORT[/DB] or unix:///PATH/TO.sock[?db=N], "
          "optionally followed by |read-only")
_FAILED = object()       # what a Redis command "returns" when the server had a problem


def _setting_error(value: str, why: str = "") -> ValueError:
    shown = re.sub(r"//[^/@]*@", "//***@", value)        # never echo a password into a log
    return ValueError(f"remote cache setting {shown!r} is not understood{why}: use {_FORMS}")


def _parse_url(url: str, setting: str | None = None) -> dict:
    """redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH[?db=N] -> where to connect.
    A ValueError names `setting` (the whole value the user wrote), else `url`."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "redis" and parts.hostname and not (parts.query or parts.fragment):
            return {"host": parts.hostname, "port": 6379 if parts.port is None else parts.port,
                    "db": _db_number(parts.path[1:] or "0"),
                    "username": unquote(parts.username) if parts.username else None,
                    "password": unquote(parts.password) if parts.password else None,
                    "userinfo": parts.netloc.rpartition("@")[0]}
        if parts.scheme == "unix" and not parts.netloc and parts.path.startswith("/"):
            query = parse_qs(parts.query, strict_parsing=bool(parts.query))
            if set(query) - {"db"}:
                raise ValueError("unknown query parameter")
            return {"path": parts.path, "db": _db_number(query.get("db", ["0"])[-1])}
    except ValueError as e:           # a bad port, db or query: urlsplit and int() say why
        raise _setting_error(setting or url, f" ({e})") from None
    raise _setting_error(setting or url)


def _db_number(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"database {text!r} is not a number")
    return int(text)


class RemoteCache:
    """Blobs by sha256 + named pointers to them, on a Redis server. Every call has a timeout;
    the first connection failure or timeout marks the server down for the rest of the
    process: one warning line (through the `warn` callable given), and every later call is a
    miss / no-op. Nothing raises to the caller for a server problem."""

    def __init__(self, url: str, *, read_only: bool = False, timeout: float = 2.0,
                 warn=lambda line: print(line, file=sys.stderr), prefix: str = "wasmbuild"):
        self._where = _parse_url(url)
        self.read_only = read_only
        self.timeout = timeout
        self._warn = warn
        self._prefix = prefix
        self._down = False
        self._warned_error = False
        self._bad_blobs: set[str] = set()     # seen corrupt here: the next put overwrites them
        self._stats = dict.fromkeys(("hits", "misses", "uploads", "rejected", "errors"), 0)
        self._thread = threading.local()
        self._lock = threading.Lock()
        try:                          # an optional extra: only a configured cache needs it
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise ValueError("remote cache " + self.describe() + " needs the Python package "
                             "redis: pip install 'wasmbuild[remote]'") from None
        self._errors = (redis.exceptions.RedisError, OSError)
        self._down_errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                             OSError)
        where = self._where
        target = ({"unix_socket_path": where["path"]} if "path" in where else
                  {"host": where["host"], "port": where["port"],
                   "username": where["username"], "password": where["password"]})
        # redis-py >= 6 retries 3 times with backoff by default: a hung server would then
        # cost several timeouts instead of one.
        self._client = redis.Redis(db=where["db"], socket_timeout=timeout,
                                   socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
                                   **target)

    @classmethod
    def from_setting(cls, setting: str | None, **kw) -> "RemoteCache | None":
        """None/"" -> None; "URL" or "URL|read-only" -> a RemoteCache (ValueError if malformed)."""
        if setting is None or not setting.strip():
            return None
        url, *flags = setting.strip().split("|")
        if any(flag.strip() != "read-only" for flag in flags):
            raise _setting_error(setting)
        _parse_url(url.strip(), setting)      # so an error names the whole setting
        return cls(url.strip(), read_only=bool(flags) or kw.pop("read_only", False), **kw)

    def get(self, namespace: str, key: str) -> bytes | None:
        if self._down:
            self._count("misses")
            return None
        pointer = self._call(self._client.get, self._pointer_key(namespace, key))
        if pointer is _FAILED:
            return None
        if pointer is None:
            self._count("misses")
            return None
        try:
            digest, size = pointer.decode("ascii").split(" ")
            size = int(size)
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ValueError
        except ValueError:
            return self._reject(namespace, key, None, "malformed pointer")
        data = self._call(self._client.get, self._blob_key(digest))
        if data is _FAILED:
            return None
        if data is None:              # evicted (e.g. maxmemory) while its pointer stayed
            self._count("misses")
            return None
        if len(data) != size:
            return self._reject(namespace, key, digest, f"size {len(data)}, pointer says {size}")
        if hashlib.sha256(data).hexdigest() != digest:
            return self._reject(namespace, key, digest, "sha256 mismatch")
        self._count("hits")
        return data

    def put(self, namespace: str, key: str, data: bytes) -> bool:
        if self.read_only or self._down:
            return False
        digest = hashlib.sha256(data).hexdigest()
        # Blob first, pointer last: a reader that sees the pointer finds the whole blob
        # (each SET is atomic). An existing blob is kept unless it was seen corrupt.
        overwrite = digest in self._bad_blobs
        if self._call(self._client.set, self._blob_key(digest), data,
                      nx=not overwrite) is _FAILED:
            return False
        if self._call(self._client.set, self._pointer_key(namespace, key),
                      f"{digest} {len(data)}".encode("ascii")) is _FAILED:
            return False
        self._bad_blobs.discard(digest)
        self._count("uploads")
        return True

    def ccache_url(self) -> str:
        """The same server as ccache (4.11) remote_storage: attributes after "|", timeouts in
        ms (ccache accepts 1..60000), "redis+unix:PATH?db=N" for a socket."""
        where = self._where
        if "path" in where:
            url = f"redis+unix:{where['path']}?db={where['db']}"
        else:
            user, _, password = where["userinfo"].partition(":")
            # ccache reads "PASSWORD@" as a password alone and ignores ":PASSWORD@"
            creds = (f"{user}:{password}@" if user and password else
                     f"{password}@" if password else "")
            url = f"redis://{creds}{self._host_port()}/{where['db']}"
        ms = min(max(round(self.timeout * 1000), 1), 60000)
        return (url + ("|read-only" if self.read_only else "")
                + f"|connect-timeout={ms}|operation-timeout={ms}")

    @property
    def stats(self) -> dict:
        return dict(self._stats)

    def _count(self, what: str) -> None:
        self._stats[what] += 1
        if (counts := getattr(self._thread, "counts", None)) is not None:
            counts[what] += 1

    @contextlib.contextmanager
    def counting(self):
        """The counts of this thread's calls inside the block (doit runs two tasks at once,
        in threads, and each task's report line must show its own traffic)."""
        counts = dict.fromkeys(self._stats, 0)
        self._thread.counts = counts
        try:
            yield counts
        finally:
            self._thread.counts = None

    @property
    def socket_path(self) -> str | None:
        """The Unix socket, if the server is reached through one (a sandbox must see it)."""
        return self._where.get("path")

    @property
    def down(self) -> bool:
        return self._down

    def describe(self) -> str:
        where = self._where
        url = (f"unix://{where['path']}?db={where['db']}" if "path" in where else
               f"redis://{self._host_port()}/{where['db']}")
        return url + (" (read-only)" if self.read_only else "")

    def _host_port(self) -> str:
        host = self._where["host"]
        return f"[{host}]:{self._where['port']}" if ":" in host else f"{host}:{self._where['port']}"

    def _pointer_key(self, namespace: str, key: str) -> str:
        return f"{self._prefix}:ptr:{namespace}:{key}"

    def _blob_key(self, digest: str) -> str:
        return f"{self._prefix}:blob:{digest}"

    def _reject(self, namespace, key, digest, why) -> None:
        self._count("rejected")
        if digest:
            self._bad_blobs.add(digest)
        self._warn(f"remote cache {self.describe()}: rejected: {namespace}/{key}: {why}; "
                   f"rebuilt locally")

    def _call(self, method, *args, **kw):
        """One Redis command; _FAILED (never an exception) when the server has a problem."""
        try:
            return method(*args, **kw)
        except self._errors as e:
            self._count("errors")
            detail = str(e).splitlines()[0] if str(e) else type(e).__name__
            with self._lock:                     # two tasks' threads may fail at once: one line
                if isinstance(e, self._down_errors):
                    first, self._down = not self._down, True
                    if first:
                        self._warn(f"remote cache {self.describe()} is unreachable ({detail}); "
                                   f"not used again by this process")
                elif not self._warned_error:      # e.g. out of memory: say so once
                    self._warned_error = True
                    self._warn(f"remote cache {self.describe()}: {detail}")
            return _FAILED
