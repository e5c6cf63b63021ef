"""CPython's own REPL (pyrepl) in a real terminal: python.sh under tmux (Debian's, installed
when missing, as the browser tests install chromium), typed at as a person would."""
import shutil
import subprocess
import time
import uuid

import pytest

from e2e_util import record


@pytest.fixture(scope="module")
def tmux(tmp_path_factory):
    from wasmbuild.provision import ensure_host_packages
    ensure_host_packages({"tmux": "tmux"}, tmp_path_factory.mktemp("apt") / "apt.log", "tmux",
                         needed_by="the REPL tests")
    return shutil.which("tmux")


class Terminal:
    def __init__(self, tmux, command, cwd, env):
        self.tmux, self.name = tmux, f"wasmbuild-{uuid.uuid4().hex[:8]}"
        self.status = cwd / f"{self.name}.status"
        subprocess.run([tmux, "new-session", "-d", "-s", self.name, "-x", "120", "-y", "40",
                        f"cd {cwd} && env {env} {command}; echo $? > {self.status}; sleep 30"],
                       check=True)

    def send(self, *keys):
        subprocess.run([self.tmux, "send-keys", "-t", self.name, *keys], check=True)

    def screen(self, escapes=False) -> str:
        """The pane's text; with `escapes`, its colours as escape sequences too."""
        return subprocess.run([self.tmux, "capture-pane", "-p", *(["-e"] if escapes else []),
                               "-t", self.name, "-S", "-200"],
                              capture_output=True, text=True, check=True).stdout

    def wait_for(self, text, timeout=60) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.3)
        raise AssertionError(f"{text!r} not on the screen after {timeout} s:\n{self.screen()}")

    def close(self):
        subprocess.run([self.tmux, "kill-session", "-t", self.name], capture_output=True)


# 3.13.5 (NODERAWFS, Emscripten 3.1.69: ncurses and fcntl built for it, node_tty.mjs over
# the host's descriptors) and 3.14.7 (NODEFS and the tree's streams.mjs, Emscripten 6.0.5)
BUILDS = ["emscripten", "emscripten_314"]


@pytest.mark.parametrize("build", BUILDS)
def test_pyrepl_in_nodes_terminal(build, request, tmux, tmp_path):
    b = request.getfixturevalue(build)
    home = tmp_path / "home"
    home.mkdir()
    start = time.monotonic()
    term = Terminal(tmux, str(b.python_sh), tmp_path, f"HOME={home} TERM=xterm-256color")
    try:
        banner = term.wait_for(">>>")   # tmux drops the trailing space
        assert "can't use pyrepl" not in banner and "warning" not in banner, banner
        coloured = term.screen(escapes=True)                 # tmux writes bold magenta so
        assert "\x1b[1m\x1b[35m>>>" in coloured, coloured
        started = time.monotonic() - start
        term.send("def f(x):", "Enter")
        term.wait_for("...")                               # a continuation line: a block
        term.send("return x * 2", "Enter")
        term.send("Enter")
        term.send("f(21)", "Enter")
        term.wait_for("\n42\n")
        term.send("Up")                                    # history recalls the last line
        time.sleep(1)
        assert term.screen().rstrip().endswith(">>> f(21)"), term.screen()
        term.send("C-c")                                   # at the prompt: KeyboardInterrupt, REPL goes on
        term.wait_for("KeyboardInterrupt")
        term.send("import sys; print('pyrepl' if '_pyrepl.unix_console' in sys.modules else 'basic')", "Enter")
        term.wait_for("\npyrepl\n")
        term.send("C-d")
        end = time.monotonic() + 30
        while not term.status.exists() and time.monotonic() < end:
            time.sleep(0.3)
        assert term.status.read_text().strip() == "0", term.screen()
        # the history went where a native REPL puts it
        assert "def f(x):" in (home / ".python_history").read_text()
    finally:
        term.close()
    record(f"repl-{build}", {"banner_s": f"{started:.1f}"})


@pytest.mark.parametrize("build", BUILDS)
def test_piped_stdin_is_not_the_repl(build, request):
    out = request.getfixturevalue(build).py(input="import sys; print(6 * 7, sys.stdin.isatty())\n")
    assert out.returncode == 0 and out.stdout == "42 False\n", out.stdout + out.stderr
