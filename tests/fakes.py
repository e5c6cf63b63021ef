"""A tiny CPython-shaped tree and fake toolchain executables for the unit tests.

The fake `configure` writes a Makefile whose rules copy sources into python.js /
python.wasm / python, so that what the interpreter "contains" follows what was edited,
and every configure/make/emcc run is appended to $FAKE_RUNS so tests can count them.
"""
from __future__ import annotations

import stat
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent

FAKE_CONFIGURE = r'''#!/bin/sh
# fake CPython configure
srcdir=$(cd "$(dirname "$0")" && pwd)
echo "configure $(basename "$PWD") $*" >> "$FAKE_RUNS"
for a in "$@"; do case "$a" in --fail-configure) echo "configure: error: asked to fail" >&2; exit 1;; esac; done
printf '%s\n' "$@" > configure.args
# CPython's configure: the build Python must exist and be of the source's major.minor
version=$(sed -n 's/^#define PY_VERSION "\([0-9]*\.[0-9]*\).*/\1/p' "$srcdir/Include/patchlevel.h")
for a in "$@"; do case "$a" in --with-build-python=*)
  bp=${a#--with-build-python=}
  command -v "$bp" >/dev/null || { echo "configure: error: invalid or missing build python binary \"$bp\"" >&2; exit 1; }
  got=$("$bp" -c "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')")
  [ "$got" = "$version" ] || { echo "configure: error: \"$bp\" has incompatible version $got (expected: $version)" >&2; exit 1; }
esac; done
rm -f pybuilddir.txt          # as CPython's configure does
touch config.cache config.status
cat > Makefile <<EOF
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
	mkdir -p build/lib.fake && echo 'build_time_vars = {}' > build/lib.fake/_sysconfigdata__fake.py
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
    "node": 'echo v20.19.2',
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


def make_cpython_tree(root: Path, version: str = "3.13.5") -> Path:
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
    _write(root / "Tools" / "wasm" / "config.site-wasm32-emscripten", "ac_cv_func_eventfd=no\n")
    _write(root / "Tools" / "wasm" / "config.site-wasm32-wasi", "ac_cv_func_eventfd=no\n")
    for layout in ("Tools/wasm/emscripten", "Tools/wasm/wasi", "Platforms/emscripten", "Platforms/WASI"):
        for t in ("emscripten", "wasi"):
            _write(root / layout / f"config.site-wasm32-{t}", "ac_cv_func_eventfd=no\n")
    _write(root / "Doc" / "index.rst", "docs are not a build input\n")
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
