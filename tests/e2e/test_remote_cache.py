"""The remote cache on the real toolchain, the fast version (bench/remote.py does a whole
CPython): libffi for emscripten, about thirty compiles, built on "machines" that share only
a redis-server started here on 127.0.0.1. Each machine has its own user cache (ccache,
config.cache, downloads) and a CPython checkout at a path of another length; they share
the provisioned toolchain root (WASMBUILD_TOOLCHAINS), as machines made from one image do."""
import re
import subprocess
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
pytest.importorskip("redis", reason="redis-py is missing (pip install 'wasmbuild[remote]')")
import redis_server  # noqa: E402
if why := redis_server.unavailable():
    pytest.skip(why, allow_module_level=True)
from redis_server import start, stop  # noqa: E402
from e2e_util import doit, record  # noqa: E402

from wasmbuild import paths  # noqa: E402

TASK = "dep:emscripten-libffi"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start(tmp_path_factory.mktemp("redis"), unix=False)
    yield s
    stop(s)


def machine(tmp: Path, name: str, source: Path, remote: str | None):
    """A fresh user cache (with the downloads copied: no network needed), a checkout at
    tmp/name, and `doit dep:emscripten-libffi` there. Returns (its report line, prefix)."""
    cache = tmp / name / "cache"
    shutil.copytree(paths.downloads_dir(), cache / "downloads")
    checkout = tmp / name / "cpython"
    shutil.copytree(source, checkout, symlinks=True, ignore=shutil.ignore_patterns("cross-build"))
    out = doit(TASK, f"cpython={checkout}", *([f"remote_cache={remote}"] if remote else []),
               env={"WASMBUILD_CACHE": str(cache), "WASMBUILD_TOOLCHAINS": str(paths.roots_dir())})
    line = next(l for l in out.stdout.splitlines() if f" {TASK} " in l)
    record(f"remote-cache-{name}", {"seconds": round(out.seconds, 1), "report": line.strip()})
    return line, checkout / "cross-build" / "wasm32-emscripten-deps" / "prefix"


def ccache_counts(line: str) -> tuple[int, int, int]:
    m = re.search(r"ccache: (\d+) local hits, (\d+) remote hits, (\d+) misses", line)
    assert m, line
    return tuple(int(x) for x in m.groups())


def test_compiles_and_products_reach_another_machine(tmp_path, server, e2e_source, emscripten):
    # (the emscripten build: the toolchain root is provisioned)
    # A: an empty server: every compile misses, and both ccache and wasmbuild upload
    line_a, _ = machine(tmp_path, "a", e2e_source, server.url)
    local, remote, misses = ccache_counts(line_a)
    assert remote == 0 and misses >= 20, line_a
    assert "files of its prefix uploaded" in line_a
    # without the product (its pointer gone), B compiles: ccache's remote storage answers
    for key in server.direct.scan_iter("wasmbuild:ptr:dep-product:*"):
        server.direct.delete(key)
    line_b, prefix_b = machine(tmp_path, "machine-b-longer-path", e2e_source, server.url)
    local, remote, misses = ccache_counts(line_b)
    # (local hits: libtool compiles some files twice; the second is a hit of the first)
    assert remote >= 20 and misses <= 0.05 * (local + remote + misses), line_b
    # C: the product itself, unpacked with C's paths; nothing compiled
    line_c, prefix_c = machine(tmp_path, "c", e2e_source, server.url)
    assert "files of its prefix from the remote cache" in line_c and "ccache" not in line_c, line_c
    assert (prefix_c / "lib" / "libffi.a").read_bytes() == (prefix_b / "lib" / "libffi.a").read_bytes()
    pc = (prefix_c / "lib" / "pkgconfig" / "libffi.pc").read_text()
    assert f"prefix={prefix_c}" in pc and "machine-b" not in pc
    # the control: the same build with the remote cache off gets no remote hit
    line_d, _ = machine(tmp_path, "d", e2e_source, None)
    local, remote, misses = ccache_counts(line_d)
    assert remote == 0 and misses >= 20 and "remote cache" not in line_d, line_d


def test_debug_compiles_hit_from_another_checkout_path(tmp_path, server, emscripten):
    """With -g, ccache hashes the working directory unless told not to (hash_dir): the
    second checkout's compile, in a folder of another length with its own local cache, is a
    remote hit. Without wasmbuild's CCACHE_NOHASHDIR, a third one misses."""
    from wasmbuild import plan as plans, sharing, variables
    from wasmbuild.remote import RemoteCache
    tp = plans.make_plan(variables.settings({})).toolchains["emscripten"]
    results = []
    for name, hash_dir in [("x", False), ("a-much-longer-checkout-path", False), ("a-third-one", True)]:
        src, local = tmp_path / name / "cpython", tmp_path / name / "ccache"
        build = src / "cross-build" / "wasm32-emscripten"
        (src / "Objects").mkdir(parents=True)
        build.mkdir(parents=True)
        local.mkdir()
        (src / "Objects" / "a.c").write_text('#include <stdio.h>\nint f(int x) { return printf("%d", x * 2); }\n')
        stats = build / "stats.log"
        env = {**sharing.build_env(src, tp.identity, RemoteCache.from_setting(server.url), stats),
               "CCACHE_DIR": str(local)}
        if hash_dir:
            del env["CCACHE_NOHASHDIR"]
        argv, env = tp.sandbox.command(["emcc", "-g", "-O0", "-c", "../../Objects/a.c", "-o", "a.o"],
                                       build, rw=[src, local], extra_env=env)
        out = subprocess.run(argv, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        results.append(sharing.ccache_counts(stats))
    assert results[0].get("cache_miss") == 1, results
    assert results[1].get("remote_storage_hit") == 1, results
    assert results[2].get("cache_miss") == 1, results
