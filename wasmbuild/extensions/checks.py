"""wheel_test:<target>: each built package in the interpreter, through its python.sh: the
YAML's `check` (which fails unless the compiled module is what runs), then the named
subset of the package's own tests, with pytest from a folder of its own."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from doit.exceptions import TaskFailed

from ..runlog import say
from .crossenv import describe, read_facts
from .site import holds, install_wheels

RUN_PYTEST = ("import sys; sys.path.append({site!r}); import pytest; "
              "sys.exit(pytest.main({args!r}))")


def _run(python_sh: Path, args: list[str], cwd: Path, log: Path) -> subprocess.CompletedProcess:
    # the caller's PYTHON* variables stay out, as in test:<target> (an Emscripten 6
    # interpreter reads its host's environment)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["NO_COLOR"] = "1"             # a 3.13 NODERAWFS stream is always a tty: plain text
    out = subprocess.run([str(python_sh), *args], capture_output=True, text=True, cwd=cwd, env=env)
    with open(log, "a") as f:
        f.write(f"\n$ python.sh {' '.join(args)}\n  (cwd {cwd})\n{out.stdout}{out.stderr}[exit {out.returncode}]\n")
    return out


def run_package_tests(ep, *, log: Path, name: str):
    from ..fetch import fetch
    record = read_facts(ep)
    python_sh = ep.tgt.build_dir / "python.sh"
    test_site, test_record = ep.root / "test-site", ep.root / "test-site.json"
    wheels = [fetch(d) for d in ep.project.test_wheels.values()]
    if not holds(test_record, wheels):
        install_wheels(wheels, test_site, record["tags"], describe(record), test_record)
    lines, failed = [], []
    for source in ep.sources:
        tests = source.package.tests if source.package else None
        if tests is None:
            lines.append(f"{source.name}: no tests declared")
            continue
        work = ep.work(source)
        out = _run(python_sh, ["-P", "-c", tests.check], ep.root, log)
        if out.returncode != 0:
            failed.append(f"{source.name}: check failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")
            continue
        args = ["-p", "no:cacheprovider", "-q", "-rs", "--color=no", *ep.spec.test_args,
                *[str(work / p) for p in tests.paths], *tests.args]
        out = _run(python_sh, ["-P", "-c", RUN_PYTEST.format(site=str(test_site), args=args)], work, log)
        summary = next((l.strip("= ") for l in reversed(out.stdout.splitlines()) if " in " in l), "?")
        line = f"{source.name}: {summary}"
        say(f"   {line}")
        (lines if out.returncode == 0 else failed).append(line)
    if failed:
        return TaskFailed(f"{name}: " + "; ".join(failed) + f"\n   log: {log}")
    return {"notes": lines}
