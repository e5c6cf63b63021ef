"""Configure arguments changed in a target's YAML: that host reconfigures (with fresh
configure answers: the saved config.cache is keyed by the arguments), make-host follows;
the build Python, the dependencies and the toolchain are left alone.

Stage "reconfigure": after the edits, before the toolchain change, which reconfigures
emscripten anyway. The builds are not put back to the project's arguments (that would be
a second full configure, about 4 minutes on 2 cores).

The emscripten test adds a configure variable with a token new to every run: answers that
an earlier run on this machine saved for the same arguments are rightly reused, and the
test is about answers saved for the old arguments."""
import os
import re
import signal
import time
import uuid

import pytest

from e2e_util import doit, log_of, ran, record, start, targets_copy, wait_for

pytestmark = pytest.mark.stage("reconfigure")


def test_configure_args_change_reconfigures_that_host_only(wasi, tmp_path):
    """... even when the first run of that configure is stopped by Ctrl-C half-way."""
    targets = targets_copy(tmp_path, lambda d: d["configure"]["args"].append("--without-doc-strings"))
    args = ("host:wasi", f"cpython={wasi.source}", f"targets={targets}")
    since = time.time()
    proc = start(*args, output=tmp_path / "interrupted.out")
    wait_for(lambda: log_of(wasi.source, "configure_host:wasi", since).count("checking ") >= 40,
             300, "configure_host:wasi to be half-way")
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) != 0
    assert not (wasi.build_dir / "Makefile").exists()      # no Makefile that looks finished
    out = doit(*args)
    steps = ran(out)
    assert "configure_host:wasi" in steps and "make_host:wasi" in steps
    assert not any(s.startswith("build_python") for s in steps), steps
    doc = wasi.py("-c", "print(repr(len.__doc__))")
    assert doc.stdout.strip() == "None", doc.stdout + doc.stderr
    record("reconfigure-wasi", {"wall": f"{out.seconds:.1f}s", "ran": steps})




def test_configure_args_change_reconfigures_that_host_only_emscripten(emscripten, tmp_path):
    before = emscripten.py("-c", "import _testcapi; print('test modules')")
    assert before.stdout.strip() == "test modules", before.stdout + before.stderr
    token = f"WASMBUILD_E2E_RUN={uuid.uuid4().hex}"
    targets = targets_copy(tmp_path, lambda d: d["configure"]["args"].extend(["--disable-test-modules", token]),
                           "wasm32-emscripten.yaml")
    out = emscripten.doit("host:emscripten", f"targets={targets}")
    steps = ran(out)
    assert "configure_host:emscripten" in steps and "make_host:emscripten" in steps, steps
    assert not [s for s in steps if re.match(r"(build_python|dep|toolchain|source):", s)], steps
    # not the old arguments' answers
    assert "creating cache config.cache" in emscripten.log("configure_host:emscripten")
    args = emscripten.py("-c", "import sysconfig; print(sysconfig.get_config_var('CONFIG_ARGS'))")
    assert "--disable-test-modules" in args.stdout and token in args.stdout, args.stdout + args.stderr
    after = emscripten.py("-c", "import _testcapi")
    assert "No module named '_testcapi'" in after.stderr, after.stdout + after.stderr
    again = emscripten.doit("host:emscripten", f"targets={targets}")
    assert ran(again) == [], again.stdout
    record("reconfigure-emscripten", {"wall": f"{out.seconds:.1f}s", "ran": steps})
