"""Where this user's tray listens, and the session key beside it, checked to be ours alone.

The runtime folder (``adapters.instance.runtime_dir()``) holds the socket ``channel.sock``
(POSIX; on Windows the named pipe of this user and logon session: ``instance.pipe_name``)
and the session key ``channel.key`` (``channel-s<session>.key`` on Windows). Before a client
reads the key it checks (POSIX) that the folder is this user's and closed to others, and that
the key file is a regular file of this user's with mode 0600, opened without following links
and never blocking on a FIFO. A failed check raises UntrustedTrayError.

Imported by the client's fast path: no pathlib, stat or platformdirs on the common paths.
"""

from __future__ import annotations

import errno
import os
import sys

from traycreds.core.errors import NotRunningError

TYPE_CHECKING = False  # not typing's: see protocol.py
if TYPE_CHECKING:
    from pathlib import Path

SOCKET_NAME = "channel.sock"
KEY_NAME = "channel.key"
KEY_BYTES = 32
RUNTIME_DIR_ENV = "TRAYCREDS_RUNTIME_DIR"  # adapters/instance.py's RUNTIME_DIR_ENV
START_HINT = "Start traycreds (the tray app) and try again."
_APP = "traycreds"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_KEY_READ = 4 * KEY_BYTES  # more than a key file holds (64 hex digits and a newline)


class UntrustedTrayError(NotRunningError):
    """What sits where this user's tray would be fails a check: it may be another user's.
    A NotRunningError, so callers fall back to doing the work themselves (after warning)."""

    title = "Not using the tray"

    def __init__(self, folder: str, why: str) -> None:
        super().__init__(f"Ignoring the tray in {folder}: {why}. Remove that folder, or set "
                         f"{RUNTIME_DIR_ENV} to a folder of your own.")
        self.folder, self.why = folder, why

    def warning(self) -> str:
        """One line for stderr (the command line then works without the tray)."""
        return (f"traycreds: warning: ignoring the tray in {self.folder}: {self.why}; "
                "working without it\n")


def runtime_folder() -> str:
    """``adapters.instance.runtime_dir()``, without importing pathlib on the common paths."""
    override = os.environ.get(RUNTIME_DIR_ENV)
    if override:
        return os.path.expanduser(override)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if sys.platform.startswith("linux") and xdg and os.path.isabs(xdg):
        return os.path.join(xdg, _APP)
    from traycreds.adapters.instance import runtime_dir

    return str(runtime_dir())


def channel_address(folder: str | os.PathLike[str]) -> str:
    """The socket path in the runtime folder; on Windows the named pipe of this user, logon
    session and runtime folder (instance.pipe_name: the mutex's scope)."""
    if sys.platform == "win32":
        from traycreds.adapters.instance import pipe_name

        return pipe_name()
    return os.path.join(folder, SOCKET_NAME)


def key_name() -> str:
    """``channel.key``; on Windows ``channel-s<session>.key``: the folder is per user, and two
    logon sessions of the user each have their own tray, pipe and key."""
    if sys.platform == "win32":
        from traycreds.adapters.instance import windows_session

        return f"channel-s{windows_session()}.key"
    return KEY_NAME


def key_file(folder: str | os.PathLike[str]) -> Path:
    from pathlib import Path

    return Path(folder) / key_name()


def read_key(folder: str | os.PathLike[str]) -> bytes:
    """The session key in ``folder``, after checking (POSIX) that the folder and the key file
    are this user's alone. Raises NotRunningError (no tray), UntrustedTrayError (a check
    failed)."""
    folder = os.fspath(folder)
    path = os.path.join(folder, key_name())
    if sys.platform == "win32":  # the profile folder's ACL protects it; st_uid means nothing
        raw = _read_key_file(path)
    else:
        folder_fd = _open_folder(folder, path)
        try:
            raw = _read_key_file(path, folder, folder_fd)
        finally:
            os.close(folder_fd)
    try:  # bytes.decode("ascii") needs no codec lookup, unlike open(encoding="ascii")
        key = bytes.fromhex(raw.decode("ascii"))
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise NotRunningError(f"{path} is damaged. Quit the tray and start it again.")
    return key


def _no_tray(path: str) -> NotRunningError:
    return NotRunningError(f"No tray is running for this user (no {path}). {START_HINT}")


def _open_folder(folder: str, key_path: str) -> int:
    """The runtime folder, opened without following a link and checked through the open
    descriptor, so it cannot be swapped between the check and the use."""
    try:
        fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except FileNotFoundError:
        raise _no_tray(key_path) from None
    except OSError as error:
        raise UntrustedTrayError(folder, _why_unopenable(folder, error, "folder")) from None
    problem = _not_private(os.fstat(fd), "the folder")
    if problem:
        os.close(fd)
        raise UntrustedTrayError(folder, problem)
    return fd


def _read_key_file(path: str, folder: str = "", folder_fd: int | None = None) -> bytes:
    """At most _KEY_READ bytes of the key file. POSIX: opened below ``folder_fd`` without
    following a link and without blocking (a FIFO would hang the caller), and checked to be a
    regular file of this user's that no one else may read."""
    flags = os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(KEY_NAME if folder_fd is not None else path, flags, dir_fd=folder_fd)
    except FileNotFoundError:
        raise _no_tray(path) from None
    except OSError as error:
        if folder_fd is None:
            raise NotRunningError(f"Cannot read {path}: {error.strerror or error}. "
                                  f"{START_HINT}") from None
        raise UntrustedTrayError(folder, _why_unopenable(path, error, "file")) from None
    try:
        if folder_fd is not None:
            info = os.fstat(fd)
            problem = (_not_private(info, path) if _is_regular(info.st_mode)
                       else f"{path} is not a regular file")
            if problem:
                raise UntrustedTrayError(folder, problem)
        return os.read(fd, _KEY_READ)
    finally:
        os.close(fd)


def _is_regular(mode: int) -> bool:
    return mode & 0o170000 == 0o100000  # stat.S_ISREG without importing stat


def _not_private(info: os.stat_result, what: str) -> str:
    """Why ``what`` (a path, or "the folder") is not this user's alone; "" when it is."""
    euid = os.geteuid()
    if info.st_uid != euid:
        return f"{what} belongs to uid {info.st_uid}, not you ({euid})"
    mode = info.st_mode & 0o7777
    if mode & 0o077:
        return f"{what} is open to other users (mode {mode:o}, not 700 or 600)"
    return ""


def _why_unopenable(path: str, error: OSError, kind: str) -> str:
    """Why ``path`` could not be opened as this user's folder or file, in words."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = 0
    if mode & 0o170000 == 0o120000 or error.errno == errno.ELOOP:  # S_ISLNK
        return f"{path} is a symbolic link"
    if kind == "folder" and error.errno == errno.ENOTDIR:
        return f"{path} is not a folder"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"{path} cannot be opened (permission denied): it belongs to another user"
    return f"{path} cannot be opened ({error.strerror or error})"
