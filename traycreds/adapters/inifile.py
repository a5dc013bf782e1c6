"""Safe edits of the AWS INI files: lock, re-read, change one section, replace atomically.

Concurrent writers (other traycreds processes, the tray's refresh) serialise on a
lock file beside the target, so each re-reads what the last one wrote; readers
see the old file or the new one, never a part (a temp file in the same folder,
fsynced, then renamed). On any failure the original stays as it was.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from traycreds.adapters.atomic import write_atomic
from traycreds.core.errors import FileError

LOCK_TIMEOUT = 10.0
_BOM = b"\xef\xbb\xbf"


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.traycreds-lock")


@contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """An exclusive lock shared by every traycreds process editing ``path``."""
    target = lock_path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = open(target, "a+b")  # noqa: SIM115 - held for the with block
    except OSError as exc:
        raise _file_error(exc, path, "lock") from None
    deadline = time.monotonic() + timeout
    try:
        while not _try_lock(handle):
            if time.monotonic() > deadline:
                raise FileError(f"Another program has been editing {path} for {timeout:.0f} s. "
                                "Try again; the file was not changed.", title="File busy")
            time.sleep(0.02)
        yield
    finally:
        _unlock(handle)
        handle.close()


def _try_lock(handle: IO[bytes]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(handle: IO[bytes]) -> None:
    try:
        if sys.platform == "win32":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError:
        pass


def _file_error(exc: OSError, path: Path, doing: str) -> FileError:
    if exc.errno == errno.ENOSPC:
        why = "the disk is full"
    elif exc.errno == errno.EROFS:
        why = "its folder is on a read-only file system"
    elif isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        why = "permission denied (is the file or its folder read-only?)"
    else:
        why = exc.strerror or type(exc).__name__
    return FileError(f"Could not {doing} {path}: {why}. The file was left as it was.")


def read(path: Path) -> tuple[str, bytes]:
    """(text, BOM prefix or b''); a missing file reads as empty."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return "", b""
    except OSError as exc:
        raise _file_error(exc, path, "read") from None
    bom = _BOM if raw.startswith(_BOM) else b""
    try:
        return raw[len(bom):].decode("utf-8"), bom
    except UnicodeDecodeError as exc:
        raise FileError(f"{path} is not UTF-8 text (byte {exc.start + len(bom)}); traycreds "
                        "will not edit it. Save it as UTF-8.") from None


def backup(path: Path, raw: bytes) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.traycreds-backup-{stamp}")
    count = 1
    while target.exists():  # two backups in one second: never overwrite the first
        target = path.with_name(f"{path.name}.traycreds-backup-{stamp}-{count}")
        count += 1
    write_atomic(target, raw, mode=0o600)
    return target


def _read_only(path: Path) -> bool:
    """True when the file exists and is not writable, judged by its mode bits too.

    root passes ``os.access`` for any file; a file the user made read-only (chmod 0444)
    is still respected.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return False
    if not os.access(path, os.W_OK):
        return True
    if sys.platform != "win32" and info.st_uid == os.geteuid():
        return not info.st_mode & stat.S_IWUSR
    return not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _target(path: Path) -> Path:
    """The file to edit: a symlink (say into a dotfiles repository) is followed, not replaced."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def edit(path: Path, change: Callable[[str], str], *, keep_backup: bool = False) -> Path | None:
    """Apply ``change`` to the file's text under the lock; returns the backup, if kept.

    Nothing is written when the text comes back unchanged. A symlink is edited through:
    the file it points to is replaced, and the link stays.
    """
    path = _target(path)
    with locked(path):
        text, bom = read(path)
        new = change(text)
        if new == text:
            return None
        if _read_only(path):
            raise FileError(f"{path} is read-only; traycreds will not override that. Make it "
                            "writable, or write to another file (AWS_SHARED_CREDENTIALS_FILE).")
        try:
            saved = backup(path, bom + text.encode("utf-8")) if keep_backup and text else None
            write_atomic(path, bom + new.encode("utf-8"), mode=0o600)
        except OSError as exc:
            raise _file_error(exc, path, "write") from None
        return saved
