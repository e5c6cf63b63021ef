import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import fakes  # noqa: E402
from fakes import FakeProject  # noqa: E402,F401  (the `fake` fixture's class)
from wasmbuild.provision import DIES_WITH_PARENT  # noqa: E402

PROJECT = fakes.PROJECT
REAL_TOOLCHAIN = {"bwrap", "debootstrap", "emcc", "emconfigure", "emmake", "embuilder",
                  "wasmtime", "clang", "clang-19", "node", "gcc", "cc"}


@pytest.fixture(autouse=True)
def no_real_toolchain(request, monkeypatch):
    """Unit tests fail if they would start the real toolchain (e2e tests are exempt)."""
    if request.node.get_closest_marker("e2e"):
        yield
        return
    real_init = subprocess.Popen.__init__

    def guarded(self, args, *a, **kw):
        argv = [args] if isinstance(args, (str, bytes)) else list(args)
        if argv[:len(DIES_WITH_PARENT)] == DIES_WITH_PARENT:     # how debootstrap is started
            argv = argv[len(DIES_WITH_PARENT):]
        exe = os.path.basename(str(argv[0]))
        if exe in REAL_TOOLCHAIN and "fakebin" not in str(argv[0]):
            env_path = (kw.get("env") or os.environ).get("PATH", "")
            if not env_path.split(":")[0].endswith("fakebin"):
                raise AssertionError(f"unit test tried to start the real toolchain: {argv}")
        return real_init(self, args, *a, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)
    yield


@pytest.fixture
def fake(tmp_path) -> FakeProject:
    return FakeProject(tmp_path)
