"""Configure arguments changed in the emscripten target's YAML: that host reconfigures
(with fresh configure answers: the saved config.cache is keyed by the arguments), make-host
follows; the build Python, the dependencies and the toolchain are left alone.

Runs after the other incremental tests and before test_zzz_toolchain_change, which
reconfigures emscripten anyway: the session's build is not put back to the project's
arguments (that would be a second full configure, about 4 minutes on 2 cores)."""
import re

from e2e_util import ran, record, targets_copy


def test_configure_args_change_reconfigures_that_host_only_emscripten(emscripten, tmp_path):
    before = emscripten.py("-c", "import _testcapi; print('test modules')")
    assert before.stdout.strip() == "test modules", before.stdout + before.stderr
    targets = targets_copy(tmp_path, lambda d: d["configure"]["args"].append("--disable-test-modules"),
                            "wasm32-emscripten.yaml")
    out = emscripten.doit("host:emscripten", f"targets={targets}")
    steps = ran(out)
    assert "configure_host:emscripten" in steps and "make_host:emscripten" in steps, steps
    assert not [s for s in steps if re.match(r"(build_python|dep|toolchain|source):", s)], steps
    # not the old arguments' answers
    assert "creating cache config.cache" in emscripten.log("configure_host:emscripten")
    args = emscripten.py("-c", "import sysconfig; print(sysconfig.get_config_var('CONFIG_ARGS'))")
    assert "--disable-test-modules" in args.stdout, args.stdout + args.stderr
    after = emscripten.py("-c", "import _testcapi")
    assert "No module named '_testcapi'" in after.stderr, after.stdout + after.stderr
    again = emscripten.doit("host:emscripten", f"targets={targets}")
    assert ran(again) == [], again.stdout
    record("reconfigure-emscripten", {"wall": f"{out.seconds:.1f}s", "ran": steps})
