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

from .errors import WasmbuildError
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
        env["PATH"] = self._search_path(base)
        env.update(extra or {})
        return env

    def _search_path(self, base: str = BASE_PATH) -> str:
        """PATH: the toolchain's own folders before `base`."""
        return ":".join([*self.path, base])

    def command(self, argv: list[str], cwd: Path, rw: list[Path] = (), ro: list[Path] = (),
                extra_env: dict[str, str] | None = None, network: bool = False,
                writable_root: bool = False, files=()) -> tuple[list[str], dict]:
        """Return (argv, env) for subprocess: the command wrapped for this provider.
        `files`: (copy, path) pairs, each copy seen at the path (a patched source file
        over the read-only original), for this command only."""
        env = self.environment(extra_env)
        if files and self.provider == SYSTEM:
            raise WasmbuildError("source patches need the debian-root provider (a mount "
                                 "namespace shows the patched copies): use provider=debian-root")
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
        options = [*parts["root"], *parts["ro"], *parts["rw"],
                   *(["--ro-bind", str(copy), str(path)] for copy, path in files), ["--chdir", str(cwd)],
                   ["--unshare-pid"], *parts["process"]]
        return ["bwrap", *(word for option in options for word in option), "--", *argv], env

    def bwrap_options(self, env: dict[str, str], *, ro=(), rw=(), network: bool = False,
                      writable_root: bool = False) -> dict[str, list[list[str]]]:
        """bubblewrap's options (each a list of words), in the parts, in order: "root" (the
        root, /dev, /proc, /tmp, the root's writable
        paths), "ro" and "rw" (host paths bound read-only and read-write, parents before
        children), "process" (lifetime and environment). Mount points must exist."""
        root = [["--bind" if writable_root else "--ro-bind", str(self.root), "/"],
                ["--dev", "/dev"], ["--proc", "/proc"]]
        # /tmp: a build command gets an empty one of its own, so that nothing of the host's
        # /tmp reaches a build or is left there by it. --tmpfs /tmp must come before any
        # bind below /tmp: a read-only root cannot create the mount point otherwise.
        root.append(["--perms", "1777", "--tmpfs", "/tmp"])
        if network:
            root.append(["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"])
        root += [["--bind", str(self.root) + p, p] for p in self.writable]
        return {"root": root,
                "ro": [["--ro-bind", str(p), str(p)] for p in _outermost(ro)],
                "rw": [["--bind", str(p), str(p)] for p in _outermost(rw)],
                "process": [["--die-with-parent"], ["--clearenv"],
                            *(["--setenv", k, v] for k, v in env.items())]}

    def interpreter(self, source: Path, rw: list[Path] = ()) -> dict:
        """What python.sh (templates/python.sh.j2) needs to start the built interpreter
        as a program on the host, as upstream's python.sh does: the host's whole file
        system at its own paths, writable as the user may (the home, /var, /tmp, mounts,
        the source), with only the toolchain's own paths in its place (`overlays`: its
        /usr, the dynamic linker's cache, /etc/alternatives, /opt/wasmbuild) and the root
        itself read-only. Nothing is created in the root; nothing stays mounted; the
        interpreter stays in the caller's pid namespace, the caller's to stop. The
        caller's environment is passed on, with the toolchain's variables and PATH.
        `rw`: folders bound again over the test runner's copy of the source (the
        cross-build dir inside it)."""
        if self.provider == SYSTEM:
            return {"provider": self.provider, "env": dict(self.env),
                    "path": ":".join([*self.path, "/usr/local/bin:/usr/bin:/bin"])}
        root = Path(self.root)
        overlays = [(str(root / "usr"), "/usr")]
        # merged /usr: /bin, /lib, ... are links into /usr in both; where the host's are
        # not the same links, the toolchain's own take their place
        for link in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            mine, host = root / link, Path("/") / link
            if mine.is_symlink() and not (host.is_symlink() and os.readlink(host) == os.readlink(mine)):
                overlays.append((str(mine.resolve()), str(host)))
        for own in ("/etc/ld.so.cache", "/etc/alternatives", "/opt/wasmbuild"):
            if os.path.lexists(str(root) + own):
                overlays.append((str(root) + own, own))
        # the toolchain's own variables, not a build command's HOME, TMPDIR and LANG
        env = {**self.env, "PATH": self._search_path()}
        return {"provider": self.provider, "root": str(root), "source": str(source),
                "overlays": overlays,
                "writable": [(str(root) + p, p) for p in self.writable],
                "rebind": [str(p) for p in _outermost(rw)], "env": env}

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
