"""Provision a toolchain: make the Debian root, install pinned packages, inputs, patches,
setup; or check a system one. Then check its versions and write its identity.

Every step is idempotent and the stamp is written last, so an interrupted run is
simply run again. The host gets no trixie package: everything lands in the root.
"""
from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from . import fetch, paths, textpatch, versions
from .atomic import write_text, write_text_if_changed
from .errors import ToolchainError
from .model import DEBIAN_ROOT, SYSTEM, DebianRoot, Toolchain
from .runlog import run_logged, say
from .sandbox import Sandbox

CA_DIR = Path("/usr/local/share/ca-certificates")
# debootstrap runs on the host, not in the sandbox: in its own pid and mount namespaces,
# so that if wasmbuild dies (even by SIGKILL) debootstrap and its children die with it,
# and the /proc and /sys it mounts in the new root vanish with the namespace.
DIES_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL",
                    "unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]
INPUTS_IN_ROOT = "/opt/wasmbuild/inputs"


def root_dir(spec: DebianRoot) -> Path:
    return paths.roots_dir() / f"debian-{spec.suite}"


def stamp_path(toolchain: Toolchain, provider: str, root: Path | None) -> Path:
    base = root / "opt" / "wasmbuild" / "stamps" if root else paths.roots_dir() / SYSTEM
    return base / f"{toolchain.name}.json"


def identity_path(stamp: Path) -> Path:
    """The toolchain's identity (package versions, patches, setup; for a system toolchain
    the versions and executables): what everything built with it depends on. Rewritten
    only when it changes, so re-provisioning the same toolchain rebuilds nothing."""
    return stamp.with_suffix(".identity")


def write_identity(stamp: Path, identity: dict) -> None:
    text = json.dumps(identity, indent=1, sort_keys=True)
    write_text_if_changed(identity_path(stamp), text)


# Provider keys that say how commands run in the toolchain, not what is installed in it;
# they may name per-user paths (the ccache dir under WASMBUILD_CACHE), so runs with other
# caches must not take the shared root for a different one and provision it again.
RUNTIME_KEYS = ("env", "path", "host_writable")


def spec_digest(toolchain: Toolchain, provider: str) -> str:
    """What provisioning depends on: the provider's YAML (what it installs) and the files
    it installs."""
    spec = getattr(toolchain.providers, provider.replace("-", "_"))
    installed = {k: v for k, v in asdict(spec).items() if k not in RUNTIME_KEYS}
    h = hashlib.sha256(json.dumps([provider, installed, asdict(toolchain.version)],
                                  sort_keys=True).encode())
    for rel in sorted(getattr(spec, "files", {}).values()):
        h.update((paths.PROJECT_DIR / rel).read_bytes())
    return h.hexdigest()


def read_stamp(stamp: Path) -> dict | None:
    try:
        return json.loads(stamp.read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def locked(path: Path):
    """One provisioning at a time per root (apt and debootstrap are not re-entrant)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# ---------------------------------------------------------------- the task's action

def provision_toolchain(tp, *, log: Path):
    tc = tp.toolchain
    if stamp_matches(tp)():
        # provisioned with this YAML already, by a run for another cross-build dir (each
        # has its own doit state): nothing to do, and no apt-get update either
        with open(log, "a") as f:
            f.write(f"already provisioned: {tp.stamp}\n")
        return
    if tp.provider == DEBIAN_ROOT:
        provision_debian_root(tc, tc.providers.debian_root, tp.digest, log)
    else:
        spec = tc.providers.system
        check_system(tc, tp.sandbox, spec.how_to_get, spec.requires)
    found = {}
    try:
        for check in [tc.version, *tc.checks]:
            found[check.command[0]] = check_version(tp, check, log)
    except ToolchainError:
        tp.stamp.unlink(missing_ok=True)     # not provisioned until its versions pass
        raise
    if tp.provider == SYSTEM:
        fingerprint = system_fingerprint(tp)
        write_identity(tp.stamp, {"versions": found, "executables": fingerprint})
        write_text(tp.stamp, json.dumps({"digest": tp.digest, "fingerprint": fingerprint,
                                         "versions": found}, indent=1, sort_keys=True))
    else:
        # the checked versions beside the packages' (a tree's pins are compared with them)
        data = read_stamp(tp.stamp) or {}
        write_text(tp.stamp, json.dumps({**data, "versions": found}, indent=1, sort_keys=True))


def check_version(tp, check, log: Path) -> str:
    argv, env = tp.sandbox.command(check.command, Path("/"))
    try:
        out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise ToolchainError(f"{tp.yaml}: {check.command[0]} not found ({shlex.join(check.command)})")
    m = re.search(check.regex, out.stdout + out.stderr, re.M)
    if out.returncode != 0 or not m:
        raise ToolchainError(f"{tp.yaml}: version check {shlex.join(check.command)} failed "
                             f"(exit {out.returncode}): {(out.stdout + out.stderr).strip()[:300]}")
    found = m.group(1)
    with open(log, "a") as f:
        f.write(f"{check.command[0]} version {found}\n")
    if check.minimum and versions.parse(found) < versions.parse(check.minimum):
        raise ToolchainError(f"{check.command[0]} {found} is too old: {tp.toolchain.name} needs "
                             f">= {check.minimum}")
    if check.recommended and versions.parse(found) < versions.parse(check.recommended):
        print_warning(f"{check.command[0]} {found} < {check.recommended}: {check.below_recommended}")
    return found


def system_fingerprint(tp) -> dict:
    """Where the system toolchain's executables are, and their size and mtime: a
    different emsdk on PATH, or an upgraded one, is a different toolchain."""
    env = tp.sandbox.environment()
    out = {}
    for exe in tp.toolchain.providers.system.requires:
        path = shutil.which(exe, path=env["PATH"])
        if path:
            real = os.path.realpath(path)
            st = os.stat(real)
            out[exe] = [real, st.st_size, st.st_mtime_ns]
        else:
            out[exe] = None
    return out


def stamp_matches(tp):
    """uptodate for toolchain:*: provisioned with exactly this YAML (and, for a system
    toolchain, the same executables)."""
    def check():
        data = read_stamp(tp.stamp)
        if not data or data.get("digest") != tp.digest:
            return False
        return tp.provider != SYSTEM or data.get("fingerprint") == system_fingerprint(tp)
    return check


# ---------------------------------------------------------------- a Debian root

def provision_debian_root(toolchain: Toolchain, spec: DebianRoot, digest: str, log: Path) -> None:
    root = root_dir(spec)
    name = f"toolchain:{toolchain.name}"
    root_sandbox = Sandbox(DEBIAN_ROOT, root)

    def in_root(cmd: str, title: str):
        argv, env = root_sandbox.command(["bash", "-euo", "pipefail", "-c", cmd], Path("/"),
                                         extra_env={"DEBIAN_FRONTEND": "noninteractive"},
                                         network=True, writable_root=True)
        failed = run_logged(argv, env=env, cwd=Path("/"), log=log, name=name, title=title)
        if failed:
            raise ToolchainError(failed.message if hasattr(failed, "message") else str(failed))

    _host_tools(log, name)
    with locked(root.with_name(root.name + ".lock")):
        if not (root / "usr" / "bin" / "apt-get").exists():
            partial = root.with_name(root.name + ".partial")
            remove_unfinished_root(partial)
            script = [f"/usr/share/debootstrap/scripts/{spec.script}"] if spec.script else []
            failed = run_logged([*DIES_WITH_PARENT, "debootstrap", "--variant=minbase", spec.suite,
                                 str(partial), spec.mirror, *script], env=dict(os.environ),
                                cwd=Path("/"), log=log, name=name)
            if failed:
                raise ToolchainError(str(failed))
            partial.rename(root)
        # pip/npm inside the root go through the same TLS proxy as the host
        ca = root / "usr/local/share/ca-certificates"
        ca.mkdir(parents=True, exist_ok=True)
        for crt in CA_DIR.glob("*.crt") if CA_DIR.is_dir() else []:
            shutil.copyfile(crt, ca / crt.name)
        write_text(root / "etc/apt/sources.list", f"deb {spec.mirror} {spec.suite} main\n")
        # `dpkg --configure -a` finishes an install that an interrupt cut short;
        # ca-certificates whatever the toolchain lists: the host's CAs copied above are
        # installed with it (toolchains provisioned in another order, or two at once,
        # found it missing)
        packages = [*spec.packages, *([] if "ca-certificates" in spec.packages else ["ca-certificates"])]
        apt = "apt-get " + " ".join(_quote(o) for o in spec.apt_options)
        in_root(f"dpkg --configure -a && {apt} update -q && {apt} install -y -q --no-install-recommends "
                + " ".join(_quote(p) for p in packages) + " && update-ca-certificates >/dev/null",
                "apt-get install " + " ".join(packages))
        for item in spec.inputs:
            src = fetch.fetch(item)
            dest = root / INPUTS_IN_ROOT.lstrip("/") / item.file
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists() or dest.stat().st_size != src.stat().st_size:
                shutil.copyfile(src, dest)
        for in_root_path, project_file in spec.files.items():
            dest = root / in_root_path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(paths.PROJECT_DIR / project_file, dest)
            os.chmod(dest, 0o755)
        for patch in spec.patches:
            apply_patch(root, patch, toolchain)
        for i, step in enumerate(spec.setup):
            in_root(step, f"setup[{i}] of {toolchain.name}")
        for p in spec.writable:
            (root / p.lstrip("/")).mkdir(parents=True, exist_ok=True)
        versions = _package_versions(root_sandbox, spec.packages)
        stamp = stamp_path(toolchain, DEBIAN_ROOT, root)
        write_identity(stamp, {"packages": versions,
                               "patches": [asdict(p) for p in spec.patches],
                               "setup": spec.setup, "inputs": [asdict(i) for i in spec.inputs]})
        write_text(stamp, json.dumps({"digest": digest, "packages": versions}, indent=1, sort_keys=True))


def mounts_below(path: Path) -> list[str]:
    """Mount points at or below `path` in this mount namespace, deepest first."""
    prefix = str(path).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            # field 5 is the mount point, with space, tab, newline, backslash as \ooo
            mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if mp == prefix[:-1] or mp.startswith(prefix):
                found.append(mp)
    return sorted(found, key=len, reverse=True)


def remove_unfinished_root(partial: Path) -> None:
    """Remove what an interrupted debootstrap left. A killed debootstrap leaves /proc,
    /sys and bound device files mounted inside it: unmount those first, so that the
    removal never reaches into them."""
    if not partial.exists():
        return
    for mp in mounts_below(partial):
        subprocess.run(["umount", "--lazy", mp], capture_output=True)
    shutil.rmtree(partial, ignore_errors=True)
    if partial.exists():
        left = mounts_below(partial)
        raise ToolchainError(f"could not remove the unfinished root {partial}"
                             + (f" (still mounted: {', '.join(left)})" if left else "")
                             + ": remove it by hand, then run again")


HOST_TOOLS = {"bwrap": "bubblewrap", "debootstrap": "debootstrap"}


def _host_tools(log: Path, name: str) -> None:
    """bubblewrap and debootstrap come from the host's own distribution (bookworm
    packages: nothing of trixie ever lands on the host)."""
    ensure_host_packages(HOST_TOOLS, log, name, needed_by="the debian-root provider",
                         otherwise="(or use provider=system)")


def ensure_host_packages(tools: dict[str, str], log: Path, name: str, needed_by: str,
                         otherwise: str = "") -> None:
    """Executables (name -> the host distribution's package) installed when missing and
    wasmbuild runs as root on Debian; otherwise the error says what to install. Toolchain
    tasks run in parallel threads: one installs, the other then finds the tools there."""
    with _HOST_INSTALL:
        missing = [pkg for exe, pkg in tools.items() if shutil.which(exe) is None]
        if not missing:
            return
        if os.geteuid() == 0 and shutil.which("apt-get"):
            if not _apt_get_install(missing, log, name):
                return
            raise ToolchainError(f"{needed_by} needs {' and '.join(missing)} on the host, and "
                                 f"apt-get install {' '.join(missing)} failed (see {log}): install "
                                 f"them by hand {otherwise}".rstrip())
    raise ToolchainError(f"{needed_by} needs {' and '.join(missing)} on the host: "
                         f"apt-get install {' '.join(missing)} {otherwise}".rstrip())


_HOST_INSTALL = threading.Lock()


# A machine that has just booted may be running apt itself (unattended upgrades, an image's
# first-boot step): wait for its locks rather than fail.
APT_LOCK_WAIT = 600


def _apt_get_install(packages: list[str], log: Path, name: str):
    """apt-get update, then install, each waiting up to APT_LOCK_WAIT seconds for apt's
    locks. install waits by itself (DPkg::Lock::Timeout); update does not honour that
    option, so it is retried while another process holds the lists lock."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    deadline = time.monotonic() + APT_LOCK_WAIT
    for attempt in itertools.count():
        failed = run_logged(["apt-get", "update", "-q"], env=env, cwd=Path("/"), log=log, name=name)
        if not failed or "Could not get lock" not in str(failed) or time.monotonic() > deadline:
            break
        if attempt == 0:
            say(f"   {name}: another apt-get holds apt's lock; waiting for it")
        time.sleep(5)
    if failed:
        return failed
    return run_logged(["apt-get", "-o", f"DPkg::Lock::Timeout={APT_LOCK_WAIT}", "install", "-y", "-q",
                       *packages], env=env, cwd=Path("/"), log=log, name=name)


def apply_patch(root: Path, patch, toolchain: Toolchain) -> None:
    path = root / patch.file.lstrip("/")
    try:
        text = textpatch.apply(path.read_text(encoding="utf-8"), patch.replace, once=False, reapply=True)
    except textpatch.Mismatch as e:
        raise ToolchainError(f"toolchains/{toolchain.name}.yaml: patch of {patch.file}: "
                             f"text to replace not found (was the package upgraded?): {e.old!r}") from None
    write_text(path, text)


def _package_versions(sandbox: Sandbox, packages: list[str]) -> dict[str, str]:
    names = [p.split("=")[0] for p in packages]
    argv, env = sandbox.command(["dpkg-query", "-W", *names], Path("/"))
    out = subprocess.run(argv, env=env, capture_output=True, text=True).stdout
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


def _quote(pkg: str) -> str:
    return "'" + pkg.replace("'", "") + "'"


def check_system(toolchain: Toolchain, sandbox: Sandbox, how_to_get: str, requires: list[str]) -> None:
    env = sandbox.environment()
    missing = [exe for exe in requires if shutil.which(exe, path=env["PATH"]) is None]
    if missing:
        raise ToolchainError(f"toolchain {toolchain.name} (provider=system): {', '.join(missing)} "
                             f"not found on PATH; {how_to_get}")


def print_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.__stderr__, flush=True)
