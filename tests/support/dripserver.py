"""An STS endpoint on loopback that misbehaves on purpose, at the socket level.

The scripted STS (errorserver.py) speaks HTTP properly; this one does what a broken
network, a hostile endpoint or a rewriting proxy does, which http.server cannot script:

    server.mode = "drip-headers"   status line, then one header byte a second, forever
    server.mode = "drip-body"      full headers, then one body byte a second, forever
    server.mode = "silent"         reads the request and never answers
    server.answer(body, ...)       answers every request with these bytes (status 200)
    server.answer(big, hold_back=2 << 20)
                                   sends that much of the body, then waits to see whether
                                   the client hangs up before it sends the rest

With ``tls=(cert, key)`` (see ``make_tls_files``) it speaks HTTPS. Each connection is
recorded as a ``Conn``: its request lines, how many body bytes were sent, and ``ended``
(set once the client closed or reset it). A client that
abandons a too-long body closes the connection while the server holds the rest back:
``closed_early`` then says so with no race, whatever the socket buffer sizes.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from traycreds.adapters.keystore import KeyStore
from traycreds.adapters.sts import BotoSts
from traycreds.app.engine import Engine
from traycreds.core.models import Credentials, MfaRequest, Role
from traycreds.core.roles import Catalog

_WAIT_FOR_HANGUP = 10.0  # how long hold-back waits for the client to give up on the body


@dataclass
class Conn:
    """One accepted connection, as the server saw it."""

    request_lines: list[str] = field(default_factory=list)
    body_sent: int = 0
    closed_early: bool = False  # the client hung up before the whole body was sent
    ended: threading.Event = field(default_factory=threading.Event)

    @property
    def requests(self) -> int:
        return len(self.request_lines)


def make_tls_files(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM): a CA bundle for clients."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "drip-cert.pem", folder / "drip-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass(frozen=True)
class _Answer:
    body: bytes
    chunked: bool
    hold_back: int | None
    status: int = 200


class DripServer:
    """See the module docstring. ``start()`` it; ``stop()`` ends it and its connections."""

    def __init__(self, tls: tuple[Path, Path] | None = None) -> None:
        self.mode = "silent"
        self._tls: ssl.SSLContext | None = None
        if tls is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(*tls)
        self._answer: _Answer | None = None
        self.conns: list[Conn] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept_loop, name="drip-server",
                                        daemon=True)

    def start(self) -> DripServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def answer(self, body: bytes, *, chunked: bool = False, hold_back: int | None = None,
               status: int = 200) -> None:
        """Answer every request with ``body`` (Content-Length, or chunked if asked)."""
        self._answer = _Answer(body, chunked, hold_back, status)
        self.mode = "answer"

    def reset(self) -> None:
        with self._lock:
            self.conns.clear()
        self.mode, self._answer = "silent", None

    def connections(self) -> list[Conn]:
        with self._lock:
            return list(self.conns)

    def requests(self) -> int:
        return sum(conn.requests for conn in self.connections())

    def request_lines(self) -> list[str]:
        return [line for conn in self.connections() for line in conn.request_lines]

    # -- serving --------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn = Conn()
            with self._lock:
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(sock, conn), name="drip-conn",
                             daemon=True).start()

    def _serve(self, sock: socket.socket, conn: Conn) -> None:
        try:
            if self._tls is not None:  # a failed handshake closes the socket itself
                sock.settimeout(10)
                sock = self._tls.wrap_socket(sock, server_side=True)
            with sock:
                sock.settimeout(0.5)  # short waits, so stop() and hang-ups are seen
                while not self._stopping.is_set():
                    line = self._read_request(sock)
                    if line is None:
                        return
                    conn.request_lines.append(line)
                    if not self._respond(sock, conn):
                        return
        except OSError:
            pass  # reset by the client: it gave up, which is what tests look for
        finally:
            conn.ended.set()

    def _read_request(self, sock: socket.socket) -> str | None:
        """Read one request (headers, a Content-Length body): its request line, or None when
        the client left."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self._recv(sock)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = self._recv(sock)
            if not chunk:
                return None
            body += chunk
        return head.split(b"\r\n", 1)[0].decode("latin-1")

    def _recv(self, sock: socket.socket) -> bytes:
        while not self._stopping.is_set():
            try:
                return sock.recv(65536)
            except TimeoutError:
                continue
        return b""

    def _respond(self, sock: socket.socket, conn: Conn) -> bool:
        if self.mode == "silent":
            self._hung_up(sock, None)
            return False
        if self.mode == "drip-headers":
            self._send(sock, b"HTTP/1.1 200 OK\r\nX-Drip: ")
            return self._drip(sock, conn)
        if self.mode == "drip-body":
            self._send(sock, b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
                             b"Content-Length: 1000000\r\n\r\n<")
            return self._drip(sock, conn)
        assert self._answer is not None
        return self._send_answer(sock, conn, self._answer)

    def _drip(self, sock: socket.socket, conn: Conn) -> bool:
        while not self._hung_up(sock, 1.0):
            self._send(sock, b"a")  # raises once the client has closed its end
            conn.body_sent += 1
        return False

    def _hung_up(self, sock: socket.socket, seconds: float | None) -> bool:
        """Wait up to ``seconds`` (None: until stopped) for the client to close or reset."""
        end = None if seconds is None else time.monotonic() + seconds
        while not self._stopping.is_set() and (end is None or time.monotonic() < end):
            try:
                if sock.recv(65536) == b"":
                    return True
            except TimeoutError:
                continue
            except OSError:
                return True
        return self._stopping.is_set()

    def _send(self, sock: socket.socket, data: bytes) -> None:
        """sendall that notices stop(): a client that stops reading must not pin us."""
        view = memoryview(data)
        while view and not self._stopping.is_set():
            try:
                view = view[sock.send(view):]
            except TimeoutError:
                continue

    def _send_answer(self, sock: socket.socket, conn: Conn, answer: _Answer) -> bool:
        framing = (b"Transfer-Encoding: chunked" if answer.chunked
                   else b"Content-Length: %d" % len(answer.body))
        self._send(sock, b"HTTP/1.1 %d OK\r\nContent-Type: text/xml\r\n%s\r\n\r\n"
                   % (answer.status, framing))
        body = answer.body
        first = body if answer.hold_back is None else body[:answer.hold_back]
        if not self._send_body(sock, conn, first, answer.chunked):
            return False
        if len(first) < len(body):
            if self._hung_up(sock, _WAIT_FOR_HANGUP):
                conn.closed_early = True
                return False
            if not self._send_body(sock, conn, body[len(first):], answer.chunked):
                return False
        if answer.chunked:
            self._send(sock, b"0\r\n\r\n")
        return True

    def _send_body(self, sock: socket.socket, conn: Conn, data: bytes, chunked: bool) -> bool:
        step = 65536
        for start in range(0, len(data), step):
            piece = data[start:start + step]
            try:
                self._send(sock, b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            except OSError:
                conn.closed_early = True  # reset while sending: the client gave up
                return False
            conn.body_sent += len(piece)
        return True


# --- an engine pointed at it ----------------------------------------------------------------
# The source key the engine signs with: the server never checks it.
SOURCE_KEY = Credentials("AKIA" + "Q" * 16, "s" * 40)


def no_prompt(request: MfaRequest) -> str:
    raise AssertionError(f"unexpected MFA prompt for {request.role}")


def engine_at(url: str, keys: KeyStore, deadline: float = 60.0) -> Engine:
    """An engine with one role, ``r``, assumed at ``url`` with ``keys``' key ``me``."""
    role = Role(name="r", role_arn="arn:aws:iam::111122223333:role/R", source="me",
                origin="test", endpoint_url=url)
    return Engine(Catalog(roles={"r": role}), keys, BotoSts(deadline=deadline), no_prompt,
                  env={}, session_name="tc-test")

