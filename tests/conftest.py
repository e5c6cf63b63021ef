import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import fakes  # noqa: E402
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


class FakeProject:
    """A fake CPython tree + fake toolchain, and a way to run doit on them."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.src = fakes.make_cpython_tree(tmp / "cpython")
        self.bin = fakes.make_fake_bin(tmp / "fakebin")
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
            for dep in data.get("dependencies", []):
                if "download" not in dep:
                    continue
                dep["download"] = self.fake_download(dep["name"], dep["version"])
                dep["steps"] = [{"run": 'echo "dep {{ dep_name }}" >> "$FAKE_RUNS"; test -f README; '
                                        + "; ".join(f"mkdir -p $(dirname {o}) && date +%s%N > {o}"
                                                    for o in dep.get("outputs", []))}]
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
        return fakes.runs(self.runs_file)

    def reset_runs(self):
        self.runs_file.unlink(missing_ok=True)


@pytest.fixture
def fake(tmp_path) -> FakeProject:
    return FakeProject(tmp_path)
