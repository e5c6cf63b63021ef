"""The real wasm32-emscripten build of CPython 3.13.5, end to end."""
import os
import re
import shutil
import subprocess
import zipfile

from e2e_util import check_regrtest, ran, record

IMPORTS = "import ctypes, decimal, zlib, bz2, sqlite3, json, hashlib, _decimal; " \
          "print(decimal.Decimal(1) / 7, decimal.__name__, type(decimal.Context()).__module__)"


def test_platform(emscripten):
    out = emscripten.py("-c", "import sys, os; print(sys.platform, os.uname().machine)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "emscripten wasm32"


def test_modules_import_and_decimal_is_c(emscripten):
    out = emscripten.py("-c", IMPORTS)
    assert out.returncode == 0, out.stderr
    # the C implementation's Context lives in module 'decimal' (via _decimal), the pure
    # Python one in '_pydecimal'
    assert out.stdout.split() == ["0.1428571428571428571428571429", "decimal", "decimal"], out.stdout
    ctypes_call = emscripten.py("-c", "import ctypes; print(ctypes.c_int(41).value + 1)")
    assert ctypes_call.stdout.strip() == "42", ctypes_call.stderr


def test_script_file_exit_code_and_stdin(emscripten, tmp_path):
    script = tmp_path / "hello.py"
    script.write_text("import sys\nprint('script says', sys.argv[1:])\n")
    out = emscripten.py(str(script), "a", "b", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "script says ['a', 'b']"
    assert emscripten.py("-c", "raise SystemExit(3)").returncode == 3
    echoed = emscripten.py("-c", "import sys; print(sys.stdin.read().upper())", input="from stdin\n")
    assert echoed.stdout.strip() == "FROM STDIN", echoed.stderr


def test_stdlib_zip_alone_is_enough(emscripten, tmp_path):
    """Only python.js/.wasm and the zip (plus an empty os.py landmark, as the official
    bundle has): no Lib/, no source tree, no build dir in the sandbox."""
    from wasmbuild.plan import Settings, make_plan
    plan = make_plan(Settings(cpython=str(emscripten.source)))
    sandbox = plan.targets["emscripten"].toolchain.sandbox
    bundle = tmp_path / "bundle"
    (bundle / "bin").mkdir(parents=True)
    (bundle / "lib" / "python3.13" / "lib-dynload").mkdir(parents=True)
    (bundle / "lib" / "python3.13" / "os.py").write_text("")          # landmark only
    for name in ("python.js", "python.wasm"):
        shutil.copy(emscripten.build_dir / name, bundle / "bin" / name)
    zip_path = emscripten.build_dir / "python313.zip"
    shutil.copy(zip_path, bundle / "lib" / "python313.zip")
    code = ("import json, email.message, sys, os; m = email.message.EmailMessage(); "
            "m['Subject'] = 'hi'; print(json.dumps({'subject': m['Subject']}), "
            "json.__file__.startswith(sys.prefix + '/lib/python313.zip'), "
            "email.__file__.startswith(sys.prefix + '/lib/python313.zip'), os.sep)")
    argv, env = sandbox.command(["/usr/bin/node", "--stack-size=7800", str(bundle / "bin" / "python.js"),
                                 "-c", code], bundle, rw=[bundle])
    import subprocess
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '{"subject": "hi"} True True /', out.stdout
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
    assert not any(n.startswith(("test/", "ensurepip/", "venv/", "http/")) for n in names)
    assert all(n.endswith(".pyc") for n in names)
    assert any(n.startswith("_sysconfigdata_") for n in names)
    assert {zf.compress_type for zf in zipfile.ZipFile(zip_path).infolist()} == {zipfile.ZIP_DEFLATED}
    record("sizes-emscripten", {n: (emscripten.build_dir / n).stat().st_size
                                for n in ("python.js", "python.wasm", "python313.zip")})


def test_launcher_answers_configures_probe_as_the_build_python_does(emscripten):
    """configure-host ran the launcher, which answers configure's version probe without
    the build Python: its answer must be the build Python's, to this configure's question."""
    from wasmbuild.plan import Settings, make_plan
    plan = make_plan(Settings(cpython=str(emscripten.source)))
    launcher = plan.project.build_python.launcher.output
    assert f"--with-build-python={launcher}" in (emscripten.build_dir / "config.log").read_text()
    configure = (emscripten.source / "configure").read_text()
    probe = re.search(r'build_python_ver=\$\(\$with_build_python -c "([^"$`\\]*)"\)', configure)
    assert probe, "configure's version probe changed: the launcher would not answer it"
    answer = subprocess.run([launcher, "-c", probe.group(1)], capture_output=True, text=True)
    argv, env = plan.native.sandbox.command([str(plan.build_python), "-c", probe.group(1)],
                                            plan.build_python_dir, ro=[plan.source.path])
    real = subprocess.run(argv, env=env, cwd=plan.build_python_dir, capture_output=True, text=True)
    assert answer.stdout == real.stdout == f"{plan.source.major_minor}\n", (answer, real)
    # the rest goes to the build Python (run in the toolchain root, as make-host does)
    argv, env = plan.native.sandbox.command([launcher, "-c", "import sys; print(sys.executable)"],
                                            plan.build_python_dir, ro=[plan.source.path])
    out = subprocess.run(argv, env=env, cwd=plan.build_python_dir, capture_output=True, text=True)
    assert out.stdout.strip() == str(plan.build_python), out


def test_regrtest_subset(emscripten):
    check_regrtest(emscripten, "emscripten", "emscripten wasm32")


def test_noop_rebuild_runs_nothing(emscripten):
    out = emscripten.doit("host:emscripten")
    assert ran(out) == [], out.stdout
    record("noop-emscripten", f"{out.seconds:.2f}s")


def test_package_runs_wherever_it_is_unpacked(emscripten, tmp_path):
    """package:emscripten: the tarball, unpacked in a folder the build never knew (with a
    space in its name), runs Python from its own stdlib zip; its sums check. (Two builds
    in two folders giving the same bytes: bench/remote.py, bench/REMOTE.md.)"""
    import hashlib
    import tarfile
    from wasmbuild import plan as plans, variables
    emscripten.doit("package:emscripten")
    tarball = emscripten.source / "cross-build" / "packages" / "python-3.13.5-emscripten.tar.gz"
    first = hashlib.sha256(tarball.read_bytes()).hexdigest()
    emscripten.doit("forget", "package:emscripten")
    emscripten.doit("package:emscripten")
    assert hashlib.sha256(tarball.read_bytes()).hexdigest() == first       # the same bytes again
    place = tmp_path / "a place"
    place.mkdir()
    with tarfile.open(tarball) as tf:
        tf.extractall(place, filter="tar")
    top = place / "python-3.13.5-emscripten"
    for line in (top / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split("  ")
        assert hashlib.sha256((top / rel).read_bytes()).hexdigest() == digest, rel
    # node is the toolchain root's: run the launcher there, the package bound at its own path
    sandbox = plans.make_plan(variables.settings({})).toolchains["emscripten"].sandbox
    argv, env = sandbox.command([str(top / "python"), "-c", "import sys, json, decimal; print(sys.prefix); "
                                 "print(sys.path[1]); print(sys.version)"], place, rw=[place])
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    prefix, zip_path, version = out.stdout.splitlines()
    assert prefix == str(top) and zip_path == str(top / "lib" / "python313.zip"), out.stdout
    assert version.startswith("3.13.5 ") and not out.stderr, out.stderr


def test_python_sh_returns_pythons_status_with_all_output(emscripten, tmp_path):
    """python.sh ends Node as soon as Python has exited (vars.exit_status_fd): the exit
    status is Python's, and nothing written before is lost, to a pipe or to a file."""
    assert emscripten.py("-c", "import sys; sys.exit(5)").returncode == 5
    assert emscripten.py("-c", "import os; os._exit(7)").returncode == 7
    failed = emscripten.py("-c", "1/0")
    assert failed.returncode == 1 and "ZeroDivisionError" in failed.stderr
    big = "import sys; print('x' * (1 << 20)); sys.stdout.write('tail'); sys.stderr.write('err')"
    out = emscripten.py("-c", big)
    assert (out.returncode, len(out.stdout), out.stdout[-5:], out.stderr) == (0, (1 << 20) + 5, "\ntail", "err")
    dest = tmp_path / "out.txt"
    with open(dest, "w") as f:
        rc = subprocess.run([str(emscripten.python_sh), "-c", big], stdout=f, stderr=subprocess.DEVNULL).returncode
    assert rc == 0 and dest.stat().st_size == (1 << 20) + 5
    # the descriptor's name is python.sh's and Node's, not the interpreter's
    env = emscripten.py("-c", "import os; print(sorted(k for k in os.environ if 'WASMBUILD' in k))")
    assert env.stdout.strip() == "[]", env.stdout


def test_a_relinked_python_js_is_run_without_a_new_snapshot(emscripten):
    """The Node snapshot holds python.js compiled (node_snapshot.inputs); once the file is
    another, the entry compiles the file, so a relink without the snapshot task (make run by
    hand) still runs what was linked."""
    python_js = emscripten.build_dir / "python.js"
    assert (emscripten.build_dir / "node_entry.blob").is_file()
    assert "--snapshot-blob" in emscripten.python_sh.read_text()
    text, times = python_js.read_bytes(), python_js.stat()
    try:
        python_js.write_bytes(text + b'\nconsole.error("the file, not the snapshot");\n')
        out = emscripten.py("-c", "print(6 * 7)")
        assert out.stdout.strip() == "42" and "the file, not the snapshot" in out.stderr, out
    finally:
        python_js.write_bytes(text)
        os.utime(python_js, ns=(times.st_atime_ns, times.st_mtime_ns))
    out = emscripten.py("-c", "print(6 * 7)")
    assert out.stdout.strip() == "42" and "the file" not in out.stderr, out
