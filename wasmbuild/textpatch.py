"""Text replacements from YAML (`replace: [{old, new}]`), as toolchain patches and
configure patches use them."""
from __future__ import annotations


class Mismatch(Exception):
    """A replacement's old text is not where it should be: the patch does not fit."""

    def __init__(self, old: str, found: int):
        super().__init__(old)
        self.old, self.found = old, found

    def describe(self) -> str:
        return "not found" if not self.found else f"found {self.found} times"


def apply(text: str, replacements, *, once: bool, reapply: bool) -> str:
    """`text` with every replacement made. once: the old text must occur exactly once
    (else every occurrence is replaced); reapply: a replacement whose new text is there
    already is skipped (a file patched in place by an earlier run). Mismatch otherwise."""
    for rep in replacements:
        if reapply and rep.new in text:
            continue
        found = text.count(rep.old)
        if found == 0 or (once and found != 1):
            raise Mismatch(rep.old, found)
        text = text.replace(rep.old, rep.new)
    return text
