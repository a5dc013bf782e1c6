"""Where traycreds and the AWS tools keep their files."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from traycreds.core.errors import ConfigError, TraycredsError

APP = "traycreds"
KEY_INDEX_NAME = "sources.json"  # in data_dir(): stored key names and ids, no secrets

# The most traycreds reads of each file (README, "Security"). A FIFO, a device or a link
# to /dev/zero would hang a reader or exhaust memory; a real file is far below these.
MIB = 1024 * 1024
AWS_FILE_LIMIT = 64 * MIB  # ~/.aws/config and ~/.aws/credentials
SETTINGS_FILE_LIMIT = 1 * MIB  # traycreds' settings.toml
KEY_INDEX_LIMIT = 1 * MIB  # the non-secret index of stored keys (sources.json)
_CHUNK = 1 * MIB


def aws_config_file() -> Path:
    return Path(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config").expanduser()


def aws_credentials_file() -> Path:
    return Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials").expanduser()


def settings_file() -> Path:
    """``TRAYCREDS_SETTINGS`` if set (as AWS_CONFIG_FILE is for the AWS tools), else per user."""
    override = os.environ.get("TRAYCREDS_SETTINGS")
    if override:
        return Path(override).expanduser()
    local = _windows_local()
    if local:
        return local / "settings.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "settings.toml"


def data_dir() -> Path:
    local = _windows_local()
    if local:
        return local
    import platformdirs

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def log_dir() -> Path:
    local = _windows_local()
    if local:
        return local / "Logs"
    import platformdirs

    return Path(platformdirs.user_log_dir(APP, appauthor=False))


def windows_local_folder(env: Mapping[str, str] | None = None) -> str | None:
    """Windows: ``%LOCALAPPDATA%\\traycreds``, where platformdirs puts settings, data and
    ``Logs`` and traycreds its channel key, read from the environment as Windows programs do:
    a program started with another LOCALAPPDATA (a portable setup, the tests) keeps its files
    there, while platformdirs asks the known-folder API, which ignores the environment.
    None when the variable is missing or not an absolute path (then platformdirs decides)."""
    import ntpath  # Windows' path rules, also when a test asks on another system

    local = (os.environ if env is None else env).get("LOCALAPPDATA")
    if not local or not ntpath.isabs(local):
        return None
    return ntpath.join(local, APP)


def _windows_local() -> Path | None:
    local = windows_local_folder() if sys.platform == "win32" else None
    return Path(local) if local else None


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _check_regular(path: Path, info: os.stat_result, limit: int,
                   error: type[TraycredsError]) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path} is not a regular file ({file_kind(info.st_mode)}); traycreds reads "
                    "only regular files. Replace it with a plain file, or point the setting "
                    "that names it elsewhere.")
    if info.st_size > limit:
        _too_big(path, info.st_size, limit, error)


def _too_big(path: Path, size: int, limit: int, error: type[TraycredsError]) -> None:
    raise error(f"{path} is {size} bytes, over the {limit // MIB} MiB traycreds reads from "
                "this file; nothing was read or changed. Check that it is the right file.")


def _open_flags() -> int:
    # O_NONBLOCK: opening a FIFO does not wait for a writer (fstat then refuses it);
    # it changes nothing for reads of a regular file.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    return flags | getattr(os, "O_BINARY", 0)


def read_bounded(path: Path, limit: int, error: type[TraycredsError]) -> bytes | None:
    """The file's bytes, or None when it does not exist (a dangling link included).

    Every file traycreds reads comes through here: anything but a regular file, or more
    than ``limit`` bytes, is refused with ``error`` (so each caller keeps its exit code)
    before more than ``limit`` + 1 bytes are read.
    """
    try:
        _check_regular(path, os.stat(path), limit, error)  # a device is never opened
        fd = os.open(path, _open_flags())
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(f"Cannot read {path}: {exc.strerror or type(exc).__name__}.") from None
    try:
        info = os.fstat(fd)
        _check_regular(path, info, limit, error)  # what was opened, not what was named
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            # The whole file in one read where possible: one buffer, no join copy.
            want = max(info.st_size + 1 - total, _CHUNK)
            chunk = os.read(fd, min(want, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while we read
            _too_big(path, total, limit, error)
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"Cannot read {path}: {exc.strerror or type(exc).__name__}.") from None
    finally:
        os.close(fd)


def read_text(path: Path, limit: int = AWS_FILE_LIMIT,
              error: type[TraycredsError] = ConfigError) -> str | None:
    """The file's text (a UTF-8 BOM dropped, line endings kept), or None when it does not
    exist. Decoding errors are the caller's; ``error`` defaults to ConfigError (exit 3)."""
    raw = read_bounded(path, limit, error)
    return None if raw is None else raw.decode("utf-8-sig")
