"""A scripted STS endpoint on loopback: real STS XML errors and successes, on demand.

moto cannot produce some of STS's answers (a wrong MFA code, an ExternalId mismatch,
throttling, a clock-skew complaint). This server speaks STS's query protocol well enough
for botocore: a test scripts what the next requests get, and botocore's own parsing and
retry logic run against it for real.

    sts_errors.respond("Throttling", "Rate exceeded", times=2)
    sts_errors.respond_success()
    client.assume_role(...)            # botocore retries twice, then succeeds
    assert [r.action for r in sts_errors.requests] == ["AssumeRole"] * 3

Scripting: each ``respond*`` call appends to a queue. An entry with ``times=N`` answers N
requests and is dropped; an entry with ``times=None`` answers every later request (and is
replaced by the next ``respond*`` call, since nothing after it could be reached). With
an empty queue the server answers success. Requests are recorded in ``requests``.
The server does not check signatures.
"""

from __future__ import annotations

import base64
import secrets
import string
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
ACCOUNT_ID = "123456789012"


class Received(NamedTuple):
    """One request as the server saw it: the STS action and its (flattened) parameters."""

    action: str
    params: dict[str, str]


@dataclass
class _Scripted:
    status: int
    code: str | None  # None: a success document for the requested action
    message: str = ""
    date: datetime | None = None
    times: int | None = None


def _random_id(prefix: str, length: int = 20) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length - len(prefix)))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_document(code: str, message: str, request_id: str, kind: str = "Sender") -> str:
    return (
        f'<ErrorResponse xmlns="{NAMESPACE}">'
        f"<Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>\n"
    )


def _credentials_xml(prefix: str, duration: int, now: datetime) -> str:
    return (
        "<Credentials>"
        f"<AccessKeyId>{_random_id(prefix)}</AccessKeyId>"
        f"<SecretAccessKey>{base64.b64encode(secrets.token_bytes(30)).decode()}</SecretAccessKey>"
        f"<SessionToken>{base64.b64encode(secrets.token_bytes(150)).decode()}</SessionToken>"
        f"<Expiration>{_iso(now + timedelta(seconds=duration))}</Expiration>"
        "</Credentials>"
    )


def success_document(
    action: str, params: Mapping[str, str], request_id: str, now: datetime
) -> str | None:
    """The body STS returns for a successful call, or None for an action we do not model."""
    if action == "AssumeRole":
        role_arn = params.get("RoleArn", f"arn:aws:iam::{ACCOUNT_ID}:role/unknown")
        role_name = role_arn.rsplit("/", 1)[-1]
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ACCOUNT_ID
        session = params.get("RoleSessionName", "session")
        duration = int(params.get("DurationSeconds", "3600"))
        result = (
            "<AssumedRoleUser>"
            f"<Arn>arn:aws:sts::{escape(account)}:assumed-role/{escape(role_name)}/"
            f"{escape(session)}</Arn>"
            f"<AssumedRoleId>{_random_id('AROA', 21)}:{escape(session)}</AssumedRoleId>"
            "</AssumedRoleUser>"
            f"{_credentials_xml('ASIA', duration, now)}"
            "<PackedPolicySize>6</PackedPolicySize>"
        )
    elif action == "GetSessionToken":
        duration = int(params.get("DurationSeconds", "43200"))
        result = _credentials_xml("ASIA", duration, now)
    elif action == "GetCallerIdentity":
        result = (
            f"<Arn>arn:aws:iam::{ACCOUNT_ID}:user/sts-errors</Arn>"
            f"<UserId>{_random_id('AIDA', 21)}</UserId>"
            f"<Account>{ACCOUNT_ID}</Account>"
        )
    else:
        return None
    return (
        f'<{action}Response xmlns="{NAMESPACE}">'
        f"<{action}Result>{result}</{action}Result>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{action}Response>\n"
    )


class StsErrorServer:
    """The server; see the module docstring. Start with ``start()``, end with ``stop()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Scripted] = []
        self.requests: list[Received] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="sts-errors", daemon=True
        )

    def start(self) -> StsErrorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- scripting -------------------------------------------------------------------------

    def respond(
        self,
        code: str,
        message: str,
        status: int = 400,
        *,
        date: datetime | None = None,
        times: int | None = None,
    ) -> None:
        """Answer the next ``times`` requests (None: all later ones) with an STS error."""
        self._push(_Scripted(status=status, code=code, message=message, date=date, times=times))

    def respond_success(self, *, date: datetime | None = None, times: int | None = None) -> None:
        """Answer with STS's success document for the action requested."""
        self._push(_Scripted(status=200, code=None, date=date, times=times))

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    def _push(self, entry: _Scripted) -> None:
        if entry.times is not None and entry.times < 1:
            raise ValueError("times must be None or >= 1")
        with self._lock:
            if self._queue and self._queue[-1].times is None:
                self._queue.pop()
            self._queue.append(entry)

    # -- inspection ------------------------------------------------------------------------

    def actions(self) -> list[str]:
        with self._lock:
            return [r.action for r in self.requests]

    def params_of(self, action: str) -> list[dict[str, str]]:
        with self._lock:
            return [r.params for r in self.requests if r.action == action]

    # -- serving ---------------------------------------------------------------------------

    def _take(self, received: Received) -> _Scripted:
        with self._lock:
            self.requests.append(received)
            if not self._queue:
                return _Scripted(status=200, code=None)
            entry = self._queue[0]
            if entry.times is not None:
                entry.times -= 1
                if entry.times == 0:
                    self._queue.pop(0)
            return entry


def _make_handler(server: StsErrorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore expects of AWS

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            params = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
            action = params.pop("Action", "")
            params.pop("Version", None)
            entry = server._take(Received(action, params))
            self._answer(entry, action, params)

        def do_GET(self) -> None:
            self._send(400, error_document("InvalidAction", "POST only", str(uuid.uuid4())), None)

        def _answer(self, entry: _Scripted, action: str, params: dict[str, str]) -> None:
            request_id = str(uuid.uuid4())
            now = datetime.now(timezone.utc)
            if entry.code is not None:
                document = error_document(entry.code, entry.message, request_id)
                self._send(entry.status, document, entry.date, request_id)
                return
            success = success_document(action, params, request_id, entry.date or now)
            if success is None:
                message = f"Could not find operation {action} for version 2011-06-15"
                document = error_document("InvalidAction", message, request_id)
                self._send(400, document, entry.date, request_id)
                return
            self._send(entry.status, success, entry.date, request_id)

        def _send(
            self, status: int, document: str, date: datetime | None, request_id: str = ""
        ) -> None:
            payload = document.encode("utf-8")
            moment = date or datetime.now(timezone.utc)
            # send_response() would add its own Date header; ours must be the only one.
            self.send_response_only(status)
            self.send_header("Server", "sts-errors")
            self.send_header("Date", format_datetime(moment.astimezone(timezone.utc), usegmt=True))
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(payload)))
            if request_id:
                self.send_header("x-amzn-RequestId", request_id)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest output clean; tests read ``requests`` instead

    return Handler
