"""Claiming the channel's address for the tray: a Unix socket made private from its first
moment, or the first instance of the named pipe (winpipe.py), each behind a Listener that
accepts connections as Frames. server.py serves what they accept.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import sys
from pathlib import Path

from traycreds.adapters.instance import RUNTIME_DIR_ENV, RuntimeDirError
from traycreds.channel.wire import Frames
from traycreds.core.errors import TraycredsError

if sys.platform != "win32":
    from traycreds.channel.wire import SocketFrames, connect_socket
else:
    from traycreds.channel import winpipe

log = logging.getLogger(__name__)

_MAX_UNIX_PATH = 103  # sun_path: 104 bytes on macOS, 108 on Linux, the final NUL included


class AlreadyServingError(TraycredsError):
    title = "traycreds is already running"


class AddressTakenError(AlreadyServingError):
    """Another program (not this user's live tray) holds the channel's name: the user is told
    (tray/main.py notifies), since command-line calls then work without the tray."""

    title = "traycreds channel unavailable"


def wake(address: str) -> None:
    """Connect to ``address`` once and leave: closing a listening socket does not wake a thread
    blocked in accept(), a connection does."""
    with contextlib.suppress(OSError):
        _connect(address, 1.0).close()


def _connect(address: str, timeout: float) -> Frames:
    if sys.platform == "win32":
        return winpipe.connect(address, timeout)
    return connect_socket(address, timeout)


def check_unix_path(address: str) -> None:
    size = len(os.fsencode(address))
    if size > _MAX_UNIX_PATH:
        raise RuntimeDirError(
            f"The socket path {address} is too long for a Unix socket ({size} bytes, at most "
            f"{_MAX_UNIX_PATH}). Set {RUNTIME_DIR_ENV} to a shorter folder.")


def remove_stale(address: str) -> None:
    """A socket file whose tray was killed refuses connections: remove it. One that accepts
    belongs to a live traycreds: leave it (and its key) alone."""
    if not os.path.lexists(address):
        return
    try:
        _connect(address, 1.0).close()
    except TimeoutError:
        raise AlreadyServingError(f"A traycreds serving {address} is alive but does not "
                                  "accept connections. Quit it and start again.") from None
    except OSError:
        log.info("channel: removing %s, left behind by a traycreds that stopped", address)
        Path(address).unlink(missing_ok=True)
        return
    raise AlreadyServingError(f"Another traycreds already serves {address}.")


class Listener:
    """Accepts connections as Frames: a Unix socket, or winpipe's PipeListener."""

    def accept(self) -> Frames:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


if sys.platform != "win32":

    class _UnixListener(Listener):
        def __init__(self, sock: socket.socket) -> None:
            self._sock = sock

        def accept(self) -> Frames:
            conn, _ = self._sock.accept()
            return SocketFrames(conn)

        def close(self) -> None:
            self._sock.close()  # stop() removes the socket file


def unix_listener(address: str) -> Listener:
    if sys.platform == "win32":
        raise NotImplementedError
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o077)  # bind() creates the file: make it private from its first moment
    try:
        sock.bind(address)
        sock.listen(64)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise AlreadyServingError(f"Another traycreds just claimed {address}.") from None
        raise RuntimeDirError(f"Cannot listen at {address}: {error.strerror or error}.") from None
    finally:
        os.umask(old)
    os.chmod(address, 0o600)
    return _UnixListener(sock)


if sys.platform == "win32":

    class _PipeListener(Listener):
        def __init__(self, listener: winpipe.PipeListener) -> None:
            self._listener = listener

        def accept(self) -> Frames:
            return self._listener.accept()

        def close(self) -> None:
            self._listener.close()

    def pipe_listener(address: str) -> Listener:
        try:  # the first instance claims the name: fails if anyone serves it already
            return _PipeListener(winpipe.PipeListener(address))
        except winpipe.PipeNameTakenError:
            raise AddressTakenError(
                f"Another program already serves {address}, the name traycreds' command line "
                "uses to reach this tray: commands will work without the tray. Find and quit "
                "that program, then restart traycreds.") from None
        except OSError as error:
            raise RuntimeDirError(f"Cannot create the pipe {address}: "
                                  f"{error.strerror or error}.") from None
