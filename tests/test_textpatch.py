"""The two ways YAML replacements are applied: a toolchain file patched in place (again on a
later run), a configure copy patched fresh (its text must be there exactly once)."""
from types import SimpleNamespace as R

import pytest

from wasmbuild import textpatch


def test_in_place_patches_can_run_twice_and_replace_every_occurrence():
    reps = [R(old="getMode(p)", new="st.mode")]
    once = textpatch.apply("a getMode(p) b getMode(p)", reps, once=False, reapply=True)
    assert once == "a st.mode b st.mode"
    assert textpatch.apply(once, reps, once=False, reapply=True) == once


def test_a_fresh_copy_needs_the_text_exactly_once():
    reps = [R(old="# answer: 1", new="# answer: 7")]
    assert textpatch.apply("x\n# answer: 1\n", reps, once=True, reapply=False) == "x\n# answer: 7\n"
    with pytest.raises(textpatch.Mismatch) as twice:
        textpatch.apply("# answer: 1\n# answer: 1\n", reps, once=True, reapply=False)
    assert twice.value.describe() == "found 2 times"
    with pytest.raises(textpatch.Mismatch) as missing:
        textpatch.apply("nothing here", reps, once=False, reapply=True)
    assert missing.value.describe() == "not found" and missing.value.old == "# answer: 1"
