"""A tiny CPython-shaped tree and fake toolchain executables for the unit tests.

The fake `configure` writes a Makefile whose rules copy sources into python.js /
python.wasm / python, so that what the interpreter "contains" follows what was edited,
and every configure/make/emcc run is appended to $FAKE_RUNS so tests can count them.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent

FAKE_CONFIGURE = r'''#!/bin/sh
# fake CPython configure
# answer: 1
srcdir=$(cd "$(dirname "$0")" && pwd)
for a in "$@"; do case "$a" in --srcdir=*) srcdir=$(cd "${a#--srcdir=}" && pwd);; esac; done
echo "configure $(basename "$PWD") $*" >> "$FAKE_RUNS"
for a in "$@"; do case "$a" in --fail-configure) echo "configure: error: asked to fail" >&2; exit 1;; esac; done
printf '%s\n' "$@" > configure.args
# the site scripts, as autoconf 2.70+ reads them: every file CONFIG_SITE lists, in order
for site in $CONFIG_SITE; do if [ -f "$site" ]; then . "$site"; fi; done
echo "ac_cv_fake_site=${ac_cv_fake_site:-unset}" > configure.site-answers
# CPython's configure: the build Python must exist and be of the source's major.minor
version=$(sed -n 's/^#define PY_VERSION "\([0-9]*\.[0-9]*\).*/\1/p' "$srcdir/Include/patchlevel.h")
for a in "$@"; do case "$a" in --with-build-python=*)
  bp=${a#--with-build-python=}
  command -v "$bp" >/dev/null || { echo "configure: error: invalid or missing build python binary \"$bp\"" >&2; exit 1; }
  got=$("$bp" -c "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')")
  [ "$got" = "$version" ] || { echo "configure: error: \"$bp\" has incompatible version $got (expected: $version)" >&2; exit 1; }
esac; done
rm -f pybuilddir.txt          # as CPython's configure does
# a cached answer, as autoconf's: config.cache wins over what this script would find
answer=$(sed -n 's/^# answer: //p' "$0")
cached=$(sed -n 's/^ac_cv_fake_answer=//p' config.cache 2>/dev/null)
answer=${cached:-$answer}
echo "ac_cv_fake_answer=$answer" > config.cache
# as 3.13's configure declares modules n/a and decides fcntl (the text configure.patches edits)
case $ac_sys_system in #(
  Emscripten|WASI) :



    py_cv_module__curses=n/a
    py_cv_module__curses_panel=n/a
 ;;
esac
  if test "$ac_cv_header_sys_ioctl_h" = "yes" -a "$ac_cv_header_fcntl_h" = "yes"
then :
  py_cv_module_fcntl=yes
fi
touch config.status
cat > Makefile <<EOF
FAKE_ANSWER=$answer
MODULE__CTYPES_STATE=missing
MODULE__JSON_STATE=yes
MODULE__DECIMAL_STATE=yes
srcdir=$srcdir
all: python python.js python.wasm pybuilddir.txt
python: \$(srcdir)/Objects/listobject.c
	echo "make \$@ $(basename "$PWD")" >> "\$\$FAKE_RUNS"
	printf '#!/bin/sh\n# built from %s\ncase "\$\$2" in *version_info.major*) echo $version; exit;; esac\nexec python3 "\$\$@"\n' "\$\$(md5sum < \$(srcdir)/Objects/listobject.c)" > python && chmod +x python
python.js: Objects/listobject.o
	echo "make \$@ $(basename "$PWD")" >> "\$\$FAKE_RUNS"
	cat Objects/listobject.o > python.js
# as CPython's Makefile: the clinic header is no prerequisite; with -MMD the "compiler"
# names it in the object's dependency file
Objects/listobject.o: \$(srcdir)/Objects/listobject.c
	echo "compile \$@ $(basename "$PWD")" >> "\$\$FAKE_RUNS"
	mkdir -p Objects && cat \$(srcdir)/Objects/listobject.c \$(srcdir)/Objects/clinic/listobject.c.h > \$@
	case "\$(EXTRA_CFLAGS) \$\$EXTRA_CFLAGS" in *-MMD*) printf '%s: %s %s\\n' \$@ \$(srcdir)/Objects/listobject.c \$(srcdir)/Objects/clinic/listobject.c.h > Objects/listobject.d;; esac
python.wasm: \$(srcdir)/Objects/listobject.c \$(srcdir)/Lib/os.py
	echo "make \$@ $(basename "$PWD")" >> "\$\$FAKE_RUNS"
	cat \$(srcdir)/Objects/listobject.c \$(srcdir)/Lib/os.py > python.wasm
pybuilddir.txt:
	mkdir -p build/lib.fake && echo "build_time_vars = {'abs_builddir': '\$\$PWD', 'srcdir': '\$(srcdir)'}" > build/lib.fake/_sysconfigdata__fake.py
	echo build/lib.fake > pybuilddir.txt
clean:
	rm -f python python.js python.wasm
	find . -name '*.a' -exec rm -f {} ';'    # as CPython's clean does
EOF
'''

TOOLS = {
    # Emscripten
    "emcc": 'echo "emcc (Emscripten gcc/clang-like replacement + linker emulating GNU ld) 3.1.74 (fake)"',
    "emconfigure": 'exec "$@"',
    "emmake": 'exec "$@"',
    "embuilder": 'echo "embuilder $*" >> "$FAKE_RUNS"',
    # `--snapshot-blob F --build-snapshot ENTRY` writes F (node_snapshot:), as Node does
    "node": ('while [ $# -gt 0 ]; do case "$1" in --snapshot-blob) blob=$2; shift;; '
             '--build-snapshot) echo "node --build-snapshot $2" >> "$FAKE_RUNS"; '
             'cat "$2" > "$blob"; exit;; esac; shift; done; echo v20.19.2'),
    # WASI
    "clang": 'echo "clang version 19.1.7 (fake)"',
    "wasm-ld": 'exit 0',
    "wasmtime": 'echo "wasmtime $*" >> "$FAKE_RUNS"',
    # native
    "gcc": 'echo 12.2.0',
    "cc": 'echo 12.2.0',
    # must never run in unit tests
    "bwrap": 'echo "unit test started the real toolchain (bwrap $*)" >&2; echo REAL-TOOLCHAIN >> "$FAKE_RUNS"; exit 99',
    "debootstrap": 'echo "unit test started debootstrap" >&2; echo REAL-TOOLCHAIN >> "$FAKE_RUNS"; exit 99',
}


def _write(path: Path, text: str, executable: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


# The wasm files of each CPython layout, as upstream's trees have them: 3.13 keeps everything in Tools/wasm/; 3.14.0-3.14.3
# have Tools/wasm/emscripten/ and Tools/wasm/wasi/; 3.14.4 moved the emscripten files to
# Platforms/emscripten/ but not WASI's; main has Platforms/emscripten/ and Platforms/WASI/.
# 3.14 and later compile Python/emscripten_trampoline_inner.c with a separate clang.
LAYOUTS = {
    "3.13": ["Tools/wasm/wasm_build.py", "Tools/wasm/wasi.py", "Tools/wasm/python.html",
             "Tools/wasm/config.site-wasm32-emscripten", "Tools/wasm/config.site-wasm32-wasi",
             "Python/emscripten_trampoline.c"],
    "3.14.0": ["Tools/wasm/emscripten/__main__.py", "Tools/wasm/emscripten/node_entry.mjs",
               "Tools/wasm/emscripten/config.site-wasm32-emscripten",
               "Tools/wasm/emscripten/make_libffi.sh", "Tools/wasm/emscripten/prepare_external_wasm.py",
               "Tools/wasm/emscripten/web_example/index.html",
               "Tools/wasm/emscripten/web_example/python.worker.mjs",
               "Tools/wasm/wasi/__main__.py", "Tools/wasm/wasi/config.site-wasm32-wasi",
               "Tools/wasm/wasi.py", "Python/emscripten_trampoline.c",
               "Python/emscripten_trampoline_inner.c"],
    "3.14.6": ["Platforms/emscripten/__main__.py", "Platforms/emscripten/node_entry.mjs",
               "Platforms/emscripten/config.site-wasm32-emscripten",
               "Platforms/emscripten/make_libffi.sh", "Platforms/emscripten/prepare_external_wasm.py",
               "Platforms/emscripten/web_example/index.html",
               "Platforms/emscripten/web_example/python.worker.mjs",
               "Tools/wasm/emscripten/__main__.py",
               "Tools/wasm/wasi/__main__.py", "Tools/wasm/wasi/config.site-wasm32-wasi",
               "Tools/wasm/wasi.py", "Python/emscripten_trampoline.c",
               "Python/emscripten_trampoline_inner.c"],
    # the real 3.14.7 tree (shared/sources) as well: streams.mjs and config.toml
    "3.14.7": ["Platforms/emscripten/__main__.py", "Platforms/emscripten/node_entry.mjs",
               "Platforms/emscripten/streams.mjs", "Platforms/emscripten/config.toml",
               "Platforms/emscripten/config.site-wasm32-emscripten",
               "Platforms/emscripten/make_libffi.sh", "Platforms/emscripten/wasm_assets.py",
               "Platforms/emscripten/web_example/index.html",
               "Platforms/emscripten/web_example/python.worker.mjs",
               "Platforms/emscripten/web_example_pyrepl_jspi/src.mjs",
               "Tools/wasm/emscripten/__main__.py",
               "Tools/wasm/wasi/__main__.py", "Tools/wasm/wasi/config.site-wasm32-wasi",
               "Tools/wasm/wasi.py", "Python/emscripten_trampoline.c",
               "Python/emscripten_trampoline_inner.c"],
    "main": ["Platforms/emscripten/__main__.py", "Platforms/emscripten/node_entry.mjs",
             "Platforms/emscripten/streams.mjs", "Platforms/emscripten/config.toml",
             "Platforms/emscripten/config.site-wasm32-emscripten",
             "Platforms/emscripten/make_libffi.sh", "Platforms/emscripten/prepare_external_wasm.py",
             "Platforms/emscripten/web_example/index.html",
             "Platforms/WASI/__main__.py", "Platforms/WASI/_build.py", "Platforms/WASI/config.toml",
             "Platforms/WASI/config.site-wasm32-wasi", "Platforms/WASI/wasmtime.toml",
             "Tools/wasm/wasi/__main__.py", "Python/emscripten_trampoline.c",
             "Python/emscripten_trampoline_inner.c", "Python/emscripten_syscalls.c"],
}


# main's pins (Platforms/*/config.toml, as of 2026-08: emscripten 6.0.6, WASI SDK 33)
PINS = {
    "Platforms/emscripten/config.toml": textwrap.dedent("""\
        # Any data that can vary between Python versions is to be kept in this file.
        emscripten-version = "6.0.6"
        node-version = "24"
        test-args = ["-m", "test", "-v", "-uall", "--rerun", "--single-process", "-W"]

        [dependencies.libffi]
        url = "https://github.com/libffi/libffi/releases/download/v{version}/libffi-{version}.tar.gz"
        version = "3.4.6"
        shasum = "b0dea9df23c863a7a50e825440f3ebffabd65df1497108e5d437747843895a4e"

        [dependencies.mpdec]
        url = "https://www.bytereef.org/software/mpdecimal/releases/mpdecimal-{version}.tar.gz"
        version = "4.0.1"
        shasum = "96d33abb4bb0070c7be0fed4246cd38416188325f820468214471938545b1ac8"
        """),
    "Platforms/WASI/config.toml": textwrap.dedent("""\
        [targets]
        wasi-sdk = 33
        host-triple = "wasm32-wasip1"
        """),
}


def _layout_of(version: str) -> str:
    minor = tuple(int(p) for p in version.split(".")[:2])
    return "3.13" if minor <= (3, 13) else "main" if minor >= (3, 15) else "3.14.6"


def make_cpython_tree(root: Path, version: str = "3.13.5", layout: str | None = None) -> Path:
    _write(root / "configure", FAKE_CONFIGURE, executable=True)
    _write(root / "Include" / "patchlevel.h", f'#define PY_VERSION "{version}"\n')
    _write(root / "Makefile.pre.in", textwrap.dedent("""\
        FROZEN_FILES_IN = \\
        \t\tLib/importlib/_bootstrap.py \\
        \t\tLib/os.py \\
        \t\tPrograms/test_frozenmain.py

        """))
    _write(root / "Objects" / "listobject.c", "/* list */ int list_version = 1;\n")
    _write(root / "Objects" / "clinic" / "listobject.c.h", '/* clinic */ const char *list_append_doc = "Append object";\n')
    _write(root / "Python" / "compile.c", "/* the bytecode compiler */\n")
    for rel in LAYOUTS[layout or _layout_of(version)]:
        text = PINS.get(rel) or ("ac_cv_func_eventfd=no\n" if "config.site" in rel else f"# {rel}\n")
        _write(root / rel, text)
    _write(root / "Doc" / "index.rst", "docs are not a build input\n")
    _write(root / "LICENSE", "A. HISTORY OF THE SOFTWARE (fake)\n")
    for rel, text in {
        "os.py": "SEP = '/'\n",
        "importlib/__init__.py": "",
        "importlib/_bootstrap.py": "x = 1\n",
        "json/__init__.py": "from .encoder import dumps\n",
        "json/encoder.py": "def dumps(o):\n    return repr(o)\n",
        "ctypes/__init__.py": "import _ctypes\n",
        "test/test_list.py": "pass\n",
        "email/__init__.py": "",
        "http/__init__.py": "",
    }.items():
        _write(root / "Lib" / rel, text)
    return root


def make_fake_bin(path: Path) -> Path:
    for name, body in TOOLS.items():
        _write(path / name, f"#!/bin/sh\n{body}\n", executable=True)
    return path


def runs(runs_file: Path) -> list[str]:
    return runs_file.read_text().splitlines() if runs_file.exists() else []


class FakeProject:
    """A fake CPython tree + fake toolchain, and a way to run doit on them."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.src = make_cpython_tree(tmp / "cpython")
        self.bin = make_fake_bin(tmp / "fakebin")
        self.runs_file = tmp / "runs.log"
        self.cache = tmp / "cache"
        self.targets = self._fake_targets(tmp / "targets")
        self.toolchains = PROJECT / "toolchains"

    def _fake_targets(self, dest: Path) -> Path:
        """The real target YAML, but each downloaded dependency comes from a local tarball
        and its steps only write the outputs it declares (no network, no compiler)."""
        import yaml
        dest.mkdir()
        for path in (PROJECT / "targets").glob("*.yaml"):
            data = yaml.safe_load(path.read_text())
            overlays = [o.get("set", {}) for o in [*data.get("overlays", []), *data.get("overlays+", [])]]
            for dep in [*data.get("dependencies", []),
                        *(d for o in overlays for d in o.get("dependencies+", []))]:
                if "download" not in dep:
                    continue
                dep["download"] = self.fake_download(dep["name"], dep["version"])
                dep["steps"] = [{"run": 'echo "dep {{ dep_name }}" >> "$FAKE_RUNS"; test -f README; '
                                        + "; ".join(f"mkdir -p $(dirname {o}) && date +%s%N > {o}"
                                                    for o in dep.get("outputs", []))}]
            # the fake make's python.wasm is text, not a module: no debug info to split off
            # (tests/test_debuginfo.py splits real modules; tests/e2e the real package)
            if data.get("package"):
                data["package"].pop("debug", None)
            for profile in (data.get("profiles") or {}).values():
                (profile.get("package") or {}).pop("debug", None)
            (dest / path.name).write_text(yaml.safe_dump(data, sort_keys=False))
        return dest

    def fake_download(self, name: str, version: str) -> dict:
        """A local tarball `<name>-<version>/README` ("fake <name> <version>") and the
        `download:` YAML mapping that fetches it."""
        import hashlib
        import tarfile
        src = self.tmp / "depsrc" / f"{name}-{version}"
        src.mkdir(parents=True, exist_ok=True)
        (src / "README").write_text(f"fake {name} {version}\n")
        tarball = self.tmp / f"fake-{name}-{version}.tar.gz"
        with tarfile.open(tarball, "w:gz") as tf:
            tf.add(src, arcname=f"{name}-{version}")
        return {"file": tarball.name, "sha256": hashlib.sha256(tarball.read_bytes()).hexdigest(),
                "urls": [f"file://{tarball}"]}

    @property
    def cross_build(self) -> Path:
        return self.src / "cross-build"

    def env(self) -> dict:
        env = dict(os.environ)
        env["PATH"] = f"{self.bin}:{env['PATH']}"
        env["FAKE_RUNS"] = str(self.runs_file)
        env["WASMBUILD_CACHE"] = str(self.cache)
        return env

    def doit_argv(self, *args, extra_vars=()) -> list[str]:
        # variables first: after a task that takes positional arguments (run:*), every
        # word is that task's
        return [sys.executable, "-m", "doit", "-f", str(PROJECT / "dodo.py"), "-d", str(PROJECT),
                f"cpython={self.src}", "provider=system",
                f"targets={self.targets}", f"toolchains={self.toolchains}", *extra_vars, *args]

    def doit(self, *args, check=True, extra_vars=(), wrap=()) -> subprocess.CompletedProcess:
        """doit on the fake project; `wrap` is a command prefix (e.g. a mount namespace)."""
        cmd = [*wrap, *self.doit_argv(*args, extra_vars=extra_vars)]
        out = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, timeout=120)
        if check and out.returncode != 0:
            raise AssertionError(f"doit {' '.join(args)} failed ({out.returncode}):\n"
                                 f"{out.stdout}\n{out.stderr}")
        assert "REAL-TOOLCHAIN" not in "\n".join(self.runs())
        return out

    def edit_target(self, filename: str, change, new_name: str | None = None) -> Path:
        """Load targets/<filename>, let `change` edit the data, write it (or a new file)."""
        import yaml
        path = self.targets / filename
        data = yaml.safe_load(path.read_text())
        change(data)
        out = self.targets / (new_name or filename)
        out.write_text(yaml.safe_dump(data, sort_keys=False))
        return out

    def runs(self) -> list[str]:
        return runs(self.runs_file)

    def reset_runs(self):
        self.runs_file.unlink(missing_ok=True)


DETECT = '''detected=${FAKE_DETECTED:-none}
if [ -n "${FAKE_KILL_AT:-}" ] && [ "$(basename "$PWD")" = "$FAKE_KILL_AT" ]; then kill -KILL "$FAKE_KILL"; sleep 0.2; fi
cached_detected=$(sed -n 's/^ac_cv_fake_detected=//p' config.cache 2>/dev/null)
cached_dir=$(sed -n 's/^ac_cv_fake_dir=//p' config.cache 2>/dev/null)
# a cached answer, as autoconf's'''
REMEMBER = '''echo "ac_cv_fake_answer=$answer" > config.cache
echo "ac_cv_fake_detected=${cached_detected:-$detected}" >> config.cache
echo "ac_cv_fake_dir=${cached_dir:-$PWD}" >> config.cache'''


class Machine(FakeProject):
    """A FakeProject as one of several machines: what its configure finds on its own comes
    from $FAKE_DETECTED (outside every key), so a restored answer can be told from a found
    one; its build dir is in config.cache, as real answers hold paths."""
    def __init__(self, tmp, name: str, detected: str, bin_from: "Machine | None" = None):
        super().__init__(tmp / name)
        if bin_from is not None:
            # the same toolchain (the same executables) and the same target YAML, whose
            # fake dependency tarballs are made per machine otherwise
            self.bin, self.targets = bin_from.bin, bin_from.targets
        configure = self.src / "configure"
        configure.write_text(configure.read_text()
                             .replace("# a cached answer, as autoconf's", DETECT)
                             .replace('echo "ac_cv_fake_answer=$answer" > config.cache', REMEMBER))
        self.detected = detected

    extra_env: dict = {}

    def env(self):
        return {**super().env(), "FAKE_DETECTED": self.detected, **self.extra_env}

    def cached(self, key: str) -> str:
        text = (self.cross_build / "wasm32-emscripten" / "config.cache").read_text()
        return next(l.split("=", 1)[1] for l in text.splitlines() if l.startswith(f"ac_cv_fake_{key}="))

    def libffi(self) -> str:
        return (self.cross_build / "wasm32-emscripten-deps" / "prefix" / "lib" / "libffi.a").read_text()

    def report_line(self, out, task: str) -> str:
        return next(l for l in out.stdout.splitlines() if f" {task} " in l)
