"""A real redis-server for tests: started on 127.0.0.1 at a free port or on a Unix socket
under the test's tmp dir, stopped afterwards. Nothing else is ever connected to."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

from wasmbuild.errors import ToolchainError
from wasmbuild.provision import ensure_host_packages


def unavailable() -> str | None:
    """None when a redis-server can be started here: installed from the host distribution
    when missing (as root on Debian, as bubblewrap and chromium are); else why not."""
    if shutil.which("redis-server"):
        return None
    try:
        ensure_host_packages({"redis-server": "redis-server"},
                             Path(tempfile.gettempdir()) / "wasmbuild-apt-redis.log",
                             "redis-server", needed_by="the remote-cache tests")
    except ToolchainError as e:
        return str(e)
    # the package starts a server of its own on port 6379: the tests want none but theirs
    subprocess.run("systemctl disable --now redis-server; service redis-server stop", shell=True,
                   capture_output=True)
    return None

class Server:
    def __init__(self, proc, url, direct):
        self.proc, self.url, self.direct = proc, url, direct


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path, unix: bool) -> Server:
    common = ["--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    if unix:
        sock = tmp_path / "r.sock"
        argv = ["redis-server", "--port", "0", "--unixsocket", str(sock), *common]
        url, direct = f"unix://{sock}?db=2", redis.Redis(unix_socket_path=str(sock), db=2,
                                                          socket_timeout=5)
    else:
        port = free_port()
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", *common]
        url, direct = f"redis://127.0.0.1:{port}/0", redis.Redis(host="127.0.0.1", port=port,
                                                                  socket_timeout=5)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            if direct.ping():
                return Server(proc, url, direct)
        except (redis.exceptions.ConnectionError, OSError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"redis-server did not answer PING: {argv}")
        time.sleep(0.02)


def stop(server: Server) -> None:
    server.direct.close()
    if server.proc.poll() is None:
        os.kill(server.proc.pid, signal.SIGCONT)      # in case a test left it stopped
        server.proc.terminate()
        try:
            server.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
