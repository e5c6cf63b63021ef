"""Bad command-line variables: one line each naming the variable, what was given and
what is expected; exit status 2, no traceback, nothing built."""
import pytest

BAD = [
    ("jobs=abc", "jobs=abc: expected a whole number from 1 to 256"),
    ("jobs=0", "jobs=0: expected a whole number from 1 to 256"),
    ("jobs=-2", "jobs=-2: expected a whole number from 1 to 256"),
    ("jobs=100000", "jobs=100000: expected a whole number"),
    ("cross_build=/proc/nope/xb", "cross_build=/proc/nope/xb: cannot create it"),
    ("provider=bogus", "provider=bogus: expected debian-root or system"),
    ("targets=/nonexistent", "targets=/nonexistent: no such folder; expected a folder of target YAML"),
    ("toolchains=/", "toolchains=/: no .yaml file in it"),
    ("cpython=/nonexistent", "cpython=/nonexistent: no such folder"),
    ("job=4", "unknown variable job=4 (did you mean jobs=?)"),
    ("cpyton=/x", "unknown variable cpyton=/x (did you mean cpython=?)"),
    ("colour=red", "unknown variable colour=red; known: cpython="),
    ("modules=", "modules=: empty value"),
    ("provider=", "provider=: empty value"),
    ("release=3.13.15", "release=3.13.15: cpython= names the source already; give one of the two"),
]


@pytest.mark.parametrize("variable, message", BAD, ids=[v for v, _ in BAD])
def test_bad_variable_is_one_line_and_builds_nothing(fake, variable, message):
    out = fake.doit("host:emscripten", variable, check=False)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wasmbuild: ") and message in lines[0], out.stderr
    assert "Traceback" not in out.stderr
    assert fake.runs() == []
    assert not (fake.cross_build / ".wasmbuild").exists()

