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

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What a command sees of the host's environment: nothing but these, so a build
# does not depend on who started it (the official scripts leak the whole environment).
PASS_ENV = ("TERM", "SOURCE_DATE_EPOCH", "CCACHE_DISABLE", "CCACHE_RECACHE")


@dataclass
class Sandbox:
    provider: str                          # "debian-root" or "system"
    root: Path | None = None               # the Debian root (debian-root only)
    env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    writable: list[str] = field(default_factory=list)   # paths inside the root
    host_rw: list[str] = field(default_factory=list)    # host paths bound read-write (ccache)

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        if self.provider == "system":
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
        if self.provider == "system":
            return list(argv), env
        bw = ["bwrap", "--bind" if writable_root else "--ro-bind", str(self.root), "/",
              "--dev", "/dev", "--proc", "/proc"]
        # --tmpfs /tmp must come before any bind below /tmp: a read-only root cannot
        # create the mount point otherwise.
        bw += ["--perms", "1777", "--tmpfs", "/tmp"]
        if network:
            bw += ["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"]
        for p in self.writable:
            bw += ["--bind", str(self.root) + p, p]
        for p in _outermost(ro):
            self._mount_point(p)
            bw += ["--ro-bind", str(p), str(p)]
        for p in self.host_rw:
            os.makedirs(p, exist_ok=True)
        for p in _outermost([*rw, *self.host_rw]):
            self._mount_point(p)
            bw += ["--bind", str(p), str(p)]
        # its own pid namespace: when doit dies, even by SIGKILL, --die-with-parent ends
        # the namespace and with it every process the command started
        bw += ["--chdir", str(cwd), "--unshare-pid", "--die-with-parent", "--clearenv"]
        for k, v in env.items():
            bw += ["--setenv", k, v]
        return bw + ["--", *argv], env

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
