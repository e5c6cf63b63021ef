"""The test-suite runner on a fake python.sh that answers as regrtest does: every rule of
the manifest (undeclared failure, crash, hang, rerun, declared failure that passes,
skip by pattern) runs real processes here, in seconds."""
import json
import os
import time
import xml.etree.ElementTree as ET

import pytest

from wasmbuild import manifest, suite, suite_report
from wasmbuild.errors import WasmbuildError
from wasmbuild.model import Expectation, Tests as TestsSpec

FAKE_PYTHON_SH = r'''#!/bin/bash
# A fake python.sh: regrtest's output and exit status for each kind of module.
echo "$*" >> "$FAKE_ARGS"
if [ "$1" = "-c" ]; then echo "emscripten wasm32"; exit 0; fi
shift 2                                    # -m test
if [ "$1" = "--list-tests" ]; then
  printf '%s\n' test_ok test_fail test_crash test_hang test_flaky test_xfail_passes \
                test_xfail_fails test_winreg test_skipme test_empty test.test_pkg.test_sub
  exit 0
fi
mod="${@: -1}"
case "$mod" in
  test_ok|test_xfail_passes|test.test_pkg.test_sub)
    echo "0:00:00 [1/1] $mod"; echo "== Tests result: SUCCESS =="; echo "1 test OK."
    echo "Total tests: run=12 skipped=2"; echo "Total test files: run=1/1"; echo "Result: SUCCESS"; exit 0;;
  test_fail|test_xfail_fails)
    echo "$mod failed (1 failure)"; echo "Total tests: run=3 failures=1"; echo "Result: FAILURE"; exit 2;;
  test_crash)
    echo "RangeError: Maximum call stack size exceeded"; exit 7;;
  test_hang)
    sleep 30; exit 0;;
  test_flaky)
    if [ -e "$FLAKY_MARK" ]; then echo "Total tests: run=4"; echo "Result: SUCCESS"; exit 0; fi
    touch "$FLAKY_MARK"; echo "Total tests: run=4 failures=1"; echo "Result: FAILURE"; exit 2;;
  test_winreg)
    echo "test_winreg skipped -- No module named 'winreg'"; echo "1 test skipped:"
    echo "Total tests: run=0"; echo "Result: SUCCESS"; exit 0;;
  test_empty)
    echo "Total tests: run=0"; echo "Result: NO TESTS RAN"; exit 4;;
  *) echo "unknown $mod"; exit 99;;
esac
'''


@pytest.fixture
def fake(tmp_path, monkeypatch):
    sh = tmp_path / "build" / "python.sh"
    sh.parent.mkdir()
    sh.write_text(FAKE_PYTHON_SH)
    sh.chmod(0o755)
    monkeypatch.setenv("FAKE_ARGS", str(tmp_path / "args.log"))
    monkeypatch.setenv("FLAKY_MARK", str(tmp_path / "flaky-failed-once"))
    return sh


def make_run(sh, tmp_path, **manifest_entries) -> suite.SuiteRun:
    tests = TestsSpec(smoke=["-c", "pass"], expect="wasm32", args=["-u", "all,-network"], timeout=20,
                  sets={"quick": ["test_ok", "test_flaky"]},
                  manifest={k: Expectation(**v) for k, v in manifest_entries.items()})
    return suite.SuiteRun("test:fake", sh, tests, tmp_path / "out", jobs=2)


def by_module(results):
    return {r.module: r for r in results}


def test_every_rule_of_the_manifest_on_real_processes(fake, tmp_path):
    run = make_run(fake, tmp_path,
                   test_hang={"timeout": 2},
                   test_xfail_passes={"status": "xfail", "reason": "was broken"},
                   test_xfail_fails={"status": "xfail", "reason": "floats in structs"},
                   test_skipme={"status": "skip", "reason": "hangs forever"},
                   test_ok={"ignore": {"test_ok.Case.test_net*": "needs a socket"}})
    listed = suite.list_modules(run, tmp_path / "list.log")
    assert len(listed) == 11 and "test.test_pkg.test_sub" in listed
    start = time.monotonic()
    results = by_module(suite.run_suite(run, listed))
    assert time.monotonic() - start < 20          # the hang was cut at its 2 s timeout (twice)

    assert results["test_ok"].verdict == manifest.OK
    assert results["test_ok"].first.tests_run == 12 and results["test_ok"].first.skipped == 2
    assert results["test_winreg"].outcome == manifest.SKIPPED and results["test_winreg"].verdict == manifest.OK
    assert results["test_empty"].outcome == manifest.NO_TESTS
    # undeclared failure, crash and hang: each rerun once alone, still bad -> unexpected
    for mod, outcome in [("test_fail", manifest.FAILED), ("test_crash", manifest.CRASHED),
                         ("test_hang", manifest.TIMED_OUT)]:
        r = results[mod]
        assert (r.first.outcome, r.rerun.outcome, r.verdict) == (outcome, outcome, manifest.UNEXPECTED_FAILURE), mod
    assert "Maximum call stack size exceeded" in results["test_crash"].first.detail
    # fails once, passes alone: upstream's --rerun counts it as passing, and so do we
    assert results["test_flaky"].first.outcome == manifest.FAILED
    assert results["test_flaky"].rerun.outcome == manifest.PASSED
    assert results["test_flaky"].verdict == manifest.FLAKY
    # declared failures are not rerun; one that passes is unexpected
    assert results["test_xfail_fails"].verdict == manifest.EXPECTED_FAILURE
    assert results["test_xfail_fails"].rerun is None
    assert results["test_xfail_passes"].verdict == manifest.UNEXPECTED_PASS
    assert results["test_skipme"].verdict == manifest.DECLARED_SKIP

    args = (tmp_path / "args.log").read_text().splitlines()
    assert not any(a.endswith("test_skipme") for a in args)                # never started
    assert "-m test -u all,-network -i test_ok.Case.test_net* test_ok" in args
    assert "-m test -v -u all,-network test_fail" in args                 # the rerun is verbose

    summary = manifest.summarize(list(results.values()))
    assert sorted(summary.unexpected) == [
        "test_crash: unexpected failure (crashed)", "test_fail: unexpected failure (failed)",
        "test_hang: unexpected failure (timed out)",
        "test_xfail_passes: unexpectedly passing, remove it from the manifest (declared xfail: was broken)"]
    assert summary.counts[manifest.NOT_RUN] == 1 and summary.counts[manifest.PASSED] == 4

    # results for people and CI
    suite_report.write(run.out_dir, "test:fake", list(results.values()), summary, 12.0)
    data = json.loads((run.out_dir / "results.json").read_text())
    assert {m["module"]: m["verdict"] for m in data["modules"]}["test_hang"] == manifest.UNEXPECTED_FAILURE
    xml = ET.fromstring((run.out_dir / "junit.xml").read_text())
    assert xml.get("tests") == "11" and xml.get("failures") == "4"
    assert (run.out_dir / "logs" / "test_crash.rerun.log").exists()
    lines = suite_report.table(summary, 11, 12.0)
    assert lines[-1] == "result: FAILED (4 unexpected)"
    # the durations of this run order the next one, longest first
    durations = json.loads((run.out_dir / "durations.json").read_text())
    assert suite._order(["test_ok", "test_hang"], durations) == ["test_hang", "test_ok"]


def test_a_clean_run_says_ok(fake, tmp_path):
    run = make_run(fake, tmp_path)
    results = suite.run_suite(run, ["test_ok", "test_winreg", "test.test_pkg.test_sub"])
    summary = manifest.summarize(results)
    assert summary.ok and summary.tests_run == 24
    assert suite_report.table(summary, 3, 1.0)[-1] == "result: OK (no unexpected result)"


def test_select_modules_by_set_list_or_all(tmp_path):
    tests = TestsSpec(smoke=[], expect="", sets={"quick": ["test_a", "test_b"]})
    listed = ["test_a", "test_b", "test_c"]
    assert manifest.select(listed, tests, None, "t.yaml") == listed
    assert manifest.select(listed, tests, "all", "t.yaml") == listed
    assert manifest.select(listed, tests, "quick", "t.yaml") == ["test_a", "test_b"]
    assert manifest.select(listed, tests, "test_c, test_a", "t.yaml") == ["test_c", "test_a"]
    with pytest.raises(WasmbuildError, match=r"modules=test_a,test_nope: not a test module of this "
                                             r"CPython: test_nope \(named sets: quick; or all\)"):
        manifest.select(listed, tests, "test_a,test_nope", "t.yaml")
    bad_set = TestsSpec(smoke=[], expect="", sets={"quick": ["test_gone"]})
    with pytest.raises(WasmbuildError, match=r"t.yaml: tests.sets.quick: not a test module"):
        manifest.select(listed, bad_set, "quick", "t.yaml")
    stale = TestsSpec(smoke=[], expect="", manifest={"test_gone": Expectation(status="xfail")})
    assert manifest.check_manifest(listed, stale, "t.yaml") == [
        "t.yaml: tests.manifest.test_gone: no such test module in this CPython"]


@pytest.mark.parametrize("rc, output, outcome", [
    (0, "Total tests: run=5\nResult: SUCCESS\n", manifest.PASSED),
    (0, "1 test altered the execution environment\nTotal tests: run=5\nResult: SUCCESS\n", manifest.PASSED),
    (3, "Total tests: run=5\nResult: ENV CHANGED\n", manifest.PASSED),
    (2, "Total tests: run=5 failures=2\nResult: FAILURE\n", manifest.FAILED),
    (2, "Total tests: run=5 failures=1\nResult: FAILURE then SUCCESS\n", manifest.FAILED),
    (4, "Result: NO TESTS RAN\n", manifest.NO_TESTS),
    (0, "test_x skipped -- requires curses\nTotal tests: run=0\nResult: SUCCESS\n", manifest.SKIPPED),
    (1, "Aborted(Assertion failed)\n", manifest.CRASHED),
    (0, "started\n", manifest.CRASHED),                           # exit 0 but no summary
    (139, "Total tests: run=5\nResult: SUCCESS\n", manifest.CRASHED),   # died at exit
    (None, "", manifest.CRASHED),
])
def test_classify(rc, output, outcome):
    assert manifest.classify(rc, output, False, 1.0).outcome == outcome


def test_classify_counts_thousands():
    r = manifest.classify(0, "Total tests: run=5,043 failures=0 skipped=1,002\nResult: SUCCESS\n", False, 1)
    assert (r.tests_run, r.failures, r.skipped) == (5043, 0, 1002)


def test_sync_tree_copies_updates_removes_and_keeps_pycache(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "view"
    (src / "Lib" / "json").mkdir(parents=True)
    (src / "cross-build" / "x").mkdir(parents=True)
    (src / "Lib" / "os.py").write_text("os\n")
    (src / "Lib" / "json" / "__init__.py").write_text("json\n")
    (src / "cross-build" / "x" / "python.wasm").write_text("big")
    assert suite.sync_tree(src, dest) == (2, 0)
    assert not (dest / "cross-build").exists()
    assert os.stat(dest / "Lib" / "os.py").st_mtime_ns == os.stat(src / "Lib" / "os.py").st_mtime_ns
    # what tests wrote: a leftover file and dir go, __pycache__ stays
    (dest / "Lib" / "leftover.py").write_text("x")
    (dest / "Lib" / "tmpdir").mkdir()
    (dest / "Lib" / "json" / "__pycache__").mkdir()
    (dest / "Lib" / "json" / "__pycache__" / "__init__.cpython-313.pyc").write_text("pyc")
    # the user edits a module
    (src / "Lib" / "os.py").write_text("os edited\n")
    assert suite.sync_tree(src, dest) == (1, 2)
    assert (dest / "Lib" / "os.py").read_text() == "os edited\n"
    assert not (dest / "Lib" / "leftover.py").exists() and not (dest / "Lib" / "tmpdir").exists()
    assert (dest / "Lib" / "json" / "__pycache__" / "__init__.cpython-313.pyc").exists()
    assert suite.sync_tree(src, dest) == (0, 0)
