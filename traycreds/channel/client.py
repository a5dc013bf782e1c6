"""Ask the running tray something: ``request("hello")``. The fast path of credential_process.

Imports stay light, since every ``credential_process`` call and fast-path export pays for them:
no multiprocessing, pathlib, ``socket``, hashlib or hmac, platformdirs, boto3, keyring or
pystray on Linux (address.py, wire.py and handshake.py say what each avoids). One request per
connection, every step bounded by a deadline: find the runtime folder and read the session key
(address.py), connect (wire.py; winpipe.py on Windows), check who serves the address, shake
hands (handshake.py), then send the request and read the answer (protocol.py).

Knowing the key is not enough: it must also be this user's tray. Before it sends anything the
client checks what the tray's side checks (POSIX): the runtime folder is this user's and closed
to others, the key file is a regular file of this user's with mode 0600 (address.py), and the
process at the socket runs as this user (SO_PEERCRED; LOCAL_PEERCRED on macOS). On Windows the
process serving the pipe must run as this user (its token's user SID: winpipe.py). Anything
else raises UntrustedTrayError, a NotRunningError: the command line warns in one line and does
the work itself.
"""

from __future__ import annotations

import os
import sys
import time

from traycreds.channel.address import START_HINT, channel_address, read_key, runtime_folder
from traycreds.channel.address import UntrustedTrayError as UntrustedTrayError  # request's API
from traycreds.channel.handshake import (
    MAGIC,
    ForeignPeerError,
    KeyRefusedError,
    UnprovenPeerError,
    client_handshake,
)
from traycreds.channel.protocol import MAX_MESSAGE, ProtocolError, decode_response, encode_request
from traycreds.channel.wire import ChannelBusyError, Frames, FrameTooLargeError
from traycreds.core.errors import NotRunningError, TraycredsError

if sys.platform != "win32":
    from traycreds.channel.wire import SocketFrames, connect_socket, peer_uid

TYPE_CHECKING = False  # not typing's: see protocol.py
if TYPE_CHECKING:
    from typing import Any

HANDSHAKE_LIMIT = 10.0  # seconds: a tray that does not even shake hands in this time is hung


class NoAnswerError(TraycredsError):
    title = "traycreds did not answer"


class TrayStoppedError(TraycredsError):
    title = "traycreds stopped"


class ChannelAuthError(TraycredsError):
    title = "Cannot talk to traycreds"


_warned: set[str] = set()


def warn_untrusted(error: UntrustedTrayError) -> None:
    """Write the error's warning line to stderr once per process: the fast path and the full
    command line after it may both meet the same tray."""
    line = error.warning()
    if line not in _warned:
        _warned.add(line)
        sys.stderr.write(line)



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


def connect(address: str, timeout: float) -> Frames:
    """A connection to ``address``; the caller maps the OSError subclasses."""
    if sys.platform == "win32":
        from traycreds.channel import winpipe

        # A missing pipe: FileNotFoundError; a busy one is waited for until the timeout.
        return winpipe.connect(address, timeout)
    return connect_socket(address, timeout)


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
                              f"{START_HINT}") from None
    except PermissionError:
        raise NotRunningError(f"Cannot connect to {address}: permission denied. It belongs to "
                              "another user.") from None
    except OSError as error:
        raise NotRunningError(f"Cannot connect to {address}: {error.strerror or error}. "
                              f"{START_HINT}") from None


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
