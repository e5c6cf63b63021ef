"""End-to-end fixtures: one real build per target, shared by every e2e test.

The default CPython source (fetched and verified by `doit source:cpython`) is copied to
a session work dir, so incremental scenarios may edit it freely; the toolchain root,
downloads, ccache and config.cache under the user cache are shared with other runs.
"""
import shutil
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from e2e_util import (TREE_DIGESTS, Build, build, default_version, doit, record,  # noqa: E402
                      step_times, tree_digest)


# The e2e tests share one build per target, and some change it for good (other configure
# arguments, another toolchain): they run in these stages, in this order, whatever the
# file names or the subset chosen (-k, --lf). A test without a stage only inspects.
STAGES = ["inspect", "edit", "interrupt", "reconfigure", "toolchain"]


def stage_of(item) -> int:
    marker = item.get_closest_marker("stage")
    if marker is None:
        return 0
    if marker.args[0] not in STAGES:
        raise pytest.UsageError(f"{item.nodeid}: unknown stage {marker.args[0]!r} (stages: {STAGES})")
    return STAGES.index(marker.args[0])


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=stage_of)          # stable: within a stage, the files' own order


@pytest.fixture(scope="session")
def e2e_source(tmp_path_factory) -> Path:
    # its own state dir: a build of the default source may be running on this machine
    out = doit("source:cpython", f"cross_build={tmp_path_factory.mktemp('fetch')}")
    record("source", step_times(out))
    from wasmbuild.source import default_source_dir
    cached = default_source_dir(default_version())
    work = tmp_path_factory.mktemp("e2e") / "cpython"
    shutil.copytree(cached, work, symlinks=True, ignore=shutil.ignore_patterns("cross-build"))
    return work


@pytest.fixture(scope="session")
def emscripten(e2e_source) -> Build:
    return build("emscripten", e2e_source)


@pytest.fixture(scope="session")
def wasi(e2e_source, emscripten) -> Build:
    # after emscripten on purpose: the build Python must not be built again
    return build("wasi", e2e_source)


# The same source with Debian forky's toolchains (Emscripten 6.0.5 / Node 24, clang 22 /
# wasi-libc 2026): their own build dirs, beside the trixie builds.
@pytest.fixture(scope="session")
def emscripten_forky(e2e_source, wasi) -> Build:
    return build("emscripten-forky", e2e_source)


@pytest.fixture(scope="session")
def wasi_forky(e2e_source, emscripten_forky) -> Build:
    return build("wasi-forky", e2e_source)


# CPython 3.14.7, the one real 3.14 tree here (../shared/sources, beside the project): its
# own copy, built with the forky toolchains (trixie's cannot build 3.14), after the 3.13
# builds so that they share the build Python's toolchain root.
TREE_314 = Path(__file__).resolve().parents[3] / "shared" / "sources" / "Python-3.14.7-from-git.tar.xz"


@pytest.fixture(scope="session")
def source_314(tmp_path_factory) -> Path:
    if not TREE_314.is_file():
        pytest.fail(f"the CPython 3.14.7 tree is missing: {TREE_314} (shared/sources beside the "
                    f"project holds it; see its README)", pytrace=False)
    work = tmp_path_factory.mktemp("tree314")
    with tarfile.open(TREE_314) as tf:
        tf.extractall(work, filter="tar")
    return work / "Python-3.14.7"


def _build_watching_the_tree(target: str, src: Path) -> Build:
    before = tree_digest(src)
    b = build(target, src)
    TREE_DIGESTS[target] = (before, tree_digest(src))
    return b


@pytest.fixture(scope="session")
def emscripten_314(source_314, wasi_forky) -> Build:
    return _build_watching_the_tree("emscripten-forky", source_314)


@pytest.fixture(scope="session")
def wasi_314(source_314, emscripten_314) -> Build:
    return _build_watching_the_tree("wasi-forky", source_314)
