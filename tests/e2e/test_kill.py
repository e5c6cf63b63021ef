"""Interrupts of the real build (after the incremental tests: it edits the session's
copy of the CPython source). The stress script bench/stress.py does this at random
points; here one precise case runs in CI: SIGKILL of everything in the middle of
make-host, then the next run must finish, with the edit in the interpreter, and the
run after must do nothing."""
import re

import pytest

from e2e_util import ran, record, sigkill_during_make

pytestmark = pytest.mark.stage("interrupt")


def _edit_c_file(source):
    c = source / "Objects" / "listobject.c"
    text, n = re.subn(r'PyDoc_STR\("See PEP 585[^"]*"\)', 'PyDoc_STR("See PEP 585 (after a SIGKILL)")',
                      c.read_text(), count=1)
    assert n == 1
    c.write_text(text)


def _edit_clinic_header(source):
    """A header the Makefile does not list: its object is removed before make starts."""
    h = source / "Objects" / "clinic" / "listobject.c.h"
    text, n = re.subn(r'"Append object to the end of the list[^"]*"',
                      '"Append object (edited header, after a SIGKILL)."', h.read_text(), count=1)
    assert n == 1
    h.write_text(text)


# edit, when make-host is compiling (from its log), what shows the edit, what it shows
CASES = {
    "c-file": (_edit_c_file, lambda log: "listobject" in log,
               "print(list.__class_getitem__.__doc__)", "See PEP 585 (after a SIGKILL)"),
    "header": (_edit_clinic_header, lambda log: " -c " in log,
               "print(list.append.__doc__)", "Append object (edited header, after a SIGKILL)."),
}


@pytest.mark.parametrize("case", CASES)
def test_sigkill_during_make_then_next_run_finishes(case, emscripten, tmp_path):
    edit, compiling, probe, expected = CASES[case]
    edit(emscripten.source)
    killed = sigkill_during_make(emscripten, tmp_path / "killed.out", compiling)
    assert "ok make_host:emscripten" not in killed, killed[-2000:]
    out = emscripten.doit("host:emscripten")
    assert "make_host:emscripten" in ran(out)
    shown = emscripten.py("-c", probe)
    assert shown.stdout.strip() == expected, shown.stdout + shown.stderr
    again = emscripten.doit("host:emscripten")
    assert ran(again) == [], again.stdout
    record(f"sigkill-during-make-{case}", {"recovery": f"{out.seconds:.1f}s", "ran": ran(out)})
