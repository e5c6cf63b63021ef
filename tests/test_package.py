"""package:<target> on the fake toolchain: the same source built in two folders gives the
same tarball, whose build paths are neutral and whose sums check."""
import hashlib
import io
import json
import subprocess
import tarfile
import zipfile

from fakes import FakeProject


def package(fake: FakeProject) -> bytes:
    out = fake.doit("package:emscripten")
    assert "package:emscripten" in out.stdout
    return (fake.cross_build / "packages" / "python-3.13.5-emscripten.tar.gz").read_bytes()


def test_two_checkouts_give_the_same_package(tmp_path):
    a = FakeProject(tmp_path / "a")
    b = FakeProject(tmp_path / "another-folder-of-another-length")
    b.targets, b.bin = a.targets, a.bin        # the same YAML and the same toolchain
    for f in (a, b):                           # the same file times, as two unpacked tarballs
        subprocess.run(["touch", "-d", "2025-06-11 12:00", *map(str, f.src.rglob("*"))], check=True)
    first, second = package(a), package(b)
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    with tarfile.open(fileobj=io.BytesIO(first)) as tf:
        names = tf.getnames()
        assert {m.uid for m in tf.getmembers()} == {0} and {m.mtime for m in tf.getmembers()} == {
            int(a.src.joinpath("Include", "patchlevel.h").stat().st_mtime)}
        top = "python-3.13.5-emscripten/"
        for rel in ["python", "python.mjs", "python.js", "python.wasm", "LICENSE", "build-info.json",
                    "SHA256SUMS", "lib/python313.zip", "lib/python3.13/os.py", "lib/python3.13/lib-dynload"]:
            assert top + rel in names, rel
        sums = tf.extractfile(top + "SHA256SUMS").read().decode()
        for line in sums.splitlines():
            digest, rel = line.split("  ")
            assert hashlib.sha256(tf.extractfile(top + rel).read()).hexdigest() == digest, rel
        info = json.loads(tf.extractfile(top + "build-info.json").read())
        assert info["cpython"] == "3.13.5" and info["target"] == "emscripten"
        assert not any(str(tmp_path) in a for a in info["configure"])
        with zipfile.ZipFile(io.BytesIO(tf.extractfile(top + "lib/python313.zip").read())) as zf:
            sysdata = zf.read("_sysconfigdata__fake.py").decode()
            assert "_sysconfigdata__fake.pyc" not in zf.namelist()
    assert str(tmp_path) not in sysdata and "/wasmbuild/cpython/cross-build/wasm32-emscripten" in sysdata


def test_a_package_without_its_inputs_is_one_line(tmp_path):
    fake = FakeProject(tmp_path)
    fake.doit("host:emscripten")
    (fake.src / "LICENSE").unlink()
    out = fake.doit("package:emscripten", check=False)
    assert out.returncode != 0
    assert f"cannot package: missing {fake.src / 'LICENSE'}" in out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr


def test_the_wasi_package_maps_itself_at_the_guests_root(tmp_path):
    fake = FakeProject(tmp_path)
    fake.doit("package:wasi")
    with tarfile.open(fake.cross_build / "packages" / "python-3.13.5-wasi.tar.gz") as tf:
        top = "python-3.13.5-wasi/"
        names = tf.getnames()
        assert {top + n for n in ["python", "python.wasm", "lib/python313.zip", "LICENSE",
                                  "SHA256SUMS", "build-info.json"]} <= set(names)
        launcher = tf.getmember(top + "python")
        assert launcher.mode & 0o111
        text = tf.extractfile(launcher).read().decode()
    assert '--dir "$here::/"' in text and "--env PYTHONHOME=/" in text and "wasmtime run" in text


def test_wheels_gone_from_site_packages_are_one_line(tmp_path):
    """site:'s record lists what it installed; when the folder (writable through python.sh)
    lost some of it since, package: names the file and the fix instead of a traceback."""
    import pytest
    from wasmbuild.actions import _installed_site
    from wasmbuild.errors import WasmbuildError
    site = tmp_path / "site-packages"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("")
    record = tmp_path / "wasm32-emscripten-ext" / "site.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"wheels": {}, "site_packages": str(site),
                                  "files": ["pkg/__init__.py", "pkg/_speedups.so"]}))
    with pytest.raises(WasmbuildError) as e:
        _installed_site(record, "emscripten")
    assert "1 of the 2 files that site:emscripten installed are gone (e.g. pkg/_speedups.so)" in str(e.value)
    assert "doit site:emscripten" in str(e.value) and "\n" not in str(e.value)
    (site / "pkg" / "_speedups.so").write_bytes(b"\0asm")
    assert _installed_site(record, "emscripten") == (site, ["pkg/__init__.py", "pkg/_speedups.so"])
    assert _installed_site(tmp_path / "never-ran.json", "emscripten") is None
