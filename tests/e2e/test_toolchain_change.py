"""A different toolchain redoes everything built with it; ccache and configure's
config.cache are what make that affordable. Runs last: it re-provisions the shared
toolchain root with a variant of toolchains/emscripten.yaml, then puts it back.

A new emscripten package changes the toolchain's identity file (package versions,
patches, setup steps, inputs), and everything built with the toolchain depends on that
file. Only one emscripten version can be had here (Debian trixie's), so the identity
changes the other way it can: one more setup step, in a copy of the YAML. The step
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


def test_a_different_toolchain_redoes_everything_built_with_it(emscripten, tmp_path):
    plan = make_plan(Settings(cpython=str(emscripten.source)))
    tp = plan.toolchains["emscripten"]
    identity_before = tp.identity.read_text()
    stats_before = _ccache_stats(tp.sandbox)
    toolchains = tmp_path / "toolchains"
    shutil.copytree(PROJECT / "toolchains", toolchains)
    data = yaml.safe_load((toolchains / "emscripten.yaml").read_text())
    data["providers"]["debian-root"]["setup"].append(
        f"mkdir -p /opt/wasmbuild && echo {uuid.uuid4().hex} > /opt/wasmbuild/e2e-toolchain-variant")
    (toolchains / "emscripten.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        out = emscripten.doit("host:emscripten", f"toolchains={toolchains}")
        steps = ran(out)
        assert tp.identity.read_text() != identity_before
        for step in ("toolchain:emscripten", "dep:emscripten-libffi", "dep:emscripten-ports",
                     "configure_host:emscripten", "make_host:emscripten"):
            assert step in steps, (step, steps)
        # the build Python is built with the native toolchain, which did not change
        assert not any(s.startswith("build_python") for s in steps), steps
        make_log = emscripten.log("make_host:emscripten")
        assert "\n$ make clean" in make_log or "make clean\n" in make_log, make_log[:2000]
        # configure's saved answers belong to the old toolchain: not reused
        assert "creating cache config.cache" in emscripten.log("configure_host:emscripten")
        # ccache knows the compiler by the toolchain's identity: the old objects are not
        # handed to the new toolchain, though its binaries are the same. (The old identity
        # gave 300+ hits here. A few compiles hit entries the same run has just made: 15 of
        # 870 in a real run, 7 of them in libffi's build, none in make-host.)
        stats = _ccache_stats(tp.sandbox)
        delta = {k: stats.get(k, 0) - stats_before.get(k, 0)
                 for k in ("direct_cache_hit", "preprocessed_cache_hit", "cache_miss")}
        hits = delta["direct_cache_hit"] + delta["preprocessed_cache_hit"]
        per_step = [l.strip() for l in (out.stdout + out.stderr).splitlines() if "ccache:" in l]
        assert delta["cache_miss"] >= 300 and hits <= delta["cache_miss"] // 10, (delta, per_step)
        smoke = emscripten.py("-c", "import ctypes, zlib, sqlite3; print(sum(range(10)))")
        assert smoke.stdout.strip() == "45", smoke.stdout + smoke.stderr
        record("toolchain-change-emscripten", {"wall": f"{out.seconds:.0f}s", "ran": steps,
                                               "ccache": delta, "per step": per_step})
    finally:
        # the shared root back to the project's YAML (identity as before)
        emscripten.doit("toolchain:emscripten")
    assert tp.identity.read_text() == identity_before
    assert json.loads(tp.stamp.read_text())["digest"] == tp.digest
