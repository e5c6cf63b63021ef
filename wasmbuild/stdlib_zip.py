"""The stdlib zip: .pyc only, deflated, without what the YAML omits or what cannot work.

Bytecode is compiled by the build Python (same version as the target, so the same
magic number), one .pyc per source kept in a staging folder and recompiled only when
the source's content changes; the zip is then rewritten deterministically (sorted
entries, fixed timestamps), so the same sources give the same bytes.
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from .atomic import atomic_path, write_text
from .digests import hash_file
from .treestate import TreeState

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
BYTECODE_KEY = "\0bytecode"      # manifest entry: the compiler signature the .pycs match

_COMPILE = r"""
import json, py_compile, sys
jobs = json.load(open(sys.argv[1]))
for src, dst, dfile in jobs:
    py_compile.compile(src, cfile=dst, dfile=dfile, doraise=True, optimize=%d,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
"""


def write_entry(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    """One deflated entry with a fixed time and mode: the same files, the same zip."""
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
    zf.writestr(info, data)


def module_states(makefile: Path) -> dict[str, str]:
    """MODULE_<NAME>_STATE values from the host Makefile (yes/disabled/missing/n/a)."""
    states = {}
    text = makefile.read_text(encoding="utf-8", errors="replace")
    for m in re.finditer(r"^MODULE_(\w+)_STATE=(\S*)", text, re.M):
        states[m.group(1).lower()] = m.group(2)
    m = re.search(r"^MODDISABLED_NAMES=(.*)$", text, re.M)
    for name in (m.group(1).split() if m else []):
        states[name.lower()] = "disabled"
    return states


def sysconfigdata(build_dir: Path) -> Path:
    rel = (build_dir / "pybuilddir.txt").read_text().strip()
    found = sorted((build_dir / rel).glob("_sysconfigdata_*.py"))
    if not found:
        raise FileNotFoundError(f"no _sysconfigdata_*.py in {build_dir / rel}")
    return found[0]


def omitted(rel: str, patterns: list[str]) -> bool:
    """A pattern ending in / omits a folder, any other one a file (relative to Lib/)."""
    return any(rel.startswith(p) if p.endswith("/") else rel == p for p in patterns)


def select(lib_files: dict[str, str], omit: list[str], omit_if_missing: dict[str, list[str]],
           states: dict[str, str]) -> dict[str, str]:
    """The Lib/ sources that go in the zip: relpath -> content hash."""
    patterns = list(omit)
    for module, paths in omit_if_missing.items():
        if states.get(module.lower(), "yes") != "yes":
            patterns += paths
    return {rel: sha for rel, sha in lib_files.items()
            if rel.endswith(".py") and not omitted(rel, patterns)}


def build_zip(*, lib_tree: TreeState, build_dir: Path, staging: Path, dest: Path, spec,
              run_build_python, bytecode: str) -> dict:
    """Compile what changed, then write the zip. Returns counts for the log.

    `bytecode` is the signature of the compiler's sources: when it changes, every
    staged .pyc is stale."""
    states = module_states(build_dir / "Makefile")
    sources = select(lib_tree.files(), spec.omit, spec.omit_if_module_missing, states)
    sysdata = sysconfigdata(build_dir)
    sources_abs = {rel: (lib_tree.root / rel, sha) for rel, sha in sources.items()}
    sources_abs[sysdata.name] = (sysdata, hash_file(sysdata, "sha1"))

    manifest_file = staging / "manifest.json"
    try:
        manifest = json.loads(manifest_file.read_text())
    except (OSError, ValueError):
        manifest = {}
    if manifest.get(BYTECODE_KEY) != bytecode:
        manifest = {BYTECODE_KEY: bytecode}
    jobs = []
    for rel, (src, sha) in sources_abs.items():
        pyc = staging / (rel[:-3] + ".pyc")
        if manifest.get(rel) != sha or not pyc.exists():
            pyc.parent.mkdir(parents=True, exist_ok=True)
            jobs.append([str(src), str(pyc), rel])
    if jobs:
        # forget the entries being rebuilt first: an interrupt leaves them to redo
        for _, _, rel in jobs:
            manifest.pop(rel, None)
        write_text(manifest_file, json.dumps(manifest))
        job_file = staging / "jobs.json"
        write_text(job_file, json.dumps(jobs))
        failed = run_build_python(["-c", _COMPILE % spec.optimize, str(job_file)])
        if failed:
            return failed
        for rel, (_, sha) in sources_abs.items():
            manifest[rel] = sha
        write_text(manifest_file, json.dumps(manifest))

    with atomic_path(dest) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for rel in sorted(sources_abs):
                write_entry(zf, rel[:-3] + ".pyc", (staging / (rel[:-3] + ".pyc")).read_bytes())
    return {"entries": len(sources_abs), "compiled": len(jobs)}
