"""wasmbuild.remote: the Redis blob store, against a real redis-server started per test.

Every server here is one this file started (127.0.0.1 on a free port, or a unix socket
under tmp_path), or a plain socket that never answers; nothing else is connected to.
"""
import hashlib
import os
import signal
import socket
import sys
import time

import pytest

redis = pytest.importorskip("redis", reason="redis-py is missing (pip install 'wasmbuild[remote]')")
import redis_server  # noqa: E402
if why := redis_server.unavailable():
    pytest.skip(why, allow_module_level=True)

from wasmbuild.remote import RemoteCache  # noqa: E402

DATA = bytes(range(256)) * 64 + b"tail"


from redis_server import start as _start, stop as _stop  # noqa: E402


@pytest.fixture
def server(tmp_path):
    s = _start(tmp_path, unix=False)
    yield s
    _stop(s)


@pytest.fixture
def unix_server(tmp_path):
    s = _start(tmp_path, unix=True)
    yield s
    _stop(s)


def _keys(namespace, key, data=DATA):
    digest = hashlib.sha256(data).hexdigest()
    return f"wasmbuild:ptr:{namespace}:{key}", f"wasmbuild:blob:{digest}", digest


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_round_trip_and_stats(kind, request):
    srv = request.getfixturevalue("server" if kind == "tcp" else "unix_server")
    lines = []
    cache = RemoteCache(srv.url, warn=lines.append)
    assert cache.get("build", "k1") is None
    assert cache.put("build", "k1", DATA) is True
    assert cache.get("build", "k1") == DATA
    assert cache.get("build", "other") is None
    assert cache.stats == {"hits": 1, "misses": 2, "uploads": 1, "rejected": 0, "errors": 0}
    assert lines == [] and not cache.down
    assert srv.direct.dbsize() == 2           # one blob, one pointer, in the db the URL names


def test_unix_socket_uses_the_db_in_the_url(unix_server, tmp_path):
    RemoteCache(unix_server.url).put("ns", "k", DATA)
    db0 = redis.Redis(unix_socket_path=str(tmp_path / "r.sock"), db=0)
    assert db0.dbsize() == 0 and unix_server.direct.dbsize() == 2
    db0.close()


def test_blob_first_then_pointer_naming_it(server, monkeypatch):
    cache = RemoteCache(server.url)
    written = []
    real_set = cache._client.set
    monkeypatch.setattr(cache._client, "set",
                        lambda name, *a, **kw: written.append(name) or real_set(name, *a, **kw))
    assert cache.put("ns", "k", DATA)
    ptr, blob, digest = _keys("ns", "k")
    assert written == [blob, ptr]
    assert server.direct.get(blob) == DATA
    assert server.direct.get(ptr) == f"{digest} {len(DATA)}".encode()


def test_flipped_byte_is_rejected_then_repaired_by_put(server):
    lines = []
    cache = RemoteCache(server.url, warn=lines.append)
    cache.put("ns", "k", DATA)
    _, blob, _ = _keys("ns", "k")
    bad = bytearray(DATA)
    bad[100] ^= 0x01
    server.direct.set(blob, bytes(bad))
    assert cache.get("ns", "k") is None
    assert cache.stats["rejected"] == 1 and cache.stats["hits"] == 0
    assert len(lines) == 1
    assert "ns/k" in lines[0] and "sha256 mismatch" in lines[0] and "\n" not in lines[0]
    # the blob already exists, but was seen corrupt: the next put replaces it
    assert cache.put("ns", "k", DATA)
    assert cache.get("ns", "k") == DATA


def test_truncated_blob_is_rejected(server):
    lines = []
    cache = RemoteCache(server.url, warn=lines.append)
    cache.put("ns", "k", DATA)
    _, blob, _ = _keys("ns", "k")
    server.direct.set(blob, DATA[:-1])
    assert cache.get("ns", "k") is None
    assert cache.stats["rejected"] == 1 and len(lines) == 1
    assert "ns/k" in lines[0] and "size" in lines[0]


def test_read_only_reads_but_never_writes(server):
    assert RemoteCache(server.url).put("ns", "shared", DATA)
    before = server.direct.dbsize()
    ro = RemoteCache.from_setting(server.url + "|read-only")
    assert ro.read_only
    assert ro.get("ns", "shared") == DATA
    assert ro.put("ns", "new", b"something else") is False
    assert ro.put("ns", "shared", b"overwrite attempt") is False
    assert server.direct.dbsize() == before
    assert ro.get("ns", "shared") == DATA
    assert ro.stats["uploads"] == 0 and ro.stats["hits"] == 2


def test_server_killed_mid_use(server):
    lines = []
    cache = RemoteCache(server.url, warn=lines.append, timeout=0.5)
    assert cache.put("ns", "k", DATA) and cache.get("ns", "k") == DATA
    server.proc.terminate()
    server.proc.wait(timeout=5)
    assert cache.get("ns", "k") is None
    assert cache.put("ns", "k2", DATA) is False
    assert cache.get("ns", "k2") is None
    assert cache.put("ns", "k3", b"x") is False
    assert cache.down
    assert len(lines) == 1 and "unreachable" in lines[0]
    # the call that met the dead server is the one error; later gets are plain misses
    assert cache.stats == {"hits": 1, "misses": 1, "uploads": 1, "rejected": 0, "errors": 1}


def test_listener_that_never_answers_costs_one_timeout():
    with socket.socket() as listener:       # the kernel accepts connections; nothing replies
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        lines = []
        cache = RemoteCache(f"redis://127.0.0.1:{port}/0", warn=lines.append, timeout=0.5)
        start = time.monotonic()
        assert cache.get("ns", "k") is None
        assert time.monotonic() - start < 3
        start = time.monotonic()
        assert cache.put("ns", "k", DATA) is False and cache.get("ns", "k") is None
        assert time.monotonic() - start < 0.1          # down: no second timeout
        assert cache.down and len(lines) == 1


def test_stopped_server_times_out(server):
    lines = []
    cache = RemoteCache(server.url, warn=lines.append, timeout=0.5)
    assert cache.put("ns", "k", DATA)
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        assert cache.get("ns", "k") is None
        assert time.monotonic() - start < 3
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    assert cache.down and len(lines) == 1
    assert cache.get("ns", "k") is None               # down stays down, server or not


@pytest.mark.parametrize("setting", [None, "", "   "])
def test_from_setting_empty(setting):
    assert RemoteCache.from_setting(setting) is None


@pytest.mark.parametrize("setting,described", [
    ("redis://127.0.0.1:6390/3", "redis://127.0.0.1:6390/3"),
    ("redis://127.0.0.1:6390", "redis://127.0.0.1:6390/0"),
    ("unix:///run/wasmbuild/r.sock", "unix:///run/wasmbuild/r.sock?db=0"),
    ("unix:///run/wasmbuild/r.sock?db=4", "unix:///run/wasmbuild/r.sock?db=4"),
    ("redis://127.0.0.1:6390/1|read-only", "redis://127.0.0.1:6390/1 (read-only)"),
    ("unix:///run/r.sock?db=2|read-only", "unix:///run/r.sock?db=2 (read-only)"),
    ("redis://[::1]:6390/0", "redis://[::1]:6390/0"),
])
def test_from_setting_accepted_forms(setting, described):
    cache = RemoteCache.from_setting(setting)        # parses only: nothing is connected to
    assert cache.describe() == described
    assert cache.read_only == setting.endswith("|read-only")


def test_credentials_stay_out_of_log_lines():
    cache = RemoteCache.from_setting("redis://:s3cret@127.0.0.1:6390/0")
    assert "s3cret" not in cache.describe()
    assert cache.ccache_url().startswith("redis://s3cret@127.0.0.1:6390/0|")
    with pytest.raises(ValueError) as e:
        RemoteCache.from_setting("redis://:s3cret@127.0.0.1:nope/0")
    assert "s3cret" not in str(e.value)


@pytest.mark.parametrize("setting", [
    "http://x", "redis://", "redis://h:notaport", "redis://127.0.0.1:6390/zero",
    "redis://127.0.0.1:6390/0|read-write", "unix://relative.sock", "unix:///r.sock?db=x",
    "unix:///r.sock?timeout=3", "redis://127.0.0.1:6390/-1", "redis://127.0.0.1:6390/0?x=1",
])
def test_from_setting_rejects_malformed(setting):
    with pytest.raises(ValueError) as e:
        RemoteCache.from_setting(setting)
    message = str(e.value)
    assert setting in message and "\n" not in message and "redis://HOST:PORT" in message


def test_missing_redis_py_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)          # import redis -> ImportError
    with pytest.raises(ValueError) as e:
        RemoteCache.from_setting("redis://127.0.0.1:6390/0")
    assert "pip install 'wasmbuild[remote]'" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("setting,kw,expected", [
    ("redis://127.0.0.1:6390/0", {},
     "redis://127.0.0.1:6390/0|connect-timeout=2000|operation-timeout=2000"),
    ("redis://127.0.0.1:6390", {"timeout": 0.25},
     "redis://127.0.0.1:6390/0|connect-timeout=250|operation-timeout=250"),
    ("unix:///run/wasmbuild/r.sock?db=3", {"timeout": 0.5},
     "redis+unix:/run/wasmbuild/r.sock?db=3|connect-timeout=500|operation-timeout=500"),
    ("unix:///run/r.sock", {},
     "redis+unix:/run/r.sock?db=0|connect-timeout=2000|operation-timeout=2000"),
    ("redis://127.0.0.1:6390/1|read-only", {"timeout": 1.5},
     "redis://127.0.0.1:6390/1|read-only|connect-timeout=1500|operation-timeout=1500"),
    ("redis://127.0.0.1:6390/1", {"timeout": 600},       # ccache refuses more than 60 s
     "redis://127.0.0.1:6390/1|connect-timeout=60000|operation-timeout=60000"),
])
def test_ccache_url(setting, kw, expected):
    assert RemoteCache.from_setting(setting, **kw).ccache_url() == expected


def test_each_thread_counts_its_own_calls(server):
    """doit runs two tasks at once in threads: each task's report counts only its calls."""
    import threading
    cache = RemoteCache(server.url)
    cache.put("ns", "shared", b"data")
    seen = {}
    barrier = threading.Barrier(2)

    def task(name, gets):
        with cache.counting() as counts:
            barrier.wait()
            for key in gets:
                cache.get("ns", key)
            barrier.wait()
        seen[name] = dict(counts)

    threads = [threading.Thread(target=task, args=("a", ["shared"] * 3)),
               threading.Thread(target=task, args=("b", ["missing"] * 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["a"]["hits"] == 3 and seen["a"]["misses"] == 0
    assert seen["b"]["misses"] == 2 and seen["b"]["hits"] == 0
    assert cache.stats["hits"] == 3 and cache.stats["misses"] == 2 and cache.stats["uploads"] == 1
