"""A different toolchain redoes everything built with it; ccache and configure's
config.cache are what make that affordable. Runs last: it re-provisions the shared
toolchain root with a variant of toolchains/emscripten.yaml, then puts it back.

A new toolchain package changes the toolchain's identity file (package versions,
patches, setup steps, inputs), and everything built with the toolchain depends on that
file. The identity changes here the other way it can: one more setup step, in a copy of
the YAML. It is WASI's toolchain (the same code path as Emscripten's, at a third of the
cost of a cold Emscripten build: the test pays for one cold configure and make). The step
carries a token new to every run, so no earlier run on this machine left configure
answers or ccache entries for that identity: what the build finds must not be the old
toolchain's."""
import json
import re
import shutil
import subprocess
import sys
import uuid

import yaml

import pytest

from e2e_util import PROJECT, ran, record

sys.path.insert(0, str(PROJECT))
from wasmbuild.paths import cache_dir  # noqa: E402
from wasmbuild.plan import Settings, make_plan  # noqa: E402

pytestmark = pytest.mark.stage("toolchain")


def _ccache_stats(sandbox) -> dict[str, int]:
    from pathlib import Path
    argv, env = sandbox.command(["ccache", "--print-stats"], Path("/"), extra_env={})
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    return {k: int(v) for k, v in (l.split("\t") for l in out.splitlines() if "\t" in l) if v.isdigit()}


def test_ccache_is_on_with_an_absolute_wrapper_and_its_own_dir(emscripten):
    plan = make_plan(Settings(cpython=str(emscripten.source)))
    env = plan.toolchains["emscripten"].sandbox.environment()
    assert env["EM_COMPILER_WRAPPER"].startswith("/") and env["EM_COMPILER_WRAPPER"].endswith("ccache")
    assert env["CCACHE_DIR"] == str(cache_dir() / "ccache")
    # that the build really goes through it: the ccache hits counted in the next test


def test_config_cache_is_reused_when_configure_runs_again(wasi):
    """The same configure (toolchain, CPython version, arguments) run again takes its
    answers from the config.cache saved under the user cache."""
    (wasi.build_dir / "Makefile").unlink()             # as an interrupted configure leaves it
    out = wasi.doit("host:wasi")
    assert "configure_host:wasi" in ran(out)
    log = wasi.log("configure_host:wasi")
    assert "loading cache config.cache" in log
    assert len(re.findall(r"\.\.\. \(cached\) ", log)) > 200, log[-2000:]
    assert wasi.py("-c", "print(6 * 7)").stdout.strip() == "42"


def test_a_different_toolchain_redoes_everything_built_with_it(wasi, tmp_path):
    plan = make_plan(Settings(cpython=str(wasi.source)))
    tp = plan.toolchains["wasi"]
    identity_before = tp.identity.read_text()
    stats_before = _ccache_stats(tp.sandbox)
    toolchains = tmp_path / "toolchains"
    shutil.copytree(PROJECT / "toolchains", toolchains)
    data = yaml.safe_load((toolchains / "wasi.yaml").read_text())
    data["providers"]["debian-root"]["setup"].append(
        f"mkdir -p /opt/wasmbuild && echo {uuid.uuid4().hex} > /opt/wasmbuild/e2e-toolchain-variant")
    (toolchains / "wasi.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        out = wasi.doit("host:wasi", f"toolchains={toolchains}")
        steps = ran(out)
        assert tp.identity.read_text() != identity_before
        for step in ("toolchain:wasi", "dep:wasi-zlib", "dep:wasi-bzip2",
                     "configure_host:wasi", "make_host:wasi"):
            assert step in steps, (step, steps)
        # the build Python is built with the native toolchain, which did not change
        assert not any(s.startswith("build_python") for s in steps), steps
        make_log = wasi.log("make_host:wasi")
        assert "\n$ make clean" in make_log or "make clean\n" in make_log, make_log[:2000]
        # configure's saved answers belong to the old toolchain: not reused
        assert "creating cache config.cache" in wasi.log("configure_host:wasi")
        # ccache knows the compiler by the toolchain's identity: the old objects are not
        # handed to the new toolchain, though its binaries are the same. (With Emscripten's
        # toolchain: 15 hits of 870 compiles in a real run, on entries the same run had
        # just made, none in make-host.)
        stats = _ccache_stats(tp.sandbox)
        delta = {k: stats.get(k, 0) - stats_before.get(k, 0)
                 for k in ("direct_cache_hit", "preprocessed_cache_hit", "cache_miss")}
        hits = delta["direct_cache_hit"] + delta["preprocessed_cache_hit"]
        per_step = [l.strip() for l in (out.stdout + out.stderr).splitlines() if "ccache:" in l]
        assert delta["cache_miss"] >= 300 and hits <= delta["cache_miss"] // 10, (delta, per_step)
        smoke = wasi.py("-c", "import zlib, bz2; print(sum(range(10)))")
        assert smoke.stdout.strip() == "45", smoke.stdout + smoke.stderr
        record("toolchain-change-wasi", {"wall": f"{out.seconds:.0f}s", "ran": steps,
                                         "ccache": delta, "per step": per_step})
    finally:
        # the shared root back to the project's YAML (identity as before)
        wasi.doit("toolchain:wasi")
    assert tp.identity.read_text() == identity_before
    assert json.loads(tp.stamp.read_text())["digest"] == tp.digest
