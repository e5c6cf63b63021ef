"""The test manifest's logic: which modules run, what a module's run came to, and
whether that was expected.

Pure functions over regrtest's output and the YAML's expectations, so that every rule
(an undeclared failure, a crash, a hang, a declared failure that now passes, a rerun
that passes) is tested without an interpreter. `suite.py` runs the processes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import WasmbuildError
from .model import Expectation, Tests

# regrtest's exit codes (Lib/test/libregrtest/utils.py)
EXIT_SUCCESS, EXIT_BAD_TEST, EXIT_ENV_CHANGED, EXIT_NO_TESTS_RAN = 0, 2, 3, 4

# What one run of one module came to.
PASSED = "passed"          # regrtest: SUCCESS (env changed included: upstream does not fail it)
SKIPPED = "skipped"        # regrtest skipped the whole module (a missing feature)
NO_TESTS = "no tests"      # the module ran but no test was collected
FAILED = "failed"          # regrtest: FAILURE
CRASHED = "crashed"        # the interpreter died: no regrtest result at all
TIMED_OUT = "timed out"    # killed after its timeout
NOT_RUN = "not run"        # declared `skip` in the manifest

GOOD = {PASSED, SKIPPED, NO_TESTS}
BAD = {FAILED, CRASHED, TIMED_OUT}

_RESULT = re.compile(r"^Result: (\S.*?)\s*$", re.M)
_TOTALS = re.compile(r"^Total tests: run=([\d,]+)(?: failures=([\d,]+))?(?: skipped=([\d,]+))?", re.M)
_MODULE_SKIPPED = re.compile(r"^\S+ skipped(?: -- |\s*$)", re.M)


@dataclass
class RunResult:
    """One interpreter process running one module."""
    outcome: str
    exit_code: int | None
    seconds: float
    tests_run: int = 0
    failures: int = 0
    skipped: int = 0
    detail: str = ""               # the last lines that explain a failure or crash


@dataclass
class ModuleResult:
    module: str
    expectation: Expectation
    first: RunResult
    rerun: RunResult | None = None
    verdict: str = ""              # see judge()
    log: str = ""

    @property
    def outcome(self) -> str:
        return (self.rerun or self.first).outcome

    @property
    def unexpected(self) -> bool:
        return self.verdict in (UNEXPECTED_FAILURE, UNEXPECTED_PASS)


# Verdicts: what a module's result means against the manifest.
OK = "ok"
FLAKY = "passed on rerun"
EXPECTED_FAILURE = "expected failure"
UNEXPECTED_FAILURE = "unexpected failure"
UNEXPECTED_PASS = "unexpectedly passing"
DECLARED_SKIP = "skipped by manifest"


def classify(exit_code: int | None, output: str, timed_out: bool, seconds: float) -> RunResult:
    """What regrtest's exit status and output say about one module's run."""
    tail = "\n".join(output.rstrip().splitlines()[-12:])
    if timed_out:
        return RunResult(TIMED_OUT, exit_code, seconds, detail=tail)
    totals = _TOTALS.search(output)
    run, failures, skipped = ((int((g or "0").replace(",", "")) for g in totals.groups())
                              if totals else (0, 0, 0))
    m = _RESULT.search(output)
    result = m.group(1) if m else None
    if result is None or exit_code not in (EXIT_SUCCESS, EXIT_BAD_TEST, EXIT_ENV_CHANGED,
                                            EXIT_NO_TESTS_RAN):
        # no summary, or an exit status regrtest never gives: the process died
        return RunResult(CRASHED, exit_code, seconds, run, failures, skipped, tail)
    if exit_code == EXIT_BAD_TEST or result.startswith("FAILURE"):
        return RunResult(FAILED, exit_code, seconds, run, failures, skipped, tail)
    if exit_code == EXIT_NO_TESTS_RAN or result.startswith("NO TESTS RAN"):
        return RunResult(NO_TESTS, exit_code, seconds, run, failures, skipped)
    if run == 0 and _MODULE_SKIPPED.search(output):
        return RunResult(SKIPPED, exit_code, seconds, run, failures, skipped)
    return RunResult(PASSED, exit_code, seconds, run, failures, skipped)


def needs_rerun(expectation: Expectation, first: RunResult) -> bool:
    """As upstream's --rerun: a module that failed is run once more, alone. A declared
    failure is not (it is expected to fail; rerunning it only costs time)."""
    return first.outcome in BAD and expectation.status != "xfail"


def judge(expectation: Expectation, first: RunResult, rerun: RunResult | None) -> str:
    final = rerun or first
    if expectation.status == "skip":
        return DECLARED_SKIP
    if expectation.status == "xfail":
        return EXPECTED_FAILURE if final.outcome in BAD else UNEXPECTED_PASS
    if final.outcome in BAD:
        return UNEXPECTED_FAILURE
    return FLAKY if rerun is not None else OK


def regrtest_args(tests: Tests, module: str) -> list[str]:
    """regrtest's arguments for one module: the target's, then its skips by pattern."""
    exp = tests.manifest.get(module, Expectation())
    ignores = [a for pattern in exp.ignore for a in ("-i", pattern)]
    return [*tests.args, *ignores, module]


def timeout_of(tests: Tests, module: str) -> int:
    exp = tests.manifest.get(module)
    return exp.timeout if exp and exp.timeout else tests.timeout


def select(listed: list[str], tests: Tests, spec: str | None, where: str) -> list[str]:
    """The modules to run: every listed one, a named set, or `test_a,test_b`.

    A name that the suite does not list is an error naming it (a typo would otherwise
    be a module that silently never runs)."""
    if not spec or spec == "all":
        return list(listed)
    if spec in tests.sets:
        wanted, origin = tests.sets[spec], f"{where}: tests.sets.{spec}"
    else:
        wanted = [m.strip() for m in spec.split(",") if m.strip()]
        origin = f"modules={spec}"
    unknown = [m for m in wanted if m not in listed]
    if unknown:
        sets = ", ".join(sorted(tests.sets)) or "none"
        raise WasmbuildError(f"{origin}: not a test module of this CPython: {', '.join(unknown)} "
                             f"(named sets: {sets}; or all)")
    return list(dict.fromkeys(wanted))


def check_manifest(listed: list[str], tests: Tests, where: str) -> list[str]:
    """Manifest entries for modules this CPython does not have: stale entries are
    reported, not fatal (a manifest serves several versions)."""
    return [f"{where}: tests.manifest.{m}: no such test module in this CPython"
            for m in tests.manifest if m not in listed]


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=dict)     # outcome -> modules
    verdicts: dict[str, int] = field(default_factory=dict)   # verdict -> modules
    tests_run: int = 0
    failures: int = 0
    skipped_tests: int = 0
    unexpected: list[str] = field(default_factory=list)      # "test_x: unexpected failure (crashed)"

    @property
    def ok(self) -> bool:
        return not self.unexpected


def summarize(results: list[ModuleResult]) -> Summary:
    s = Summary()
    for r in results:
        outcome = NOT_RUN if r.verdict == DECLARED_SKIP else r.outcome
        s.counts[outcome] = s.counts.get(outcome, 0) + 1
        s.verdicts[r.verdict] = s.verdicts.get(r.verdict, 0) + 1
        final = r.rerun or r.first
        s.tests_run += final.tests_run
        s.failures += final.failures
        s.skipped_tests += final.skipped
        if r.verdict == UNEXPECTED_FAILURE:
            s.unexpected.append(f"{r.module}: unexpected failure ({r.outcome})")
        elif r.verdict == UNEXPECTED_PASS:
            s.unexpected.append(f"{r.module}: unexpectedly passing, remove it from the manifest "
                                f"(declared xfail: {r.expectation.reason})")
    return s
