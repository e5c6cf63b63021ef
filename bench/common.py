"""What the benches share: the CPython source they work on, the shell they measure in,
the order they take builds in."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from wasmbuild.source import default_source_dir  # noqa: E402


def as_a_plain_shell() -> None:
    """Measure what a user's plain shell gets: without the PYTHONDONTWRITEBYTECODE that
    these machines' shells (and some CI images) set. A Python keeps its bytecode in
    __pycache__ after the first run; with it set, every run compiles wasmbuild's modules
    (doit) or the stdlib python.sh reads from the tree's Lib (as upstream's does) again,
    ~0.1 s that no user pays; and python.sh passes the caller's PYTHON* variables on, as
    upstream's does, so test_pydoc's test_synopsis_sourceless (no .pyc written) fails
    under it, natively too."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def rotated(items, round_: int) -> list:
    """`items` in the order of round `round_`: A B C, then B C A, then C A B, ... (a
    measurement right after a heavy one runs slower: no build should always follow the
    same one)."""
    items = list(items)
    k = round_ % len(items) if items else 0
    return items[k:] + items[:k]


def base_source(cpython: str | None) -> Path:
    """The given CPython source, or wasmbuild's default one (fetched and verified first)."""
    if cpython:
        return Path(cpython).resolve()
    subprocess.run([sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"), "-d", str(PROJECT),
                    "source:cpython"], check=True, capture_output=True)
    shared = yaml.safe_load((PROJECT / "targets" / "_shared.yaml").read_text())
    return default_source_dir(str(shared["cpython_version"]))


def copy_source(base: Path, dest: Path) -> Path:
    """A copy to edit and build (without the base's own build outputs)."""
    shutil.copytree(base, dest, symlinks=True, ignore=shutil.ignore_patterns("cross-build", "builddir"))
    return dest
