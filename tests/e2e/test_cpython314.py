"""CPython 3.14.7, the real release tree (shared/sources), built with Debian forky's
toolchains: python.mjs under Node 24 (NODEFS, the tree's streams.mjs) and python.wasm
under wasmtime, each judged as 3.13's builds are."""
import json
import subprocess

from e2e_util import TREE_DIGESTS, check_regrtest, ran, record


def test_emscripten_314_is_the_real_tree_with_its_modules(emscripten_314):
    out = emscripten_314.py("-c", "import sys, ctypes, decimal, _decimal, zlib, bz2, sqlite3; "
                                  "print(sys.version.split()[0], sys._emscripten_info.emscripten_version); "
                                  "print(ctypes.sizeof(ctypes.c_void_p), decimal.Decimal(1) / 8, "
                                  "decimal.Decimal is _decimal.Decimal, "
                                  "zlib.decompress(zlib.compress(b'z')).decode(), "
                                  "bz2.decompress(bz2.compress(b'b')).decode(), "
                                  "sqlite3.connect(':memory:').execute('select 6*7').fetchone()[0])")
    assert out.returncode == 0, out.stderr
    version, modules = out.stdout.strip().splitlines()
    assert version == "3.14.7 (6, 0, 5)", version
    assert modules.split() == ["4", "0.125", "True", "z", "b", "42"], modules


def test_emscripten_314_node_link_is_lean_and_its_factory_cached(emscripten_314):
    """make's link is the one Node runs: without the browser-only JS libraries
    (vars.node_link_flags), and its factory compiled with python.mjs's top level
    (make.eager_factory), which Node's compile cache then keeps: python.sh's next start
    reads the factory's code instead of compiling 0.3 MB of JavaScript."""
    mjs = (emscripten_314.build_dir / "python.mjs").read_text()
    assert mjs.startswith("var Module=(async function Module("), mjs[:80]
    assert mjs.endswith("});\nexport default Module;\n"), mjs[-80:]
    for browser_only in ("_glBindBuffer", "_alcOpenDevice", "_glutInit", "_SDL_Init"):
        assert browser_only not in mjs, browser_only
    for _ in range(2):
        out = emscripten_314.py("-c", "print(6 * 7)")
        assert (out.returncode, out.stdout) == (0, "42\n"), out.stderr
    cached = [f.stat().st_size for f in (emscripten_314.build_dir / "node-compile-cache").rglob("*")
              if f.is_file()]
    # the top level alone is ~10 KB; with the factory's code ~180 KB
    assert max(cached, default=0) > 100_000, cached


def test_emscripten_314_streams_tell_a_pipe_from_a_tty(emscripten_314):
    """The tree's streams.mjs: a pipe is not a tty (with Emscripten's own streams every
    std stream is), so piped stdin runs as a script, not as the REPL."""
    out = emscripten_314.py(input="import sys\nprint(sys.stdin.isatty(), sys.stdout.isatty())\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False False", out.stdout + out.stderr


def test_emscripten_314_file_modes_are_masked_once(emscripten_314, tmp_path):
    """A file made with mode 0o666 under umask 0o022 is 0o644, as natively (a mask applied
    twice, by Emscripten and by Node, would show too)."""
    out = emscripten_314.py("-c", "import os, sys; os.umask(0o027); d = sys.argv[1]; "
                                  "fd = os.open(d + '/f', os.O_CREAT | os.O_WRONLY, 0o666); os.close(fd); "
                                  "os.mkdir(d + '/d', 0o777); "
                                  "print(oct(os.stat(d + '/f').st_mode & 0o777), oct(os.stat(d + '/d').st_mode & 0o777))",
                            str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0o640", "0o750"], out.stdout
    assert oct((tmp_path / "f").stat().st_mode & 0o777) == "0o640"


def test_wasi_314_keeps_stub_threads(wasi_314):
    out = wasi_314.py("-c", "import sys, zlib, bz2; print(sys.version.split()[0]); "
                            "print(sys.thread_info.name)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3.14.7", "pthread-stubs"], out.stdout


def test_the_builds_leave_the_tree_as_it_was(emscripten_314, wasi_314):
    """Outside cross-build/, not one file of the user's tree is new or changed by either
    build (a sha256 over every path, mode and content, before and after each)."""
    assert set(TREE_DIGESTS) == {"emscripten-forky", "wasi-forky"}
    for target, (before, after) in TREE_DIGESTS.items():
        assert before == after, target


def test_noop_314_runs_nothing(emscripten_314, wasi_314):
    for b in (emscripten_314, wasi_314):
        out = b.doit(f"host:{b.target}")
        assert ran(out) == [], ran(out)
        record(f"noop-314-{b.target}", f"{out.seconds:.2f}s")


def test_package_314_runs_from_a_third_folder(emscripten_314, tmp_path):
    """package:emscripten-forky on 3.14.7: python.mjs (NODEFS) with its own entry and the
    tree's streams.mjs, unpacked where the build never was (a folder with a space), runs
    from its own stdlib zip; packaging again gives the same bytes."""
    import hashlib
    import tarfile
    from wasmbuild import plan as plans, variables
    out = emscripten_314.doit("package:emscripten-forky")
    tarball = emscripten_314.source / "cross-build" / "packages" / "python-3.14.7-emscripten-forky.tar.gz"
    first = hashlib.sha256(tarball.read_bytes()).hexdigest()
    emscripten_314.doit("forget", "package:emscripten-forky")
    emscripten_314.doit("package:emscripten-forky")
    assert hashlib.sha256(tarball.read_bytes()).hexdigest() == first
    place = tmp_path / "a place"
    place.mkdir()
    with tarfile.open(tarball) as tf:
        tf.extractall(place, filter="tar")
    top = place / "python-3.14.7-emscripten-forky"
    assert {"python", "python.mjs", "python.wasm", "node_entry.mjs", "streams.mjs"} <= {p.name for p in top.iterdir()}
    # node is the toolchain root's: run the launcher there, the package bound at its own path
    sandbox = plans.make_plan(variables.settings({})).toolchains["emscripten-forky"].sandbox
    argv, env = sandbox.command([str(top / "python"), "-c", "import sys, decimal, sqlite3; "
                                 "print(sys.prefix); print(sys.path[1]); print(sys.version.split()[0])"],
                                place, rw=[place])
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    prefix, zip_entry, version = run.stdout.strip().splitlines()
    assert prefix == str(top), prefix
    assert zip_entry == str(top / "lib" / "python314.zip"), zip_entry
    assert version == "3.14.7"
    info = json.loads((top / "build-info.json").read_text())
    assert info["cpython"] == "3.14.7"
    record("package-314", {"wall": f"{out.seconds:.1f}s", "size": tarball.stat().st_size, "sha256": first})


def test_regrtest_subset_emscripten_314(emscripten_314):
    check_regrtest(emscripten_314, "emscripten-forky", "emscripten wasm32")


def test_regrtest_subset_wasi_314(wasi_314):
    check_regrtest(wasi_314, "wasi-forky", "wasi wasm32")


def test_wasi_314_package_ships_the_wasm_without_its_dwarf(wasi_314, tmp_path):
    """package:wasi-forky: python.wasm without its DWARF (at most 10 MB), which goes to
    <name>-debug.tar.gz; unpacked over the package, the debug file lands beside the module
    that names it, with the same build id and code. The stripped interpreter runs, from
    a folder of the host's with files beside it."""
    import tarfile
    from wasmbuild import plan as plans, variables
    from wasmbuild.artifacts import debuginfo
    out = wasi_314.doit("package:wasi-forky")
    packages = wasi_314.source / "cross-build" / "packages"
    place = tmp_path / "unpacked here"
    place.mkdir()
    for name in ("python-3.14.7-wasi-forky.tar.gz", "python-3.14.7-wasi-forky-debug.tar.gz"):
        with tarfile.open(packages / name) as tf:
            tf.extractall(place, filter="tar")
    top = place / "python-3.14.7-wasi-forky"
    shipped, debug = top / "python.wasm", top / "python.debug.wasm"
    assert shipped.stat().st_size <= 10_000_000, shipped.stat().st_size
    assert debug.stat().st_size == (wasi_314.build_dir / "python.wasm").stat().st_size + 2 + 9 + 17
    assert not debuginfo.has_debug_info(shipped) and debuginfo.matches(shipped, debug)
    info = json.loads((top / "build-info.json").read_text())["debug_info"]["python.wasm"]
    assert info["file"] == "python.debug.wasm" and info["package"] == "python-3.14.7-wasi-forky-debug.tar.gz"
    assert info["build_id"] == debuginfo.build_id(shipped.read_bytes()).hex()
    (place / "data.txt").write_text("beside\n")
    sandbox = plans.make_plan(variables.settings({})).toolchains["wasi-forky"].sandbox
    argv, env = sandbox.command([str(top / "python"), "-c", "import os, sys, zlib; "
                                 "print(sys.version.split()[0], os.getcwd(), open('data.txt').read().strip())"],
                                place, rw=[place])
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == f"3.14.7 {place} beside", run.stdout
    record("package-wasi-314", {"wall": f"{out.seconds:.1f}s", "python.wasm": shipped.stat().st_size,
                                "debug": debug.stat().st_size})
