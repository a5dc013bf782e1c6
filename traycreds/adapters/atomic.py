"""Replace a file's content all at once: temp file in the same folder, fsync, rename.

Temp files are named ``.NAME.traycreds-tmp-PID-RANDOM`` so that one left behind by a
writer killed mid-write (it may hold a secret) is recognisably ours: the next write of the
same file, and ``traycreds clean``, remove such files once they are a minute old.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from traycreds.core.errors import FileError

# On Windows os.replace fails (WinError 5 or 32) while another program has the target open
# without FILE_SHARE_DELETE: an AWS SDK or CLI reading the file (Python's open() never
# shares delete), an antivirus or indexer. Readers hold it for a millisecond or less, so
# retry soon and often, then less often, for up to _REPLACE_BUDGET seconds and at least
# _REPLACE_TRIES tries (on a busy machine a starved writer can see seconds pass between two
# tries), never past _REPLACE_CAP; then fail with the original intact. (Long first pauses
# let a reader in a loop win every time.)
_REPLACE_BUDGET = 3.0
_REPLACE_TRIES = 100
_REPLACE_CAP = 8.0  # below inifile.LOCK_TIMEOUT: the writers queued behind us wait that long
_REPLACE_PAUSES = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.05)

TEMP_MARK = ".traycreds-tmp-"
# A temp file younger than this may belong to a writer still at work: never touch it.
STALE_AFTER_SECONDS = 60.0
_ENCODE_CHARS = 1024 * 1024  # a large text is encoded and written a slice at a time
_PRIVATE = 0o600


def _replace(tmp: str, path: Path, *, retry: bool = sys.platform == "win32",
             clock: Callable[[], float] = time.monotonic) -> None:
    started = clock()
    attempt = 0
    while True:
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            spent = clock() - started
            if not retry or spent >= _REPLACE_CAP or (spent >= _REPLACE_BUDGET
                                                      and attempt + 1 >= _REPLACE_TRIES):
                raise
        time.sleep(_REPLACE_PAUSES[min(attempt, len(_REPLACE_PAUSES) - 1)])
        attempt += 1


def ensure_folder(folder: Path) -> None:
    """Create ``folder`` (0700) and its missing parents, but never through a symbolic link.

    A dangling link anywhere on the way is refused: creating the folders it points to
    would let whoever made the link choose where traycreds writes.
    """
    missing: list[Path] = []
    current = folder
    while True:
        try:
            os.stat(current)
            break
        except FileNotFoundError:
            if os.path.islink(current):
                raise FileError(
                    f"{current} is a symbolic link to {os.readlink(current)}, which does not "
                    "exist; traycreds does not create folders for a link's target. Create "
                    "that folder yourself if it is right, or remove the link.",
                    title="Dangling link") from None
            missing.append(current)
            if current.parent == current:
                break
            current = current.parent
    for item in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another writer
            os.mkdir(item, 0o700)


def temp_pattern(path: Path) -> re.Pattern[str]:
    """Exactly the names ``write_atomic`` gives temp files of ``path``."""
    return re.compile(re.escape(f".{path.name}{TEMP_MARK}") + r"\d+-[0-9a-f]{8}")


def _open_temp(path: Path) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    while True:
        name = f".{path.name}{TEMP_MARK}{os.getpid()}-{os.urandom(4).hex()}"
        tmp = str(path.with_name(name))
        try:
            return os.open(tmp, flags, _PRIVATE), tmp
        except FileExistsError:
            continue


def _write_all(fd: int, data: str | bytes | Sequence[str | bytes]) -> None:
    pieces = [data] if isinstance(data, (str, bytes)) else data
    with os.fdopen(fd, "wb") as handle:
        for piece in pieces:
            if isinstance(piece, bytes):
                handle.write(piece)
                continue
            # Encoding a 50 MB text at once would hold a second full copy in memory.
            for start in range(0, len(piece), _ENCODE_CHARS):
                handle.write(piece[start:start + _ENCODE_CHARS].encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: Path, data: str | bytes | Sequence[str | bytes], *, mode: int = 0o600,
                 private: bool = False) -> int | None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never a part.

    ``data`` may be given in pieces (written in order). A new file gets ``mode``; an
    existing one keeps its permission bits, except with ``private`` (the data holds
    secrets): a file group or others could read becomes 0600. Returns the mode it had
    when it was changed so, else None.
    """
    folder = path.parent
    ensure_folder(folder)
    loosened: int | None = None
    try:
        before = os.stat(path)
        keep: int = before.st_mode & 0o7777
        owner: tuple[int, int] | None = (before.st_uid, before.st_gid)
        if private and sys.platform != "win32" and keep & 0o077:
            loosened, keep = keep, _PRIVATE
    except FileNotFoundError:
        keep, owner = mode, None
    fd, tmp = _open_temp(path)
    try:
        _write_all(fd, data)
        os.chmod(tmp, keep)
        if owner is not None and hasattr(os, "geteuid") and os.geteuid() == 0:
            os.chown(tmp, *owner)  # root editing a user's file leaves it theirs
        _replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(folder)
    remove_stale_temps(path)
    return loosened


def remove_stale_temps(path: Path) -> int:
    """Remove temp files of ``path`` left by killed writers; returns how many.

    Only files named exactly as ours, regular files (not links or folders), owned by
    this user and at least a minute old, in ``path``'s own folder.
    """
    pattern = temp_pattern(path)
    now = time.time()
    removed = 0
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return 0
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < STALE_AFTER_SECONDS:
            continue
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            continue
        try:
            os.unlink(entry.path)
            removed += 1
        except OSError:
            continue
    return removed


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
