"""How a toolchain command is started: inside the Debian root through bubblewrap, or on the host.

With the debian-root provider every command gets its own mount namespace
(`bwrap --ro-bind ROOT / ...`), so no mount outlives the command. The root is
read-only; the source tree is read-only; only the cross-build dir, ccache and the
paths the toolchain YAML marks writable can be written. Paths keep the same
absolute names inside and outside, so logs, Makefiles and python.sh agree.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .model import SYSTEM

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What a command sees of the host's environment: nothing but these, so a build
# does not depend on who started it (the official scripts leak the whole environment).
PASS_ENV = ("TERM", "SOURCE_DATE_EPOCH", "CCACHE_DISABLE", "CCACHE_RECACHE")


@dataclass
class Sandbox:
    provider: str                          # model.DEBIAN_ROOT or model.SYSTEM
    root: Path | None = None               # the Debian root (debian-root only)
    env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    writable: list[str] = field(default_factory=list)   # paths inside the root
    host_rw: list[str] = field(default_factory=list)    # host paths bound read-write (ccache)

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        if self.provider == SYSTEM:
            env = dict(os.environ)
            base = env.get("PATH", BASE_PATH)
        else:
            env = {"HOME": "/tmp", "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
            env.update({k: os.environ[k] for k in PASS_ENV if k in os.environ})
            base = BASE_PATH
        env.update(self.env)
        env["PATH"] = ":".join([*self.path, base])
        env.update(extra or {})
        return env

    def command(self, argv: list[str], cwd: Path, rw: list[Path] = (), ro: list[Path] = (),
                extra_env: dict[str, str] | None = None, network: bool = False,
                writable_root: bool = False) -> tuple[list[str], dict]:
        """Return (argv, env) for subprocess: the command wrapped for this provider."""
        env = self.environment(extra_env)
        if self.provider == SYSTEM:
            return list(argv), env
        for p in self.host_rw:
            os.makedirs(p, exist_ok=True)
        rw = [*rw, *self.host_rw]
        for p in [*ro, *rw]:
            self._mount_point(p)
        parts = self.bwrap_options(env, ro=ro, rw=rw, network=network, writable_root=writable_root)
        # its own pid namespace: when doit dies, even by SIGKILL, --die-with-parent ends
        # the namespace and with it every process the command started
        options = [*parts["root"], *parts["ro"], *parts["rw"], ["--chdir", str(cwd)],
                   ["--unshare-pid"], *parts["process"]]
        return ["bwrap", *(word for option in options for word in option), "--", *argv], env

    def bwrap_options(self, env: dict[str, str], *, ro=(), rw=(), network: bool = False,
                      writable_root: bool = False, host_tmp: bool = False) -> dict[str, list[list[str]]]:
        """bubblewrap's options (each a list of words), in the parts, in order, between which
        python.sh adds its own: "root" (the root, /dev, /proc, /tmp, the root's writable
        paths), "ro" and "rw" (host paths bound read-only and read-write, parents before
        children), "process" (lifetime and environment). Mount points must exist."""
        root = [["--bind" if writable_root else "--ro-bind", str(self.root), "/"],
                ["--dev", "/dev"], ["--proc", "/proc"]]
        # /tmp: a build command gets an empty one of its own, so that nothing of the host's
        # /tmp reaches a build or is left there by it; the interpreter that python.sh starts
        # sees the host's (host_tmp), as any program started from a shell does: a script,
        # or a file that the user hands it, may be there. --tmpfs /tmp must come before any
        # bind below /tmp: a read-only root cannot create the mount point otherwise.
        root.append(["--bind", "/tmp", "/tmp"] if host_tmp else ["--perms", "1777", "--tmpfs", "/tmp"])
        if network:
            root.append(["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"])
        root += [["--bind", str(self.root) + p, p] for p in self.writable]
        return {"root": root,
                "ro": [["--ro-bind", str(p), str(p)] for p in _outermost(ro)],
                "rw": [["--bind", str(p), str(p)] for p in _outermost(rw)],
                "process": [["--die-with-parent"], ["--clearenv"],
                            *(["--setenv", k, v] for k, v in env.items())]}

    def interpreter(self, source: Path, rw: list[Path]) -> dict:
        """What python.sh (templates/python.sh.j2) needs to start the built interpreter as
        the build runs its commands; it adds what it only knows when it runs (the caller's
        folders, PYTHON* variables, the test runner's writable copy of the source). The
        mount points exist: the build's commands made them. Unlike a build command, the
        interpreter sees the host's /tmp, and stays in the caller's pid namespace: it is
        the caller's to stop."""
        if self.provider == SYSTEM:
            return {"provider": self.provider, "env": dict(self.env),
                    "path": ":".join([*self.path, "/usr/local/bin:/usr/bin:/bin"])}
        return {"provider": self.provider, "root": str(self.root), "source": str(source),
                "bwrap": self.bwrap_options(self.environment(), ro=[source], rw=rw, host_tmp=True)}

    def _mount_point(self, path: Path) -> None:
        """bwrap cannot create a mount point in the read-only root: make it beforehand
        (an empty folder in the root, which belongs to wasmbuild)."""
        (self.root / str(path).lstrip("/")).mkdir(parents=True, exist_ok=True)


def _outermost(paths) -> list[Path]:
    """Keep order but drop duplicates; parents come before children so binds nest right."""
    seen, out = set(), []
    for p in sorted((Path(p) for p in paths), key=lambda p: len(p.parts)):
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out
