"""The provisioned toolchains compile and run a C program through the provider's sandbox."""
import subprocess

from wasmbuild.plan import Settings, make_plan

HELLO = '#include <stdio.h>\nint main(void) { printf("hello from %s\\n", HELLO_TARGET); return 0; }\n'


def _plan(e2e_source):
    return make_plan(Settings(cpython=str(e2e_source)))


def _hello(sandbox, tmp_path, compile_argv, run_argv) -> str:
    """Compile hello.c with the toolchain and run it with its runner, both sandboxed."""
    (tmp_path / "hello.c").write_text(HELLO)
    argv, env = sandbox.command(compile_argv, tmp_path, rw=[tmp_path])
    assert subprocess.run(argv, env=env).returncode == 0
    argv, env = sandbox.command(run_argv, tmp_path, rw=[tmp_path])
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    return out.stdout + out.stderr


def test_emcc_builds_c_that_prints_under_node(e2e_source, emscripten, tmp_path):
    sb = _plan(e2e_source).toolchains["emscripten"].sandbox
    out = _hello(sb, tmp_path, ["emcc", '-DHELLO_TARGET="emscripten"', "hello.c", "-o", "hello.js"],
                 ["node", "hello.js"])
    assert out == "hello from emscripten\n"


def test_wasi_clang_builds_c_that_prints_under_wasmtime(e2e_source, wasi, tmp_path):
    sb = _plan(e2e_source).toolchains["wasi"].sandbox
    out = _hello(sb, tmp_path, ["clang", '-DHELLO_TARGET="wasi"', "hello.c", "-o", "hello.wasm"],
                 ["wasmtime", "run", "hello.wasm"])
    assert out == "hello from wasi\n"


def test_no_mount_left_behind(emscripten, wasi):
    from wasmbuild.paths import cache_dir
    out = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True)
    assert not [m for m in out.stdout.splitlines() if m.startswith(str(cache_dir()))]


def test_second_provisioning_is_a_noop(e2e_source):
    from e2e_util import doit, ran
    out = doit("toolchain", f"cpython={e2e_source}")
    assert ran(out) == [] and out.seconds < 5


def test_host_got_no_trixie_package():
    # bookworm's libc6 is 2.36; trixie's is 2.41: installing trixie packages on the host
    # would have upgraded it (and removed system libraries)
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libc6"], capture_output=True, text=True)
    assert out.stdout.startswith("2.36"), out.stdout
    cxx = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libstdc++6"], capture_output=True,
                         text=True)
    assert cxx.stdout.startswith("12."), cxx.stdout        # trixie's is 14.x
