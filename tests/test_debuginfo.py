"""Debug info split off a wasm module (wasmbuild/artifacts/debuginfo.py), on a small
module made here: one empty function, a name section and DWARF-named custom sections."""
import pytest

from wasmbuild.artifacts import debuginfo as d

TYPE = bytes([1, 4, 1, 0x60, 0, 0])            # one type: () -> ()
FUNC = bytes([3, 2, 1, 0])                      # one function of type 0
CODE = bytes([10, 4, 1, 2, 0, 0x0B])            # its body: no locals, end


def _module(*customs) -> bytes:
    return d.MAGIC + TYPE + FUNC + CODE + b"".join(d.custom_section(n, p) for n, p in customs)


def _names(data):
    return [s.name if s.id == d.CUSTOM else s.id for s in d.sections(data)]


def test_the_shipped_module_has_no_dwarf_and_names_its_debug_file(tmp_path):
    src = tmp_path / "python.wasm"
    src.write_bytes(_module(("name", b"\x00names"), (".debug_info", b"x" * 1000), (".debug_line", b"y" * 500)))
    info = d.split(src, tmp_path / "shipped.wasm", tmp_path / "python.debug.wasm", "python.debug.wasm")
    shipped, debug = (tmp_path / "shipped.wasm").read_bytes(), (tmp_path / "python.debug.wasm").read_bytes()
    assert _names(shipped) == [1, 3, 10, "name", d.BUILD_ID, d.EXTERNAL_DEBUG_INFO]
    link = next(s for s in d.sections(shipped) if s.name == d.EXTERNAL_DEBUG_INFO)
    assert shipped[link.payload:link.end] == bytes([17]) + b"python.debug.wasm"
    # the debug file is the whole module, with the same build id
    assert debug.startswith(src.read_bytes()) and _names(debug)[-1] == d.BUILD_ID
    assert d.matches(tmp_path / "shipped.wasm", tmp_path / "python.debug.wasm")
    assert info["stripped"] == len(src.read_bytes()) - len(_module(("name", b"\x00names")))
    assert info["build_id"] == d.build_id(shipped).hex() and len(info["build_id"]) == 32
    assert not d.has_debug_info(tmp_path / "shipped.wasm") and d.has_debug_info(src)


def test_the_same_module_gives_the_same_files_and_another_module_does_not_match(tmp_path):
    src = tmp_path / "a.wasm"
    src.write_bytes(_module((".debug_info", b"dwarf")))
    first = d.split(src, tmp_path / "s1.wasm", tmp_path / "d1.wasm", "d.wasm")
    second = d.split(src, tmp_path / "s2.wasm", tmp_path / "d2.wasm", "d.wasm")
    assert first == second and (tmp_path / "s1.wasm").read_bytes() == (tmp_path / "s2.wasm").read_bytes()
    other = tmp_path / "b.wasm"
    other.write_bytes(d.MAGIC + TYPE + FUNC + bytes([10, 5, 1, 3, 0, 0x01, 0x0B]) + d.custom_section(".debug_info", b"z"))
    d.split(other, tmp_path / "s3.wasm", tmp_path / "d3.wasm", "d.wasm")
    assert not d.matches(tmp_path / "s1.wasm", tmp_path / "d3.wasm")


def test_a_linkers_build_id_is_kept(tmp_path):
    src = tmp_path / "a.wasm"
    src.write_bytes(_module((d.BUILD_ID, bytes([4]) + b"\x01\x02\x03\x04"), (".debug_info", b"dwarf")))
    info = d.split(src, tmp_path / "s.wasm", tmp_path / "d.wasm", "d.wasm")
    assert info["build_id"] == "01020304"
    assert (tmp_path / "d.wasm").read_bytes() == src.read_bytes()          # nothing added


def test_not_a_module_is_refused(tmp_path):
    bad = tmp_path / "x.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0" + bytes([1, 200, 1]))
    with pytest.raises(d.NotWasm, match="past the end"):
        d.sections(bad.read_bytes())
    with pytest.raises(d.NotWasm, match="not a WebAssembly module"):
        d.sections(b"ELF")
