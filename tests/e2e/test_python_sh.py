"""python.sh as a program on the host, as upstream's is: files outside the current folder,
any current folder (under /var too), the host's own folders listed with their real
contents, and nothing created in the toolchain root."""
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

SCRIPT = ("import os, sys\n"
          "print(open('../data/x.txt').read().strip())\n"
          "print(os.getcwd())\n"
          "print(sorted(os.listdir(sys.argv[1])))\n")


def _project(parent: Path) -> Path:
    top = parent / f"wasmbuild-e2e-{uuid.uuid4().hex[:8]}"
    (top / "src").mkdir(parents=True)
    (top / "data").mkdir()
    (top / "data" / "x.txt").write_text("the data\n")
    (top / "src" / "s.py").write_text(SCRIPT)
    return top


def _root_entries(b) -> set[str]:
    from wasmbuild.plan import Settings, make_plan
    root = make_plan(Settings(cpython=str(b.source))).targets[b.target].toolchain.sandbox.root
    return {str(p.relative_to(root)) for p in Path(root).glob("*/*")} | set(os.listdir(root))


# WASI too: the guest starts in the caller's folder (PWD; main() changes into it), so a
# script named relatively opens, and os.getcwd() is that folder
@pytest.mark.parametrize("build", ["emscripten", "emscripten_314", "wasi", "wasi_314"])
@pytest.mark.parametrize("where", ["/var/tmp", "~"])
def test_a_script_sees_the_host_from_any_folder(build, where, request, tmp_path):
    b = request.getfixturevalue(build)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "one").write_text("")
    (elsewhere / "two").mkdir()
    top = _project(Path(os.path.expanduser(where)))
    before = _root_entries(b)
    try:
        out = subprocess.run([str(b.python_sh), "s.py", str(elsewhere)], cwd=top / "src",
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.splitlines() == ["the data", str(top / "src"), "['one', 'two']"], out.stdout
        # a file it writes is the user's, where the user put it
        out = subprocess.run([str(b.python_sh), "-c", "open('../data/out.txt', 'w').write('written')"],
                             cwd=top / "src", capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert (top / "data" / "out.txt").read_text() == "written"
    finally:
        shutil.rmtree(top)
    assert _root_entries(b) == before
