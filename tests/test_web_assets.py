"""The web folder's other inputs: registry assets (npm tarballs, verified by sha256 and by
npm's integrity string, members copied out), the precompressed siblings (deterministic,
made once per content), and what the real YAML declares for each CPython layout."""
import base64
import gzip
import hashlib
import io
import tarfile

import brotli
import pytest
import zstandard

import fakes
from wasmbuild.errors import SourceError
from wasmbuild.model import Download, WebAsset
from wasmbuild.plan import Settings, make_plan
from wasmbuild.web import assets, compress

XTERM_JS = b"!function(e,t){e.Terminal=t()}(globalThis,()=>class{});\n"


def npm_tarball(path, members):
    """A tarball laid out as npm's (package/...)."""
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    raw = path.read_bytes()
    return (hashlib.sha256(raw).hexdigest(),
            "sha512-" + base64.b64encode(hashlib.sha512(raw).digest()).decode())


@pytest.fixture
def xterm(tmp_path, monkeypatch):
    monkeypatch.setenv("WASMBUILD_CACHE", str(tmp_path / "cache"))
    tgz = tmp_path / "xterm-5.5.0.tgz"
    sha256, integrity = npm_tarball(tgz, {"package/lib/xterm.js": XTERM_JS,
                                          "package/css/xterm.css": b".xterm{}\n",
                                          "package/LICENSE": b"MIT\n"})
    download = Download(file="npm-xterm-5.5.0.tgz", sha256=sha256, urls=[f"file://{tgz}"])
    return download, integrity


def test_asset_members_are_copied_into_the_folder(tmp_path, xterm):
    download, integrity = xterm
    dest = tmp_path / "web"
    dest.mkdir()
    asset = WebAsset(download=download, integrity=integrity,
                     files={"package/lib/xterm.js": "xterm.js", "package/LICENSE": "xterm.LICENSE.txt"})
    assert assets.install([asset], dest) == ["xterm.js", "xterm.LICENSE.txt"]
    assert (dest / "xterm.js").read_bytes() == XTERM_JS
    assert sorted(p.name for p in dest.iterdir()) == ["xterm.LICENSE.txt", "xterm.js"]


def test_integrity_mismatch_is_refused(tmp_path, xterm):
    download, _ = xterm
    wrong = "sha512-" + base64.b64encode(hashlib.sha512(b"other").digest()).decode()
    asset = WebAsset(download=download, integrity=wrong, files={"package/lib/xterm.js": "xterm.js"})
    with pytest.raises(SourceError, match="integrity mismatch") as e:
        assets.install([asset], tmp_path)
    assert wrong in str(e.value)
    assert not (tmp_path / "xterm.js").exists()
    bogus = WebAsset(download=download, integrity="md5-abc", files={})
    with pytest.raises(SourceError, match="unknown algorithm"):
        assets.install([bogus], tmp_path)


def test_a_sha256_mismatch_is_refused_before_integrity(tmp_path, xterm):
    download, integrity = xterm
    download.sha256 = "0" * 64
    with pytest.raises(SourceError, match="sha256"):
        assets.install([WebAsset(download=download, integrity=integrity, files={})], tmp_path)


@pytest.mark.parametrize("files, message", [
    ({"package/lib/missing.js": "x.js"}, "has no package/lib/missing.js"),
    ({"package/lib/xterm.js": "../x.js"}, "plain file name"),
    ({"package/lib/xterm.js": ""}, "plain file name"),
])
def test_bad_member_or_name_is_one_line(tmp_path, xterm, files, message):
    download, integrity = xterm
    with pytest.raises(SourceError, match=message):
        assets.install([WebAsset(download=download, integrity=integrity, files=files)], tmp_path)


# ---------------------------------------------------------------- compression

def folder(root, wasm=b"\x00asm" + bytes(range(256)) * 200):
    root.mkdir()
    (root / "python.wasm").write_bytes(wasm)
    (root / "python.mjs").write_bytes(b"export const x = 1;\n" * 300)
    (root / "tiny.js").write_bytes(b"1")                     # would grow: no sibling
    (root / "python.html").write_bytes(b"<p>page</p>\n" * 50)  # not selected
    return root


PATTERNS = ["*.wasm", "*.mjs", "*.js"]


def test_siblings_decode_to_the_file_and_are_the_same_bytes_in_any_folder(tmp_path):
    a = folder(tmp_path / "a")
    b = folder(tmp_path / "b")
    rows = compress.compress_folder(a, PATTERNS, tmp_path / "a.json")
    compress.compress_folder(b, PATTERNS, tmp_path / "b.json")
    for name in ("python.wasm", "python.mjs"):
        raw = (a / name).read_bytes()
        assert brotli.decompress((a / f"{name}.br").read_bytes()) == raw
        assert gzip.decompress((a / f"{name}.gz").read_bytes()) == raw
        assert zstandard.ZstdDecompressor().decompress((a / f"{name}.zst").read_bytes()) == raw
        for suffix in (".br", ".gz", ".zst"):
            assert (a / f"{name}{suffix}").read_bytes() == (b / f"{name}{suffix}").read_bytes()
    # gzip's header: no name, no time
    assert (a / "python.wasm.gz").read_bytes()[3:8] == b"\x00\x00\x00\x00\x00"
    assert not (a / "tiny.js.br").exists() and not (a / "tiny.js.gz").exists()
    assert not (a / "tiny.js.zst").exists()
    # a decoder need not keep more than the file itself (a browser refuses windows over 8 MiB)
    assert zstandard.get_frame_parameters((a / "python.wasm.zst").read_bytes()).window_size <= 65536
    assert not (a / "python.html.br").exists()
    by_name = {r["name"]: r for r in rows}
    assert by_name["tiny.js"]["br"] is None and by_name["python.wasm"]["br"] < by_name["python.wasm"]["raw"]
    assert "python.wasm: 51,204 raw," in "\n".join(compress.table(rows))


def test_zstd_never_asks_a_browser_for_more_than_8_mib():
    """Chromium fails the fetch of a zstd response whose window is over 8 MiB (RFC 9659's
    limit); python.wasm is ~10 MB, and zstd's densest level would ask for 128 MiB."""
    big = bytes(range(256)) * 40_000                     # 10.2 MB
    frame = zstandard.get_frame_parameters(compress.zstd_bytes(big))
    assert frame.window_size == 8 * 1024 * 1024
    assert zstandard.ZstdDecompressor().decompress(compress.zstd_bytes(big)) == big


def test_unchanged_files_are_not_compressed_again(tmp_path, monkeypatch):
    root = folder(tmp_path / "web")
    state = tmp_path / "state.json"
    compress.compress_folder(root, PATTERNS, state)
    calls = []
    real = dict(compress._COMPRESSORS)
    monkeypatch.setitem(compress._COMPRESSORS, "br", lambda d: calls.append(len(d)) or real["br"](d))
    # web: copies the file again (same bytes, newer mtime): nothing recompressed, and the
    # kept sibling is not older than its file (serve.py would take it for stale)
    wasm = root / "python.wasm"
    wasm.write_bytes(wasm.read_bytes())
    later = (root / "python.wasm.br").stat().st_mtime_ns + 10**9
    import os
    os.utime(wasm, ns=(later, later))
    compress.compress_folder(root, PATTERNS, state)
    assert calls == []
    assert (root / "python.wasm.br").stat().st_mtime_ns >= wasm.stat().st_mtime_ns
    # new bytes: that file alone, again
    wasm.write_bytes(wasm.read_bytes() + b"more")
    compress.compress_folder(root, PATTERNS, state)
    assert calls == [len(wasm.read_bytes())]
    assert brotli.decompress((root / "python.wasm.br").read_bytes()) == wasm.read_bytes()
    # a sibling changed by hand is made again; one whose file is gone is removed
    (root / "python.mjs.br").write_bytes(b"junk")
    (root / "python.mjs").unlink()
    (root / "other.mjs").write_bytes(b"let y = 2;\n" * 100)
    (root / "other.mjs.gz").write_bytes(b"junk")
    compress.compress_folder(root, PATTERNS, state)
    assert not (root / "python.mjs.br").exists() and not (root / "python.mjs.gz").exists()
    assert gzip.decompress((root / "other.mjs.gz").read_bytes()) == b"let y = 2;\n" * 100


# ---------------------------------------------------------------- the real YAML

def _plan(tmp_path, version, layout):
    tree = fakes.make_cpython_tree(tmp_path / f"cpython-{version}", version, layout=layout)
    return make_plan(Settings(cpython=str(tree), cross_build=str(tmp_path / "cb")))


def test_313_page_is_the_basic_one(tmp_path):
    plan = _plan(tmp_path, "3.13.5", "3.13")
    web = plan.targets["emscripten"].target.web
    assert web.assets == []
    assert [l.template for l in web.loaders] == ["python.html.j2", "python.worker.mjs.j2"]
    assert "terminal" not in web.loaders[0].vars
    assert {"*.wasm", "*.mjs", "*.zip", "*.html"} <= set(web.compress)


def test_314_page_offers_the_terminal_from_pinned_npm_packages(tmp_path):
    from wasmbuild.tasks_web import web_tasks
    plan = _plan(tmp_path, "3.14.7", "3.14.7")
    tgt = plan.targets["emscripten-forky"]
    web = tgt.target.web
    assert [l.template for l in web.loaders] == ["python.html.j2", "python.worker.mjs.j2",
                                                 "python.terminal.mjs.j2"]
    assert web.loaders[0].vars == {"terminal": "python.terminal.mjs"}
    names = {n for a in web.assets for n in a.files.values()}
    assert {"xterm.js", "xterm.css", "xterm-pty.mjs"} <= names
    for a in web.assets:
        assert len(a.download.sha256) == 64 and a.integrity.startswith("sha512-")
        assert all(u.startswith("https://registry.npmjs.org/") for u in a.download.urls)
    task = next(web_tasks(plan, tgt))
    assert {f"fetch:{a.download.file}" for a in web.assets} <= set(task["task_dep"])
    assert {str(tgt.build_dir / "web" / n) for n in names} <= set(task["targets"])


def test_stored_zip_copy_keeps_every_entry_and_is_deterministic(tmp_path):
    import zipfile
    src = tmp_path / "python313.zip"
    with zipfile.ZipFile(src, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in ("os.pyc", "encodings/__init__.pyc", "site.pyc"):
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            zf.writestr(info, name.encode() * 200)
    compress.stored_zip_copy(src, tmp_path / "a.zip")
    compress.stored_zip_copy(src, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(tmp_path / "a.zip") as new:
        assert [i.filename for i in new.infolist()] == [i.filename for i in old.infolist()]
        for a, b in zip(old.infolist(), new.infolist()):
            assert new.read(b) == old.read(a)
            assert (b.compress_type, b.date_time, b.external_attr) == \
                (zipfile.ZIP_STORED, a.date_time, a.external_attr)


# ---------------------------------------------------------------- the stdlib as files

def _stdlib_zip(path, members):
    import zipfile
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    return path


def test_stdlib_files_are_the_zips_members_with_their_sizes_listed(tmp_path):
    import json
    from wasmbuild.web import stdlib_files
    members = {"os.pyc": b"o" * 30, "encodings/__init__.pyc": b"e" * 7, "encodings/utf_8.pyc": b"u" * 5,
               "json/": b""}
    zip_path = _stdlib_zip(tmp_path / "python313.zip", members)
    folder = tmp_path / "web" / "stdlib"
    listing = stdlib_files.write_stdlib_files(zip_path, folder)
    assert listing == {"encodings/__init__.pyc": 7, "encodings/utf_8.pyc": 5, "os.pyc": 30}
    assert json.loads((tmp_path / "web" / "stdlib.json").read_text()) == {"files": listing, "preload": []}
    assert (folder / "encodings" / "utf_8.pyc").read_bytes() == b"u" * 5
    assert (folder / "os.pyc").stat().st_mode & 0o777 == 0o644     # served as the rest
    assert not (folder / "json").exists()                           # a folder entry makes nothing
    # again, one member changed and one gone: only that file is rewritten, the other removed
    # with its siblings and its folder, an unchanged file keeps its mtime (and its siblings)
    (folder / "os.pyc.br").write_bytes(b"sibling")
    (folder / "encodings" / "utf_8.pyc.br").write_bytes(b"sibling")
    before = (folder / "os.pyc").stat().st_mtime_ns
    _stdlib_zip(zip_path, {"os.pyc": b"o" * 30, "site.pyc": b"s"})
    assert stdlib_files.write_stdlib_files(zip_path, folder) == {"os.pyc": 30, "site.pyc": 1}
    assert (folder / "os.pyc").stat().st_mtime_ns == before and (folder / "os.pyc.br").exists()
    assert not (folder / "encodings").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["os.pyc", "os.pyc.br", "site.pyc"]


def test_the_listing_names_the_starts_modules_to_preload(tmp_path):
    import json
    from wasmbuild.errors import WasmbuildError
    from wasmbuild.web import stdlib_files
    zip_path = _stdlib_zip(tmp_path / "python313.zip", {"os.pyc": b"o", "encodings/__init__.pyc": b"e"})
    folder = tmp_path / "web" / "stdlib"
    stdlib_files.write_stdlib_files(zip_path, folder, ["encodings/__init__.pyc"])
    assert json.loads((tmp_path / "web" / "stdlib.json").read_text())["preload"] == ["encodings/__init__.pyc"]
    # a name the zip does not have (a module renamed in another version): one line, naming
    # the YAML key and the name, and nothing written
    (tmp_path / "web" / "stdlib.json").unlink()
    with pytest.raises(WasmbuildError, match=r"^web\.stdlib_preload: encodings/utf_8\.pyc not in the "
                                             r"stdlib zip python313\.zip: [^\n]*$"):
        stdlib_files.write_stdlib_files(zip_path, folder, ["encodings/__init__.pyc", "encodings/utf_8.pyc"])
    assert not (tmp_path / "web" / "stdlib.json").exists()


def test_a_stdlib_member_outside_the_folder_is_refused(tmp_path):
    from wasmbuild.errors import WasmbuildError
    from wasmbuild.web import stdlib_files
    zip_path = _stdlib_zip(tmp_path / "python313.zip", {"../evil.pyc": b"x"})
    with pytest.raises(WasmbuildError, match=r"member '\.\./evil\.pyc' is not a relative path"):
        stdlib_files.write_stdlib_files(zip_path, tmp_path / "web" / "stdlib")
    assert not (tmp_path / "web" / "evil.pyc").exists()


def test_files_in_subfolders_get_siblings_too(tmp_path):
    root = folder(tmp_path / "web")
    deep = root / "stdlib" / "json"
    deep.mkdir(parents=True)
    (deep / "decoder.pyc").write_bytes(b"decode this " * 200)
    state = tmp_path / "state.json"
    rows = compress.compress_folder(root, PATTERNS + ["*.pyc"], state)
    assert brotli.decompress((deep / "decoder.pyc.br").read_bytes()) == (deep / "decoder.pyc").read_bytes()
    assert "stdlib/json/decoder.pyc" in {r["name"] for r in rows}
    # the file gone: its siblings go with it
    (deep / "decoder.pyc").unlink()
    compress.compress_folder(root, PATTERNS + ["*.pyc"], state)
    assert list(deep.iterdir()) == []


def test_both_pages_fetch_the_stdlib_module_by_module(tmp_path):
    for version, layout, target in (("3.13.5", "3.13", "emscripten"), ("3.14.7", "3.14.7", "emscripten-forky")):
        plan = _plan(tmp_path / version, version, layout)
        tgt = plan.targets[target]
        assert tgt.target.web.stdlib_files == "stdlib"
        assert "encodings/__init__.pyc" in tgt.target.web.stdlib_preload
        from wasmbuild.tasks_web import web_tasks
        task = next(web_tasks(plan, tgt))
        assert str(tgt.build_dir / "web" / "stdlib.json") in task["targets"]


@pytest.mark.parametrize("value", ["../up", "/abs", "a/b", ""])
def test_stdlib_files_must_name_one_folder(tmp_path, value):
    from wasmbuild.config import check_references
    from wasmbuild.errors import ConfigError
    from wasmbuild.model import Web
    plan = _plan(tmp_path, "3.13.5", "3.13")
    target = plan.targets["emscripten"].target
    target.web = Web(dir="w", steps=[], files=[], stdlib_files=value)
    check = lambda: check_references({"emscripten": (target, tmp_path / "t.yaml")},  # noqa: E731
                                     plan.toolchains, plan.settings.templates_dir)
    if value == "":
        check()                 # none: the worker installs the zip
        return
    with pytest.raises(ConfigError, match=r"web\.stdlib_files.*expected the name of one folder"):
        check()


def test_stdlib_preload_needs_stdlib_files(tmp_path):
    from wasmbuild.config import check_references
    from wasmbuild.errors import ConfigError
    from wasmbuild.model import Web
    plan = _plan(tmp_path, "3.13.5", "3.13")
    target = plan.targets["emscripten"].target
    target.web = Web(dir="w", steps=[], files=[], stdlib_preload=["encodings/__init__.pyc"])
    with pytest.raises(ConfigError, match=r"web\.stdlib_preload.*does not set: set it, or drop"):
        check_references({"emscripten": (target, tmp_path / "t.yaml")}, plan.toolchains,
                         plan.settings.templates_dir)


def test_the_workers_script_holds_the_listing_and_the_starts_modules(tmp_path):
    """The basic REPL's worker asks for nothing of the stdlib as it starts: web: writes the
    listing and the bytes of web.stdlib_preload's members into its script (rendered here
    from the real template, and read back as the worker's JavaScript reads them)."""
    import json
    import re
    from wasmbuild.render import render_loader
    from wasmbuild.web import stdlib_files
    plan = _plan(tmp_path, "3.13.5", "3.13")
    tgt = plan.targets["emscripten"]
    zip_path = _stdlib_zip(tmp_path / "python313.zip", {"os.pyc": b"o" * 3, "encodings/__init__.pyc": b"\x00\xff<e>"})
    folder = tmp_path / "web" / "stdlib"
    listing = stdlib_files.write_stdlib_files(zip_path, folder, ["encodings/__init__.pyc"])
    variables = dict(tgt.context, stdlib_zip="python313.zip", stdlib_files="stdlib",
                     stdlib=stdlib_files.embedded(folder, listing, ["encodings/__init__.pyc"]))
    worker = next(l for l in tgt.target.web.loaders if l.template == "python.worker.mjs.j2")
    text = render_loader(plan.settings.templates_dir, worker, variables)
    assert "fetch(`${STDLIB_FILES}.json`)" not in text and "site-packages.json" not in text
    files = re.search(r"const STDLIB_LISTING = JSON\.parse\((.*)\);", text)[1]
    assert json.loads(json.loads(files)) == {"encodings/__init__.pyc": 5, "os.pyc": 3}
    preloaded = json.loads(re.search(r"Object\.entries\((\{.*?\})\)", text)[1])
    assert {n: base64.b64decode(b) for n, b in preloaded.items()} == {"encodings/__init__.pyc": b"\x00\xff<e>"}


def test_a_web_files_pattern_takes_what_the_steps_made(tmp_path):
    """web.files may name the side modules by a pattern: what it matches once the steps ran
    is copied; a pattern that matches nothing is a one-line error; it names no doit target."""
    from wasmbuild.actions import web_files_matching
    from wasmbuild.errors import WasmbuildError
    link = tmp_path / "web-link"
    link.mkdir()
    for name in ("b.cpython-313-wasm32-emscripten.so", "a.cpython-313-wasm32-emscripten.so", "python.wasm"):
        (link / name).write_bytes(b"x")
    assert [p.name for p in web_files_matching(f"{link}/*.cpython-313-wasm32-emscripten.so")] == [
        "a.cpython-313-wasm32-emscripten.so", "b.cpython-313-wasm32-emscripten.so"]
    assert web_files_matching(f"{link}/python.wasm") == [link / "python.wasm"]
    with pytest.raises(WasmbuildError, match=r"^web\.files: .*/web-link/\*\.dylib matched no file after "
                                             r"web\.steps: [^\n]*$"):
        web_files_matching(f"{link}/*.dylib")
    from wasmbuild.tasks_web import web_tasks
    plan = _plan(tmp_path / "plan", "3.13.5", "3.13")
    tgt = plan.targets["emscripten"]
    assert any("*" in f for f in tgt.target.web.files)
    # the step deletes what the list no longer names from web-link/ (a real shell runs it)
    step = tgt.target.web.steps[0].run
    assert "find web-link -maxdepth 1 -name '*.cpython-313-wasm32-emscripten.so' ! -name '_codecs_cn" in step
    assert "! -name 'unicodedata.cpython-313-wasm32-emscripten.so'" in step
    task = next(web_tasks(plan, tgt))
    assert not any("*" in t for t in task["targets"])
    assert str(tgt.build_dir / "web" / "python.wasm") in task["targets"]


def test_a_side_module_no_longer_made_leaves_the_web_folder(tmp_path):
    """What the pattern copied before and no longer matches is deleted from the web folder;
    what it matches, and every other file, stays."""
    from wasmbuild.actions import remove_unmatched, web_files_matching
    link, dest = tmp_path / "web-link", tmp_path / "web"
    link.mkdir(), dest.mkdir()
    pattern = f"{link}/*.cpython-314-wasm32-emscripten.so"
    for name in ("a.cpython-314-wasm32-emscripten.so", "gone.cpython-314-wasm32-emscripten.so",
                 "python.wasm", "gone.cpython-314-wasm32-emscripten.so.br"):
        (dest / name).write_bytes(b"old")
    (link / "a.cpython-314-wasm32-emscripten.so").write_bytes(b"new")
    found = web_files_matching(pattern)
    remove_unmatched(dest, pattern, found)
    assert sorted(p.name for p in dest.iterdir()) == [
        "a.cpython-314-wasm32-emscripten.so", "gone.cpython-314-wasm32-emscripten.so.br", "python.wasm"]
    remove_unmatched(dest, f"{link}/python.wasm", [link / "python.wasm"])   # no pattern: nothing
    assert (dest / "python.wasm").exists()
