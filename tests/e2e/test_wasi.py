"""The real wasm32-wasi build of CPython 3.13.5, end to end."""

from e2e_util import check_regrtest, record


def test_platform(wasi):
    out = wasi.py("-c", "import sys, os; print(sys.platform, os.uname().machine)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "wasi wasm32"


def test_modules_import(wasi):
    out = wasi.py("-c", "import json, decimal, zlib, bz2, hashlib; "
                        "print(zlib.decompress(zlib.compress(b'wasi')).decode(), "
                        "bz2.decompress(bz2.compress(b'bz')).decode(), decimal.Decimal(1) / 4)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["wasi", "bz", "0.25"]


def test_script_file_and_exit_code(wasi, tmp_path):
    script = tmp_path / "hello.py"
    script.write_text("import sys\nprint('wasi script', sys.argv[1:])\n")
    out = wasi.py(str(script), "x", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "wasi script ['x']"
    assert wasi.py("-c", "raise SystemExit(3)").returncode == 3


def test_build_python_built_once_for_both_targets(wasi):
    # the wasi fixture ran `doit host:wasi` after `doit host:emscripten`
    assert not any(step.startswith("build_python:") for step in wasi.times), wasi.times
    record("sizes-wasi", {"python.wasm": (wasi.build_dir / "python.wasm").stat().st_size})


def test_regrtest_subset(wasi):
    check_regrtest(wasi, "wasi", "wasi wasm32")

def test_upstream_test_command_works_as_typed(wasi):
    """`python.sh -m test` as a user types it (the source read-only, no --tempdir): regrtest
    makes its scratch dirs in the guest's /build, which python.sh maps to the build dir's."""
    out = wasi.py("-m", "test", "test_bool", cwd=wasi.build_dir)
    assert "Result: SUCCESS" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
