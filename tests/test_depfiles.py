"""Dependency files (-MMD): an object is rebuilt when a header it read changed,
even a header CPython's Makefile does not list."""
import time

import pytest

from wasmbuild import depfiles


def _layout(tmp_path):
    """A source tree with the build dir two levels below it, as for CPython cross-builds."""
    src = tmp_path / "cpython"
    build = src / "cross-build" / "wasm32"
    (build / "Objects").mkdir(parents=True)
    return src, build


def _obj(build, rel, deps=None):
    """An object file, with a .d file naming deps (text) next to it unless deps is None."""
    o = build / rel
    o.parent.mkdir(parents=True, exist_ok=True)
    o.write_bytes(b"\0obj")
    if deps is not None:
        o.with_suffix(".d").write_text(deps)
    return o


# --- parse -------------------------------------------------------------------

def test_parse_joins_continuation_lines():
    text = ("Objects/listobject.o: ../../Objects/listobject.c \\\n"
            " ../../Include/Python.h \\\n"
            "  ../../Objects/clinic/listobject.c.h\n")
    assert depfiles.parse(text) == [
        ("Objects/listobject.o", ["../../Objects/listobject.c", "../../Include/Python.h",
                                  "../../Objects/clinic/listobject.c.h"])]


def test_parse_windows_line_endings_and_multiple_rules():
    text = "a.o: a.c \\\r\n a.h\r\nb.o c.o: b.c\r\n"
    assert depfiles.parse(text) == [("a.o", ["a.c", "a.h"]), ("b.o", ["b.c"]), ("c.o", ["b.c"])]


def test_parse_unescapes_spaces_hash_and_dollar_as_gcc_writes_them():
    # Exactly what gcc -MMD writes for "../Inc lude/a#b$c.h".
    text = "Objects/x.o: ../x.c ../Inc\\ lude/a\\#b$$c.h\n"
    assert depfiles.parse(text) == [("Objects/x.o", ["../x.c", "../Inc lude/a#b$c.h"])]


def test_parse_backslashes_before_an_escaped_space_are_doubled():
    # gcc writes the path 'a\ b.h' (backslash, space) as 'a\\\ b.h'.
    assert depfiles.parse("x.o: a\\\\\\ b.h c\\d.h\n") == [("x.o", ["a\\ b.h", "c\\d.h"])]


def test_parse_leaves_out_mp_phony_rules():
    text = ("Objects/x.o: ../x.c ../x.h\n"
            "\n"
            "../x.h:\n"
            "../y.h: \n"
            "../z.h:\r\n")
    assert depfiles.parse(text) == [("Objects/x.o", ["../x.c", "../x.h"])]


def test_parse_keeps_a_colon_inside_a_path():
    assert depfiles.parse("x.o: a:b.h\n") == [("x.o", ["a:b.h"])]


@pytest.mark.parametrize("text", ["garbage without a rule\n", ": x.h\n", "x.o: a\0b\n"])
def test_parse_refuses_what_is_not_a_dependency_file(text):
    with pytest.raises(ValueError):
        depfiles.parse(text)


def test_parse_empty_text_has_no_rules():
    assert depfiles.parse("") == []
    assert depfiles.parse("\n\n") == []


# --- load --------------------------------------------------------------------

def test_load_resolves_relative_and_absolute_prereqs_to_source_relpaths(tmp_path):
    src, build = _layout(tmp_path)
    lst = _obj(build, "Objects/listobject.o",
               "Objects/listobject.o: ../../Objects/listobject.c \\\n"
               f" {src}/Include/Python.h ../../Objects/clinic/listobject.c.h \\\n"
               " /usr/include/stdio.h pyconfig.h ../../../elsewhere.h\n")
    graph = depfiles.load(build, src)
    assert graph.users() == {
        "Objects/listobject.c": {lst},
        "Include/Python.h": {lst},
        "Objects/clinic/listobject.c.h": {lst},
        # generated in the build dir, which here is inside the source tree
        "cross-build/wasm32/pyconfig.h": {lst},
    }
    assert graph.inputs == {lst: frozenset({
        "Objects/listobject.c", "Include/Python.h", "Objects/clinic/listobject.c.h",
        "cross-build/wasm32/pyconfig.h"})}
    assert graph.without_depfiles == 0
    assert lst.is_absolute()


def test_load_merges_rules_naming_the_same_object(tmp_path):
    src, build = _layout(tmp_path)
    o = _obj(build, "Objects/x.o", "Objects/x.o: ../../Objects/x.c\nObjects/x.o: ../../x.h\n")
    (build / "Python" / "y.d").parent.mkdir()
    (build / "Python" / "y.d").write_text("Objects/x.o: ../../y.h /usr/include/stdio.h\n")
    assert depfiles.load(build, src).inputs == {o: frozenset({"Objects/x.c", "x.h", "y.h"})}


def test_load_accepts_a_relative_build_dir(tmp_path, monkeypatch):
    src, build = _layout(tmp_path)
    lst = _obj(build, "Objects/listobject.o", "Objects/listobject.o: ../../Include/Python.h\n")
    monkeypatch.chdir(tmp_path)
    graph = depfiles.load(build.relative_to(tmp_path), src.relative_to(tmp_path))
    assert graph.users() == {"Include/Python.h": {lst}}


def test_load_finds_depfiles_in_subdirectories_and_skips_bookkeeping_dirs(tmp_path):
    src, build = _layout(tmp_path)
    mpd = _obj(build, "Modules/_decimal/libmpdec/basearith.o",
               "Modules/_decimal/libmpdec/basearith.o: "
               "../../Modules/_decimal/libmpdec/basearith.c ../../Include/Python.h\n")
    _obj(build, ".wasmbuild/x.o", ".wasmbuild/x.o: ../../Include/Python.h\n")
    _obj(build, "__pycache__/y.o", "__pycache__/y.o: ../../Include/Python.h\n")
    graph = depfiles.load(build, src)
    assert graph.users() == {"Modules/_decimal/libmpdec/basearith.c": {mpd},
                           "Include/Python.h": {mpd}}
    assert graph.without_depfiles == 0


def test_load_skips_malformed_and_unreadable_depfiles(tmp_path):
    src, build = _layout(tmp_path)
    good = _obj(build, "Objects/good.o", "Objects/good.o: ../../Include/Python.h\n")
    _obj(build, "Objects/bad.o", "this is not a dependency file\n")
    (build / "Objects" / "binary.d").write_bytes(b"\x89PNG\0\xff\xfe")
    (build / "Objects" / "dir.d").mkdir()             # not a file at all
    _obj(build, "Objects/empty.o", "")                # compiler killed before writing
    graph = depfiles.load(build, src)
    assert graph.users() == {"Include/Python.h": {good}}
    assert set(graph.inputs) == {good}
    # bad.o and empty.o have no usable dependency data
    assert graph.without_depfiles == 2


def test_load_counts_objects_without_depfiles(tmp_path):
    src, build = _layout(tmp_path)
    _obj(build, "Objects/a.o", "Objects/a.o: ../../Objects/a.c\n")
    _obj(build, "Objects/b.o")
    _obj(build, "Python/c.o")
    _obj(build, "Python/d.o", "Python/d.o: ../../Python/d.c\n")
    (build / "Python" / "e.d").write_text("Python/e.o: ../../Python/e.c\n")   # .o not built yet
    graph = depfiles.load(build, src)
    assert graph.without_depfiles == 2
    assert sorted(graph.users()) == ["Objects/a.c", "Python/d.c", "Python/e.c"]


def test_load_of_an_empty_or_missing_build_dir(tmp_path):
    src, build = _layout(tmp_path)
    assert depfiles.load(build, src) == depfiles.DepGraph()
    assert depfiles.load(tmp_path / "nope", src) == depfiles.DepGraph()


def test_load_is_fast_on_a_cpython_sized_build_dir(tmp_path):
    src, build = _layout(tmp_path)
    headers = [f"../../Include/h{i}.h" for i in range(100)]
    for i in range(700):
        _obj(build, f"Objects/o{i}.o",
             f"Objects/o{i}.o: ../../Objects/o{i}.c \\\n " + " \\\n ".join(headers) + "\n")
    start = time.perf_counter()
    graph = depfiles.load(build, src)
    elapsed = time.perf_counter() - start
    assert len(graph.users()["Include/h42.h"]) == 700
    assert len(graph.users()) == 800
    assert elapsed < 1.0     # ~0.05 s in practice; generous so a busy machine does not flake


# --- stale and force ---------------------------------------------------------

def _three_objects(src, build):
    lst = _obj(build, "Objects/listobject.o",
               "Objects/listobject.o: ../../Objects/listobject.c ../../Include/Python.h \\\n"
               " ../../Objects/clinic/listobject.c.h\n\n../../Include/Python.h:\n")
    dct = _obj(build, "Objects/dictobject.o",
               "Objects/dictobject.o: ../../Objects/dictobject.c ../../Include/Python.h \\\n"
               " ../../Objects/clinic/dictobject.c.h\n")
    gone = build / "Objects" / "tupleobject.o"      # .d left, object deleted
    (build / "Objects" / "tupleobject.d").write_text(
        "Objects/tupleobject.o: ../../Objects/tupleobject.c ../../Objects/clinic/listobject.c.h\n")
    return lst, dct, gone


def test_stale_names_only_existing_objects_that_read_a_changed_file(tmp_path):
    src, build = _layout(tmp_path)
    lst, dct, gone = _three_objects(src, build)
    graph = depfiles.load(build, src)
    assert set(graph.inputs) == {lst, dct, gone}
    assert depfiles.stale(graph, ["Objects/clinic/listobject.c.h"]) == {
        lst: ["Objects/clinic/listobject.c.h"]}
    assert depfiles.stale(graph, ["Include/Python.h", "Objects/clinic/listobject.c.h",
                                  "Modules/unrelated.c"]) == {
        dct: ["Include/Python.h"],
        lst: ["Include/Python.h", "Objects/clinic/listobject.c.h"]}
    assert depfiles.stale(graph, ["Modules/unrelated.c"]) == {}
    assert depfiles.stale(graph, []) == {}


def test_force_deletes_exactly_the_stale_objects_and_says_why(tmp_path):
    src, build = _layout(tmp_path)
    lst, dct, gone = _three_objects(src, build)
    other = _obj(build, "Python/ceval.o", "Python/ceval.o: ../../Python/ceval.c\n")
    graph = depfiles.load(build, src)
    stale = depfiles.stale(graph, ["Objects/clinic/listobject.c.h", "Include/Python.h"])
    lines = depfiles.force(stale, build)
    assert lines == [
        "Objects/dictobject.o: Include/Python.h changed",
        "Objects/listobject.o: Include/Python.h, Objects/clinic/listobject.c.h changed",
    ]
    assert not lst.exists() and not dct.exists()
    assert other.exists()
    # the .d files stay: make rewrites them when it rebuilds the objects
    assert (build / "Objects" / "listobject.d").exists()
    # nothing left to delete the second time, and no error for the objects already gone
    assert depfiles.stale(graph, ["Include/Python.h"]) == {}
    assert depfiles.force(stale, build) == lines


def test_force_with_nothing_stale(tmp_path):
    src, build = _layout(tmp_path)
    assert depfiles.force({}, build) == []
