"""How messages move: one connection carrying whole frames, every step bounded by a deadline.

``Frames`` is what both ends of the channel talk through. On a Unix socket (``SocketFrames``)
a frame is a 4-byte big-endian length, then the payload (the framing of multiprocessing's
Connection); on Windows it is one message of the named pipe (winpipe.py's PipeFrames, which
builds on this module: the client and the server pick one, so ctypes and its overlapped I/O
cost the POSIX fast path nothing).

Imports stay light, for the client's fast path: ``_socket`` rather than ``socket`` (socket.py's
enum conversions cost ~5 ms and are not needed here).
"""

from __future__ import annotations

import sys
import time

if sys.platform != "win32":
    import _socket


class ChannelBusyError(TimeoutError):
    """The tray's pipe exists but no instance of it came free in time (Windows)."""


class FrameTooLargeError(Exception):
    """A frame's length header says more than the receiver accepts (nothing was read)."""


def time_left(deadline: float) -> float:
    """Seconds until ``deadline``; TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no answer in time")
    return left


class Frames:
    """One connection carrying whole messages (frames). ``recv`` raises EOFError when the peer
    closed, TimeoutError at ``deadline``, FrameTooLargeError for a frame over ``limit``."""

    def send(self, data: bytes, deadline: float) -> None:
        raise NotImplementedError

    def recv(self, limit: int, deadline: float) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Frames:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


if sys.platform != "win32":

    class SocketFrames(Frames):
        """Length-prefixed frames on a stream socket (``_socket.socket`` or ``socket.socket``)."""

        def __init__(self, sock: _socket.socket) -> None:
            self.sock = sock

        def send(self, data: bytes, deadline: float) -> None:
            self.sock.settimeout(time_left(deadline))
            self.sock.sendall(len(data).to_bytes(4, "big") + data)

        def recv(self, limit: int, deadline: float) -> bytes:
            size = int.from_bytes(self._exactly(4, deadline), "big")
            if size > limit:
                raise FrameTooLargeError(f"a frame of {size} bytes (at most {limit})")
            return self._exactly(size, deadline)

        def _exactly(self, size: int, deadline: float) -> bytes:
            data = b""
            while len(data) < size:
                self.sock.settimeout(time_left(deadline))
                chunk = self.sock.recv(min(size - len(data), 262144))
                if not chunk:
                    raise EOFError("the peer closed the connection")
                data += chunk
            return data

        def close(self) -> None:
            self.sock.close()

    def connect_socket(address: str, timeout: float) -> Frames:
        """A connection to the Unix socket ``address``; the caller maps the OSError
        subclasses."""
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)  # a live tray whose backlog is full would block forever
            sock.connect(address)
        except BaseException:
            sock.close()
            raise
        return SocketFrames(sock)

    def peer_uid(sock: _socket.socket) -> int | None:
        """The uid of the process at the other end of a connected Unix socket: SO_PEERCRED
        (Linux: struct ucred {pid, uid, gid}), LOCAL_PEERCRED (macOS and the BSDs: struct
        xucred {version, uid, ...}); None where the system offers neither. Raises OSError."""
        if sys.platform.startswith("linux"):
            raw = sock.getsockopt(_socket.SOL_SOCKET, getattr(_socket, "SO_PEERCRED", 17), 12)
        elif sys.platform == "darwin" or "bsd" in sys.platform:
            # SOL_LOCAL is 0 and LOCAL_PEERCRED 1 on both; xucred is 76 bytes.
            raw = sock.getsockopt(0, getattr(_socket, "LOCAL_PEERCRED", 1), 76)
        else:
            return None
        return int.from_bytes(raw[4:8], sys.byteorder)
