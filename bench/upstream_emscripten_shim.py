"""Runs CPython's own `python Platforms/emscripten ...` (3.14.4+) where it cannot download:
inside the toolchain root, with its two downloads served from wasmbuild's download cache.

    python3 upstream_emscripten_shim.py CHECKOUT DOWNLOADS ARGS...

The only changes to what the script does (bench/UPSTREAM-314.md lists them):
- config.toml's dependency URLs become file:// URLs of the download cache (urlopen reads
  them as it reads https://). mpdecimal 4.0.1 is the same tarball (same sha256); libffi
  is Debian's 3.4.8 .orig (the script pins 3.4.6, from GitHub), the one wasmbuild builds;
- that libffi tarball has no generated configure: `autoreconf -fi` runs after unpacking,
  as wasmbuild's libffi step does.
- the root has no git: a `git` that answers as git does outside a repository (exit 128)
  is put first on PATH, so the script's SOURCE_DATE_EPOCH probe takes its own
  "building from a tarball" branch (the tree is a release tarball).
Nothing else is touched: its configure, make, flags and layout are its own.
"""
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import tomllib

checkout, downloads, *args = sys.argv[1:]
LIBFFI = os.path.join(downloads, "libffi_3.4.8.orig.tar.gz")
MPDEC = os.path.join(downloads, "mpdecimal_4.0.1.orig.tar.gz")
LIBFFI_SHA256 = "cbb7f0b3b095dc506387ec1e35b891bfb4891d05b90a495bc69a10f2293f80ff"

_load = tomllib.load


def load(f, **kw):
    data = _load(f, **kw)
    deps = data.get("dependencies", {})
    if "libffi" in deps:
        deps["libffi"].update(url="file://" + LIBFFI, version="3.4.8", shasum=LIBFFI_SHA256)
    if "mpdec" in deps:
        deps["mpdec"]["url"] = "file://" + MPDEC
    return data


_unpack = shutil.unpack_archive


def unpack(filename, extract_dir=None, *a, **kw):
    _unpack(filename, extract_dir, *a, **kw)
    ffi = os.path.join(extract_dir or ".", "libffi-3.4.8")
    if os.path.isdir(ffi) and not os.path.exists(os.path.join(ffi, "configure")):
        subprocess.run(["autoreconf", "-fi"], cwd=ffi, check=True)


tomllib.load = load
shutil.unpack_archive = unpack
stub = tempfile.mkdtemp(prefix="no-git-")
with open(os.path.join(stub, "git"), "w") as f:
    f.write("#!/bin/sh\necho 'fatal: not a git repository' >&2\nexit 128\n")
os.chmod(os.path.join(stub, "git"), 0o755)
os.environ["PATH"] = stub + os.pathsep + os.environ["PATH"]
os.chdir(checkout)
sys.argv = [os.path.join(checkout, "Platforms", "emscripten"), *args]
runpy.run_path(sys.argv[0], run_name="__main__")
