"""CPython versions and version ranges (`>=3.13,<3.14`), as used in target YAML."""
from __future__ import annotations

import operator
import re

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
        "==": operator.eq, "!=": operator.ne}
_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+){0,2})\s*$")


def parse(version: str) -> tuple[int, ...]:
    """'3.13.5' -> (3, 13, 5); pre-release suffixes ('3.14.0a1') are dropped."""
    m = re.match(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?", version.strip())
    if not m:
        raise ValueError(f"not a version: {version!r}")
    return tuple(int(g) for g in m.groups() if g is not None)


def check_range(spec: str) -> str | None:
    """None if `spec` is a valid range, else what is wrong with it."""
    if not spec.strip():
        return "empty version range"
    for clause in spec.split(","):
        if not _CLAUSE.match(clause):
            return (f"bad version range {spec!r}: each clause is an operator "
                    f"(>=, <, ==, ...) and a version such as 3.13, e.g. '>=3.13,<3.14'")
    return None


def matches(version: str, spec: str) -> bool:
    """Does `version` satisfy every clause of `spec`? Compares as many parts as the clause has."""
    v = parse(version)
    for clause in spec.split(","):
        op, bound = _CLAUSE.match(clause).groups()
        b = parse(bound)
        if not _OPS[op](v[: len(b)], b):
            return False
    return True
