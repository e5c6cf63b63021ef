"""`package:<target>`: the interpreter as files a distributor ships, in a tarball that is
the same bytes whoever builds the same source where.

Reproducible because:
- python.wasm has no build path in it (the Makefile's paths are relative; ccache's
  base_dir keeps them so) and its __DATE__ is SOURCE_DATE_EPOCH (sharing.build_env);
- the stdlib zip is written deterministically; its one file with build paths,
  `_sysconfigdata_*`, is replaced by its source with those paths made neutral
  (`/wasmbuild/cpython`, ...): they name the builder's folders, nothing a user has;
- the tarball is sorted, owned by 0:0, dated SOURCE_DATE_EPOCH, gzip without name or time.

Relocatable because the loaders find everything relative to themselves, and the
interpreter finds its prefix by the lib/pythonX.Y/os.py landmark (and exec_prefix by
lib/pythonX.Y/lib-dynload) next to its program name, so lib/pythonXY.zip is on sys.path wherever the package is unpacked.
"""
from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

from .artifacts import debuginfo
from .atomic import atomic_path, write_text
from .digests import hash_file
from .errors import WasmbuildError
from .render import render_loader
from .stdlib_zip import sysconfigdata, write_entry

NEUTRAL = {"@CROSS_BUILD@": "/wasmbuild/cpython/cross-build", "@SOURCE@": "/wasmbuild/cpython",
           "@TOOLCHAINS@": "/wasmbuild/toolchains", "@CACHE@": "/wasmbuild/cache",
           "@PROJECT@": "/wasmbuild/project"}


def neutral_paths(text: str, path_map) -> str:
    text = path_map.normalise(text)
    for placeholder, path in NEUTRAL.items():
        text = text.replace(placeholder, path)
    return text


def stdlib_zip(src: Path, dest: Path, sysdata: Path, path_map) -> None:
    """A copy of the stdlib zip whose `_sysconfigdata_*.pyc` is the neutral source."""
    replaced = sysdata.with_suffix(".pyc").name
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        entries = {i.filename: zin.read(i) for i in zin.infolist() if i.filename != replaced}
        entries[sysdata.name] = neutral_paths(sysdata.read_text("utf-8"), path_map).encode()
        for name in sorted(entries):
            write_entry(zout, name, entries[name])


def assemble(*, spec, build_dir: Path, zip_path: Path, source: Path, major_minor: str,
             templates_dir: Path, variables: dict, info: dict, path_map, staging: Path,
             site: tuple[Path, list[str]] | None = None) -> tuple[Path, Path | None]:
    """The package's folder, complete: files, loaders, lib/, LICENSE, build-info.json and
    SHA256SUMS; and the debug folder (its files' DWARF, spec.debug), or None. Returns both.
    `site`: installed wheels (a folder and its files), put where the interpreter finds its
    site-packages (lib/pythonX.Y/site-packages, by its prefix)."""
    needed = [build_dir / rel for rel in spec.files] + [zip_path, source / "LICENSE", source / "Lib" / "os.py"]
    if missing := [str(p) for p in needed if not p.is_file()]:
        raise WasmbuildError(f"cannot package: missing {', '.join(missing)}")
    top = staging / spec.name
    shutil.rmtree(staging, ignore_errors=True)
    # lib-dynload: the landmark of exec_prefix (empty: every module is built in)
    (top / "lib" / f"python{major_minor}" / "lib-dynload").mkdir(parents=True)
    if site:
        folder, files = site
        for rel in files:
            out = top / "lib" / f"python{major_minor}" / "site-packages" / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / rel, out)
    for rel in spec.files:
        if rel not in spec.debug:
            shutil.copyfile(build_dir / rel, top / Path(rel).name)
    debug_top = staging / "debug" / spec.name if spec.debug else None
    debug_info = {}
    for rel in spec.debug:
        name = Path(rel).name
        debug_name = f"{Path(name).stem}.debug.wasm"
        debug_top.mkdir(parents=True, exist_ok=True)
        debug_info[name] = dict(debuginfo.split(build_dir / rel, top / name, debug_top / debug_name, debug_name),
                                package=f"{spec.name}-debug.tar.gz", found_as=f"{spec.name}/{debug_name}")
    if debug_info:
        info = dict(info, debug_info=debug_info)
    for loader in spec.loaders:
        text = render_loader(templates_dir, loader, variables)
        write_text(top / loader.output, text, 0o755 if loader.executable else 0o644)
    stdlib_zip(zip_path, top / "lib" / zip_path.name, sysconfigdata(build_dir), path_map)
    shutil.copyfile(source / "Lib" / "os.py", top / "lib" / f"python{major_minor}" / "os.py")
    shutil.copyfile(source / "LICENSE", top / "LICENSE")
    files = sorted(p for p in top.rglob("*") if p.is_file())
    info = dict(info, files={str(p.relative_to(top)): p.stat().st_size for p in files})
    write_text(top / "build-info.json", json.dumps(info, indent=1, sort_keys=True) + "\n")
    files = sorted(p for p in top.rglob("*") if p.is_file())
    write_text(top / "SHA256SUMS", "".join(f"{hash_file(p, 'sha256')}  {p.relative_to(top)}\n" for p in files))
    return top, debug_top


def tarball(top: Path, dest: Path, epoch: int) -> str:
    """Write top/ as dest (.tar.gz) byte for byte the same for the same files; returns its
    sha256."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path in [top, *sorted(top.rglob("*"))]:
            info = tf.gettarinfo(str(path), arcname=str(path.relative_to(top.parent)))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = epoch
            info.mode = 0o755 if path.is_dir() or path.stat().st_mode & 0o111 else 0o644
            info.pax_headers = {}
            if path.is_file():
                with open(path, "rb") as f:
                    tf.addfile(info, f)
            else:
                tf.addfile(info)
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(buf.getvalue())
    return hash_file(dest, "sha256")
