"""The test suite's results for people and for CI: a summary table, JSON and JUnit XML."""
from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from . import manifest
from .atomic import write_text
from .runlog import format_seconds

OUTCOMES = [manifest.PASSED, manifest.SKIPPED, manifest.NO_TESTS, manifest.FAILED,
            manifest.CRASHED, manifest.TIMED_OUT, manifest.NOT_RUN]


def table(summary: manifest.Summary, modules: int, wall: float) -> list[str]:
    """The lines printed at the end of a run (and kept in the build report)."""
    counts = ", ".join(f"{summary.counts.get(o, 0)} {o}" for o in OUTCOMES if summary.counts.get(o))
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(summary.verdicts.items()))
    lines = [f"modules: {modules} ({counts})",
             f"verdicts: {verdicts}",
             f"tests: run={summary.tests_run} failures={summary.failures} "
             f"skipped={summary.skipped_tests}; wall time {format_seconds(wall)}"]
    lines += [f"UNEXPECTED {u}" for u in summary.unexpected]
    lines.append("result: " + ("OK (no unexpected result)" if summary.ok
                               else f"FAILED ({len(summary.unexpected)} unexpected)"))
    return lines


def as_json(results: list[manifest.ModuleResult], summary: manifest.Summary, wall: float) -> dict:
    return {
        "wall_seconds": round(wall, 1),
        "summary": {"counts": summary.counts, "verdicts": summary.verdicts,
                    "tests_run": summary.tests_run, "failures": summary.failures,
                    "skipped_tests": summary.skipped_tests, "unexpected": summary.unexpected},
        "modules": [{"module": r.module, "verdict": r.verdict, "outcome": r.outcome,
                     "expectation": dataclasses.asdict(r.expectation), "log": r.log,
                     "first": dataclasses.asdict(r.first),
                     "rerun": dataclasses.asdict(r.rerun) if r.rerun else None}
                    for r in results],
    }


def junit(results: list[manifest.ModuleResult], name: str) -> str:
    """One <testcase> per module (regrtest's own per-test XML is lost when a process
    dies; a module is the unit this runner answers for)."""
    suite = ET.Element("testsuite", name=name, tests=str(len(results)))
    failures = skipped = 0
    for r in results:
        final = r.rerun or r.first
        case = ET.SubElement(suite, "testcase", classname=name, name=r.module,
                             time=f"{r.first.seconds + (r.rerun.seconds if r.rerun else 0):.1f}")
        if r.verdict == manifest.DECLARED_SKIP:
            ET.SubElement(case, "skipped", message=r.expectation.reason)
            skipped += 1
        elif r.verdict == manifest.EXPECTED_FAILURE:
            ET.SubElement(case, "skipped", message=f"expected failure ({final.outcome}): "
                                                   f"{r.expectation.reason}")
            skipped += 1
        elif r.unexpected:
            f = ET.SubElement(case, "failure", message=f"{r.verdict} ({final.outcome})")
            f.text = final.detail
            failures += 1
        elif final.outcome == manifest.SKIPPED:
            ET.SubElement(case, "skipped", message="skipped by regrtest")
            skipped += 1
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    return ET.tostring(suite, encoding="unicode")


def write(out_dir: Path, name: str, results, summary, wall: float) -> None:
    write_text(out_dir / "results.json", json.dumps(as_json(results, summary, wall), indent=1))
    write_text(out_dir / "junit.xml", junit(results, name))
