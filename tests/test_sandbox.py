"""python.sh starts the interpreter as a program on the host: the host's file system with
the toolchain's /usr in it (Sandbox.interpreter), plus what only the script knows when it runs."""
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
    arity = {"--ro-bind": 2, "--bind": 2, "--dev-bind": 2, "--symlink": 2, "--dev": 1, "--proc": 1,
             "--tmpfs": 1, "--perms": 1, "--chdir": 1, "--setenv": 2, "--unsetenv": 1}
    out, i = [], 0
    while argv[i] != "--":
        n = arity.get(argv[i], 0)
        out.append(argv[i:i + 1 + n])
        i += 1 + n
    return out


def _root(tmp_path) -> Path:
    """A toolchain root shaped as debootstrap makes one: merged /usr, its own dynamic
    linker cache and alternatives, and wasmbuild's /opt/wasmbuild."""
    root = tmp_path / "root"
    for d in ("usr/bin", "usr/lib", "etc/alternatives", "opt/wasmbuild/bin", "opt/tool/cache"):
        (root / d).mkdir(parents=True)
    (root / "etc" / "ld.so.cache").write_text("")
    for link in ("bin", "lib"):
        (root / link).symlink_to(f"usr/{link}")
    return root


def test_python_sh_sees_the_host_with_the_toolchains_usr(tmp_path):
    sb = _sandbox(tmp_path)
    root = _root(tmp_path)
    source, cross_build = tmp_path / "cpython", tmp_path / "cpython" / "cross-build"
    cross_build.mkdir(parents=True)
    argv = _python_sh_argv(tmp_path, sb, source, cross_build, "-c", "print(1)")
    ours = _options(argv)
    # the host's whole file system, its /dev, a /proc, and the root read-only at its path
    assert ours[:4] == [["--bind", "/", "/"], ["--dev-bind", "/dev", "/dev"], ["--proc", "/proc"],
                        ["--ro-bind", str(root), str(root)]]
    # the toolchain's own paths in the host's place; the root's writable paths writable
    assert ["--ro-bind", str(root / "usr"), "/usr"] in ours
    assert ["--ro-bind", str(root / "etc" / "ld.so.cache"), "/etc/ld.so.cache"] in ours
    assert ["--ro-bind", str(root / "etc" / "alternatives"), "/etc/alternatives"] in ours
    assert ["--bind", str(root / "opt/tool/cache"), "/opt/tool/cache"] in ours
    # the source is the user's, writable: nothing binds it read-only
    assert not [o for o in ours if o[0] == "--ro-bind" and o[-1] == str(source)]
    # nothing is bound from the root's own folders, nor a build's private /tmp or ccache
    assert ["--tmpfs", "/tmp"] not in ours
    assert not [o for o in ours if o[0].endswith("bind") and "ccache" in " ".join(o)]
    assert ["--chdir", str(cross_build)] in ours
    assert argv[argv.index("--") + 1:] == ["wasmtime", "run", "python.wasm", "-c", "print(1)"]
    # the caller's environment is passed on (bwrap keeps it), with the toolchain's variables
    assert ["--setenv", "X", "a b"] in ours and ["--clearenv"] not in ours
    assert ["--setenv", "PATH", "/opt/tool/bin:" + "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] in ours
    assert not [o for o in ours if o[:2] == ["--setenv", "HOME"]]


def test_python_sh_never_creates_a_path_on_the_host(tmp_path):
    """A toolchain path the host lacks (/opt/wasmbuild) goes on a tmpfs over its parent
    that gets the host's entries back, never on a folder made on the host."""
    sb = _sandbox(tmp_path)
    _root(tmp_path)
    source, cross_build = tmp_path / "cpython", tmp_path / "cpython" / "cross-build"
    cross_build.mkdir(parents=True)
    ours = _options(_python_sh_argv(tmp_path, sb, source, cross_build))
    if Path("/opt/wasmbuild").exists():
        assert ["--ro-bind", str(tmp_path / "root/opt/wasmbuild"), "/opt/wasmbuild"] in ours
        return
    tmpfs = ours.index(["--tmpfs", "/opt"])
    after = ours[tmpfs + 1:]
    for entry in os.listdir("/opt"):
        path = f"/opt/{entry}"
        want = ["--symlink", os.readlink(path), path] if os.path.islink(path) else ["--bind", path, path]
        assert want in after, want
    assert ["--ro-bind", str(tmp_path / "root/opt/wasmbuild"), "/opt/wasmbuild"] in after
    assert not Path("/opt/wasmbuild").exists()


def test_python_sh_binds_the_test_runners_copy_over_the_source(tmp_path):
    """WASMBUILD_SOURCE_VIEW: a writable copy takes the source's place, and the cross-build
    dir inside the source is bound again over it (or the copy would hide the build)."""
    sb = _sandbox(tmp_path)
    _root(tmp_path)
    source, cross_build = tmp_path / "cpython", tmp_path / "cpython" / "cross-build"
    cross_build.mkdir(parents=True)
    view = tmp_path / "view"
    plain = _options(_python_sh_argv(tmp_path, sb, source, cross_build))
    viewed = _options(_python_sh_argv(tmp_path, sb, source, cross_build,
                                      env={"WASMBUILD_SOURCE_VIEW": str(view)}))
    assert ["--bind", str(view), str(source)] not in plain
    assert viewed.index(["--bind", str(view), str(source)]) \
        < viewed.index(["--bind", str(cross_build), str(cross_build)])
