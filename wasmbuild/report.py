"""The build report: after every run, which tasks ran, why, how long, and artifact sizes.

A doit reporter (the console one, plus a table at the end); the same data goes to
<cross_build>/.wasmbuild/report.json.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from doit.reporter import ConsoleReporter
from doit.tools import config_changed

from .atomic import write_text
from .runlog import format_seconds


class settings_changed(config_changed):
    """config_changed that remembers whether it found a change (for the report)."""

    def __call__(self, task, values):
        self.result = super().__call__(task, values)
        self.first_run = not values
        return self.result


def reasons(task) -> list[str]:
    out = []
    for utd, _args, _kw in task.uptodate:
        if utd is False:
            return ["runs every time"]
        if isinstance(utd, settings_changed) and getattr(utd, "result", None) is False:
            out.append("first run" if getattr(utd, "first_run", False) else "settings from YAML changed")
        changed = getattr(utd, "changed", None)
        if changed:
            shown = ", ".join(changed[:5]) + (f" (+{len(changed) - 5} more)" if len(changed) > 5 else "")
            out.append(f"changed: {shown}")
    if task.dep_changed:
        out.append("input changed: " + ", ".join(Path(p).name for p in task.dep_changed[:5]))
    if not out:
        out = ["an output was missing" if task.targets else "nothing to check: it always runs"]
    return list(dict.fromkeys(out))


class BuildReporter(ConsoleReporter):
    """doit makes the instance itself (DOIT_CONFIG["reporter"] is a class), so what a run
    reports on is given by a subclass: `reporter_for`."""
    desc = "console output plus a build report at the end"
    report_file: Path | None = None        # report.json; None: the console output only
    artifacts: dict[str, Path] = {}        # "target/file" -> path, whose sizes are shown

    def __init__(self, outstream, options):
        super().__init__(outstream, options)
        self.started: dict[str, float] = {}
        self.rows: list[dict] = []

    def execute_task(self, task):
        self.started[task.name] = time.monotonic()
        super().execute_task(task)

    def _row(self, task, status):
        if task.name in self.started and task.actions:
            row = {"task": task.name, "status": status,
                   "seconds": round(time.monotonic() - self.started[task.name], 1),
                   "why": reasons(task)}
            if task.values.get("forced"):         # make: objects removed for a changed header
                row["why"].append("rebuilt " + "; ".join(task.values["forced"][:5])
                                  + (f" (+{len(task.values['forced']) - 5} more)"
                                     if len(task.values["forced"]) > 5 else ""))
            row["why"] += task.values.get("notes", [])   # pins, caches, ccache's hits
            if task.values.get("remote"):         # the remote cache's traffic of this task
                row["remote"] = task.values["remote"]
                row["why"].append("remote cache: " + ", ".join(f"{n} {k}" for k, n in row["remote"].items()))
            if task.values.get("suite"):          # test:<target>: the suite's summary table
                row["suite"] = task.values["suite"]
            self.rows.append(row)

    def add_success(self, task):
        self._row(task, "ok")
        super().add_success(task)

    def add_failure(self, task, exception):
        self._row(task, "FAILED")
        super().add_failure(task, exception)

    def complete_run(self):
        super().complete_run()
        if not self.rows or self.report_file is None:
            return
        sizes = {label: p.stat().st_size for label, p in self.artifacts.items() if p.exists()}
        report = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "tasks": self.rows, "sizes": sizes}
        write_text(self.report_file, json.dumps(report, indent=1))
        w = self.outstream.write
        w("\nbuild report (" + str(self.report_file) + ")\n")
        for r in self.rows:
            w(f"  {r['status']:6} {r['task']:32} {format_seconds(r['seconds']):>7}  {'; '.join(r['why'])}\n")
            for line in r.get("suite", []):
                w(f"         {line}\n")
        for name, size in sizes.items():
            w(f"  {name:40} {size / 1e6:8.2f} MB\n")


def reporter_for(report_file: Path, artifacts: dict[str, Path]) -> type[BuildReporter]:
    """The reporter class of one plan: its report file and the artifacts it sizes."""
    return type("BuildReporter", (BuildReporter,),
                {"report_file": report_file, "artifacts": dict(artifacts)})
