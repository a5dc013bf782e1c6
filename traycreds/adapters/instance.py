"""One traycreds per user, and the private runtime folder it keeps its lock and channel in.

POSIX: ``flock`` on ``runtime_dir()/traycreds.lock``, held for the life of the process (the
kernel drops it when the process dies, even on SIGKILL). Windows: the named mutex
``Local\\traycreds-<user>-s<session>[-<folder hash>]`` (see windows_object_name: the channel's
pipe and key carry the same scope, so a second logon session gets its own tray).

The lock file is never deleted: unlinking it would let a third process lock a new file while
a second one still waits on the old inode, and both would believe they are alone.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

from traycreds.core.errors import FileError, TraycredsError

TYPE_CHECKING = False  # not typing's: the channel client's import cost (channel/protocol.py)
if TYPE_CHECKING:
    from typing import Protocol

    class MutexApi(Protocol):
        """The three kernel32 calls the single-instance mutex needs (faked in tests)."""

        def CreateMutexW(self, attributes: None, initial_owner: bool, name: str) -> int | None:
            ...

        def GetLastError(self) -> int: ...

        def CloseHandle(self, handle: int) -> bool: ...

APP = "traycreds"
# Overrides the runtime folder (tests, or a second traycreds side by side). Not per-platform
# magic: the same folder then holds the lock, the channel socket and its key.
RUNTIME_DIR_ENV = "TRAYCREDS_RUNTIME_DIR"
LOCK_NAME = "traycreds.lock"

ERROR_ACCESS_DENIED = 5
ERROR_ALREADY_EXISTS = 183


class RuntimeDirError(FileError):
    title = "Unsafe runtime folder"


def windows_runtime_folder(env: Mapping[str, str]) -> str | None:
    """``%LOCALAPPDATA%\\traycreds`` (paths.windows_local_folder), None if LOCALAPPDATA is not
    an absolute path.

    Not platformdirs' runtime folder (``%LOCALAPPDATA%\\Temp\\traycreds``): Disk Cleanup and
    Storage Sense delete what is in Temp, and would take the channel key from under a
    running tray."""
    from traycreds.adapters.paths import windows_local_folder

    return windows_local_folder(env)


def runtime_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Where the lock, the channel socket and its key live. Not created here (see ensure_...).

    ``TRAYCREDS_RUNTIME_DIR`` if set; on Windows ``%LOCALAPPDATA%\\traycreds`` (see
    windows_runtime_folder); else platformdirs' ``user_runtime_dir("traycreds")``
    ($XDG_RUNTIME_DIR/traycreds on Linux, ~/Library/Caches/TemporaryItems/traycreds on macOS).
    ``env`` and ``platform`` default to this process's.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    override = env.get(RUNTIME_DIR_ENV)
    if override:
        return Path(override).expanduser()
    if platform == "win32":
        folder = windows_runtime_folder(env)
        if folder is not None:
            return Path(folder)
        import platformdirs

        # The same folder, from the shell's Local AppData known folder.
        return Path(platformdirs.user_data_dir(APP, appauthor=False))
    xdg = env.get("XDG_RUNTIME_DIR")
    if platform.startswith("linux") and xdg and os.path.isabs(xdg):
        # platformdirs' answer, without its import (~6 ms) on the client's fast path.
        return Path(xdg) / APP
    import warnings

    import platformdirs

    # Its RuntimeDirWarning would land on credential_process' stderr.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir(APP, appauthor=False))


def ensure_runtime_dir() -> Path:
    """The runtime folder, created 0700 if missing, checked to be this user's alone.

    Refuses (RuntimeDirError) a symlink, a non-folder, a folder owned by another user or one
    that group or others may write; a folder that others may only read is tightened to 0700.
    """
    path = runtime_dir()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise RuntimeDirError(f"Cannot create {path}: {error.strerror or error}.") from None
    if sys.platform != "win32":  # there the profile folder's ACL protects it; chmod is a no-op
        check_private_dir(path)
    return path


def check_private_dir(path: Path) -> None:
    info = os.lstat(path)
    hint = f"Remove it, or set {RUNTIME_DIR_ENV} to a folder of your own."
    if stat.S_ISLNK(info.st_mode):
        raise RuntimeDirError(f"{path} is a symbolic link. {hint}")
    if not stat.S_ISDIR(info.st_mode):
        raise RuntimeDirError(f"{path} is not a folder. {hint}")
    if info.st_uid != os.geteuid():
        raise RuntimeDirError(f"{path} belongs to another user (uid {info.st_uid}). {hint}")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        raise RuntimeDirError(
            f"{path} can be written by other users (mode {mode:o}); someone may have placed "
            f"files in it. {hint}")
    if mode & 0o077:
        os.chmod(path, 0o700)


class InstanceLock:
    """Proof that this process is the user's only traycreds; ``release()`` gives it up."""

    def __init__(self, release: Callable[[], None], where: str) -> None:
        self._release: Callable[[], None] | None = release
        self.where = where

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()


def acquire() -> InstanceLock | None:
    """Take the per-user instance lock, or None when another traycreds holds it."""
    if sys.platform == "win32":
        api = _Kernel32()
        lock = acquire_mutex(api, mutex_name())
        return None if lock is None else with_installer_mutex(api, lock)
    return _acquire_flock(ensure_runtime_dir() / LOCK_NAME)


def _acquire_flock(path: Path) -> InstanceLock | None:
    if sys.platform == "win32":
        raise NotImplementedError
    import fcntl

    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as error:
        raise RuntimeDirError(f"Cannot open the lock file {path}: {error.strerror}.") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError as error:
        os.close(fd)
        raise RuntimeDirError(f"Cannot lock {path}: {error.strerror}.") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())  # for people looking; nobody parses it

    def release() -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return InstanceLock(release, str(path))


# --- Windows ------------------------------------------------------------------------------


def windows_user() -> str:
    """The user name as Windows object names may hold it (no backslash)."""
    import getpass

    return (os.environ.get("USERNAME") or getpass.getuser()).replace("\\", "_")


def windows_session() -> int:
    """This process's Windows (Terminal Services) session id: ProcessIdToSessionId."""
    if sys.platform == "win32":
        return _Kernel32().session_id()
    return 0


_MAX_USER_IN_NAME = 64  # characters of the user name kept in an object name


def windows_object_name(user: str, session: int, runtime_override: str | None) -> str:
    """``traycreds-<user>-s<session>``, plus ``-<hash>`` of the runtime folder when
    ``TRAYCREDS_RUNTIME_DIR`` names one: the single name behind the mutex, the pipe and the
    key file, so all three are per user, per logon session and per runtime folder alike.

    Valid in both namespaces: no backslash (the mutex name's only separator is after
    ``Local``), and short (kernel object names and pipe names stop at 256 characters)."""
    import ntpath

    name = user.replace("\\", "_").replace("/", "_")
    if len(name) > _MAX_USER_IN_NAME:  # keep long names distinct: a hash of the whole
        name = name[:_MAX_USER_IN_NAME - 9] + "-" + _short_hash(name)
    name = f"{APP}-{name}-s{session}"
    if runtime_override:
        folder = ntpath.normcase(ntpath.normpath(os.path.expanduser(runtime_override)))
        name += "-" + _short_hash(folder)
    return name


def _short_hash(text: str) -> str:
    """8 hex digits naming ``text``: distinct names, not a secret (only the hashlib import
    cost, paid only when TRAYCREDS_RUNTIME_DIR is set or a user name is very long)."""
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def windows_scope(user: str | None = None, session: int | None = None,
                  env: Mapping[str, str] | None = None) -> str:
    """windows_object_name for this process (or the given parts)."""
    env = os.environ if env is None else env
    return windows_object_name(windows_user() if user is None else user,
                               windows_session() if session is None else session,
                               env.get(RUNTIME_DIR_ENV))


def mutex_name(user: str | None = None, session: int | None = None,
               env: Mapping[str, str] | None = None) -> str:
    return "Local\\" + windows_scope(user, session, env)


def pipe_name(user: str | None = None, session: int | None = None,
              env: Mapping[str, str] | None = None) -> str:
    return "\\\\.\\pipe\\" + windows_scope(user, session, env)


def installer_mutex_name(user: str | None = None) -> str:
    """The mutex the installer and uninstaller look for (installer/traycreds.iss, AppMutex
    ``Global\\traycreds-running-{username}``): while it exists they ask the user to quit
    traycreds, whose files they would replace. In the Global namespace, so a tray of this user
    in another logon session counts too; held by every tray, whatever its runtime folder."""
    return f"Global\\{APP}-running-{windows_user() if user is None else user}"


def with_installer_mutex(api: MutexApi, lock: InstanceLock) -> InstanceLock:
    """``lock`` that also holds installer_mutex_name() open until it is released. Opening it
    may fail (another process made it with a descriptor we may not open): the installer then
    finds it anyway, which is all it is for."""
    handle = api.CreateMutexW(None, False, installer_mutex_name())
    if not handle:
        return lock

    def release() -> None:
        api.CloseHandle(handle)
        lock.release()

    return InstanceLock(release, lock.where)


def acquire_mutex(api: MutexApi, name: str) -> InstanceLock | None:
    """CreateMutexW's convention: a handle plus ERROR_ALREADY_EXISTS when another process
    made it; no handle and ERROR_ACCESS_DENIED when it exists in a context we cannot open
    (e.g. an elevated traycreds). Both mean: another instance runs."""
    handle = api.CreateMutexW(None, False, name)
    error = api.GetLastError()
    if not handle:
        if error == ERROR_ACCESS_DENIED:
            return None
        raise TraycredsError(f"Cannot create the mutex {name} (Windows error {error}).",
                             title="Single-instance check failed")
    if error == ERROR_ALREADY_EXISTS:
        api.CloseHandle(handle)
        return None

    def release() -> None:
        api.CloseHandle(handle)

    return InstanceLock(release, name)


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    class _Kernel32:
        """A private kernel32 handle: setting argtypes on the shared ``ctypes.windll.kernel32``
        would change them for every other library in the process, and ``use_last_error``
        keeps GetLastError from being clobbered by ctypes' own calls."""

        def __init__(self) -> None:
            dll = ctypes.WinDLL("kernel32", use_last_error=True)
            self._create = dll.CreateMutexW
            self._create.argtypes = [ctypes.c_void_p, wintypes.BOOL, wintypes.LPCWSTR]
            self._create.restype = wintypes.HANDLE  # 64-bit: the default c_int would truncate
            self._close = dll.CloseHandle
            self._close.argtypes = [wintypes.HANDLE]
            self._close.restype = wintypes.BOOL
            self._session = dll.ProcessIdToSessionId
            self._session.argtypes = [wintypes.DWORD, ctypes.POINTER(wintypes.DWORD)]
            self._session.restype = wintypes.BOOL
            self._pid = dll.GetCurrentProcessId
            self._pid.argtypes = []
            self._pid.restype = wintypes.DWORD

        def session_id(self) -> int:
            session = wintypes.DWORD()
            if not self._session(self._pid(), ctypes.byref(session)):
                raise ctypes.WinError(ctypes.get_last_error())
            return session.value

        def CreateMutexW(self, attributes: None, initial_owner: bool, name: str) -> int | None:
            handle: int | None = self._create(attributes, initial_owner, name)
            return handle

        def GetLastError(self) -> int:
            return ctypes.get_last_error()

        def CloseHandle(self, handle: int) -> bool:
            return bool(self._close(handle))
