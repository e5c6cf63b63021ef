"""What an interrupted step leaves behind is never taken for finished work."""
import os
import time

from wasmbuild.actions import MAKE_STARTED, remove_unfinished_outputs


def test_objects_of_an_unfinished_make_are_removed(tmp_path):
    old = tmp_path / "Objects" / "old.o"
    old.parent.mkdir()
    old.write_bytes(b"complete object from an earlier, finished make")
    past = time.time() - 100
    os.utime(old, (past, past))
    started = tmp_path / MAKE_STARTED
    started.touch()
    truncated = tmp_path / "Objects" / "listobject.o"
    truncated.write_bytes(b"\0asm")                      # cut short by SIGKILL
    source = tmp_path / "Objects" / "listobject.c"
    source.write_text("int x;")
    removed = remove_unfinished_outputs(tmp_path, started)
    assert removed == [truncated]
    assert old.exists() and source.exists() and not truncated.exists()


def test_nothing_removed_after_a_finished_make(tmp_path):
    (tmp_path / "a.o").write_bytes(b"x")
    assert remove_unfinished_outputs(tmp_path, tmp_path / MAKE_STARTED) == []
    assert (tmp_path / "a.o").exists()


def test_interrupted_configure_is_redone(fake):
    """configure removes Makefile/config.status before running: a killed configure leaves
    no Makefile, so the next run configures again."""
    fake.doit("host:emscripten")
    bdir = fake.cross_build / "wasm32-emscripten"
    (bdir / "Makefile").unlink()                          # as a killed configure leaves it
    fake.reset_runs()
    fake.doit("host:emscripten")
    assert any(r.startswith("configure wasm32-emscripten") for r in fake.runs())
    assert (bdir / "python.js").exists()


def test_killed_make_is_resumed_without_trusting_its_outputs(fake):
    fake.doit("host:emscripten")
    bdir = fake.cross_build / "wasm32-emscripten"
    # an edit, then a make that was SIGKILLed while writing python.js: the half-written
    # file is newer than its source, so make alone would take it as up to date
    (bdir / MAKE_STARTED).touch()
    c = fake.src / "Objects" / "listobject.c"
    c.write_text(c.read_text() + "int after_kill = 1;\n")
    time.sleep(0.01)
    (bdir / "python.js").write_text("trunc")
    fake.doit("host:emscripten")
    assert "after_kill" in (bdir / "python.js").read_text()
    assert not (bdir / MAKE_STARTED).exists()
