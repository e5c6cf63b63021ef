"""What an interrupted step leaves behind is never taken for finished work."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fakes import PROJECT
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


def test_unfinished_outputs_include_symlinks_to_them(tmp_path):
    """make links build/lib.*/x.so to Modules/x.so: removing the target first must not
    stop the cleanup at the now dangling link (found by bench/stress.py)."""
    started = tmp_path / MAKE_STARTED
    started.touch()
    (tmp_path / "Modules").mkdir()
    (tmp_path / "build" / "lib").mkdir(parents=True)
    target = tmp_path / "Modules" / "_ctypes_test.so"
    target.write_bytes(b"\0asm")
    link = tmp_path / "build" / "lib" / "_ctypes_test.so"
    link.symlink_to(os.path.relpath(target, link.parent))
    target.unlink()                                      # as if removed first
    assert remove_unfinished_outputs(tmp_path, started) == [link]
    assert not os.path.lexists(link)


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


def test_leftover_temp_file_of_a_killed_writer_is_removed(tmp_path):
    from wasmbuild.atomic import write_text
    dest = tmp_path / "report.json"
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".report.json.{dead.pid}.abc123.tmp"     # SIGKILLed mid-write
    stale.write_text("half")
    alive = tmp_path / f".report.json.{os.getppid()}.def456.tmp"  # another writer, still running
    alive.write_text("busy")
    write_text(dest, "{}")
    assert dest.read_text() == "{}"
    assert not stale.exists() and alive.exists()


def test_unfinished_root_is_removed_without_reaching_into_its_mounts(tmp_path):
    """A SIGKILLed debootstrap leaves /proc and bound folders mounted in the root it was
    making; removing that root must unmount them, never delete through them."""
    host_dir = tmp_path / "host-dir"
    host_dir.mkdir()
    (host_dir / "precious").write_text("host file")
    partial = tmp_path / "debian-trixie.partial"
    script = f"""
import pathlib, subprocess, sys
sys.path.insert(0, {str(PROJECT)!r})
from wasmbuild.provision import mounts_below, remove_unfinished_root
p = pathlib.Path({str(partial)!r})
(p / "proc").mkdir(parents=True)
(p / "dev" / "pts").mkdir(parents=True)
subprocess.run(["mount", "-t", "proc", "proc", str(p / "proc")], check=True)
subprocess.run(["mount", "--bind", {str(host_dir)!r}, str(p / "dev" / "pts")], check=True)
assert len(mounts_below(p)) == 2, mounts_below(p)
remove_unfinished_root(p)
print("exists" if p.exists() else "removed")
"""
    out = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c", script],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "removed", out.stdout + out.stderr
    assert (host_dir / "precious").read_text() == "host file"


def _slow_libffi(fake):
    def slow(d):
        dep = next(x for x in d["dependencies"] if x["name"] == "libffi")
        # slow until the test says otherwise (same step text: the same settings)
        dep["steps"][0]["run"] = ('echo "dep started" >> "$FAKE_RUNS"; '
                                  'test -f "$FAKE_RUNS.fast" || sleep 60; ' + dep["steps"][0]["run"])
    fake.edit_target("wasm32-emscripten.yaml", slow)


def _start_and_wait_for_dep(fake):
    proc = subprocess.Popen(fake.doit_argv("host:emscripten"), env=fake.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    end = time.monotonic() + 60
    while "dep started" not in "\n".join(fake.runs()) and time.monotonic() < end:
        time.sleep(0.1)
    assert "dep started" in "\n".join(fake.runs())
    return proc


def test_ctrl_c_stops_the_run_at_once_and_the_next_run_redoes_the_step(fake):
    """Ctrl-C in a terminal signals the whole process group (doit, its threads' commands)."""
    _slow_libffi(fake)
    proc = _start_and_wait_for_dep(fake)
    start = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=30)
    assert time.monotonic() - start < 10 and proc.returncode != 0
    fake.reset_runs()
    Path(f"{fake.runs_file}.fast").touch()
    fake.doit("host:emscripten")
    assert "dep started" in fake.runs()                    # the step was not taken as done
    assert (fake.cross_build / "wasm32-emscripten" / "python.js").exists()


def test_sigint_to_doit_alone_stops_the_run_too(fake):
    """`kill -INT <doit pid>` (a script, an IDE): the commands of running steps do not get
    the signal, and doit's worker threads would wait for them; wasmbuild stops them."""
    _slow_libffi(fake)
    proc = _start_and_wait_for_dep(fake)
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=90)
    assert time.monotonic() - start < 10, "doit waited for the running step's command"
    assert proc.returncode != 0
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", "FAKE_RUNS.fast. .. sleep 60"], capture_output=True, text=True)
    assert left.stdout == "", "the step's command outlived doit"


def test_ctrl_c_in_doit_run_belongs_to_the_interpreter(tmp_path):
    """`doit run:<target>` with a REPL: Ctrl-C is a KeyboardInterrupt in the REPL, and
    wasmbuild goes on waiting for it (as a shell does)."""
    child = ("import time\ntry:\n    print('ready', flush=True)\n    time.sleep(30)\n"
             "except KeyboardInterrupt:\n    print('child got Ctrl-C', flush=True)\n")
    parent = f"""
import subprocess, sys
sys.path.insert(0, {str(PROJECT)!r})
from wasmbuild import dodo_entry, runlog
dodo_entry.stop_on_signals()
with runlog.foreground():
    rc = subprocess.call([sys.executable, "-c", {child!r}])
print("wasmbuild went on, rc", rc, flush=True)
"""
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout.readline().strip() == "ready"
    os.killpg(proc.pid, signal.SIGINT)                  # the terminal's Ctrl-C: the whole group
    rest = proc.communicate(timeout=20)[0]
    assert "child got Ctrl-C" in rest and "wasmbuild went on, rc 0" in rest, rest


def test_the_loaders_beside_an_unfinished_make_are_kept(tmp_path):
    """node_entry.mjs and streams.mjs (3.14) are the loaders task's, rendered whole while
    make runs: the cleanup after an interrupted make must not take them (seen on 3.14.7:
    python.sh then had no node_entry.mjs to run)."""
    started = tmp_path / MAKE_STARTED
    started.touch()
    loaders = [tmp_path / "node_entry.mjs", tmp_path / "streams.mjs"]
    for p in loaders:
        p.write_text("// whole")
    half = tmp_path / "python.mjs"
    half.write_text("// cut short")
    assert remove_unfinished_outputs(tmp_path, started, keep=[str(p) for p in loaders]) == [half]
    assert all(p.exists() for p in loaders)
