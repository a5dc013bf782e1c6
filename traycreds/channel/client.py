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

Knowing the key is not enough: it must also be this user's tray. Before it sends anything the
client checks what the tray's side checks (POSIX): the runtime folder is this user's and closed
to others, the key file is a regular file of this user's with mode 0600 (opened without
following links, never blocking on a FIFO), and the process at the socket runs as this user
(SO_PEERCRED; LOCAL_PEERCRED on macOS). On Windows the process serving the pipe must run as
this user (its token's user SID: winpipe.py). Anything else raises UntrustedTrayError, a
NotRunningError: the command line warns in one line and does the work itself.

Frames: on a Unix socket a 4-byte big-endian length, then the payload (the framing of
multiprocessing's Connection); on Windows one message of the named pipe each (winpipe.py,
imported only there: ctypes and its overlapped I/O cost the POSIX fast path nothing).
"""

from __future__ import annotations

import errno
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
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_KEY_READ = 4 * KEY_BYTES  # more than a key file holds (64 hex digits and a newline)


class NoAnswerError(TraycredsError):
    title = "traycreds did not answer"


class TrayStoppedError(TraycredsError):
    title = "traycreds stopped"


class ChannelAuthError(TraycredsError):
    title = "Cannot talk to traycreds"


class UntrustedTrayError(NotRunningError):
    """What sits where this user's tray would be fails a check: it may be another user's.
    A NotRunningError, so callers fall back to doing the work themselves (after warning)."""

    title = "Not using the tray"

    def __init__(self, folder: str, why: str) -> None:
        super().__init__(f"Ignoring the tray in {folder}: {why}. Remove that folder, or set "
                         f"{_RUNTIME_DIR_ENV} to a folder of your own.")
        self.folder, self.why = folder, why

    def warning(self) -> str:
        """One line for stderr (the command line then works without the tray)."""
        return (f"traycreds: warning: ignoring the tray in {self.folder}: {self.why}; "
                "working without it\n")


_warned: set[str] = set()


def warn_untrusted(error: UntrustedTrayError) -> None:
    """Write the error's warning line to stderr once per process: the fast path and the full
    command line after it may both meet the same tray."""
    line = error.warning()
    if line not in _warned:
        _warned.add(line)
        sys.stderr.write(line)


class ChannelBusyError(TimeoutError):
    """The tray's pipe exists but no instance of it came free in time (Windows)."""


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
    return NotRunningError(f"No tray is running for this user (no {path}). {_START_HINT}")


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
                                  f"{_START_HINT}") from None
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


def peer_uid(sock: _socket.socket) -> int | None:
    """The uid of the process at the other end of a connected Unix socket: SO_PEERCRED
    (Linux: struct ucred {pid, uid, gid}), LOCAL_PEERCRED (macOS and the BSDs: struct xucred
    {version, uid, ...}); None where the system offers neither. Raises OSError."""
    if sys.platform.startswith("linux"):
        raw = sock.getsockopt(_socket.SOL_SOCKET, getattr(_socket, "SO_PEERCRED", 17), 12)
    elif sys.platform == "darwin" or "bsd" in sys.platform:
        # SOL_LOCAL is 0 and LOCAL_PEERCRED 1 on both; xucred is 76 bytes.
        raw = sock.getsockopt(0, getattr(_socket, "LOCAL_PEERCRED", 1), 76)
    else:
        return None
    return int.from_bytes(raw[4:8], sys.byteorder)


def _check_peer(conn: Frames, folder: str, address: str) -> None:
    """The process serving ``address`` must run as this user: a folder of ours may still hold
    a socket another user's process listens on (it placed it there, or we were given it)."""
    if sys.platform == "win32":
        from traycreds.channel.winpipe import PipeFrames

        assert isinstance(conn, PipeFrames)
        try:
            ours, sid = conn.peer_is_us()
        except OSError as error:  # e.g. another user's process: its token is closed to us
            raise UntrustedTrayError(folder, f"cannot tell who serves {address} "
                                     f"({error.strerror or error})") from None
        if not ours:
            raise UntrustedTrayError(folder, f"the program at {address} runs as {sid}, "
                                     "not as you")
        return
    assert isinstance(conn, SocketFrames)
    try:
        uid = peer_uid(conn.sock)
    except OSError as error:
        raise UntrustedTrayError(folder, f"cannot tell who serves {address} "
                                 f"({error.strerror or error})") from None
    if uid is not None and uid != os.geteuid():
        raise UntrustedTrayError(folder, f"the program at {address} runs as uid {uid}, "
                                 f"not you ({os.geteuid()})")


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


def connect(address: str, timeout: float) -> Frames:
    """A connection to ``address``; the caller maps the OSError subclasses."""
    if sys.platform == "win32":
        from traycreds.channel import winpipe

        # A missing pipe: FileNotFoundError; a busy one is waited for until the timeout.
        return winpipe.connect(address, timeout)
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

    Raises NotRunningError (no tray for this user), UntrustedTrayError (a NotRunningError:
    the folder, the key file or the process serving the socket is not this user's alone; use
    warn_untrusted), ChannelAuthError (the key does not
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
        _check_peer(conn, folder, address)  # before a byte is sent or read
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
    except ChannelBusyError:
        raise NoAnswerError(
            f"traycreds is running but busy: no connection to it came free within "
            f"{max(timeout, 0):.3g} s. Try again in a moment; if it stays busy, quit the tray "
            "and start it again.", title="traycreds is busy") from None
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
