"""Ask the running tray something: ``request("hello")``. The fast path of credential_process.

Imports stay light (no boto3, keyring, pystray, platformdirs on Linux). One request per
connection: connect, mutual HMAC challenge with the session key from ``channel.key``, send
the request, wait for the answer. Every step is bounded by ``timeout``.
"""

from __future__ import annotations

import socket
import sys
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, answer_challenge, deliver_challenge
from pathlib import Path

from traycreds.adapters.instance import runtime_dir, windows_user
from traycreds.channel.protocol import MAX_MESSAGE, ProtocolError, decode_response, encode_request
from traycreds.core.errors import NotRunningError, TraycredsError

TYPE_CHECKING = False  # not typing's: see protocol.py
if TYPE_CHECKING:
    from multiprocessing.connection import _ConnectionBase as Conn
    from typing import Any

SOCKET_NAME = "channel.sock"
KEY_NAME = "channel.key"
KEY_BYTES = 32
_START_HINT = "Start traycreds (the tray app) and try again."


class NoAnswerError(TraycredsError):
    title = "traycreds did not answer"


class TrayStoppedError(TraycredsError):
    title = "traycreds stopped"


class ChannelAuthError(TraycredsError):
    title = "Cannot talk to traycreds"


def channel_address(folder: Path) -> str:
    """The socket path in the runtime folder; on Windows the per-user named pipe."""
    if sys.platform == "win32":
        return rf"\\.\pipe\traycreds-{windows_user()}"
    return str(folder / SOCKET_NAME)


def key_file(folder: Path) -> Path:
    return folder / KEY_NAME


def read_key(folder: Path) -> bytes:
    path = key_file(folder)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotRunningError(f"No tray is running for this user (no {path}). "
                              f"{_START_HINT}") from None
    except PermissionError:
        raise NotRunningError(f"Cannot read {path}: permission denied. The runtime folder "
                              "belongs to another user.") from None
    except OSError as error:
        raise NotRunningError(f"Cannot read {path}: {error}. {_START_HINT}") from None
    try:  # bytes.decode("ascii") needs no codec lookup, unlike open(encoding="ascii")
        key = bytes.fromhex(raw.decode("ascii"))
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise NotRunningError(f"{path} is damaged. Quit the tray and start it again.")
    return key


class _Deadline:
    """What deliver_challenge/answer_challenge use of a connection (send_bytes, recv_bytes),
    with every receive bounded by a deadline: the stdlib handshake has no timeout."""

    def __init__(self, conn: Conn, deadline: float) -> None:
        self._conn, self._deadline = conn, deadline

    def send_bytes(self, data: bytes) -> None:
        self._conn.send_bytes(data)

    def recv_bytes(self, maxlength: int | None = None) -> bytes:
        if not self._conn.poll(max(0.0, self._deadline - time.monotonic())):
            raise TimeoutError("no answer in time")
        return self._conn.recv_bytes(maxlength)


def handshake(conn: Conn, key: bytes, deadline: float, *, server: bool) -> None:
    """multiprocessing's mutual HMAC challenge (the order Listener/Client use): each side
    proves it holds the key without sending it. Raises AuthenticationError, TimeoutError,
    EOFError or OSError."""
    timed: Conn = _Deadline(conn, deadline)  # type: ignore[assignment]  # duck-typed
    if server:
        deliver_challenge(timed, key)
        answer_challenge(timed, key)
    else:
        answer_challenge(timed, key)
        deliver_challenge(timed, key)


def connect(address: str, timeout: float) -> Conn:
    """A connection to ``address``; the caller maps the OSError subclasses."""
    if sys.platform == "win32":
        return Client(address)  # a missing pipe: FileNotFoundError; a busy one is waited for
    # multiprocessing's SocketClient has no timeout: a live tray whose backlog is full would
    # block connect() forever.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.setblocking(True)
    except BaseException:
        sock.close()
        raise
    return Connection(sock.detach())


def request(op: str, args: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
    """Send one request to the running tray and return its result.

    Raises NotRunningError (no tray for this user), ChannelAuthError (the key does not
    match), NoAnswerError (nothing within ``timeout`` seconds), TrayStoppedError (the tray
    died while answering), ProtocolError, or the TraycredsError the tray's handler raised,
    rebuilt with its title, message and exit code.
    """
    payload = encode_request(op, args)
    deadline = time.monotonic() + timeout
    folder = runtime_dir()
    key = read_key(folder)
    address = channel_address(folder)
    conn = _open(address, timeout)
    try:
        _authenticate(conn, key, deadline, timeout, address)
        data = _exchange(conn, payload, deadline, timeout)
    finally:
        conn.close()
    return decode_response(data)


def is_running(timeout: float = 1.0) -> bool:
    """True when this user's tray answers ``hello``."""
    try:
        request("hello", timeout=timeout)
    except TraycredsError:
        return False
    return True


def _open(address: str, timeout: float) -> Conn:
    try:
        return connect(address, timeout)
    except TimeoutError:
        raise _no_answer(timeout) from None
    except (FileNotFoundError, ConnectionRefusedError):
        raise NotRunningError(f"No tray is listening at {address} (it was stopped or killed). "
                              f"{_START_HINT}") from None
    except PermissionError:
        raise NotRunningError(f"Cannot connect to {address}: permission denied. It belongs to "
                              "another user.") from None
    except OSError as error:
        raise NotRunningError(f"Cannot connect to {address}: {error.strerror or error}. "
                              f"{_START_HINT}") from None


def _authenticate(conn: Conn, key: bytes, deadline: float, timeout: float, address: str) -> None:
    try:
        handshake(conn, key, deadline, server=False)
    except TimeoutError:
        raise _no_answer(timeout) from None
    except (AuthenticationError, AssertionError):
        raise ChannelAuthError(
            f"The program at {address} and this one do not share the session key in its "
            "folder: the tray restarted just now (try again), or it is not this user's "
            "traycreds.") from None
    except (EOFError, OSError):
        raise ChannelAuthError(f"The program at {address} closed the connection before "
                               "accepting this one (it may be stopping). Try again.") from None


def _exchange(conn: Conn, payload: bytes, deadline: float, timeout: float) -> bytes:
    try:
        conn.send_bytes(payload)
        if not conn.poll(max(0.0, deadline - time.monotonic())):
            raise _no_answer(timeout)
        return conn.recv_bytes(MAX_MESSAGE)
    except (EOFError, ConnectionError):
        raise TrayStoppedError("The tray stopped while answering; try again.") from None
    except OSError:  # multiprocessing's "bad message length": over MAX_MESSAGE
        raise ProtocolError("The tray's answer is too large or damaged.") from None


def _no_answer(timeout: float) -> NoAnswerError:
    return NoAnswerError(f"No answer within {max(timeout, 0):.3g} s. The tray may be waiting "
                         "for you (an MFA prompt?) or hung; try again, or restart it.")
