"""The mutual HMAC handshake that opens every connection, both ends of it:

    tray -> client   b"TCv1" + the tray's nonce (32 random bytes)
    client -> tray   HMAC-SHA256(key, b"traycreds-client" + tray's nonce) + client's nonce (32)
    tray -> client   HMAC-SHA256(key, b"traycreds-server" + client's nonce), or REFUSED

``key`` is the session key in ``channel.key`` (address.py): each side proves it read it
without sending it, and the different labels keep either proof from being replayed as the
other. The client sends its request only after the tray proved itself, so a program squatting
on the address learns nothing. ``TCv1`` names this handshake: a later one gets another magic,
and a client meeting one it does not know says so instead of guessing.

No hashlib or hmac: they load OpenSSL's libcrypto (~3 ms of every fast-path call's start-up);
the HMAC here runs on CPython's builtin SHA-256.
"""

from __future__ import annotations

import os
import sys
from _operator import _compare_digest as compare_digest  # hmac.compare_digest without hmac

from traycreds.channel.wire import FrameTooLargeError

TYPE_CHECKING = False  # not typing's: see protocol.py
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from traycreds.channel.wire import Frames

MAGIC = b"TCv1"
NONCE_BYTES = 32
REFUSED = MAGIC + b" refused"  # the tray's answer to a proof made with another key
_HANDSHAKE_FRAME = 256  # bytes: more than any handshake frame of this version
_CLIENT_LABEL = b"traycreds-client"
_SERVER_LABEL = b"traycreds-server"


class HandshakeError(Exception):
    """The peer did not complete the handshake as this version expects."""


class KeyRefusedError(HandshakeError):
    """The tray refused the client's proof: the two hold different keys."""


class ForeignPeerError(HandshakeError):
    """The peer does not speak this handshake (another program, or another version)."""


class UnprovenPeerError(HandshakeError):
    """The peer's proof is wrong: it does not hold the session key."""


def _builtin_sha256() -> Callable[[bytes], Any]:
    """CPython's own SHA-256 (``_sha2`` from 3.12, ``_sha256`` before). hashlib and hmac load
    OpenSSL's libcrypto first, about 3 ms of every call's start-up; hashlib's if it is missing.
    This version's module is tried first: a failed import searches sys.path (~0.1 ms)."""
    names = ("_sha2", "_sha256") if sys.version_info >= (3, 12) else ("_sha256", "_sha2")
    for name in names:
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
