"""Host tools (bubblewrap, debootstrap, chromium, redis-server) installed with apt-get:
a machine that has just booted may be running apt itself, and the two toolchain tasks
run in parallel threads. A fake apt-get stands in for Debian's."""
import os
import threading
from pathlib import Path

import pytest

from wasmbuild import provision
from wasmbuild.errors import ToolchainError

FAKE_APT = """#!/bin/sh
# fails update while $LOCKED exists (as apt-get does while another apt holds the lists lock)
echo "$*" >> "$CALLS"
if [ "$1" = update ] && [ -e "$LOCKED" ]; then
  rm -f "$LOCKED"
  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 1 (apt-get)"
  exit 100
fi
if [ "$1" = update ] && [ -e "$BROKEN" ]; then echo "E: repository unreachable"; exit 100; fi
case "$*" in *install*)
  printf '#!/bin/sh\\n' > "$BIN/wb-fake-tool"; chmod +x "$BIN/wb-fake-tool";; esac
"""


@pytest.fixture
def apt(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(FAKE_APT)
    (bin_dir / "apt-get").chmod(0o755)
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("CALLS", str(calls))
    monkeypatch.setenv("BIN", str(bin_dir))
    monkeypatch.setenv("LOCKED", str(tmp_path / "locked"))
    monkeypatch.setenv("BROKEN", str(tmp_path / "broken"))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(provision.time, "sleep", lambda s: None)
    return tmp_path


def _calls(apt: Path) -> list[str]:
    return (apt / "calls").read_text().splitlines() if (apt / "calls").exists() else []


def test_update_waits_for_another_apt_then_installs(apt, capfd):
    (apt / "locked").touch()
    provision.ensure_host_packages({"wb-fake-tool": "wb-fake-pkg"}, apt / "log", "toolchain:x",
                                   needed_by="a test")
    calls = _calls(apt)
    assert calls[:2] == ["update -q", "update -q"]
    assert calls[2].startswith("-o DPkg::Lock::Timeout=") and calls[2].endswith("install -y -q wb-fake-pkg")
    assert capfd.readouterr().err.count("waiting for it") == 1


def test_parallel_tasks_install_once(apt):
    errors = []

    def ensure():
        try:
            provision.ensure_host_packages({"wb-fake-tool": "wb-fake-pkg"}, apt / "log", "t",
                                           needed_by="a test")
        except Exception as e:      # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=ensure) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum("install" in c for c in _calls(apt)) == 1


def test_a_failing_install_says_it_failed_and_where_to_look(apt):
    (apt / "broken").touch()
    with pytest.raises(ToolchainError) as e:
        provision.ensure_host_packages({"wb-fake-tool": "wb-fake-pkg"}, apt / "log", "t",
                                       needed_by="the debian-root provider")
    msg = str(e.value)
    assert "\n" not in msg
    assert "apt-get install wb-fake-pkg failed" in msg and str(apt / "log") in msg
    assert "install" not in "".join(c for c in _calls(apt) if not c.startswith("update"))
