"""Run a command with its whole output in a per-task log file, and a progress line.

The terminal gets one line when a step starts, a progress line while it runs
(elapsed time and the latest file it works on, rewritten in place on a terminal,
every 30 s otherwise), one line when it ends, and on failure the last 30 log lines
and the log's path.
"""
from __future__ import annotations

import collections
import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from doit.exceptions import TaskFailed

TAIL_LINES = 30
_FILE_HINT = re.compile(r"([\w./+-]+\.(?:c|cc|cpp|S|s|py|o|a|so|js|mjs|wasm|h))\b")


def _err():
    return sys.__stderr__


class Progress:
    """Prints `  [name] 1m23s  Objects/listobject.c` without flooding.

    Steps may run side by side (doit runs two tasks at once): on a terminal the one
    progress line shows every running step; otherwise each prints its own line."""

    _lock = threading.Lock()
    _running: list["Progress"] = []

    def __init__(self, name: str):
        self.name = name
        self.start = time.monotonic()
        self.current = ""
        self.tty = _err().isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        with self._lock:
            self._running.append(self)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._running.remove(self)
            if self.tty:
                _err().write("\r\033[K")
                _err().flush()

    def saw(self, line: str):
        m = _FILE_HINT.findall(line)
        if m:
            self.current = m[-1][-60:]

    def status(self) -> str:
        return f"[{self.name}] {format_seconds(time.monotonic() - self.start)}  {self.current}"

    def _loop(self):
        period = 1.0 if self.tty else 30.0
        while not self._stop.wait(period):
            with self._lock:
                if not self.tty:
                    _err().write(f"  {self.status()}\n")
                elif self._running and self._running[0] is self:     # one writer for the line
                    line = "  " + "   ".join(p.status() for p in self._running)
                    _err().write("\r\033[K" + line[:160])
                _err().flush()


def say(text: str) -> None:
    """A line of its own on stderr (clearing a progress line first, on a terminal)."""
    with Progress._lock:
        err = _err()
        err.write(("\r\033[K" if err.isatty() else "") + text + "\n")
        err.flush()


def format_seconds(s: float) -> str:
    s = int(s)
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


# The commands running now. Each runs in its own process group, so that stopping one
# stops everything it started (make's compilers, configure's tests); doit's worker
# threads never see a Ctrl-C, so the main thread stops them (stop_running_commands).
_commands: set[subprocess.Popen] = set()
_commands_lock = threading.Lock()


_foreground = []        # interactive commands running now (doit run:<target>)


@contextlib.contextmanager
def foreground():
    """An interactive command: it shares the terminal's process group, so Ctrl-C reaches
    it directly, and wasmbuild lets it decide (a REPL goes on)."""
    _foreground.append(True)
    try:
        yield
    finally:
        _foreground.pop()


def stop_running_commands(sig: int = signal.SIGINT) -> bool:
    """Send `sig` to the process group of every running command (SIGINT lets make
    delete the target it was writing). False, and nothing sent, while an interactive
    command runs in the foreground and Ctrl-C is its own."""
    if _foreground and sig == signal.SIGINT:
        return False
    with _commands_lock:
        procs = list(_commands)
    for proc in procs:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
    return True


@contextlib.contextmanager
def tracked(proc: subprocess.Popen):
    """A command started with start_new_session=True: Ctrl-C of wasmbuild stops its whole
    group (stop_running_commands), and so does an exception in the thread that waits."""
    with _commands_lock:
        _commands.add(proc)
    try:
        yield proc
    except BaseException:
        # interrupted in this thread: the command's group goes before doit records anything
        kill_group(proc)
        raise
    finally:
        with _commands_lock:
            _commands.discard(proc)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run_logged(argv: list[str], *, env: dict, cwd: Path, log: Path, name: str,
               title: str | None = None, stdin=subprocess.DEVNULL):
    """Run argv; append everything to `log`. Returns None on success, TaskFailed otherwise."""
    log.parent.mkdir(parents=True, exist_ok=True)
    tail = collections.deque(maxlen=TAIL_LINES)
    with open(log, "a", encoding="utf-8", errors="replace") as out:
        out.write(f"\n$ {title or shlex.join(argv)}\n  (cwd {cwd})\n")
        out.flush()
        with Progress(name) as progress:
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, errors="replace",
                                    start_new_session=True)
            with tracked(proc):
                for line in proc.stdout:
                    out.write(line)
                    tail.append(line.rstrip("\n"))
                    progress.saw(line)
                rc = proc.wait()
        out.write(f"[exit {rc}]\n")
    if rc != 0:
        shown = "\n".join("    " + l for l in tail)
        return TaskFailed(f"{name}: command failed with exit status {rc}: {title or shlex.join(argv)}\n"
                          f"--- last {len(tail)} lines of {log} ---\n{shown}\n--- full log: {log}")
    return None
