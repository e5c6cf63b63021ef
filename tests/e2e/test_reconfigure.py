"""Configure arguments changed in a target's YAML: that host reconfigures (with fresh
configure answers: the saved config.cache is keyed by the arguments), make-host follows;
the build Python, the dependencies and the toolchain are left alone.

Stage "reconfigure": after the edits, before the toolchain change. The build is not put
back to the project's arguments (that would be a second full configure).

WASI's, the cheaper configure (the mechanism is the same for every target: Emscripten's
took 7 minutes of CI for the same assertions). The test adds a configure variable with a
token new to every run: answers that an earlier run on this machine saved for the same
arguments are rightly reused, and the test is about answers saved for the old arguments."""
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
    token = f"WASMBUILD_E2E_RUN={uuid.uuid4().hex}"
    targets = targets_copy(tmp_path, lambda d: d["configure"]["args"].extend(["--without-doc-strings", token]))
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
    assert "configure_host:wasi" in steps and "make_host:wasi" in steps, steps
    assert not [s for s in steps if re.match(r"(build_python|dep|toolchain|source):", s)], steps
    # not the old arguments' answers
    assert "creating cache config.cache" in wasi.log("configure_host:wasi")
    conf = wasi.py("-c", "import sysconfig; print(sysconfig.get_config_var('CONFIG_ARGS'))")
    assert "--without-doc-strings" in conf.stdout and token in conf.stdout, conf.stdout + conf.stderr
    doc = wasi.py("-c", "print(repr(len.__doc__))")
    assert doc.stdout.strip() == "None", doc.stdout + doc.stderr
    again = doit(*args)
    assert ran(again) == [], again.stdout
    record("reconfigure-wasi", {"wall": f"{out.seconds:.1f}s", "ran": steps})
