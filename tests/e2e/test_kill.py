"""Interrupts of the real build (after the incremental tests: it edits the session's
copy of the CPython source). The stress script bench/stress.py does this at random
points; here one precise case runs in CI: SIGKILL of everything in the middle of
make-host, then the next run must finish, with the edit in the interpreter, and the
run after must do nothing."""
import re

import pytest

from e2e_util import ran, record, sigkill_during_make

pytestmark = pytest.mark.stage("interrupt")


def test_sigkill_during_make_then_next_run_finishes(emscripten, tmp_path):
    c = emscripten.source / "Objects" / "listobject.c"
    text, n = re.subn(r'PyDoc_STR\("See PEP 585[^"]*"\)', 'PyDoc_STR("See PEP 585 (after a SIGKILL)")',
                      c.read_text(), count=1)
    assert n == 1
    c.write_text(text)
    # make-host has started compiling when its log names an object it builds
    killed = sigkill_during_make(emscripten, tmp_path / "killed.out", lambda log: "listobject" in log)
    assert "ok make_host:emscripten" not in killed, killed[-2000:]
    out = emscripten.doit("host:emscripten")
    assert "make_host:emscripten" in ran(out)
    doc = emscripten.py("-c", "print(list.__class_getitem__.__doc__)")
    assert doc.stdout.strip() == "See PEP 585 (after a SIGKILL)", doc.stdout + doc.stderr
    again = emscripten.doit("host:emscripten")
    assert ran(again) == [], again.stdout
    record("sigkill-during-make", {"recovery": f"{out.seconds:.1f}s", "ran": ran(out)})
