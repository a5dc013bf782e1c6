"""The tray's end of the channel: a user-only socket (or named pipe) answering requests.

Who may talk to it: the socket is 0600 in a 0700 folder (POSIX); on Linux the peer's uid is
checked (SO_PEERCRED); on Windows the pipe's DACL grants only this user and SYSTEM, remote
clients are rejected and the client process's user SID is checked (winpipe.py); and on every
platform the peer must prove, by HMAC challenge, that it
read ``channel.key`` (0600, a fresh 32-byte secret per tray session). The tray proves the
same to the client, so a program squatting on the address learns nothing. The handshake and
the framing are in handshake.py and wire.py; the tray's side is the same code, one request per
connection. Claiming the address (socket or pipe) is listen.py's.

Threads: the accept loop runs in one daemon thread and hands each connection to its own
short-lived thread, since a handler may wait minutes (an MFA dialog). Handlers therefore run
concurrently and must be thread-safe. At most MAX_CONNECTIONS connections are open at once:
one more is closed as soon as it is accepted, so a flood (even from this user) cannot use up
the tray's threads or file descriptors; and a connection has HANDSHAKE_TIMEOUT seconds to
authenticate and send its request, so an idle one gives its place back soon.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import traycreds
from traycreds.adapters.atomic import write_atomic
from traycreds.adapters.instance import RuntimeDirError, ensure_runtime_dir
from traycreds.channel import listen
from traycreds.channel.address import KEY_BYTES, channel_address, key_file
from traycreds.channel.handshake import HandshakeError, server_handshake
from traycreds.channel.listen import Listener
from traycreds.channel.protocol import (
    MAX_MESSAGE,
    VERSION,
    ProtocolError,
    decode_request,
    encode_error,
    encode_result,
)
from traycreds.channel.wire import Frames, FrameTooLargeError
from traycreds.core.errors import TraycredsError

if sys.platform != "win32":
    from traycreds.channel.wire import SocketFrames, peer_uid
else:
    from traycreds.channel import winpipe

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Any]
HANDSHAKE_TIMEOUT = 5.0  # seconds a client has to authenticate and send its request
MAX_CONNECTIONS = 32  # open at once; more are closed at once (each would need a thread)
SEND_TIMEOUT = 30.0  # seconds a client has to take its answer


class ChannelServer:
    """``ChannelServer({"wake": wake}).start()``; ``hello`` is built in."""

    def __init__(self, handlers: Mapping[str, Handler], *,
                 handshake_timeout: float = HANDSHAKE_TIMEOUT,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        builtins: dict[str, Handler] = {"hello": self._hello}
        if clash := sorted(builtins.keys() & handlers.keys()):
            raise ValueError(f"built-in operations cannot be replaced: {clash}")
        self._handlers = {**handlers, **builtins}
        self._handshake_timeout = handshake_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        self._max_connections = max_connections
        self._open = 0  # connections being served (for tests and the log)
        self._open_lock = threading.Lock()
        self._turned_away = 0
        self._listener: Listener | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._key = b""
        self._key_path = Path()
        self.address = ""

    def start(self) -> None:
        """Claim the address (replacing a stale socket), write a new key, start serving.

        Raises AlreadyServingError when a live traycreds answers there, RuntimeDirError when
        the runtime folder is unsafe or unusable.
        """
        if self._listener is not None:
            raise RuntimeError("the channel server is already running")
        folder = ensure_runtime_dir()
        address, key_path = channel_address(folder), key_file(folder)
        # os.urandom is what secrets.token_bytes returns; importing secrets would load hmac,
        # hashlib and OpenSSL's libcrypto (~4 MiB) into the idle tray for nothing else.
        key = os.urandom(KEY_BYTES)
        if sys.platform == "win32":
            listener = listen.pipe_listener(address)
        else:
            listen.check_unix_path(address)
            listen.remove_stale(address)
            # write_atomic keeps an existing file's mode: start from no file, so it is 0600.
            key_path.unlink(missing_ok=True)
            listener = listen.unix_listener(address)
        try:
            write_atomic(key_path, key.hex() + "\n", mode=0o600)
        except OSError as error:
            listener.close()
            raise RuntimeDirError(f"Cannot write {key_path}: {error.strerror or error}.") from None
        self._listener, self._key, self._key_path, self.address = listener, key, key_path, address
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, args=(listener,),
                                        name="traycreds-channel", daemon=True)
        self._thread.start()
        log.info("channel: serving at %s", address)

    def stop(self) -> None:
        """Stop accepting, remove the socket and the key. Requests in flight finish."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._stopping.set()
        listen.wake(self.address)  # a thread blocked in accept() wakes only for a client
        if self._thread is not None:
            self._thread.join(2.0)
        listener.close()
        if sys.platform != "win32":
            Path(self.address).unlink(missing_ok=True)
        try:
            if self._key_path.read_bytes().strip() == self._key.hex().encode():  # still ours
                self._key_path.unlink()
        except OSError:
            pass

    def __enter__(self) -> ChannelServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def answer(self, data: bytes) -> bytes:
        """The response to one request's bytes: never raises, never leaks an exception's text
        (only TraycredsError messages, which are written for users, cross the channel)."""
        op = "?"
        try:
            request = decode_request(data)
            op = request.op
            handler = self._handlers.get(op)
            if handler is None:
                raise ProtocolError(
                    f"This traycreds does not know the operation {op!r}. After an upgrade, "
                    "quit the tray and start it again.", title="Unknown operation")
            return encode_result(handler(request.args))
        except TraycredsError as error:
            return _error_answer(error)
        except Exception:
            log.exception("channel: operation %r failed", op)
            return _error_answer(TraycredsError(
                "traycreds failed while answering; its log has the details.",
                title="Internal error"))

    def _hello(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"version": traycreds.__version__, "pid": os.getpid(), "protocol": VERSION}

    @property
    def connections(self) -> int:
        """How many connections are being served now."""
        with self._open_lock:
            return self._open

    def _serve(self, listener: Listener) -> None:
        while not self._stopping.is_set():
            try:
                conn = listener.accept()
            except OSError as error:
                if self._stopping.is_set():
                    return
                log.warning("channel: accept failed: %s", error)
                time.sleep(0.1)  # e.g. out of file descriptors: do not spin
                continue
            if self._stopping.is_set():
                conn.close()
                return
            if not self._slots.acquire(blocking=False):
                conn.close()  # full: the client sees the connection closed and may retry
                self._turned_away += 1
                if self._turned_away in (1, 10, 100, 1000) or self._turned_away % 10000 == 0:
                    log.warning("channel: %d connections open (the most); closed %d more so "
                                "far", self._max_connections, self._turned_away)
                continue
            with self._open_lock:
                self._open += 1
            try:
                threading.Thread(target=self._handle, args=(conn,), daemon=True,
                                 name="traycreds-channel-request").start()
            except RuntimeError:  # can't start new thread: the process is at its limit
                self._release(conn)
                log.warning("channel: cannot start a thread; closed a connection")

    def _release(self, conn: Frames) -> None:
        conn.close()
        with self._open_lock:
            self._open -= 1
        self._slots.release()

    def _handle(self, conn: Frames) -> None:
        try:
            self._serve_one(conn)
        finally:
            self._release(conn)

    def _serve_one(self, conn: Frames) -> None:
        with conn:
            deadline = time.monotonic() + self._handshake_timeout
            try:
                if not _same_user(conn):
                    raise HandshakeError("the peer runs as another user")
                server_handshake(conn, self._key, deadline)
                data = conn.recv(MAX_MESSAGE, deadline)
            except FrameTooLargeError:  # the request's length header: nothing read after it
                data = None
            except (HandshakeError, TimeoutError, EOFError, OSError) as error:
                log.debug("channel: dropped a connection: %s", error or type(error).__name__)
                return
            answer = self.answer(data) if data is not None else _error_answer(ProtocolError(
                f"The request is larger than {MAX_MESSAGE} bytes."))
            try:
                conn.send(answer, time.monotonic() + SEND_TIMEOUT)
            except (TimeoutError, OSError):
                log.debug("channel: the client left before its answer")


def _error_answer(error: TraycredsError) -> bytes:
    try:
        return encode_error(error)
    except ProtocolError:  # a message over MAX_MESSAGE
        return encode_error(TraycredsError(error.message[:1000] + "...", title=error.title))


def _same_user(conn: Frames) -> bool:
    """The peer's uid must be ours (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS: wire.py's
    peer_uid, the check the client makes of the tray). Windows: the client process's user SID
    (winpipe.py), on top of the pipe's DACL."""
    if sys.platform == "win32":
        assert isinstance(conn, winpipe.PipeFrames)
        ours, _ = conn.peer_is_us()  # OSError (unidentifiable peer): dropped by the caller
        return ours
    assert isinstance(conn, SocketFrames)
    uid = peer_uid(conn.sock)
    return uid is None or uid == os.geteuid()
