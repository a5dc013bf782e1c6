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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from traycreds.adapters import paths
from traycreds.adapters.atomic import ensure_folder, write_atomic
from traycreds.core.errors import FileError

LOCK_TIMEOUT = 10.0  # how long one holder may keep the file without finishing an edit
LOCK_CAP = 60.0  # how long a queue of other writers may keep us waiting in all
_BOM = b"\xef\xbb\xbf"


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.traycreds-lock")


@contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT, cap: float = LOCK_CAP) -> Iterator[None]:
    """An exclusive lock shared by every traycreds process editing ``path``.

    The lock is not fair: with many writers queued, one may wait while the others take
    turns. So the wait gives up when one holder has kept the lock ``timeout`` seconds (a
    stuck program), or after ``cap`` seconds in all; each turn that ends in the meantime
    starts the ``timeout`` afresh. A holder marks the end of its turn in the lock file (past
    the locked byte), which waiters read through the handle they already have: never by
    opening or stat-ing the file itself, which on Windows would make the holder's rename
    fail (os.stat opens the file without sharing it).
    """
    target = lock_path(path)
    try:
        ensure_folder(target.parent)
        handle = _open_lock(target)
    except OSError as exc:
        raise _file_error(exc, path, "lock") from None
    started = time.monotonic()
    seen, idle_since, held = _turn(handle), started, False
    try:
        while not _try_lock(handle):
            now = time.monotonic()
            turn = _turn(handle)
            if turn != seen:
                seen, idle_since = turn, now
            if now - idle_since > timeout:
                raise FileError(f"Another program has been editing {path} for {timeout:.0f} s. "
                                "Try again; the file was not changed.", title="File busy")
            if now - started > cap:
                raise FileError(f"Other programs have kept {path} busy for {cap:.0f} s, editing "
                                "it one after another. Try again when they are done; the file "
                                "was not changed.", title="File busy")
            time.sleep(0.02)
        held = True
        yield
    finally:
        if held:
            _end_turn(handle)
            _unlock(handle)
        handle.close()


_TURN_AT, _TURN_SIZE = 8, 8  # where a holder marks the end of its turn, past locked byte 0


def _turn(handle: IO[bytes]) -> bytes:
    try:
        handle.seek(_TURN_AT)
        return handle.read(_TURN_SIZE)
    except OSError:
        return b""


def _end_turn(handle: IO[bytes]) -> None:
    try:
        handle.seek(_TURN_AT)
        handle.write(os.urandom(_TURN_SIZE))
        handle.flush()
    except OSError:  # the mark only shortens others' waits; the edit itself is done
        pass


def _open_lock(target: Path) -> IO[bytes]:
    """Open (or create, 0600) the lock file itself, never a file a link points to."""
    if os.path.islink(target):  # where O_NOFOLLOW is missing (Windows), and a clear message
        raise _lock_is_a_link(target)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags | getattr(os, "O_BINARY", 0), 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # made a link since the check above
            raise _lock_is_a_link(target) from None
        raise
    return os.fdopen(fd, "r+b", buffering=0)  # unbuffered: the turn mark is read afresh


def _lock_is_a_link(target: Path) -> FileError:
    return FileError(f"The lock file {target} is a symbolic link; traycreds does not create or "
                     "open files through it. Remove the link (traycreds makes a plain lock "
                     "file again) and try again. Nothing was changed.", title="Lock file is a link")


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
    elif sys.platform == "win32" and getattr(exc, "winerror", None) in (5, 32):
        # Windows refuses to replace a file another program holds open (atomic.py has
        # already retried); that, not a read-only flag, is the usual cause.
        why = ("permission denied: another program may have it open (an editor, antivirus, a "
               "sync tool) or it is read-only. Close that program and try again")
    elif isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        why = "permission denied (is the file or its folder read-only?)"
    else:
        why = exc.strerror or type(exc).__name__
    return FileError(f"Could not {doing} {path}: {why}. The file was left as it was.")


def read(path: Path, limit: int = paths.AWS_FILE_LIMIT) -> tuple[str, bytes]:
    """(text, BOM prefix or b''); a missing file reads as empty.

    Not a regular file, or over ``limit`` bytes: FileError (exit 8), nothing read.
    """
    raw = paths.read_bounded(path, limit, FileError)
    if raw is None:
        return "", b""
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
    """The file to edit: a symlink (say into a dotfiles repository) is followed, not replaced.

    Only to an existing file of the link's owner: a dangling link would make traycreds
    create a file wherever the link points (as root, anywhere), and a link to someone
    else's file would write secrets into it.
    """
    if not path.is_symlink():
        return path
    real = Path(os.path.realpath(path))
    try:
        link, target = os.lstat(path), os.stat(path)
    except FileNotFoundError:
        raise FileError(f"{path} is a symbolic link to {real}, which does not exist. traycreds "
                        "does not create files through a link. Create that file yourself if "
                        "the link is right (or remove the link), then try again.",
                        title="Dangling link") from None
    except OSError as exc:
        raise _file_error(exc, path, "follow the link") from None
    if not stat.S_ISREG(target.st_mode):
        raise FileError(f"{path} is a symbolic link to {real}, which is not a regular file "
                        f"({paths.file_kind(target.st_mode)}); traycreds reads and writes only "
                        "regular files. Point the link at a plain file, or remove it.",
                        title="Link to something that is not a file")
    if sys.platform != "win32" and link.st_uid != target.st_uid:
        raise FileError(f"{path} is a symbolic link to {real}, which belongs to another user "
                        f"(uid {target.st_uid}) than the link (uid {link.st_uid}). traycreds "
                        "will not write through it. Point the link at a file of the link's "
                        "owner, or replace the link with a plain file.",
                        title="Link to another user's file")
    return real


@dataclass(frozen=True)
class Edited:
    """What ``edit`` did besides the change itself."""

    backup: Path | None = None  # the copy of the original, when one was kept
    loosened_mode: int | None = None  # the mode the file had before it was made 0600


def edit(path: Path, change: Callable[[str], str], *, keep_backup: bool = False,
         private: bool = False) -> Edited:
    """Apply ``change`` to the file's text under the lock.

    Nothing is written when the text comes back unchanged. A symlink is edited through:
    the file it points to is replaced, and the link stays. With ``private`` (the change
    writes secrets) a file group or others could read becomes 0600.
    """
    path = _target(path)
    with locked(path):
        text, bom = read(path)
        new = change(text)
        if new == text:
            return Edited()
        if _read_only(path):
            raise FileError(f"{path} is read-only; traycreds will not override that. Make it "
                            "writable, or write to another file (AWS_SHARED_CREDENTIALS_FILE).")
        try:
            saved = backup(path, bom + text.encode("utf-8")) if keep_backup and text else None
            del text  # a large file: keep only the new text (and slices of it) in memory
            loosened = write_atomic(path, [bom, new], mode=0o600, private=private)
        except OSError as exc:
            raise _file_error(exc, path, "write") from None
        return Edited(saved, loosened)
