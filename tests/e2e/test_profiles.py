"""Build profiles on the real toolchain: a profile other than the default is a target of its
own (`host:wasi-size`), in its own build dir, built beside the default one without touching
it; switching between them reconfigures nothing. WASI's, the cheapest to build (3.13.5)."""
import subprocess

from e2e_util import ran, record


def _shipped(path) -> int:
    """The module's bytes without its DWARF, as a package ships it."""
    from wasmbuild.artifacts import debuginfo
    data = path.read_bytes()
    return sum(s.end - s.start for s in debuginfo.sections(data)
               if not (s.name or "").startswith(debuginfo.DEBUG_PREFIX))


def test_the_size_profile_builds_beside_the_default_one(wasi):
    out = wasi.doit("host:wasi-size", "package:wasi-size")
    steps = ran(out)
    assert "configure_host:wasi-size" in steps and "make_host:wasi-size" in steps, steps
    assert not [s for s in steps if s.endswith(":wasi")], steps          # the default's untouched
    size_dir = wasi.source / "cross-build" / "wasm32-wasip1-size"
    run = subprocess.run([str(size_dir / "python.sh"), "-c",
                          "import sys, zlib, bz2, json; print(sys.version.split()[0], json.dumps([1]));"
                          "import _testcapi"], capture_output=True, text=True, timeout=300)
    assert run.stdout.split() == ["3.13.5", "[1]"], run.stdout + run.stderr
    # without CPython's test-only C modules, compiled for size
    assert "No module named '_testcapi'" in run.stderr, run.stderr
    # smaller without its debug info too (the speed build's DWARF is split off its package)
    default, small = (_shipped(wasi.build_dir / "python.wasm"), _shipped(size_dir / "python.wasm"))
    assert small < 0.95 * default, (small, default)
    # switching profiles reconfigures nothing: both are up to date
    again = wasi.doit("host:wasi", "host:wasi-size")
    assert ran(again) == [], ran(again)
    record("profile-wasi-size", {"wall": f"{out.seconds:.0f}s", "python.wasm": [default, small]})
