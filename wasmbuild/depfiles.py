"""Compiler-written dependency files (-MMD), used to rebuild objects whose headers changed.

CPython's Makefile lists only some headers as prerequisites: editing, say,
Objects/clinic/listobject.c.h alone recompiles nothing, and the build silently
keeps the old code. wasmbuild compiles with EXTRA_CFLAGS=-MMD, so the compiler
writes X.d next to every X.o, naming every source file the object was built
from. Before make runs, wasmbuild knows (by content hash) which source files
changed since the last successful make; this module finds the objects that
read one of them and deletes those objects, so make has to rebuild them.

Objects compiled before -MMD was in use have no .d file: for those make's own
prerequisites are all there is (see DepGraph.without_depfiles).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Directories that never hold objects of the build: not worth the walk.
SKIP_DIRS = frozenset({".wasmbuild", "__pycache__", ".git"})

# A rule's target ends at the first colon followed by blank or end of line, so a
# colon inside a path ("a:b.h") does not split it. Make would allow "a.o:b.h";
# compilers always write ": ".
_RULE_SEP = re.compile(r":(?=\s|$)")
# Compilers write no comments, but a comment line is no rule.
_COMMENT = re.compile(r"\s*#")
# One word: escaped characters ("\ ", "\#", "\\") or anything but blanks.
_WORD = re.compile(r"(?:\\.|[^\s\\])+|\\$")
# gcc and clang write a space in a path as "\ " and double the backslashes
# right before it; an odd run of backslashes before a blank is that escape.
_ESCAPED_BLANK = re.compile(r"(\\+)([ \t])")


def _unescape(word: str) -> str:
    word = _ESCAPED_BLANK.sub(lambda m: "\\" * (len(m[1]) // 2) + m[2], word)
    return word.replace("\\#", "#").replace("$$", "$")


def _words(text: str) -> list[str]:
    # Most lines have no escapes at all: plain split is much faster than the regex.
    if "\\" not in text and "$" not in text:
        return text.split()
    return [_unescape(w) for w in _WORD.findall(text)]


def parse(text: str) -> list[tuple[str, list[str]]]:
    """The rules of a Make dependency file, as (target, prerequisites), in file order.

    A rule with several targets gives one tuple per target. Rules without
    prerequisites (the "foo.h:" rules -MP adds so make survives a deleted
    header) are left out: they say nothing about what an object was built from.
    Raises ValueError if the text is not a dependency file, so a damaged file
    is never half-used.
    """
    if "\0" in text:
        raise ValueError("binary data in a dependency file")
    if "\r" in text:
        text = text.replace("\\\r\n", " ")
    text = text.replace("\\\n", " ")
    rules: list[tuple[str, list[str]]] = []
    for line in text.split("\n"):
        if not line or line.isspace() or _COMMENT.match(line):
            continue
        if line[-1] == ":" and line != ":" and " " not in line and "\t" not in line:
            continue    # "foo.h:" from -MP, one per header: worth skipping without a regex
        sep = _RULE_SEP.search(line)
        if sep is None:
            raise ValueError(f"not a rule: {line.strip()[:80]!r}")
        targets = _words(line[:sep.start()])
        if not targets:
            raise ValueError(f"rule without a target: {line.strip()[:80]!r}")
        prereqs = _words(line[sep.end():])
        if "|" in prereqs:
            # "|" starts order-only prerequisites; compilers do not write it, and it is no file.
            prereqs = [w for w in prereqs if w != "|"]
        if prereqs:
            rules.extend((t, prereqs) for t in targets)
    return rules


@dataclass
class DepGraph:
    """Which objects were built from which source files, per their .d files.

    Stored object -> inputs, the way the .d files say it: inverting ~70,000
    edges costs more than the rest of load(), and stale() does not need it.
    """

    # object (absolute) -> source relpaths ('/'-separated, relative to the source root).
    inputs: dict[Path, frozenset[str]] = field(default_factory=dict)
    # *.o files with no usable sibling .d: only make's own prerequisites cover them.
    without_depfiles: int = 0

    def users(self) -> dict[str, set[Path]]:
        """source relpath -> the objects built from it."""
        result: dict[str, set[Path]] = {}
        for obj, rels in self.inputs.items():
            for rel in rels:
                result.setdefault(rel, set()).add(obj)
        return result


def _walk(build_dir: str) -> tuple[list[str], list[str]]:
    """The .d and .o files under build_dir, without following directory symlinks."""
    depfiles: list[str] = []
    objects: list[str] = []
    stack = [build_dir]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except OSError:
            continue
        with it:
            for entry in it:
                name = entry.name
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir:
                    if name not in SKIP_DIRS:
                        stack.append(entry.path)
                elif name.endswith(".d"):
                    depfiles.append(entry.path)
                elif name.endswith(".o"):
                    objects.append(entry.path)
    return depfiles, objects


class _SourceRelpaths(dict[str, "str | None"]):
    """Prerequisite as written -> source relpath, or None if outside the source.

    The same "../../Include/Python.h" recurs in hundreds of files: each is
    resolved once, and lookups of known ones stay in C (map(d.__getitem__, ...)).
    """

    def __init__(self, build: str, source: str):
        super().__init__()
        self.build, self.prefix = build, os.path.join(source, "")

    def __missing__(self, prereq: str) -> str | None:
        full = os.path.normpath(os.path.join(self.build, prereq))
        rel = (full[len(self.prefix):].replace(os.sep, "/")
               if full.startswith(self.prefix) else None)
        self[prereq] = rel
        return rel


def load(build_dir: Path, source: Path) -> DepGraph:
    """Read every .d file under build_dir; unreadable or malformed ones are skipped.

    Paths in a .d file are relative to the directory the compiler ran in, which
    for CPython's Makefile is the build dir. Only prerequisites inside `source`
    are kept: system and toolchain headers are not what wasmbuild tracks.
    """
    build = os.path.normpath(os.path.abspath(build_dir))
    relpaths = _SourceRelpaths(build, os.path.normpath(os.path.abspath(source)))
    inputs: dict[Path, set[str | None]] = {}
    usable: set[str] = set()
    depfiles, objects = _walk(build)
    for dpath in depfiles:
        try:
            with open(dpath, "rb") as f:
                rules = parse(os.fsdecode(f.read()))
        except (OSError, ValueError):
            continue        # treated as if absent: its object counts as without depfile
        if not rules:
            continue        # e.g. emptied by a compiler killed mid-write
        usable.add(dpath[:-2])
        for target, prereqs in rules:
            obj = Path(os.path.normpath(os.path.join(build, target)))
            inputs.setdefault(obj, set()).update(map(relpaths.__getitem__, prereqs))
    graph = DepGraph(without_depfiles=sum(1 for o in objects if o[:-2] not in usable))
    for obj, rels in inputs.items():
        graph.inputs[obj] = frozenset(filter(None, rels))    # None: outside the source
    return graph


def stale(graph: DepGraph, changed: Iterable[str]) -> dict[Path, list[str]]:
    """Existing objects built from a changed source relpath -> their changed inputs, sorted.

    A missing object is left out: make rebuilds it anyway.
    """
    wanted = frozenset(changed)
    found = {obj: sorted(rels & wanted) for obj, rels in graph.inputs.items()
             if not rels.isdisjoint(wanted)}
    return {obj: found[obj] for obj in sorted(found) if obj.exists()}


def force(stale_objects: dict[Path, list[str]], build_dir: Path) -> list[str]:
    """Delete the stale objects so make rebuilds them; one line per object saying why.

    Objects are named relative to build_dir, as make names them. A failure to
    delete raises (OSError): carrying on would leave the old code in the build.
    """
    build = os.path.normpath(os.path.abspath(build_dir))
    lines = []
    for obj in sorted(stale_objects):
        obj.unlink(missing_ok=True)
        name = os.path.relpath(obj, build)
        if name.startswith(".." + os.sep):
            name = str(obj)
        lines.append(f"{name.replace(os.sep, '/')}: {', '.join(stale_objects[obj])} changed")
    return lines
