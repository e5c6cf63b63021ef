"""python.sh starts the interpreter in the sandbox that the build's commands run in: its
bwrap options are Sandbox.bwrap_options, plus what only the script knows when it runs."""
import os
import subprocess
from pathlib import Path

from fakes import PROJECT
from wasmbuild.render import render_template
from wasmbuild.sandbox import Sandbox


def _sandbox(tmp_path) -> Sandbox:
    return Sandbox("debian-root", tmp_path / "root", env={"CCACHE_DIR": str(tmp_path / "ccache"), "X": "a b"},
                   path=["/opt/tool/bin"], writable=["/opt/tool/cache"], host_rw=[str(tmp_path / "ccache")])


def _python_sh_argv(tmp_path, sb: Sandbox, source: Path, cross_build: Path, *args, env=()) -> list[str]:
    """The bwrap argv that python.sh (rendered for `sb`) runs, caught by a fake bwrap."""
    script = tmp_path / "python.sh"
    script.write_text(render_template(PROJECT / "templates", "python.sh.j2", {
        "target": "wasi", "triple": "wasm32-wasip1", "build_dir": str(cross_build),
        "runner": ["wasmtime", "run", "python.wasm"],
        "sandbox": sb.interpreter(source, rw=[cross_build])}))
    fake = tmp_path / "fakebwrap"
    fake.mkdir(exist_ok=True)
    (fake / "bwrap").write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    (fake / "bwrap").chmod(0o755)
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "WASMBUILD"))}
    run_env.update(PATH=f"{fake}:{os.environ['PATH']}", **dict(env))
    out = subprocess.run(["bash", str(script), *args], cwd=cross_build, env=run_env,
                         capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def _options(argv: list[str]) -> list[list[str]]:
    """bwrap's argv as its options, each with its values (up to `--`)."""
    arity = {"--ro-bind": 2, "--bind": 2, "--dev": 1, "--proc": 1, "--tmpfs": 1, "--perms": 1,
             "--chdir": 1, "--setenv": 2}
    out, i = [], 0
    while argv[i] != "--":
        n = arity.get(argv[i], 0)
        out.append(argv[i:i + 1 + n])
        i += 1 + n
    return out


def test_python_sh_runs_the_interpreter_with_the_builds_bwrap_options(tmp_path):
    sb = _sandbox(tmp_path)
    source, cross_build = tmp_path / "cpython", tmp_path / "cpython" / "cross-build"
    cross_build.mkdir(parents=True)
    argv = _python_sh_argv(tmp_path, sb, source, cross_build, "-c", "print(1)")
    build, _ = sb.command(["python3"], cross_build, rw=[cross_build], ro=[source])
    ours, theirs = _options(argv), _options(build[1:])
    ccache = ["--bind", str(tmp_path / "ccache"), str(tmp_path / "ccache")]
    private_tmp = [["--perms", "1777"], ["--tmpfs", "/tmp"]]
    # the same root, /dev, /proc, writable paths, source, cross-build dir and environment ...
    shared = [o for o in theirs if o not in [*private_tmp, ccache, ["--unshare-pid"]]
              and o[0] != "--chdir"]
    assert all(o in ours for o in shared), [o for o in shared if o not in ours]
    assert ours[:3] == shared[:3] == [["--ro-bind", str(tmp_path / "root"), "/"], ["--dev", "/dev"],
                                      ["--proc", "/proc"]]
    # (not the ccache dir: running the interpreter compiles nothing; and the caller's pid
    # namespace, as always)
    assert ccache not in ours and ["--unshare-pid"] not in ours
    # ... but the host's /tmp, the caller's folder as the working directory, and PYTHON*
    assert ["--bind", "/tmp", "/tmp"] in ours and ["--tmpfs", "/tmp"] not in ours
    assert ["--bind", str(cross_build), str(cross_build)] in ours
    assert ["--chdir", str(cross_build)] in ours
    assert argv[argv.index("--") + 1:] == ["wasmtime", "run", "python.wasm", "-c", "print(1)"]
    with_env = _options(_python_sh_argv(tmp_path, sb, source, cross_build, env={"PYTHONFOO": "1"}))
    assert with_env[-1] == ["--setenv", "PYTHONFOO", "1"]


def test_python_sh_binds_the_test_runners_copy_over_the_source(tmp_path):
    """WASMBUILD_SOURCE_VIEW: a writable copy takes the read-only source's place, before
    the cross-build dir inside it is bound (or the copy would hide the build)."""
    sb = _sandbox(tmp_path)
    source, cross_build = tmp_path / "cpython", tmp_path / "cpython" / "cross-build"
    cross_build.mkdir(parents=True)
    view = tmp_path / "view"
    plain = _options(_python_sh_argv(tmp_path, sb, source, cross_build))
    viewed = _options(_python_sh_argv(tmp_path, sb, source, cross_build,
                                      env={"WASMBUILD_SOURCE_VIEW": str(view)}))
    ro = ["--ro-bind", str(source), str(source)]
    assert ro in plain and ro not in viewed
    assert viewed[plain.index(ro)] == ["--bind", str(view), str(source)]
    assert viewed.index(["--bind", str(view), str(source)]) \
        < viewed.index(["--bind", str(cross_build), str(cross_build)])
