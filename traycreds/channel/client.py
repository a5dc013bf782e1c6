"""Ask the running tray something: ``request("hello")``. The fast path of credential_process.

Imports stay light, since every ``credential_process`` call and fast-path export pays for them:
no multiprocessing, pathlib, ``socket`` (its enum conversions cost ~5 ms; ``_socket`` is the
same sockets without them), hashlib or hmac (they load OpenSSL's libcrypto, ~3 ms: the HMAC
below runs on the builtin SHA-256), platformdirs, boto3, keyring or pystray on Linux. One
request per connection, every step bounded by a deadline:

    tray -> client   b"TCv1" + the tray's nonce (32 random bytes)
    client -> tray   HMAC-SHA256(key, b"traycreds-client" + tray's nonce) + client's nonce (32)
    tray -> client   HMAC-SHA256(key, b"traycreds-server" + client's nonce), or REFUSED
    client -> tray   the request (protocol.py)
    tray -> client   the answer

``key`` is the session key in ``channel.key``: each side proves it read it without sending it,
and the different labels keep either proof from being replayed as the other. The client sends
its request only after the tray proved itself, so a program squatting on the address learns
nothing. ``TCv1`` names this handshake: a later one gets another magic, and a client meeting
one it does not know says so instead of guessing.

Frames: on a Unix socket a 4-byte big-endian length, then the payload (the framing of
multiprocessing's Connection); on Windows one message of the named pipe each, through
multiprocessing's PipeConnection (``send_bytes``/``recv_bytes``).
"""

from __future__ import annotations

import os
import sys
import time
from _operator import _compare_digest as compare_digest  # hmac.compare_digest without hmac

from traycreds.channel.protocol import MAX_MESSAGE, ProtocolError, decode_response, encode_request
from traycreds.core.errors import NotRunningError, TraycredsError

if sys.platform != "win32":
    import _socket  # socket.py's classes and enums on top of it are not needed here

TYPE_CHECKING = False  # not typing's: see protocol.py
if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import _ConnectionBase
    from pathlib import Path
    from typing import Any

SOCKET_NAME = "channel.sock"
KEY_NAME = "channel.key"
KEY_BYTES = 32
MAGIC = b"TCv1"
NONCE_BYTES = 32
REFUSED = MAGIC + b" refused"  # the tray's answer to a proof made with another key
HANDSHAKE_LIMIT = 10.0  # seconds: a tray that does not even shake hands in this time is hung
_HANDSHAKE_FRAME = 256  # bytes: more than any handshake frame of this version
_CLIENT_LABEL = b"traycreds-client"
_SERVER_LABEL = b"traycreds-server"
_RUNTIME_DIR_ENV = "TRAYCREDS_RUNTIME_DIR"  # adapters/instance.py's RUNTIME_DIR_ENV
_APP = "traycreds"
_START_HINT = "Start traycreds (the tray app) and try again."


class NoAnswerError(TraycredsError):
    title = "traycreds did not answer"


class TrayStoppedError(TraycredsError):
    title = "traycreds stopped"


class ChannelAuthError(TraycredsError):
    title = "Cannot talk to traycreds"


class FrameTooLargeError(Exception):
    """A frame's length header says more than the receiver accepts (nothing was read)."""


class HandshakeError(Exception):
    """The peer did not complete the handshake as this version expects."""


class KeyRefusedError(HandshakeError):
    """The tray refused the client's proof: the two hold different keys."""


class ForeignPeerError(HandshakeError):
    """The peer does not speak this handshake (another program, or another version)."""


class UnprovenPeerError(HandshakeError):
    """The peer's proof is wrong: it does not hold the session key."""


# --- where the tray listens ------------------------------------------------------------------


def runtime_folder() -> str:
    """``adapters.instance.runtime_dir()``, without importing pathlib on the common paths."""
    override = os.environ.get(_RUNTIME_DIR_ENV)
    if override:
        return os.path.expanduser(override)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if sys.platform.startswith("linux") and xdg and os.path.isabs(xdg):
        return os.path.join(xdg, _APP)
    from traycreds.adapters.instance import runtime_dir

    return str(runtime_dir())


def channel_address(folder: str | os.PathLike[str]) -> str:
    """The socket path in the runtime folder; on Windows the per-user named pipe."""
    if sys.platform == "win32":
        from traycreds.adapters.instance import windows_user

        return rf"\\.\pipe\traycreds-{windows_user()}"
    return os.path.join(folder, SOCKET_NAME)


def key_file(folder: str | os.PathLike[str]) -> Path:
    from pathlib import Path

    return Path(folder) / KEY_NAME


def read_key(folder: str | os.PathLike[str]) -> bytes:
    path = os.path.join(folder, KEY_NAME)
    try:
        with open(path, "rb") as file:
            raw = file.read(4 * KEY_BYTES)
    except FileNotFoundError:
        raise NotRunningError(f"No tray is running for this user (no {path}). "
                              f"{_START_HINT}") from None
    except PermissionError:
        raise NotRunningError(f"Cannot read {path}: permission denied. The runtime folder "
                              "belongs to another user.") from None
    except OSError as error:
        raise NotRunningError(f"Cannot read {path}: {error.strerror or error}. "
                              f"{_START_HINT}") from None
    try:  # bytes.decode("ascii") needs no codec lookup, unlike open(encoding="ascii")
        key = bytes.fromhex(raw.decode("ascii"))
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise NotRunningError(f"{path} is damaged. Quit the tray and start it again.")
    return key


# --- frames ------------------------------------------------------------------------------------


def _left(deadline: float) -> float:
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
            self.sock.settimeout(_left(deadline))
            self.sock.sendall(len(data).to_bytes(4, "big") + data)

        def recv(self, limit: int, deadline: float) -> bytes:
            size = int.from_bytes(self._exactly(4, deadline), "big")
            if size > limit:
                raise FrameTooLargeError(f"a frame of {size} bytes (at most {limit})")
            return self._exactly(size, deadline)

        def _exactly(self, size: int, deadline: float) -> bytes:
            data = b""
            while len(data) < size:
                self.sock.settimeout(_left(deadline))
                chunk = self.sock.recv(min(size - len(data), 262144))
                if not chunk:
                    raise EOFError("the peer closed the connection")
                data += chunk
            return data

        def close(self) -> None:
            self.sock.close()

else:

    class PipeFrames(Frames):
        """One named-pipe message per frame, through multiprocessing's PipeConnection."""

        def __init__(self, conn: _ConnectionBase) -> None:
            self.conn = conn

        def send(self, data: bytes, deadline: float) -> None:
            _left(deadline)
            self.conn.send_bytes(data)

        def recv(self, limit: int, deadline: float) -> bytes:
            if not self.conn.poll(_left(deadline)):
                raise TimeoutError("no answer in time")
            try:
                return self.conn.recv_bytes(limit)
            except OSError as error:
                if "bad message length" in str(error):
                    raise FrameTooLargeError(f"a message over {limit} bytes") from None
                raise

        def close(self) -> None:
            self.conn.close()


def connect(address: str, timeout: float) -> Frames:
    """A connection to ``address``; the caller maps the OSError subclasses."""
    if sys.platform == "win32":
        from multiprocessing.connection import Client

        # A missing pipe: FileNotFoundError; a busy one is waited for.
        return PipeFrames(Client(address))
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)  # a live tray whose backlog is full would block forever
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return SocketFrames(sock)


# --- the handshake -----------------------------------------------------------------------------


def _builtin_sha256() -> Callable[[bytes], Any]:
    """CPython's own SHA-256 (``_sha2``; ``_sha256`` before 3.12). hashlib and hmac load
    OpenSSL's libcrypto first, about 3 ms of every call's start-up; hashlib's if it is missing."""
    for name in ("_sha2", "_sha256"):
        try:
            constructor: Callable[[bytes], Any] = __import__(name).sha256
        except (ImportError, AttributeError):
            continue
        return constructor
    from hashlib import sha256

    return sha256


_sha256 = _builtin_sha256()
_INNER_PAD = bytes(x ^ 0x36 for x in range(256))  # translate tables, as hmac.py has them
_OUTER_PAD = bytes(x ^ 0x5C for x in range(256))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104): what ``hmac.digest(key, message, "sha256")`` returns, with
    hmac.py's own pure-Python construction over the builtin SHA-256."""
    if len(key) > 64:  # SHA-256's block size
        key = _sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner: bytes = _sha256(key.translate(_INNER_PAD) + message).digest()
    outer: bytes = _sha256(key.translate(_OUTER_PAD) + inner).digest()
    return outer


def _proof(key: bytes, label: bytes, nonce: bytes) -> bytes:
    return hmac_sha256(key, label + nonce)


def client_handshake(conn: Frames, key: bytes, deadline: float) -> None:
    """Prove the key to the tray, then check the tray's proof. Raises a HandshakeError,
    TimeoutError, EOFError or OSError."""
    try:
        challenge = conn.recv(_HANDSHAKE_FRAME, deadline)
    except FrameTooLargeError:
        raise ForeignPeerError("its first frame is too large for a challenge") from None
    if len(challenge) != len(MAGIC) + NONCE_BYTES or not challenge.startswith(MAGIC):
        raise ForeignPeerError(f"its challenge does not start with {MAGIC!r}")
    mine = os.urandom(NONCE_BYTES)
    conn.send(_proof(key, _CLIENT_LABEL, challenge[len(MAGIC):]) + mine, deadline)
    try:
        answer = conn.recv(_HANDSHAKE_FRAME, deadline)
    except FrameTooLargeError:
        raise UnprovenPeerError("its proof is too large") from None
    if answer == REFUSED:
        raise KeyRefusedError("it refused this client's proof")
    if not compare_digest(answer, _proof(key, _SERVER_LABEL, mine)):
        raise UnprovenPeerError("its proof does not match the key")


def server_handshake(conn: Frames, key: bytes, deadline: float) -> None:
    """Challenge the client, check its proof (REFUSED if wrong), prove the key in turn.
    Raises a HandshakeError, TimeoutError, EOFError or OSError."""
    nonce = os.urandom(NONCE_BYTES)
    conn.send(MAGIC + nonce, deadline)
    try:
        reply = conn.recv(_HANDSHAKE_FRAME, deadline)
    except FrameTooLargeError:
        raise ForeignPeerError("its answer to the challenge is too large") from None
    if len(reply) != 2 * NONCE_BYTES:
        raise ForeignPeerError(f"its answer to the challenge has {len(reply)} bytes, "
                               f"not {2 * NONCE_BYTES}")
    if not compare_digest(reply[:NONCE_BYTES], _proof(key, _CLIENT_LABEL, nonce)):
        conn.send(REFUSED, deadline)
        raise UnprovenPeerError("its proof does not match the key")
    conn.send(_proof(key, _SERVER_LABEL, reply[NONCE_BYTES:]), deadline)


# --- one request ---------------------------------------------------------------------------------


def request(op: str, args: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
    """Send one request to the running tray and return its result.

    Raises NotRunningError (no tray for this user), ChannelAuthError (the key does not
    match), NoAnswerError (nothing within ``timeout`` seconds; the handshake alone gets at
    most HANDSHAKE_LIMIT), TrayStoppedError (the tray died while answering), ProtocolError,
    or the TraycredsError the tray's handler raised, rebuilt with its title, message and
    exit code.
    """
    payload = encode_request(op, args)
    start = time.monotonic()
    deadline = start + timeout
    folder = runtime_folder()
    key = read_key(folder)
    address = channel_address(folder)
    conn = _open(address, timeout)
    try:
        shake_timeout = min(timeout, HANDSHAKE_LIMIT)
        _authenticate(conn, key, start + shake_timeout, shake_timeout, address)
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


def _open(address: str, timeout: float) -> Frames:
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


def _authenticate(conn: Frames, key: bytes, deadline: float, timeout: float,
                  address: str) -> None:
    try:
        client_handshake(conn, key, deadline)
    except TimeoutError:
        raise _no_answer(timeout) from None
    except (KeyRefusedError, UnprovenPeerError):
        raise ChannelAuthError(
            f"The program at {address} and this one do not share the session key in its "
            "folder: the tray restarted just now (try again), or it is not this user's "
            "traycreds.") from None
    except ForeignPeerError:
        raise ChannelAuthError(
            f"The program at {address} does not speak this traycreds' channel handshake "
            f"({MAGIC.decode()}). After an upgrade, quit the tray and start it again.") from None
    except (EOFError, OSError):
        raise ChannelAuthError(f"The program at {address} closed the connection before "
                               "accepting this one (it may be stopping). Try again.") from None


def _exchange(conn: Frames, payload: bytes, deadline: float, timeout: float) -> bytes:
    try:
        conn.send(payload, deadline)
        return conn.recv(MAX_MESSAGE, deadline)
    except TimeoutError:
        raise _no_answer(timeout) from None
    except FrameTooLargeError:
        raise ProtocolError("The tray's answer is too large or damaged.") from None
    except (EOFError, OSError):
        raise TrayStoppedError("The tray stopped while answering; try again.") from None


def _no_answer(timeout: float) -> NoAnswerError:
    return NoAnswerError(f"No answer within {max(timeout, 0):.3g} s. The tray may be waiting "
                         "for you (an MFA prompt?) or hung; try again, or restart it.")
