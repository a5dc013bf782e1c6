"""The tray's credentials endpoint: what the SDKs' container credential provider asks.

A window opened by the tray, or a child of ``traycreds exec``, gets
``AWS_CONTAINER_CREDENTIALS_FULL_URI`` (``http://127.0.0.1:PORT/role/NAME``) and
``AWS_CONTAINER_AUTHORIZATION_TOKEN``; every SDK then fetches the role's credentials here
whenever its own copy nears expiry, so the window never holds dead keys.

Who gets an answer: only a GET on ``/role/NAME`` whose ``Authorization`` header is a live
token issued for NAME (app/tokens.py). Anything else gets a short JSON error and never a
credential: 401 without a token, 403 for an unknown, forgotten or other role's token, 404,
405, 431. The socket is bound to 127.0.0.1 only; ``Host`` must name it (a web page that
rebinds a DNS name to 127.0.0.1 is refused before the token is even looked at). A request
has READ_TIMEOUT seconds and MAX_REQUEST bytes to arrive; at most MAX_CONNECTIONS are open
at once, one more is closed unanswered. Tokens and credentials never reach the log.

The answer comes from the tray's service (held credentials reused, refreshed before expiry,
MFA asked in the tray's dialog), as on the channel: ``AppService.issue_for_caller``.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

from traycreds.app.tokens import TokenRegistry
from traycreds.core.errors import TraycredsError, UnknownRoleError
from traycreds.core.models import Credentials, Role
from traycreds.core.shells import credentials_fields

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
PREFIX = "/role/"
MAX_REQUEST = 8192  # bytes: request line and headers; an SDK sends a few hundred
MAX_CONNECTIONS = 16
READ_TIMEOUT = 5.0  # seconds for the whole request to arrive
SEND_TIMEOUT = 10.0
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
            431: "Request Header Fields Too Large", 500: "Internal Server Error"}

Issue = Callable[[str], Credentials]


class Refusal(Exception):
    """A request answered with an error status; ``text`` is safe to send and to log."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


class CredentialsEndpoint:
    """``CredentialsEndpoint(issue, tokens).start()``; ``uri(role)`` names its address."""

    def __init__(self, issue: Issue, tokens: TokenRegistry, *,
                 max_connections: int = MAX_CONNECTIONS,
                 read_timeout: float = READ_TIMEOUT) -> None:
        self._issue, self._tokens = issue, tokens
        self._slots = threading.BoundedSemaphore(max_connections)
        self._read_timeout = read_timeout
        self._stopping = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if sys.platform == "win32":  # no other process may bind the same port over ours
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        try:
            sock.bind((HOST, 0))
            sock.listen(MAX_CONNECTIONS)
        except OSError as error:
            sock.close()
            raise TraycredsError(
                f"The tray could not listen on {HOST} ({error.strerror}); windows and "
                "'traycreds exec' fall back to static credentials.",
                title="Credentials endpoint not available") from None
        sock.settimeout(0.5)  # the accept loop looks at the stop flag this often
        self._sock, self.port = sock, sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name="traycreds-endpoint")
        self._thread.start()
        log.info("credentials endpoint listening on %s:%d", HOST, self.port)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._sock is not None:
            self._sock.close()

    def uri(self, role: str) -> str:
        return f"http://{HOST}:{self.port}{PREFIX}{quote(role, safe='')}"

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                time.sleep(0.1)  # EMFILE and the like: do not spin
                continue
            if not self._slots.acquire(blocking=False):
                log.warning("credentials endpoint busy: a connection was turned away")
                conn.close()
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name="traycreds-endpoint-conn").start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            status, body = self._answer(conn)
            conn.settimeout(SEND_TIMEOUT)
            conn.sendall(_response(status, body))
        except OSError:
            pass  # the client went away or was too slow: nothing to answer
        finally:
            conn.close()
            self._slots.release()

    def _answer(self, conn: socket.socket) -> tuple[int, dict[str, Any]]:
        try:
            role = self._authorized_role(_read_head(conn, time.monotonic()
                                                    + self._read_timeout))
        except Refusal as refusal:
            log.info("credentials endpoint refused a request: %d %s", refusal.status,
                     refusal.text)
            return refusal.status, {"Code": _REASONS[refusal.status], "Message": refusal.text}
        try:
            creds = self._issue(role)
        except TraycredsError as error:  # titles and messages never hold secrets
            log.info("credentials endpoint: %s failed: %s", role, error.title)
            return 500, {"Code": "CredentialsUnavailable",
                         "Message": f"{error.title}: {error.message}"}
        except Exception:
            log.exception("credentials endpoint: unexpected failure for %s", role)
            return 500, {"Code": "InternalError", "Message": "traycreds failed; see its log."}
        log.debug("credentials endpoint served %s", role)
        return 200, _document(creds)

    def _authorized_role(self, head: bytes) -> str:
        method, path, headers = _parse(head)
        if method != "GET":
            raise Refusal(405, "Only GET is answered here.")
        if headers.get("host") not in (f"{HOST}:{self.port}", f"localhost:{self.port}"):
            raise Refusal(403, "The Host header does not name this endpoint.")
        if not path.startswith(PREFIX) or "?" in path or "/" in path[len(PREFIX):]:
            raise Refusal(404, "No such path; the URI is the one traycreds handed out.")
        try:
            role = unquote(path[len(PREFIX):], errors="strict")
        except UnicodeDecodeError:
            raise Refusal(404, "No such role.") from None
        token = headers.get("authorization")
        if not token:
            raise Refusal(401, "No Authorization token.")
        bound = self._tokens.role_for(token)
        if bound is None:
            raise Refusal(403, "The token is not valid: it was forgotten, the tray was "
                               "restarted, or it was never issued. Open a new window.")
        if bound != role:
            raise Refusal(403, "The token is not valid for this role.")
        return role


def _read_head(conn: socket.socket, deadline: float) -> bytes:
    """The request line and headers, within ``deadline`` and MAX_REQUEST bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Refusal(408, "The request took too long.")
        conn.settimeout(left)
        try:
            chunk = conn.recv(MAX_REQUEST + 1 - len(data))
        except TimeoutError:
            raise Refusal(408, "The request took too long.") from None
        if not chunk:
            raise OSError("the client closed the connection")
        data += chunk
        if len(data) > MAX_REQUEST and b"\r\n\r\n" not in data[:MAX_REQUEST]:
            raise Refusal(431, f"The request is larger than {MAX_REQUEST} bytes.")
    return data.split(b"\r\n\r\n", 1)[0]


def _parse(head: bytes) -> tuple[str, str, dict[str, str]]:
    try:
        lines = head.decode("ascii").split("\r\n")
    except UnicodeDecodeError:
        raise Refusal(400, "The request is not ASCII.") from None
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise Refusal(400, "The request line is not HTTP/1.x.")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        key = name.strip().lower()
        if not colon or not key or name != name.strip():
            raise Refusal(400, "A header line is malformed.")
        if key in headers and key in ("authorization", "host"):
            raise Refusal(400, f"The {key} header appears twice.")
        headers[key] = value.strip()
    return parts[0], parts[1], headers


def _document(creds: Credentials) -> dict[str, Any]:
    """The container provider's format (botocore ContainerProvider, the other SDKs alike)."""
    return dict(credentials_fields(creds, "Token"))


def _response(status: int, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode("utf-8")
    head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nCache-Control: no-store\r\n"
            + ("Allow: GET\r\n" if status == 405 else "") + "Connection: close\r\n\r\n")
    return head.encode("ascii") + payload


def channel_handlers(endpoint: CredentialsEndpoint, role_of: Callable[[str], Role],
                     tokens: TokenRegistry) -> dict[str, Callable[[dict[str, Any]], Any]]:
    """The channel's 'endpoint-token': a same-user client (``traycreds exec``) asks for a
    token for one role. The channel already proved the client is this user."""

    def endpoint_token(args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("role")
        if not isinstance(name, str) or not name:
            raise UnknownRoleError("The request names no role.")
        role = role_of(name)  # an unknown role's error says which names are close
        return {"uri": endpoint.uri(role.name), "token": tokens.issue(role.name),
                "region": role.region}

    return {"endpoint-token": endpoint_token}
