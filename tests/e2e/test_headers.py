"""Headers that CPython's Makefile does not list, edited alone, on the real builds of
both targets: the compiler's dependency files (-MMD) decide which objects are redone
(runs after the other e2e tests: it edits the session's copy of the CPython source)."""
import os
import re

import pytest

from e2e_util import ran, record

pytestmark = pytest.mark.stage("edit")

CLINIC = "Objects/clinic/listobject.c.h"
THREADS = "Python/thread_pthread.h"          # in no Makefile rule; only Python/thread.c reads it


def _set(path, pattern, new) -> None:
    """Put `new` where `pattern` matches, whatever an earlier test left there (each test
    here stands alone: -k or --lf may run it without the others)."""
    text, n = re.subn(pattern, new, path.read_text(), count=1)
    assert n == 1, (path, pattern)
    path.write_text(text)


def _settle(b) -> None:
    """The build takes in what other tests left pending in the shared source (the other
    target's header edits), so that the run after this test's edit has only that edit."""
    b.doit(f"host:{b.target}")


def _set_append_doc(source, doc: str) -> None:
    _set(source / CLINIC, r'"Append object to the end of the list[^"]*"', f'"{doc}"')


def _compiled(log: str) -> set[str]:
    """Objects a make log shows compiled (the -o of every compile command)."""
    return {m for line in log.splitlines() if " -c " in line
            for m in re.findall(r"-o (\S+\.o)\b", line)}


# 3.13.5 on trixie's toolchains, and the real 3.14.7 tree on forky's
@pytest.mark.parametrize("build", ["emscripten", "wasi", "emscripten_314", "wasi_314"])
def test_clinic_header_docstring_reaches_interpreter(build, request):
    b = request.getfixturevalue(build)
    target = b.target
    _settle(b)
    new_doc = f"Append object to the end of the list (edited header, {build})."
    _set_append_doc(b.source, new_doc)
    out = b.doit(f"host:{target}")
    steps = ran(out)
    assert f"make_host:{target}" in steps
    assert not any(s.startswith(("configure_host", "build_python:configure")) for s in steps), steps
    assert f"rebuilt Objects/listobject.o: {CLINIC} changed" in out.stdout, out.stdout
    # only the object that includes the header was compiled again (then the links)
    assert _compiled(b.log(f"make_host:{target}")) == {"Objects/listobject.o"}
    doc = b.py("-c", "print(list.append.__doc__)")
    assert doc.stdout.strip() == new_doc, doc.stdout + doc.stderr
    # a touch of the header: nothing runs
    os.utime(b.source / CLINIC)
    assert ran(b.doit(f"host:{target}")) == []
    record(f"header-clinic-{build}", {"wall": f"{out.seconds:.1f}s", "ran": steps})


PROBE = ("import _thread\ntry:\n    _thread.stack_size(0x9000)\nexcept ValueError:\n"
         "    print('refused')\nelse:\n    print('accepted')")


@pytest.mark.parametrize("target", ["emscripten", "wasi"])
def test_hand_written_header_changes_behaviour(target, request):
    """THREAD_STACK_MIN decides which sizes _thread.stack_size() refuses: 36 KiB passes
    with the 32 KiB minimum, and is refused with a 64 KiB one."""
    b = request.getfixturevalue(target)
    _settle(b)
    before = b.py("-c", PROBE).stdout.strip()
    assert before in ("accepted", "refused"), b.py("-c", PROBE)
    minimum = "0x10000" if before == "accepted" else "0x8000"
    _set(b.source / THREADS, r"#define THREAD_STACK_MIN +0x[0-9a-f]+", f"#define THREAD_STACK_MIN        {minimum}")
    out = b.doit(f"host:{target}")
    assert f"rebuilt Python/thread.o: {THREADS} changed" in out.stdout, out.stdout
    assert _compiled(b.log(f"make_host:{target}")) == {"Python/thread.o"}
    after = b.py("-c", PROBE).stdout.strip()
    record(f"header-threads-{target}", {"wall": f"{out.seconds:.1f}s", "before": before, "after": after})
    assert {before, after} == {"accepted", "refused"}, (before, after)
