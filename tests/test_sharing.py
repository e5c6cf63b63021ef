"""Keys without machine paths, products that move between checkouts, ccache's settings."""
import io
import tarfile
from pathlib import Path

import pytest

from wasmbuild import sharing


def maps(tmp_path):
    a = sharing.PathMap.of(tmp_path / "x" / "cpython", tmp_path / "x" / "cpython" / "cross-build")
    b = sharing.PathMap.of(tmp_path / "a-longer-path" / "src", tmp_path / "a-longer-path" / "src" / "xb")
    return a, b


def test_equal_inputs_in_two_checkouts_give_equal_keys(tmp_path):
    a, b = maps(tmp_path)
    parts_a = {"argv": ["../../configure", f"--with-build-python={tmp_path}/x/cpython/cross-build/build/python"],
               "env": {"LIBFFI_CFLAGS": f"-I{tmp_path}/x/cpython/cross-build/deps/prefix/include"}}
    parts_b = {"argv": ["../../configure", f"--with-build-python={tmp_path}/a-longer-path/src/xb/build/python"],
               "env": {"LIBFFI_CFLAGS": f"-I{tmp_path}/a-longer-path/src/xb/deps/prefix/include"}}
    assert a.key(parts_a) == b.key(parts_b)
    parts_b["argv"].append("--with-pydebug")
    assert a.key(parts_a) != b.key(parts_b)


def test_the_cross_build_dir_inside_the_source_is_replaced_first(tmp_path):
    a, _ = maps(tmp_path)
    text = f"{tmp_path}/x/cpython/cross-build/prefix and {tmp_path}/x/cpython/Include"
    assert a.normalise(text) == "@CROSS_BUILD@/prefix and @SOURCE@/Include"
    assert a.localise(a.normalise(text)) == text


def test_a_product_packed_in_one_checkout_unpacks_with_the_paths_of_another(tmp_path):
    a, b = maps(tmp_path)
    prefix_a = tmp_path / "x" / "cpython" / "cross-build" / "deps" / "prefix"
    (prefix_a / "lib" / "pkgconfig").mkdir(parents=True)
    (prefix_a / "lib" / "libffi.a").write_bytes(b"!<arch>\n\0binary " + str(prefix_a).encode())
    (prefix_a / "lib" / "pkgconfig" / "libffi.pc").write_text(f"prefix={prefix_a}\nlibdir=${{prefix}}/lib\n")
    (prefix_a / "lib" / "libffi.so").symlink_to("libffi.a")
    blob = sharing.pack(prefix_a, ["lib/libffi.a", "lib/pkgconfig/libffi.pc", "lib/libffi.so"], a)
    assert sharing.pack(prefix_a, ["lib/pkgconfig/libffi.pc", "lib/libffi.a", "lib/libffi.so"], a) == blob

    prefix_b = tmp_path / "a-longer-path" / "src" / "xb" / "deps" / "prefix"
    written = sharing.unpack(blob, prefix_b, b)
    assert sorted(written) == ["lib/libffi.a", "lib/libffi.so", "lib/pkgconfig/libffi.pc"]
    assert (prefix_b / "lib" / "pkgconfig" / "libffi.pc").read_text().startswith(f"prefix={prefix_b}\n")
    # binary files are not rewritten (a path inside is debug information at most)
    assert (prefix_b / "lib" / "libffi.a").read_bytes() == (prefix_a / "lib" / "libffi.a").read_bytes()
    assert (prefix_b / "lib" / "libffi.so").readlink() == Path("libffi.a")


def test_a_pack_does_not_depend_on_the_time_it_was_made(tmp_path, monkeypatch):
    import gzip
    a, _ = maps(tmp_path)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libz.a").write_bytes(b"!<arch>\n\0z")
    monkeypatch.setattr(gzip.time, "time", lambda: 1_000_000_000.0)
    first = sharing.pack(tmp_path, ["lib/libz.a"], a)
    monkeypatch.setattr(gzip.time, "time", lambda: 1_700_000_000.0)
    assert sharing.pack(tmp_path, ["lib/libz.a"], a) == first


def test_a_product_with_an_unsafe_path_is_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("../escape")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ValueError, match="unsafe path"):
        sharing.unpack(buf.getvalue(), tmp_path / "prefix", maps(tmp_path)[0])
    assert not (tmp_path / "escape").exists()


def test_ccache_is_told_the_toolchain_identity_not_the_compiler_mtime(tmp_path):
    identity = tmp_path / "emscripten.identity"
    identity.write_text('{"packages": {"clang-19": "1:19.1.7-3"}}')
    env = sharing.build_env(tmp_path / "src", identity, None, tmp_path / "stats.log")
    assert env["CCACHE_BASEDIR"] == str(tmp_path / "src")
    assert env["CCACHE_NOHASHDIR"] == "1"
    check = env["CCACHE_COMPILERCHECK"]
    assert check.startswith("string:") and "REMOTE" not in " ".join(env)
    identity.write_text('{"packages": {"clang-19": "1:19.1.7-4"}}')
    assert sharing.build_env(tmp_path / "src", identity, None, None)["CCACHE_COMPILERCHECK"] != check


def test_ccache_stats_log_is_counted_and_removed(tmp_path):
    log = tmp_path / "stats.log"
    log.write_text("# a.c\ncache_miss\nlocal_storage_miss\n# b.c\nlocal_storage_hit\n"
                   "# c.c\nremote_storage_hit\n# d.c\nremote_storage_hit\n")
    counts = sharing.ccache_counts(log)
    assert sharing.describe_ccache(counts) == "ccache: 1 local hits, 2 remote hits, 1 misses"
    assert not log.exists()
    assert sharing.describe_ccache(sharing.ccache_counts(log)) is None


def test_two_checkouts_on_one_machine_share_answers_each_with_its_own_paths(tmp_path):
    """The config.cache key has no machine paths, so a second checkout finds the first's
    answers in the user cache; stored with placeholders, they get the second's paths back
    (autoconf refuses a cache whose precious variables name another checkout's folders)."""
    from fakes import Machine
    a = Machine(tmp_path, "a", "found-on-a")
    b = Machine(tmp_path, "b-in-a-longer-folder", "found-on-b", bin_from=a)
    b.cache = a.cache                                   # one user cache: one machine
    a.doit("host:emscripten")
    out = b.doit("host:emscripten")
    assert b.cached("detected") == "found-on-a"
    assert b.cached("dir") == str(b.cross_build / "wasm32-emscripten")
    line = b.report_line(out, "configure_host:emscripten")
    assert "config.cache from the local cache" in line and "ran again" not in line
    stored = "\n".join(p.read_text() for p in (a.cache / "config-cache").glob("*.cache"))
    assert str(tmp_path) not in stored and "@CROSS_BUILD@/wasm32-emscripten" in stored
