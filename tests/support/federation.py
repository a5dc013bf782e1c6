"""A stand-in for AWS's federation endpoint (signin.aws.amazon.com/federation) on loopback.

It answers getSigninToken with AWS's JSON shape {"SigninToken": ...} when the Session has
the three fields, and HTTP 400 as AWS does for a session it does not accept (a session whose
token is marked as a GetSessionToken one, here by the prefix ``GST``). Requests are
recorded (the Session's fields included) for the tests to check.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class FederationServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.token = "tok" + secrets.token_urlsafe(48)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(size).decode()).items()}
                outer.requests.append(form)
                session = json.loads(form.get("Session", "{}"))
                if form.get("Action") != "getSigninToken" or set(session) != {
                        "sessionId", "sessionKey", "sessionToken"}:
                    return self._answer(400, b"Bad request")
                if session["sessionToken"].startswith("GST"):
                    return self._answer(400, b"<html>Unable to get the sign-in token</html>")
                self._answer(200, json.dumps({"SigninToken": outer.token}).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/federation"


@contextmanager
def federation_server() -> Iterator[FederationServer]:
    stand_in = FederationServer()
    thread = threading.Thread(target=stand_in.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        stand_in.server.shutdown()
        stand_in.server.server_close()
