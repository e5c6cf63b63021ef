"""Incremental rebuilds on the real emscripten and WASI builds: edits that keep each
target's configure (stage "edit": after the inspections, before the reconfigure and
toolchain stages; it edits the session's copy of the CPython source)."""
import os
import re
import zipfile

import pytest

from e2e_util import doit, ran, record, targets_copy

pytestmark = pytest.mark.stage("edit")


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def test_touch_without_change_runs_nothing_and_stays_fast(emscripten):
    for rel in ("Objects/listobject.c", "Lib/json/encoder.py", "Lib/os.py", "configure"):
        os.utime(emscripten.source / rel)
    first = emscripten.doit("host:emscripten")
    assert ran(first) == [], first.stdout
    second = emscripten.doit("host:emscripten")
    assert ran(second) == []
    record("touch-emscripten", {"after touch": f"{first.seconds:.2f}s", "next": f"{second.seconds:.2f}s"})


def test_c_edit_makes_without_configure_and_reaches_interpreter(emscripten):
    _edit(emscripten.source / "Objects" / "listobject.c", 'PyDoc_STR("See PEP 585")',
          'PyDoc_STR("See PEP 585 (edited by the wasmbuild e2e test)")')
    out = emscripten.doit("host:emscripten")
    steps = ran(out)
    assert "make_host:emscripten" in steps
    assert not any(s.startswith(("configure_host", "build_python:configure")) for s in steps), steps
    # the build Python was relinked, but nothing that decides bytecode changed: same zip
    assert "stdlib_zip:emscripten" not in steps, steps
    # the touch of `configure` in the test before did not make make reconfigure by itself
    for task in ("make_host:emscripten", "build_python:make"):
        assert "checking for " not in emscripten.log(task), task
    assert "changed: Objects/listobject.c" in out.stdout          # the report says why
    doc = emscripten.py("-c", "print(list.__class_getitem__.__doc__)")
    assert doc.stdout.strip() == "See PEP 585 (edited by the wasmbuild e2e test)", doc.stderr
    record("c-edit-emscripten", {"wall": f"{out.seconds:.1f}s", "ran": steps})
    # the page is a link of its own from the same objects: it follows the edit too
    emscripten.doit("web:emscripten")
    page_wasm = (emscripten.build_dir / "web" / "python.wasm").read_bytes()
    assert b"See PEP 585 (edited by the wasmbuild e2e test)" in page_wasm


def test_lib_edit_rebuilds_only_the_zip(emscripten):
    _edit(emscripten.source / "Lib" / "json" / "encoder.py", "INFINITY = float('inf')",
          "INFINITY = float('inf')\nWASMBUILD_E2E_MARKER = 'lib edit'")
    out = emscripten.doit("host:emscripten")
    assert ran(out) == ["stdlib_zip:emscripten"], out.stdout
    with zipfile.ZipFile(emscripten.build_dir / "python313.zip") as zf:
        assert b"WASMBUILD_E2E_MARKER" in zf.read("json/encoder.pyc")
    record("lib-edit-emscripten", f"{out.seconds:.1f}s")


def test_frozen_module_edit_reaches_interpreter(emscripten):
    _edit(emscripten.source / "Lib" / "os.py", 'import abc\n', 'import abc\nWASMBUILD_FROZEN_MARKER = 7\n')
    out = emscripten.doit("host:emscripten")
    assert "make_host:emscripten" in ran(out) and "stdlib_zip:emscripten" in ran(out)
    frozen = emscripten.py("-X", "frozen_modules=on", "-c",
                           "import os, sys; print(os.WASMBUILD_FROZEN_MARKER, os.__spec__.origin)")
    assert frozen.stdout.split() == ["7", "frozen"], frozen.stdout + frozen.stderr


def test_added_and_deleted_lib_files_follow_in_the_zip(emscripten):
    new = emscripten.source / "Lib" / "wasmbuild_e2e_added.py"
    new.write_text("VALUE = 1\n")
    emscripten.doit("host:emscripten")
    zpath = emscripten.build_dir / "python313.zip"
    assert "wasmbuild_e2e_added.pyc" in zipfile.ZipFile(zpath).namelist()
    new.unlink()
    out = emscripten.doit("host:emscripten")
    assert ran(out) == ["stdlib_zip:emscripten"]
    assert "wasmbuild_e2e_added.pyc" not in zipfile.ZipFile(zpath).namelist()


def test_dependency_change_rebuilds_it_and_its_dependants_only(wasi, tmp_path):
    """(Stage "edit" runs before "reconfigure": after it, the build is configured with
    other arguments, which this test's copy of the YAML would put back.)"""
    def bzip2_O1(d):
        bz = next(x for x in d["dependencies"] if x["name"] == "bzip2")
        bz["steps"][0]["run"] = bz["steps"][0]["run"].replace('CFLAGS="-O2', 'CFLAGS="-O1')
    targets = targets_copy(tmp_path, bzip2_O1)
    out = doit("host:wasi", f"cpython={wasi.source}", f"targets={targets}")
    steps = ran(out)
    assert "dep:wasi-bzip2" in steps and "make_host:wasi" in steps
    assert not {"dep:wasi-zlib", "configure_host:wasi"} & set(steps), steps
    assert not any(s.startswith("build_python") for s in steps), steps
    check = wasi.py("-c", "import bz2; print(bz2.decompress(bz2.compress(b'ok')).decode())")
    assert check.stdout.strip() == "ok", check.stderr


def test_dependency_change_rebuilds_it_and_its_dependants_only_emscripten(emscripten, tmp_path):
    """libffi built with other flags: libffi again, then make-host relinks the
    interpreter with it; not the ports, not configure, not the build Python. Then the
    project's YAML again: the same, back."""
    def libffi_O1(d):
        ffi = next(x for x in d["dependencies"] if x["name"] == "libffi")
        step = next(s for s in ffi["steps"] if "CFLAGS" in s.get("env", {}))
        step["env"] = {k: v.replace("-O2", "-O1") for k, v in step["env"].items()}
    targets = targets_copy(tmp_path, libffi_O1, "wasm32-emscripten.yaml")
    callback = ("import ctypes; add1 = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1); "
                "print(add1(41))")                  # a libffi closure called from C
    for args, opt in (((f"targets={targets}",), "-O1"), ((), "-O2")):
        out = emscripten.doit("host:emscripten", *args)
        steps = ran(out)
        assert "dep:emscripten-libffi" in steps and "make_host:emscripten" in steps, steps
        assert not {"dep:emscripten-ports", "configure_host:emscripten"} & set(steps), steps
        assert not any(s.startswith("build_python") for s in steps), steps
        compiles = re.findall(r"--mode=compile \S*emcc .* (-O\d) -fPIC -DWASM_BIGINT",
                              emscripten.log("dep:emscripten-libffi"))
        assert len(compiles) >= 5 and set(compiles) == {opt}, compiles
        check = emscripten.py("-c", callback)
        assert check.stdout.strip() == "42", check.stdout + check.stderr
        record(f"dependency-change-emscripten{'' if args else '-back'}",
               {"wall": f"{out.seconds:.1f}s", "ran": steps})


def test_broken_c_file_shows_log_tail_and_path_then_recovers(emscripten):
    c = emscripten.source / "Objects" / "listobject.c"
    good = c.read_text()
    c.write_text(good + "\nthis is not C;\n")
    out = emscripten.doit("host:emscripten", check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    # the build Python compiles the file first, so its make is the one that fails
    assert "build_python:make: command failed" in text
    assert re.search(r"last \d+ lines of \S+/build_python-make\.log", text)
    assert "listobject.c" in text and "error: unknown type name" in text
    assert "full log: " in text
    c.write_text(good)
    out = emscripten.doit("host:emscripten")
    # the build Python's make failed half way: it runs again. The target's make does not:
    # its sources are what it last built, and the build Python is relinked byte for byte
    # (SOURCE_DATE_EPOCH fixes getbuildinfo's __DATE__), so nothing it depends on changed
    assert ran(out) == ["build_python:make"], out.stdout
    assert emscripten.py("-c", "print([1, 2][::-1])").stdout.strip() == "[2, 1]"
