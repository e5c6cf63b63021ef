"""site:<target>: wheels installed into the folder the interpreter finds as its
site-packages (the target's `extensions.site_packages`; python.sh, the package and the web
page each show it to the interpreter at its own site-packages path).

Installed with PyPA's `installer` (the reference implementation of wheel installation),
after every wheel was checked against the tags the interpreter accepts: one that does not
fit stops the install in one line naming both tags, and nothing is changed. No bytecode
is written (the host's Python is not the target's).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..atomic import write_text
from ..digests import hash_file
from ..errors import WasmbuildError
from ..runlog import say
from . import tags


def install_wheels(wheels: list[Path], dest: Path, accepted: list[str], interpreter: str,
                   record: Path) -> list[str]:
    """A fresh `dest` holding exactly these wheels; returns the installed file list
    (relative paths), also written with the wheels' sha256 into `record`."""
    for wheel in wheels:
        tags.check_wheel(wheel.name, accepted, interpreter)
    try:
        from installer import install
        from installer.destinations import SchemeDictionaryDestination
        from installer.sources import WheelFile
    except ImportError:
        raise WasmbuildError("the Python package `installer` is missing: pip install -e . "
                             "(wasmbuild depends on it)") from None
    record.unlink(missing_ok=True)
    staging = dest.with_name(dest.name + ".installing")
    extra = record.with_suffix("")          # scripts, headers and data: beside, never in site
    for d in (staging, extra):
        shutil.rmtree(d, ignore_errors=True)
    staging.mkdir(parents=True)
    scheme = {"purelib": str(staging), "platlib": str(staging), "headers": str(extra / "include"),
              "scripts": str(extra / "bin"), "data": str(extra / "data")}
    names = {}
    for wheel in wheels:
        destination = SchemeDictionaryDestination(scheme, interpreter="/usr/bin/env python3",
                                                  script_kind="posix")
        with WheelFile.open(wheel) as source:
            install(source, destination, {"INSTALLER": b"wasmbuild\n"})
        names[wheel.name] = hash_file(wheel, "sha256")
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    write_text(record, json.dumps({"wheels": names, "files": files, "site_packages": str(dest)},
                                  indent=1) + "\n")
    say(f"   {len(wheels)} wheels, {len(files)} files in {dest}")
    return files


def holds(record: Path, wheels: list[Path]) -> bool:
    """Whether the last install from `record` was of exactly these wheels (by sha256) and
    its files are all there: then it is kept, with the __pycache__ the interpreter wrote."""
    data = installed(record)
    return (bool(data) and data.get("wheels") == {w.name: hash_file(w, "sha256") for w in wheels}
            and not missing_files(data))


def missing_files(data: dict) -> list[str]:
    """The files a record lists that are no longer in its folder (the interpreter's own
    site-packages, writable through python.sh: a test, pip or a hand may remove them)."""
    root = Path(data.get("site_packages", "/nonexistent"))
    return [f for f in data.get("files", []) if not (root / f).is_file()]


def installed(record: Path) -> dict:
    """What the last site: installed ({} if it never ran)."""
    try:
        return json.loads(record.read_text())
    except (OSError, ValueError):
        return {}


def copy_site(record: Path, dest: Path) -> int:
    """The installed files (as the record lists them) into `dest` (the package's
    lib/pythonX.Y/site-packages, the web folder's site-packages): the number copied."""
    data = installed(record)
    site = Path(data.get("site_packages", ""))
    for rel in data.get("files", []):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(site / rel, dest / rel)
    return len(data.get("files", []))
