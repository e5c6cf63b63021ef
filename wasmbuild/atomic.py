"""Write files so that an interrupt never leaves a half-written file that looks finished.

The temporary file sits beside its destination (so the rename is atomic) and carries
the writer's pid: a SIGKILLed writer's leftover is removed by the next write of the
same file. A full disk is one clear error, and the destination is left as it was.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import WasmbuildError


class DiskFull(WasmbuildError):
    """No space left while writing an output: nothing was replaced."""


def _remove_stale_temps(dest: Path) -> None:
    """`.name.<pid>.*.tmp` files of writers that no longer run (killed mid-write)."""
    for tmp in dest.parent.glob(f".{dest.name}.*.tmp"):
        pid = tmp.name[len(dest.name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except PermissionError:
            pass


@contextmanager
def atomic_path(dest: Path):
    """Yield a temporary path beside `dest`; on success it is renamed over `dest`."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if os.stat(tmp).st_mode & 0o777 == 0o600:      # mkstemp's mode: make it ordinary
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, dest)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(f"no space left on device while writing {dest}; it was not replaced "
                           f"(free some space on {dest.parent}, then run again)") from None
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(dest: Path, text: str, mode: int | None = None) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
        if mode is not None:
            os.chmod(tmp, mode)


def write_text_if_changed(dest: Path, text: str, mode: int | None = None) -> None:
    """write_text, unless dest already holds this text: its mtime then stays, so that
    what depends on it (make's rules, doit's file_dep) does not run again."""
    if not dest.is_file() or dest.read_text(encoding="utf-8") != text:
        write_text(dest, text, mode)


def copy_file(src: Path, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
