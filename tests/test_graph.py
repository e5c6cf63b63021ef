"""The task graph on a fake CPython tree with fake toolchain executables."""
from pathlib import Path
import re
import subprocess
import sys
import time
import zipfile


import fakes
from fakes import PROJECT


def ran(out) -> list[str]:
    """Tasks doit executed (it prints '.  name' for those, '-- name' for up-to-date ones)."""
    return [line[3:].strip() for line in out.stdout.splitlines() if line.startswith(".  ")]


def test_list_without_source_is_fast(tmp_path):
    env = {"WASMBUILD_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "doit", "list"], cwd=PROJECT, capture_output=True,
                         text=True, env=env)
    took = time.monotonic() - start
    assert out.returncode == 0, out.stderr
    for task in ("host", "test", "toolchain", "build_python", "configure_host", "make_host",
                 "stdlib_zip", "loaders", "dep"):
        assert any(line.split()[0] == task for line in out.stdout.splitlines() if line.strip()), task
    assert took < 3, took          # the 1 s goal is measured by hand; this catches a regression
    assert not (tmp_path / "cache" / "sources" / "cpython-3.13.5" / "configure").exists()


def test_list_all_shows_every_step_of_both_targets(fake):
    out = fake.doit("list", "--all")
    names = {line.split()[0] for line in out.stdout.splitlines() if line.strip()}
    for t in ("emscripten", "wasi"):
        for step in ("configure_host", "make_host", "stdlib_zip", "loaders", "host", "test"):
            assert f"{step}:{t}" in names
    assert {"build_python:configure", "build_python:launcher", "build_python:make", "dep:emscripten-libffi",
            "dep:wasi-zlib", "dep:wasi-bzip2", "toolchain:emscripten", "toolchain:wasi"} <= names
    info = fake.doit("info", "host:emscripten", check=False).stdout   # exit 1: not up to date
    assert "make_host:emscripten" in info and "stdlib_zip:emscripten" in info


def test_full_build_then_noop(fake):
    out = fake.doit("host:emscripten")
    bdir = fake.cross_build / "wasm32-emscripten"
    assert (bdir / "python.js").exists() and (bdir / "python.wasm").exists()
    assert (bdir / "python.sh").stat().st_mode & 0o111
    with zipfile.ZipFile(bdir / "python313.zip") as zf:
        names = set(zf.namelist())
    assert "json/encoder.pyc" in names and "os.pyc" in names and "email/__init__.pyc" in names
    assert "_sysconfigdata__fake.pyc" in names
    assert not any(n.startswith(("test/", "http/", "ctypes/")) for n in names), names
    assert not any(n.endswith(".py") for n in names)
    assert "configure_host:emscripten" in ran(out)
    fake.reset_runs()
    again = fake.doit("host:emscripten")
    assert ran(again) == [] and fake.runs() == []


def test_touch_without_change_runs_nothing(fake):
    fake.doit("host:emscripten")
    fake.reset_runs()
    for rel in ("Objects/listobject.c", "Lib/json/encoder.py", "configure"):
        p = fake.src / rel
        p.touch()
    out = fake.doit("host:emscripten")
    assert ran(out) == [] and fake.runs() == []


def test_c_edit_makes_without_configure(fake):
    fake.doit("host:emscripten")
    fake.reset_runs()
    c = fake.src / "Objects" / "listobject.c"
    c.write_text(c.read_text() + "int list_version_2 = 2;\n")
    out = fake.doit("host:emscripten")
    assert "make_host:emscripten" in ran(out)
    assert "build_python:make" in ran(out)
    assert not any(t.startswith(("configure_host", "build_python:configure")) for t in ran(out))
    assert "list_version_2" in (fake.cross_build / "wasm32-emscripten" / "python.js").read_text()
    # the build Python was relinked, but its bytecode cannot have changed: no new zip
    assert "stdlib_zip:emscripten" not in ran(out)
    # the build report names the edited file as the reason
    row = next(l for l in out.stdout.splitlines() if l.strip().startswith("ok") and "make_host:emscripten" in l)
    assert "changed: Objects/listobject.c" in row, out.stdout


def test_compiler_edit_recompiles_every_pyc(fake):
    fake.doit("host:emscripten")
    log = fake.cross_build / ".wasmbuild" / "logs" / "stdlib_zip-emscripten.log"
    entries = int(re.search(r"'entries': (\d+)", log.read_text()).group(1))
    c = fake.src / "Python" / "compile.c"
    c.write_text(c.read_text() + "/* a new peephole pass */\n")
    out = fake.doit("host:emscripten")
    assert "stdlib_zip:emscripten" in ran(out)
    assert f"'entries': {entries}, 'compiled': {entries}}}" in log.read_text()
    row = next(l for l in out.stdout.splitlines() if l.strip().startswith("ok") and "stdlib_zip:" in l)
    assert "changed: Python/compile.c" in row, out.stdout


def test_lib_edit_rebuilds_only_the_zip(fake):
    fake.doit("host:emscripten")
    enc = fake.src / "Lib" / "json" / "encoder.py"
    enc.write_text(enc.read_text() + "MARKER_CONSTANT = 'edited'\n")
    out = fake.doit("host:emscripten")
    assert ran(out) == ["stdlib_zip:emscripten"]
    with zipfile.ZipFile(fake.cross_build / "wasm32-emscripten" / "python313.zip") as zf:
        assert b"MARKER_CONSTANT" in zf.read("json/encoder.pyc")


def test_frozen_module_edit_reaches_the_interpreter(fake):
    fake.doit("host:emscripten")
    (fake.src / "Lib" / "os.py").write_text("SEP = '/'\nFROZEN_MARKER = 1\n")
    out = fake.doit("host:emscripten")
    assert "make_host:emscripten" in ran(out) and "stdlib_zip:emscripten" in ran(out)
    assert "FROZEN_MARKER" in (fake.cross_build / "wasm32-emscripten" / "python.wasm").read_text()


def test_add_and_delete_lib_file(fake):
    fake.doit("host:emscripten")
    new = fake.src / "Lib" / "json" / "added.py"
    new.write_text("ADDED = 1\n")
    fake.doit("host:emscripten")
    zpath = fake.cross_build / "wasm32-emscripten" / "python313.zip"
    assert "json/added.pyc" in zipfile.ZipFile(zpath).namelist()
    new.unlink()
    fake.doit("host:emscripten")
    assert "json/added.pyc" not in zipfile.ZipFile(zpath).namelist()


def test_configure_args_change_reconfigures_only_that_host(fake):
    fake.doit("host:emscripten")
    fake.edit_target("wasm32-emscripten.yaml", lambda d: d["configure"]["args"].append("--with-extra=1"))
    fake.reset_runs()
    out = fake.doit("host:emscripten")
    assert "configure_host:emscripten" in ran(out) and "make_host:emscripten" in ran(out)
    assert not any(t.startswith("build_python") for t in ran(out))
    assert "--with-extra=1" in (fake.cross_build / "wasm32-emscripten" / "configure.args").read_text()


def test_dependency_change_rebuilds_it_and_dependants_only(fake):
    fake.doit("host:emscripten")
    def bump(d):
        libffi = d["dependencies"][0]
        libffi["steps"][0]["run"] = "echo 'new build step' >/dev/null; " + libffi["steps"][0]["run"]
    fake.edit_target("wasm32-emscripten.yaml", bump)
    out = fake.doit("host:emscripten")
    assert "dep:emscripten-libffi" in ran(out) and "make_host:emscripten" in ran(out)
    assert "dep:emscripten-ports" not in ran(out)
    assert not any(t.startswith(("build_python", "configure_host")) for t in ran(out))


def test_dependency_new_version_is_fetched_and_rebuilt_with_its_dependants_only(fake):
    fake.doit("host:emscripten")
    download = fake.fake_download("libffi", "9.9")
    def new_version(d):
        libffi = d["dependencies"][0]
        libffi["version"] = "9.9"
        libffi["download"] = download
        libffi["steps"][0]["run"] = "grep -q 9.9 README && " + libffi["steps"][0]["run"]
    fake.edit_target("wasm32-emscripten.yaml", new_version)
    out = fake.doit("host:emscripten")
    assert set(ran(out)) >= {f"fetch:{download['file']}", "dep:emscripten-libffi", "make_host:emscripten"}
    assert "dep:emscripten-ports" not in ran(out)
    assert not any(t.startswith(("build_python", "configure_host")) for t in ran(out))
    assert ran(fake.doit("host:emscripten")) == []


def test_configure_runs_the_launcher_not_the_build_python(fake):
    """A target's configure only asks its build Python its version: it gets the launcher,
    which answers that, and runs without waiting for the build Python; make-host needs
    the build Python itself."""
    configure = fake.doit("info", "configure_host:emscripten", check=False).stdout
    assert "- build_python:launcher" in configure and "- build_python:make" not in configure, configure
    make = fake.doit("info", "make_host:emscripten", check=False).stdout
    assert "- build_python:make" in make, make
    fake.doit("host:emscripten")
    launcher = fake.cross_build / "build" / "python-for-build"
    args = (fake.cross_build / "wasm32-emscripten" / "configure.args").read_text().split("\n")
    assert f"--with-build-python={launcher}" in args, args
    # everything but the probe runs the build Python itself, with its arguments
    out = subprocess.run([str(launcher), "-c", "print('from the build Python')"],
                         capture_output=True, text=True, check=True)
    assert out.stdout == "from the build Python\n"


def test_launcher_answers_the_probe_before_the_build_python_exists(fake):
    fake.doit("build_python:launcher")
    launcher = fake.cross_build / "build" / "python-for-build"
    assert not (fake.cross_build / "build" / "python").exists()
    probe = "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')"
    out = subprocess.run([str(launcher), "-c", probe], capture_output=True, text=True)
    assert (out.returncode, out.stdout) == (0, "3.13\n")
    out = subprocess.run([str(launcher), "-c", "print(1)"], capture_output=True, text=True)
    assert out.returncode == 127 and "is not built yet" in out.stderr and "print(1)" in out.stderr
    assert "build_python.launcher" in out.stderr


def test_without_launcher_configure_waits_for_the_build_python(fake):
    fake.edit_target("_shared.yaml", lambda d: d["build_python"].update(launcher=None))
    configure = fake.doit("info", "configure_host:emscripten", check=False).stdout
    assert "- build_python:make" in configure and "- build_python:launcher" not in configure, configure
    fake.doit("host:emscripten")
    args = (fake.cross_build / "wasm32-emscripten" / "configure.args").read_text().split("\n")
    assert f"--with-build-python={fake.cross_build / 'build' / 'python'}" in args, args


def test_build_python_is_shared_by_both_targets(fake):
    fake.doit("host:emscripten")
    fake.doit("host:wasi")
    configures = [r for r in fake.runs() if r.startswith("configure build ")]
    assert len(configures) == 1, fake.runs()
    assert (fake.cross_build / "wasm32-wasip1" / "python.wasm").exists()


def test_new_variant_is_one_yaml_file(fake):
    def debug(d):
        d["name"] = "emscripten-debug"
        d["build_dir"] = "wasm32-emscripten-debug"
        d["configure"]["args"].append("--with-pydebug")
    fake.edit_target("wasm32-emscripten.yaml", debug, new_name="wasm32-emscripten-debug.yaml")
    fake.doit("host:emscripten-debug")
    args = (fake.cross_build / "wasm32-emscripten-debug" / "configure.args").read_text()
    assert "--with-pydebug" in args
    assert (fake.cross_build / "wasm32-emscripten-debug" / "python.sh").exists()
    assert not (fake.cross_build / "wasm32-emscripten").exists()


def test_toolchain_change_redoes_what_it_built(fake):
    fake.doit("host:emscripten")
    (fake.bin / "emcc").write_text('#!/bin/sh\necho "emcc (Emscripten gcc/clang-like replacement) 3.1.80 (fake)"\n')
    before = len(fake.runs())
    out = fake.doit("host:emscripten")
    for t in ("toolchain:emscripten", "dep:emscripten-libffi", "configure_host:emscripten",
              "make_host:emscripten"):
        assert t in ran(out), (t, ran(out))
    assert "build_python:make" not in ran(out)
    # `make clean` first: the fake's clean removes `python`, which is made again
    assert "make python wasm32-emscripten" in fake.runs()[before:]


def test_a_deleted_artifact_is_made_again_without_make_clean(fake):
    """doit names every input of a task as changed when one of its targets is missing:
    that is no new toolchain, and the build dir is not cleaned (a deleted python.wasm
    made CPython's `make clean` empty the build dir, the web folder's python.wasm too)."""
    fake.doit("host:emscripten")
    bdir = fake.cross_build / "wasm32-emscripten"
    assert (bdir / ".wasmbuild-toolchain").read_text()
    (bdir / "python.wasm").unlink()
    before = len(fake.runs())
    fake.doit("host:emscripten")
    new = fake.runs()[before:]
    assert "make python.wasm wasm32-emscripten" in new, new
    assert "make python wasm32-emscripten" not in new, new


def test_failed_configure_shows_log_tail_and_is_redone(fake):
    y = fake.targets / "wasm32-emscripten.yaml"
    good = y.read_text()
    fake.edit_target("wasm32-emscripten.yaml", lambda d: d["configure"]["args"].append("--fail-configure"))
    out = fake.doit("host:emscripten", check=False)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "configure: error: asked to fail" in text and "configure_host-emscripten.log" in text
    assert not (fake.cross_build / "wasm32-emscripten" / "Makefile").exists()
    y.write_text(good)
    fake.doit("host:emscripten")
    assert (fake.cross_build / "wasm32-emscripten" / "python.js").exists()


def test_unsupported_version_is_one_clear_line(fake):
    (fake.src / "Include" / "patchlevel.h").write_text('#define PY_VERSION "3.12.1"\n')
    out = fake.doit("host:emscripten", check=False)
    assert out.returncode != 0
    assert "CPython 3.12.1" in out.stdout + out.stderr and "supported: >=3.13" in out.stdout + out.stderr


def test_not_a_cpython_tree(fake, tmp_path):
    out = subprocess.run([sys.executable, "-m", "doit", "list", f"cpython={tmp_path}"], cwd=PROJECT,
                         capture_output=True, text=True, env=fake.env())
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "not a CPython source tree" in out.stderr
    assert "Traceback" not in out.stderr


def test_concurrent_run_on_same_cross_build_stops(fake):
    import fcntl
    fake.doit("list")                                   # creates the state dir, takes no lock
    state = fake.cross_build / ".wasmbuild"
    with open(state / "lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("4242")
        held.flush()
        out = fake.doit("host:emscripten", check=False)
        listing = fake.doit("list")                      # read-only commands still work
    assert out.returncode == 2
    assert "another wasmbuild run (pid 4242) holds" in out.stderr and str(fake.cross_build) in out.stderr
    assert "host" in listing.stdout
    fake.doit("host:emscripten")                         # lock released: runs


def test_the_lock_follows_the_doit_command_not_the_words_of_its_command_line(fake):
    """Whether a run takes the cross-build lock is decided by the command doit runs:
    `doit run:wasi -- -c list` runs (its last word is the interpreter's), `doit list`
    and `doit info` only read, `doit clean` removes files."""
    import fcntl
    fake.doit("list")
    with open(fake.cross_build / ".wasmbuild" / "lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("4242")
        held.flush()
        listing = fake.doit("list")
        info = fake.doit("info", "host:wasi", check=False)
        run = fake.doit("run:wasi", "--", "-c", "list", check=False)
        clean = fake.doit("clean", "host:wasi", check=False)
        forget = fake.doit("forget", "host:wasi", check=False)
    assert any(line.split()[0] == "run" for line in listing.stdout.splitlines() if line.strip())
    assert "another wasmbuild run" not in info.stderr and "make_host:wasi" in info.stdout
    for out in (run, clean, forget):
        assert out.returncode == 2, (out.args, out.stdout, out.stderr)
        assert "another wasmbuild run (pid 4242) holds" in out.stderr
    assert fake.runs() == []                             # nothing was built
    fake.doit("run:wasi", "--", "-c", "list")            # lock released: builds, then runs
    assert fake.runs()[-1].endswith("python.wasm -c list"), fake.runs()

def test_clean_removes_what_the_target_produced_and_nothing_else(fake):
    fake.doit("host:emscripten")
    fake.doit("host:wasi")
    bdir = fake.cross_build / "wasm32-emscripten"
    assert bdir.exists()
    fake.doit("clean", "host:emscripten")
    assert not bdir.exists()
    assert (fake.cross_build / "wasm32-wasip1" / "python.wasm").exists()
    assert (fake.cross_build / "build" / "python").exists()
    assert (fake.src / "Objects" / "listobject.c").exists()
    fake.doit("host:emscripten")                      # and it builds again
    assert (bdir / "python.js").exists()


def test_setup_local_for_314_is_written_in_the_build_dir_never_in_the_source(fake):
    (fake.src / "Include" / "patchlevel.h").write_text('#define PY_VERSION "3.14.0"\n')
    fake.doit("configure_host:wasi")
    written = fake.cross_build / "wasm32-wasip1" / "Modules" / "Setup.local"
    assert written.read_text().startswith("# Generated by wasmbuild")
    assert "statically build" in written.read_text()
    assert not (fake.src / "Modules" / "Setup.local").exists()
    # a Setup.local the user keeps in the source is neither read nor touched
    (fake.src / "Modules").mkdir(exist_ok=True)
    (fake.src / "Modules" / "Setup.local").write_text("# mine\n*shared*\n")
    fake.doit("clean", "configure_host:wasi")
    fake.doit("configure_host:wasi")
    fake.doit("clean", "configure_host:wasi")
    assert (fake.src / "Modules" / "Setup.local").read_text() == "# mine\n*shared*\n"


def test_313_writes_no_setup_local(fake):
    fake.doit("host:wasi")
    assert not (fake.src / "Modules" / "Setup.local").exists()


def test_314_overlay_selects_its_layout(fake):
    import shutil
    shutil.rmtree(fake.src)
    fakes.make_cpython_tree(fake.src, "3.14.0", layout="3.14.0")
    out = fake.doit("info", "configure_host:emscripten-forky", check=False).stdout
    assert "Tools/wasm/emscripten/config.site-wasm32-emscripten" in out
    listing = fake.doit("list", "--all").stdout
    assert "dep:emscripten-forky-mpdecimal" in listing


def test_missing_system_toolchain_says_how_to_get_one(fake):
    (fake.bin / "emcc").unlink()
    out = fake.doit("host:emscripten", check=False)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "emcc not found on PATH" in text and "emsdk" in text and "provider=debian-root" in text
    assert "Traceback" not in text


def test_too_old_node_is_refused(fake):
    (fake.bin / "node").write_text("#!/bin/sh\necho v16.20.0\n")
    out = fake.doit("host:emscripten", check=False)
    assert out.returncode != 0
    assert "node 16.20.0 is too old: emscripten needs >= 18" in out.stdout + out.stderr


def test_old_emscripten_warns_naming_what_breaks(fake):
    (fake.bin / "emcc").write_text('#!/bin/sh\necho "emcc (Emscripten gcc/clang-like replacement) 3.1.69 (fake)"\n')
    out = fake.doit("toolchain:emscripten")
    assert "warning: emcc 3.1.69 < 3.1.73" in out.stderr and "web example" in out.stderr


def test_run_task_passes_arguments_to_python_sh(fake):
    fake.doit("host:wasi")
    sh = fake.cross_build / "wasm32-wasip1" / "python.sh"
    # the fake wasmtime records its arguments: run:wasi must hand ours to python.sh
    fake.reset_runs()
    fake.doit("run:wasi", "--", "-c", "print(1)")
    runs = fake.runs()
    assert runs and runs[-1].startswith("wasmtime run") and runs[-1].endswith("python.wasm -c print(1)"), runs
    assert sh.exists()


def test_toolchain_stamp_digest_does_not_depend_on_the_cache_dir(tmp_path, monkeypatch):
    """Runs with another WASMBUILD_CACHE (the bench, the stress script) share the root:
    its stamp must not flip between them (each flip was a re-provisioning, and made a
    no-op run run the toolchain tasks)."""
    import fakes
    from wasmbuild.plan import Settings, make_plan
    tree = fakes.make_cpython_tree(tmp_path / "cpython")
    digests, envs = set(), []
    for cache in ("one", "two"):
        monkeypatch.setenv("WASMBUILD_CACHE", str(tmp_path / cache))
        tp = make_plan(Settings(cpython=str(tree))).toolchains["emscripten"]
        digests.add(tp.digest)
        envs.append(tp.sandbox.env["CCACHE_DIR"])
    assert len(digests) == 1 and envs[0] != envs[1]


def test_header_the_makefile_does_not_list_reaches_the_interpreter(fake):
    """Objects/clinic/listobject.c.h is no prerequisite in the Makefile (as in CPython's):
    the object that the compiler's dependency file says read it is removed, then made."""
    fake.doit("host:emscripten")
    build = fake.cross_build / "wasm32-emscripten"
    assert (build / "Objects" / "listobject.d").exists()       # the make args carry -MMD
    header = fake.src / "Objects" / "clinic" / "listobject.c.h"
    header.write_text(header.read_text().replace("Append object", "Append one object"))
    fake.reset_runs()
    out = fake.doit("host:emscripten")
    assert "Append one object" in (build / "python.js").read_text()
    assert "compile Objects/listobject.o wasm32-emscripten" in fake.runs()
    assert not any(r.startswith("configure") for r in fake.runs())
    row = next(l for l in out.stdout.splitlines() if l.strip().startswith("ok") and "make_host:emscripten" in l)
    assert "rebuilt Objects/listobject.o: Objects/clinic/listobject.c.h changed" in row, out.stdout
    # a touch changes nothing, so nothing runs
    header.touch()
    assert ran(fake.doit("host:emscripten")) == []


def test_without_dependency_data_make_decides_and_says_so(fake):
    fake.doit("host:emscripten")
    build = fake.cross_build / "wasm32-emscripten"
    (build / "Objects" / "listobject.d").unlink()          # as objects built before -MMD
    header = fake.src / "Objects" / "clinic" / "listobject.c.h"
    header.write_text(header.read_text() + "/* edited */\n")
    out = fake.doit("host:emscripten")
    assert "no dependency data for 1 objects yet" in out.stderr
    assert "edited" not in (build / "python.js").read_text()        # make's own view: stale


def test_edited_configure_is_not_answered_from_the_old_config_cache(fake):
    """The persistent config.cache is keyed by configure's content too (CPython gh-139596):
    after an edit, configure finds its new answer. The cache of the old configure, which a
    key without its content would have restored, holds the stale one."""
    fake.doit("host:emscripten")
    makefile = fake.cross_build / "wasm32-emscripten" / "Makefile"
    assert "FAKE_ANSWER=1" in makefile.read_text()
    configure = fake.src / "configure"
    configure.write_text(configure.read_text().replace("# answer: 1", "# answer: 2"))
    fake.doit("host:emscripten")
    assert "FAKE_ANSWER=2" in makefile.read_text()
    answers = sorted(p.read_text().strip() for p in (fake.cache / "config-cache").glob("*.cache"))
    # build Python and target, before and after the edit: the old entries hold the stale 1
    assert answers.count("ac_cv_fake_answer=1") == 2 and answers.count("ac_cv_fake_answer=2") == 2, answers


def test_configure_patches_edit_a_copy_run_with_a_relative_srcdir(fake):
    """configure.patches: configure is edited in a copy in the build dir, which runs with
    --srcdir relative to it (as an out-of-tree build's own); the source is not written."""
    original = (fake.src / "configure").read_text()

    def patch(data):
        data["configure"]["patches"] = [{"why": "the answer differs here",
                                         "replace": [{"old": "# answer: 1", "new": "# answer: 7"}]}]
    fake.edit_target("wasm32-emscripten.yaml", patch)
    fake.doit("host:emscripten")
    bdir = fake.cross_build / "wasm32-emscripten"
    assert "FAKE_ANSWER=7" in (bdir / "Makefile").read_text()
    assert "--srcdir=../.." in (bdir / "configure.args").read_text().split()
    assert (fake.src / "configure").read_text() == original

    def bad_patch(data):
        data["configure"]["patches"][0]["replace"][0]["old"] = "# no such text"
    fake.edit_target("wasm32-emscripten.yaml", bad_patch)
    out = fake.doit("host:emscripten", check=False)
    assert out.returncode != 0
    lines = [l for l in (out.stdout + out.stderr).splitlines() if "configure.patches[0]" in l]
    assert lines and "not found" in lines[0] and "limit it with an overlay" in lines[0], out.stdout + out.stderr


def test_site_vars_are_read_after_the_config_site_and_reconfigure_only_that_host(fake):
    """configure.site_vars: wasmbuild's own answers, in a site script in the build dir that
    CONFIG_SITE lists after the tree's config.site (the source is not written)."""
    fake.doit("host:emscripten", "host:wasi")
    bdir = fake.cross_build / "wasm32-emscripten"
    assert (bdir / "configure.site-answers").read_text().strip() == "ac_cv_fake_site=unset"
    fake.edit_target("wasm32-emscripten.yaml",
                     lambda d: d["configure"].update(site_vars={"ac_cv_fake_site": "from the yaml"}))
    fake.reset_runs()
    out = fake.doit("host:emscripten", "host:wasi")
    assert "configure_host:emscripten" in ran(out) and "configure_host:wasi" not in ran(out)
    assert (bdir / "configure.site-answers").read_text().strip() == "ac_cv_fake_site=from the yaml"
    assert [p.relative_to(fake.cross_build) for p in fake.src.rglob("config.site-wasmbuild")] \
        == [Path("wasm32-emscripten/config.site-wasmbuild")]
    fake.reset_runs()
    assert "configure_host:emscripten" not in ran(fake.doit("host:emscripten"))     # a no-op


def test_make_inputs_are_written_before_make_and_a_change_relinks_only_the_interpreter(fake):
    # make.inputs (the dynamic linker's JS library, templates/dylink-startup.js.j2):
    # rendered into the build dir, which the link reads; make's rule (an --eval in the
    # YAML's make.args) relinks python.js when its text changes, and only then
    fake.doit("host:emscripten")
    library = fake.cross_build / "wasm32-emscripten" / "wasmbuild-dylink.js"
    assert "entry.value == 0)" in library.read_text()
    fake.reset_runs()
    assert ran(fake.doit("host:emscripten")) == [] and fake.runs() == []
    # a variable the inputs do not use: their text is the same, make is not run
    fake.edit_target("wasm32-emscripten.yaml", lambda d: d["vars"].update(web_side_modules={"_codecs_jp": {"sources": ["Modules/cjkcodecs/_codecs_jp"]}}))
    assert "make_host:emscripten" not in ran(fake.doit("host:emscripten"))
    fake.edit_target("wasm32-emscripten.yaml", lambda d: d["vars"].update(dylink_got_unset="-1"))
    out = fake.doit("host:emscripten")
    assert "entry.value == -1)" in library.read_text()
    assert "make_host:emscripten" in ran(out)
    assert not any(t.startswith("configure") for t in ran(out))
    assert "make python.js wasm32-emscripten" in fake.runs()
    assert "compile Objects/listobject.o wasm32-emscripten" not in fake.runs()


def test_node_snapshot_is_built_from_the_entry_with_the_runners_flags(fake):
    """3.13 on trixie: python.sh's runner loads node_entry.blob, which node_snapshot: builds
    from node_entry.cjs with the runner's own node command (V8 refuses a snapshot made with
    other flags); again when the entry, the runner or the toolchain changes, not otherwise."""
    bdir = fake.cross_build / "wasm32-emscripten"
    out = fake.doit("host:emscripten")
    assert "node_snapshot:emscripten" in ran(out)
    assert f"node --build-snapshot {bdir / 'node_entry.cjs'}" in fake.runs()
    # the fake node copies the entry into the snapshot
    assert (bdir / "node_entry.blob").read_text() == (bdir / "node_entry.cjs").read_text()
    assert not (bdir / "node_entry.blob.partial").exists()
    assert f"--snapshot-blob {bdir / 'node_entry.blob'}" in (bdir / "python.sh").read_text()
    fake.reset_runs()
    assert ran(fake.doit("host:emscripten")) == [] and fake.runs() == []

    def flags(data):
        i = data["runner"].index("--wasm-tiering-budget=18000000")
        data["runner"][i] = "--wasm-tiering-budget=9000000"
    fake.edit_target("wasm32-emscripten.yaml", flags)
    out = fake.doit("host:emscripten")
    assert {"loaders:emscripten", "node_snapshot:emscripten"} <= set(ran(out))
    assert "make_host:emscripten" not in ran(out)

    (fake.bin / "emcc").write_text('#!/bin/sh\necho "emcc (Emscripten gcc/clang-like replacement) 3.1.80 (fake)"\n')
    assert "node_snapshot:emscripten" in ran(fake.doit("host:emscripten"))


def test_an_included_template_rerenders_the_loaders_that_include_it(fake, tmp_path):
    """A template's {% include %}s are no file of its task: the loaders task knows them
    by the text they render."""
    import shutil
    templates = tmp_path / "templates"
    shutil.copytree(PROJECT / "templates", templates)
    bdir = fake.cross_build / "wasm32-emscripten"
    fake.doit("host:emscripten", extra_vars=[f"templates={templates}"])
    with open(templates / "_exit_status.js.j2", "a") as f:
        f.write("// an edit of the included part\n")
    out = fake.doit("host:emscripten", extra_vars=[f"templates={templates}"])
    assert {"loaders:emscripten", "node_snapshot:emscripten"} <= set(ran(out))
    assert "make_host:emscripten" not in ran(out)
    assert "// an edit of the included part" in (bdir / "node_entry.cjs").read_text()
