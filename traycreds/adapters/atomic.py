"""Replace a file's content all at once: temp file in the same folder, fsync, rename."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

# Antivirus and indexers on Windows hold files briefly; os.replace then fails with
# WinError 5 or 32. Retry a bounded number of times, then fail with the original intact.
_REPLACE_ATTEMPTS = 10
_REPLACE_PAUSE = 0.05


def _replace(tmp: str, path: Path) -> None:
    for attempt in range(_REPLACE_ATTEMPTS):
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            if sys.platform != "win32" or attempt == _REPLACE_ATTEMPTS - 1:
                raise
            time.sleep(_REPLACE_PAUSE * (attempt + 1))


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never a part.

    A new file gets ``mode``; an existing one keeps its permission bits.
    """
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        before = os.stat(path)
        keep: int = before.st_mode & 0o7777
        owner: tuple[int, int] | None = (before.st_uid, before.st_gid)
    except FileNotFoundError:
        keep, owner = mode, None
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, keep)
        if owner is not None and hasattr(os, "geteuid") and os.geteuid() == 0:
            os.chown(tmp, *owner)  # root editing a user's file leaves it theirs
        _replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory handles for this."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
