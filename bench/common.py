"""What bench/run.py and bench/stress.py share: the CPython source they work on."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from wasmbuild.source import default_source_dir  # noqa: E402


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
