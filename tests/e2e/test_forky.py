"""CPython 3.13.5 built with Debian forky's toolchains, beside the trixie builds of the
same source: today's Emscripten and Node, clang 22 and the wasi-libc of 2026."""
import re

from e2e_util import check_regrtest, ran


def test_emscripten_is_605_on_node_24(emscripten_forky):
    out = emscripten_forky.py("-c", "import sys; i = sys._emscripten_info; "
                                    "print(i.emscripten_version, i.runtime)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("(6, 0, 5) Node.js/24"), out.stdout


def test_emscripten_modules_import(emscripten_forky):
    out = emscripten_forky.py("-c", "import ctypes, decimal, zlib, bz2, sqlite3, os; "
                                    "print(ctypes.sizeof(ctypes.c_void_p), decimal.Decimal(1) / 8, "
                                    "zlib.decompress(zlib.compress(b'z')).decode(), "
                                    "bz2.decompress(bz2.compress(b'b')).decode(), "
                                    "sqlite3.connect(':memory:').execute('select 6*7').fetchone()[0], "
                                    "len(os.urandom(1)))")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["4", "0.125", "z", "b", "42", "1"]


def test_wasi_is_clang_22_with_stub_threads(wasi_forky):
    out = wasi_forky.py("-c", "import sys, os; print(sys.version); print(sys.thread_info.name); "
                              "print(sys._stdlib_dir, os.path.dirname(os.__file__))")
    assert out.returncode == 0, out.stderr
    version, threads, stdlib = out.stdout.strip().splitlines()
    assert re.search(r"\[Clang 22\.", version), version
    # wasi-libc's libc.a has failing pthread stubs: 3.13 keeps its own (configure.patches)
    assert threads == "pthread-stubs"
    # the patched configure ran with a relative --srcdir, as an out-of-tree build's own:
    # getpath finds the stdlib by the compiled-in VPATH (test_sys, test_inspect)
    assert stdlib == "/Lib /Lib", stdlib


def test_both_toolchains_coexist(emscripten, wasi, emscripten_forky, wasi_forky):
    """Switching between the toolchains' builds runs nothing: each has its own build dir
    and state, so building one never rebuilds the other."""
    for order in (["host:emscripten", "host:emscripten-forky"], ["host:wasi-forky", "host:wasi"]):
        for task in order:
            out = emscripten.doit(task)
            assert ran(out) == [], (task, ran(out))


def test_trampoline_clang_where_314_and_main_look(tmp_path):
    """3.14 compiles Python/emscripten_trampoline_inner.c with
    $(dirname $(dirname $CC))/bin/clang, main with $(em-config LLVM_ROOT)/clang: in the
    forky root both are a clang that knows the wasm-gc builtin."""
    import subprocess
    from pathlib import Path
    from e2e_util import doit
    from wasmbuild.plan import Settings, make_plan
    doit("toolchain:emscripten-forky", f"cross_build={tmp_path}")     # provisioned, or checked
    tp = make_plan(Settings()).toolchains["emscripten-forky"]
    script = ('printf "int f(void *p) { return __builtin_wasm_test_function_pointer_signature('
              '(int (*)(int))p); }\\n" > /tmp/t.c; CC=$(emconfigure sh -c \'echo $CC\' 2>/dev/null | tail -1); '
              'for clang in "$(dirname "$(dirname "$CC")")/bin/clang" "$(em-config LLVM_ROOT)/clang"; do '
              '"$clang" -target wasm32-unknown-unknown -mgc -O2 -c /tmp/t.c -o /tmp/t.o && echo "ok $clang"; done')
    argv, env = tp.sandbox.command(["bash", "-c", script], Path("/"), rw=[])
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert out.stdout.split("\n")[:2] == ["ok /usr/share/bin/clang", "ok /usr/bin/clang"], out.stdout + out.stderr


def test_regrtest_subset_emscripten_forky(emscripten_forky):
    check_regrtest(emscripten_forky, "emscripten-forky", "emscripten wasm32")


def test_regrtest_subset_wasi_forky(wasi_forky):
    check_regrtest(wasi_forky, "wasi-forky", "wasi wasm32")
