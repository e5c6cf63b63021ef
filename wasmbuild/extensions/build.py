"""wheel_lib:<target>-<name> and wheel:<target>-<name>: a C library built for the target,
and a wheel built in the cross env from an sdist or a project folder.

A wheel is built in place in its own work folder (the unpacked sdist, or a copy of the
folder updated file by file), so setuptools finds its objects of the last build there, and
every compile goes through the toolchain's ccache: after an edit, only the edited file is
compiled (ccache's counts are in the build report); with nothing changed, doit runs
nothing at all.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

from ..atomic import write_text
from ..digests import hash_file
from ..errors import WasmbuildError
from ..runlog import run_logged, say
from .. import sharing
from . import tags
from .layout import FOLDER_OUTPUTS

def _outputs(name: str) -> bool:
    """A build's own output in a project folder: never copied from the user's folder, never
    removed from the work copy (the objects of the last build are there)."""
    return name in FOLDER_OUTPUTS or name.endswith(".egg-info")


def mirror(source: Path, dest: Path) -> tuple[int, int]:
    """Make `dest` hold `source`'s files (by size and mtime; copied with their mtime),
    its build outputs kept. Returns (copied, removed)."""
    copied = removed = 0
    wanted = set()
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = [d for d in dirnames if not _outputs(d)]
        rel = os.path.relpath(dirpath, source)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for f in filenames:
            relf = os.path.normpath(os.path.join(rel, f))
            wanted.add(relf)
            s = os.stat(os.path.join(dirpath, f))
            try:
                d = os.stat(dest / relf)
                if (d.st_size, d.st_mtime_ns) == (s.st_size, s.st_mtime_ns):
                    continue
            except FileNotFoundError:
                pass
            shutil.copy2(os.path.join(dirpath, f), dest / relf)
            copied += 1
    for dirpath, dirnames, filenames in os.walk(dest):
        dirnames[:] = [d for d in dirnames if not _outputs(d)]
        for f in filenames:
            relf = os.path.normpath(os.path.join(os.path.relpath(dirpath, dest), f))
            if relf not in wanted:
                os.unlink(os.path.join(dirpath, f))
                removed += 1
    return copied, removed


def unpack(archive: Path, dest: Path) -> None:
    """An sdist (.tar.gz or .zip) into the fresh folder `dest`, its top folder stripped."""
    import tarfile
    import zipfile
    shutil.rmtree(dest, ignore_errors=True)
    tmp = dest.with_name(dest.name + ".unpacking")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(tmp, filter="data")
    entries = list(tmp.iterdir())
    top = entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp
    top.rename(dest)
    shutil.rmtree(tmp, ignore_errors=True)


def build_library(ep, plan, lib_name: str, lib, *, log: Path):
    """The library's verified sources into a fresh folder, then its YAML steps there."""
    from ..actions import run_steps
    from ..fetch import fetch
    src = ep.library_src(lib_name)
    for out in lib.outputs:
        Path(out).unlink(missing_ok=True)
    unpack(fetch(lib.download), src)
    ep.prefix.mkdir(parents=True, exist_ok=True)
    stats = src / sharing.STATS_LOG
    env = sharing.build_env(plan.source.path, ep.tgt.toolchain.identity, plan.remote, stats)
    failed = run_steps(plan, ep.tgt.toolchain, lib.steps, log=log, name=f"wheel_lib:{ep.name}-{lib_name}",
                       label="steps", extra_env={**env, "CCACHE_BASEDIR": str(ep.root)})
    if failed:
        return failed
    missing = [o for o in lib.outputs if not Path(o).exists()]
    if missing:
        raise WasmbuildError(f"the steps of {lib_name} ran but did not produce {', '.join(missing)}")
    line = sharing.describe_ccache(sharing.ccache_counts(stats))
    return {"notes": [line]} if line else None


def prepare(ep, source) -> Path:
    """The work folder of a source, up to date with it."""
    from ..fetch import fetch
    work = ep.work(source)
    if source.is_folder:
        copied, removed = mirror(source.path, work)
        say(f"   {source.name}: {copied} files copied from {source.path}, {removed} removed")
        return work
    archive = fetch(source.package.sdist) if source.package else source.path
    stamp = work.parent / f".{source.name}.sdist"
    sha = hash_file(archive, "sha256")
    if not (work.is_dir() and stamp.is_file() and stamp.read_text() == sha):
        unpack(archive, work)
        write_text(stamp, sha)
    return work


def build_wheel(ep, plan, source, *, log: Path, name: str):
    """pip wheel (no isolation: the env holds the build requirements) in the toolchain's
    sandbox, without network; the wheel is checked against the interpreter's tags."""
    from ..actions import _rw
    from .crossenv import read_facts
    record = read_facts(ep)
    work = prepare(ep, source)
    out = ep.wheels / f".{source.name}.building"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {}
    for lib in (source.package.libraries if source.package else []):
        for key, value in ep.library(lib).provides.items():
            env[key] = f"{env[key]} {value}" if key in env else value
    env.update(source.package.env if source.package else {})
    stats = out / sharing.STATS_LOG
    env.update(sharing.build_env(plan.source.path, ep.tgt.toolchain.identity, plan.remote, stats))
    env["CCACHE_BASEDIR"] = str(ep.root)
    argv = [str(ep.env / "bin" / "python"), "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
            "--disable-pip-version-check", "--wheel-dir", str(out), str(work)]
    full, run_env = ep.tgt.toolchain.sandbox.command(argv, work, rw=_rw(plan), ro=[plan.source.path],
                                                     extra_env=env)
    failed = run_logged(full, env=run_env, cwd=work, log=log, name=name, title=shlex.join(argv))
    if failed:
        return failed
    built = sorted(out.glob("*.whl"))
    if len(built) != 1:
        raise WasmbuildError(f"pip wheel made {len(built)} wheels in {out}, expected one")
    wheel = built[0]
    declared = tags.wheel_tags(wheel.name)
    notes = []
    counts = sharing.ccache_counts(stats)
    ccache = sharing.describe_ccache(counts)
    if all(t.endswith("-none-any") for t in declared):
        notes.append(f"{wheel.name} is pure Python: no extension module was built")
        say(f"   warning: {notes[-1]}")
    for old in ep.wheels.glob("*.whl"):
        if old.name != wheel.name and ep.record(source).is_file() and \
                json.loads(ep.record(source).read_text()).get("wheel") == old.name:
            old.unlink()
    final = ep.wheels / wheel.name
    wheel.replace(final)
    shutil.rmtree(out, ignore_errors=True)
    write_text(ep.record(source), json.dumps({"wheel": final.name, "sha256": hash_file(final, "sha256"),
                                              "tags": declared, "target": record["target"],
                                              "ccache": counts}, indent=1) + "\n")
    if ccache:
        notes.append(ccache)
    say(f"   {final.name}" + (f" ({notes[-1]})" if notes else ""))
    return {"notes": [final.name, *notes], "wheel": final.name}
