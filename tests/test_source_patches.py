"""Source patches (YAML `source_patches`): an edited copy in the build dir, bound over the
original in the build commands' namespace; the user's tree is never written, and what
make must redo is told by the patched text, not by mtimes."""
import pytest

from wasmbuild.actions import write_patched_sources
from wasmbuild.errors import WasmbuildError
from wasmbuild.model import Replace, SourcePatch
from wasmbuild.sandbox import Sandbox


def _patch(old="return 1;", new="return 2;"):
    return SourcePatch(file="Python/x.c", why="a backport", replace=[Replace(old=old, new=new)])


def _tree(tmp_path):
    src = tmp_path / "cpython"
    (src / "Python").mkdir(parents=True)
    (src / "Python" / "x.c").write_text("int f(void) { return 1; }\n")
    return src


def test_the_copy_is_patched_and_the_source_untouched(tmp_path):
    src, dest = _tree(tmp_path), tmp_path / "build" / ".wasmbuild-patched"
    pairs, repatched = write_patched_sources(src, [_patch()], dest, "make_host:t")
    assert pairs == [(dest / "Python/x.c", src / "Python/x.c")]
    assert (dest / "Python/x.c").read_text() == "int f(void) { return 2; }\n"
    assert (src / "Python/x.c").read_text() == "int f(void) { return 1; }\n"
    assert repatched == ["Python/x.c"]                    # new: its objects are redone


def test_only_a_change_of_the_patched_text_redoes_the_file(tmp_path):
    src, dest = _tree(tmp_path), tmp_path / ".wasmbuild-patched"
    write_patched_sources(src, [_patch()], dest, "m")
    mtime = (dest / "Python/x.c").stat().st_mtime_ns
    assert write_patched_sources(src, [_patch()], dest, "m")[1] == []     # same text: nothing
    assert (dest / "Python/x.c").stat().st_mtime_ns == mtime              # not rewritten
    (src / "Python/x.c").write_text("int f(void) { return 1; } /* edited */\n")
    assert write_patched_sources(src, [_patch()], dest, "m")[1] == ["Python/x.c"]
    assert write_patched_sources(src, [_patch(new="return 3;")], dest, "m")[1] == ["Python/x.c"]
    # a patch taken out of the YAML: the original is compiled again
    assert write_patched_sources(src, [], dest, "m") == ([], ["Python/x.c"])
    assert write_patched_sources(src, [], dest, "m") == ([], [])


def test_a_patch_that_does_not_fit_is_one_line(tmp_path):
    src = _tree(tmp_path)
    with pytest.raises(WasmbuildError, match=r"make_host:t: source_patches\[0\] \(Python/x.c\): "
                                             r"the text to replace is not found; .*limit it with an overlay"):
        write_patched_sources(src, [_patch(old="return 9;")], tmp_path / "d", "make_host:t")


def test_the_build_namespace_sees_the_copy_at_the_originals_path(tmp_path):
    sb = Sandbox("debian-root", tmp_path / "root")
    src = _tree(tmp_path)
    copy = tmp_path / "b" / "x.c"
    argv, _ = sb.command(["make"], tmp_path, ro=[src], files=[(copy, src / "Python/x.c")])
    words = argv[:argv.index("--")]
    ro_src = words.index(str(src))                  # the source, read-only, first
    bind = [i for i in range(len(words) - 2) if words[i:i + 3] == ["--ro-bind", str(copy), str(src / "Python/x.c")]]
    assert bind and bind[0] > ro_src


def test_the_system_provider_refuses_source_patches_in_one_line(tmp_path):
    with pytest.raises(WasmbuildError, match="need the debian-root provider"):
        Sandbox("system").command(["make"], tmp_path, files=[(tmp_path / "a", tmp_path / "b")])


def test_the_system_provider_goes_without_an_optional_patch_and_says_so(capfd):
    from dataclasses import replace
    from wasmbuild.actions import applicable_patches
    required, optional = _patch(), replace(_patch(), file="Programs/python.c", optional=True)
    assert applicable_patches(Sandbox("system"), [required, optional], "make_host:wasi") == [required]
    out = capfd.readouterr()
    assert "without the source patch of Programs/python.c" in out.out + out.err
    # in a mount namespace every patch applies
    assert applicable_patches(Sandbox("debian-root"), [required, optional], "m") == [required, optional]


def test_the_wasi_targets_start_in_the_callers_folder_by_an_optional_patch():
    from pathlib import Path
    from wasmbuild import config
    targets = Path(__file__).resolve().parents[1] / "targets"
    for name in ("wasm32-wasi", "wasm32-wasi-forky"):
        patch, = config.load_target(targets / f"{name}.yaml", "3.13.5").source_patches
        assert (patch.file, patch.optional) == ("Programs/python.c", True)
        assert "chdir(pwd)" in patch.replace[0].new
