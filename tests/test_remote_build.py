"""Two "machines" share configure's answers and dependency products through a real
redis-server (started here, on 127.0.0.1 at a free port): each machine has its own user
cache and a checkout at a path of another length; the toolchain is the fake one.

What a configure finds on its own comes from $FAKE_DETECTED (outside every key), so a
restored answer can be told from a found one; its build dir is in config.cache, as real
answers hold paths, so the rewriting of paths shows too."""

import pytest

pytest.importorskip("redis", reason="redis-py is missing (pip install 'wasmbuild[remote]')")
import redis_server  # noqa: E402
if why := redis_server.unavailable():
    pytest.skip(why, allow_module_level=True)

from fakes import Machine  # noqa: E402
from redis_server import start, stop  # noqa: E402


@pytest.fixture
def server(tmp_path):
    (tmp_path / "redis").mkdir()
    s = start(tmp_path / "redis", unix=False)
    yield s
    stop(s)


@pytest.fixture
def machine_a(tmp_path, server):
    a = Machine(tmp_path, "a", "found-on-a")
    out = a.doit("host:emscripten", extra_vars=[f"remote_cache={server.url}"])
    assert "config.cache uploaded" in a.report_line(out, "configure_host:emscripten")
    assert "uploaded" in a.report_line(out, "dep:emscripten-libffi")
    return a


def test_a_second_machine_gets_answers_and_products_from_the_first(tmp_path, server, machine_a):
    b = Machine(tmp_path, "machine-b-at-a-longer-path", "found-on-b", bin_from=machine_a)
    out = b.doit("host:emscripten", extra_vars=[f"remote_cache={server.url}"])
    # configure ran (it always does) with A's answers, the paths in them B's own
    assert b.cached("detected") == "found-on-a"
    assert b.cached("dir") == str(b.cross_build / "wasm32-emscripten")
    assert "config.cache from the remote cache" in b.report_line(out, "configure_host:emscripten")
    # libffi was not built: A's product, unpacked into B's prefix (the report's line says
    # why where it was: CI's run of a156725 once found it built, and passed 5 of 5 again)
    line = b.report_line(out, "dep:emscripten-libffi")
    assert "dep libffi" not in b.runs() and b.libffi() == machine_a.libffi(), (line, out.stderr[-2000:])
    assert "files of its prefix from the remote cache" in line and "remote cache: " in line
    assert "uploads" not in line


def test_without_the_remote_cache_nothing_is_shared(tmp_path, server, machine_a):
    c = Machine(tmp_path, "c", "found-on-c", bin_from=machine_a)
    out = c.doit("host:emscripten")
    assert c.cached("detected") == "found-on-c"
    assert "dep libffi" in c.runs() and c.libffi() != machine_a.libffi()
    assert "remote cache" not in out.stdout


def test_read_only_reads_and_writes_nothing(tmp_path, server, machine_a):
    keys = server.direct.dbsize()
    d = Machine(tmp_path, "d", "found-on-d", bin_from=machine_a)
    configure = d.src / "configure"                          # another configure: another key
    configure.write_text(configure.read_text() + "# edited on d\n")
    d.doit("host:emscripten", extra_vars=[f"remote_cache={server.url}|read-only"])
    assert d.cached("detected") == "found-on-d"             # another key: a miss
    assert "dep libffi" not in d.runs()                      # libffi's key is the same: a hit
    assert server.direct.dbsize() == keys


def test_a_flipped_byte_is_rejected_and_the_build_is_local(tmp_path, server, machine_a):
    for blob in server.direct.scan_iter("wasmbuild:blob:*"):
        data = bytearray(server.direct.get(blob))
        data[len(data) // 2] ^= 0x01
        server.direct.set(blob, bytes(data))
    e = Machine(tmp_path, "e", "found-on-e", bin_from=machine_a)
    out = e.doit("host:emscripten", extra_vars=[f"remote_cache={server.url}|read-only"])
    assert e.cached("detected") == "found-on-e" and "dep libffi" in e.runs()
    assert "rejected" in out.stdout + out.stderr
    assert "rejected" in e.report_line(out, "configure_host:emscripten")


def test_a_dead_server_leaves_a_working_local_build_and_one_warning(tmp_path, server, machine_a):
    url = server.url
    stop(server)
    f = Machine(tmp_path, "f", "found-on-f", bin_from=machine_a)
    out = f.doit("host:emscripten", extra_vars=[f"remote_cache={url}"])
    assert f.cached("detected") == "found-on-f" and "dep libffi" in f.runs()
    warnings = [l for l in (out.stdout + out.stderr).splitlines() if "warning" in l and "remote" in l.lower()]
    assert len(warnings) == 1, warnings


def test_a_server_killed_mid_build_leaves_the_build_finishing(tmp_path, server, machine_a):
    """The server dies while the target's configure runs: what comes after (its upload, the
    dependency products) meets a dead server, warns once, and the build completes here."""
    h = Machine(tmp_path, "h", "found-on-h", bin_from=machine_a)
    configure = h.src / "configure"                          # its own answers: uploads to do
    configure.write_text(configure.read_text() + "# edited on h\n")
    h.extra_env = {"FAKE_KILL": str(server.proc.pid), "FAKE_KILL_AT": "wasm32-emscripten"}
    out = h.doit("host:emscripten", extra_vars=[f"remote_cache={server.url}"])
    assert server.proc.wait(timeout=10) is not None                   # it was killed mid-build
    assert h.cached("detected") == "found-on-h" and (h.cross_build / "wasm32-emscripten" / "python.js").exists()
    warnings = [l for l in (out.stdout + out.stderr).splitlines() if "warning" in l and "remote" in l.lower()]
    assert len(warnings) == 1, out.stdout + out.stderr
    assert "config.cache uploaded" not in h.report_line(out, "configure_host:emscripten")


def test_another_toolchain_identity_misses(tmp_path, server, machine_a):
    g = Machine(tmp_path, "g", "found-on-g")                  # its own fake executables
    g.doit("host:emscripten", extra_vars=[f"remote_cache={server.url}"])
    assert g.cached("detected") == "found-on-g" and "dep libffi" in g.runs()
