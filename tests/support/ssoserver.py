"""A stand-in for IAM Identity Center on loopback: the sso-oidc and SSO portal APIs.

No maintained server implements these (moto has neither the OIDC device flow nor the portal),
so this one speaks them as botocore's models (botocore/data/sso-oidc, botocore/data/sso)
describe them, with AWS's JSON shapes and error codes: the OIDC errors carry
``x-amzn-ErrorType`` and ``{"error": "authorization_pending", "error_description": ...}``;
the portal answers ``401 UnauthorizedException`` to a bad bearer token and
``403 ForbiddenException`` for a role the user is not assigned.

A test plays the person at the browser with ``approve(user_code)`` or ``deny(user_code)``:
an HTTP request to ``/stand-in/approve`` as the verification page would make. Point clients
at it with ``AWS_ENDPOINT_URL_SSO_OIDC`` and ``AWS_ENDPOINT_URL_SSO`` (both ``url``).

``role_credentials(account, role)`` makes GetRoleCredentials' answer; the default invents a
key, and a test using moto passes one that assumes a moto role, so the credentials work
at moto's STS and an SSO role can be a chain's root.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

RoleCredentials = dict[str, Any]  # accessKeyId, secretAccessKey, sessionToken, expiration (ms)


class Received(NamedTuple):
    operation: str
    body: dict[str, Any]


@dataclass
class Device:
    client_id: str
    user_code: str
    expires: float
    interval: int
    state: str = "pending"  # approved, denied
    last_poll: float = 0.0


@dataclass
class Account:
    account_id: str
    name: str
    email: str
    roles: list[str]


def _random(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def invented_credentials(account: str, role: str) -> RoleCredentials:
    return {"accessKeyId": "ASIA" + _random(16, string.ascii_uppercase + string.digits),
            "secretAccessKey": base64.b64encode(secrets.token_bytes(30)).decode(),
            "sessionToken": base64.b64encode(secrets.token_bytes(150)).decode(),
            "expiration": int((time.time() + 3600) * 1000)}


@dataclass
class _State:
    clients: dict[str, str] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (epoch)
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> client id
    requests: list[Received] = field(default_factory=list)
    poll_script: list[str] = field(default_factory=list)  # errors the next polls get


class SsoStandIn:
    def __init__(self) -> None:
        self.state = _State()
        self.accounts: dict[str, Account] = {}
        self.role_credentials: Callable[[str, str], RoleCredentials] = invented_credentials
        self.device_expires_in = 600
        self.interval = 1
        self.token_expires_in = 3600
        self.issue_refresh_tokens = True
        self.enforce_interval = True  # answer slow_down to polls sooner than the interval
        self.page_size = 2  # small, so clients must follow nextToken
        # Fields a hostile or broken server answers StartDeviceAuthorization with instead.
        self.device_answer_override: dict[str, Any] = {}
        self.refresh_delay = 0.0  # seconds a refresh_token grant takes to answer
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> SsoStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what a test does ------------------------------------------------------------
    def add_account(self, account_id: str, name: str, roles: list[str]) -> None:
        self.accounts[account_id] = Account(account_id, name, f"{name}@example.com", roles)

    def approve(self, user_code: str, *, deny: bool = False) -> None:
        """The person at the browser: one HTTP request, as the verification page sends."""
        body = json.dumps({"userCode": user_code, "deny": deny}).encode()
        request = urllib.request.Request(f"{self.url}/stand-in/approve", data=body,
                                         method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200

    def deny(self, user_code: str) -> None:
        self.approve(user_code, deny=True)

    def pending_user_code(self, timeout: float = 10.0) -> str:
        """The user code of the newest device waiting for the person (polls until one is)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                waiting = [d for d in self.state.devices.values() if d.state == "pending"]
            if waiting:
                return waiting[-1].user_code
            time.sleep(0.05)
        raise AssertionError("no device authorization was started")

    def expire_access_tokens(self) -> None:
        with self._lock:
            for token in self.state.tokens:
                self.state.tokens[token] = 0.0

    def operations(self) -> list[str]:
        with self._lock:
            return [r.operation for r in self.state.requests]

    def issue_token(self) -> tuple[str, str]:
        """An access token and a refresh token, as if someone had signed in elsewhere."""
        with self._lock:
            client = _random(22)
            self.state.clients[client] = _random(40)
            return self._new_tokens(client)

    # -- the APIs ------------------------------------------------------------------------
    def _new_tokens(self, client: str) -> tuple[str, str]:
        access = "aoa" + _random(60)
        refresh = "aor" + _random(60)
        self.state.tokens[access] = time.time() + self.token_expires_in
        self.state.refresh[refresh] = client
        return access, refresh

    def handle(self, method: str, path: str, query: dict[str, str], headers: Any,
               body: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
        """(status, JSON body, error type) for one request."""
        routes: dict[tuple[str, str], Callable[..., tuple[int, dict[str, Any], str | None]]] = {
            ("POST", "/client/register"): self._register,
            ("POST", "/device_authorization"): self._device_authorization,
            ("POST", "/token"): self._token,
            ("GET", "/federation/credentials"): self._role_credentials,
            ("GET", "/assignment/accounts"): self._accounts,
            ("GET", "/assignment/roles"): self._roles,
            ("POST", "/logout"): self._logout,
            ("POST", "/stand-in/approve"): self._approve,
        }
        route = routes.get((method, path))
        if route is None:
            return 404, {"message": f"no route {method} {path}"}, "ResourceNotFoundException"
        with self._lock:
            self.state.requests.append(Received(route.__name__.strip("_"), body))
            return route(query=query, token=headers.get("x-amz-sso_bearer_token"), body=body)

    @staticmethod
    def _oidc_error(kind: str, code: str, text: str, status: int = 400
                    ) -> tuple[int, dict[str, Any], str]:
        return status, {"error": code, "error_description": text}, kind

    def _register(self, body: dict[str, Any], **_: Any) -> tuple[int, dict[str, Any], None]:
        client, secret = _random(22), _random(40)
        self.state.clients[client] = secret
        now = int(time.time())
        return 200, {"clientId": client, "clientSecret": secret, "clientIdIssuedAt": now,
                     "clientSecretExpiresAt": now + 90 * 86400}, None

    def _client_ok(self, body: dict[str, Any]) -> bool:
        return self.state.clients.get(str(body.get("clientId"))) == body.get("clientSecret")

    def _device_authorization(self, body: dict[str, Any], **_: Any
                              ) -> tuple[int, dict[str, Any], str | None]:
        if not self._client_ok(body):
            return self._oidc_error("InvalidClientException", "invalid_client",
                                    "Invalid client provided", 401)
        code = _random(80)
        user = _random(4, string.ascii_uppercase) + "-" + _random(4, string.ascii_uppercase)
        self.state.devices[code] = Device(str(body["clientId"]), user,
                                          time.time() + self.device_expires_in, self.interval)
        verify = f"{self.url}/stand-in/device"
        answer = {"deviceCode": code, "userCode": user, "verificationUri": verify,
                  "verificationUriComplete": f"{verify}?user_code={user}",
                  "expiresIn": self.device_expires_in, "interval": self.interval}
        return 200, {**answer, **self.device_answer_override}, None

    def _token(self, body: dict[str, Any], **_: Any) -> tuple[int, dict[str, Any], str | None]:
        if not self._client_ok(body):
            return self._oidc_error("InvalidClientException", "invalid_client",
                                    "Invalid client provided", 401)
        grant = body.get("grantType")
        if grant == "refresh_token":
            owner = self.state.refresh.pop(str(body.get("refreshToken")), None)
            time.sleep(self.refresh_delay)  # a slow answer: other clients may ask meanwhile
            if owner != body["clientId"]:
                return self._oidc_error("InvalidGrantException", "invalid_grant",
                                        "Invalid refresh token provided")
            return self._tokens_answer(owner)
        if grant != "urn:ietf:params:oauth:grant-type:device_code":
            return self._oidc_error("UnsupportedGrantTypeException", "unsupported_grant_type",
                                    "Unsupported grant type")
        device = self.state.devices.get(str(body.get("deviceCode")))
        if device is None or device.client_id != body["clientId"]:
            return self._oidc_error("InvalidGrantException", "invalid_grant",
                                    "Invalid device code provided")
        return self._poll(str(body["deviceCode"]), device)

    def _poll(self, code: str, device: Device) -> tuple[int, dict[str, Any], str | None]:
        now = time.time()
        too_soon = self.enforce_interval and now - device.last_poll < device.interval - 0.2
        device.last_poll = now
        if now > device.expires:
            return self._oidc_error("ExpiredTokenException", "expired_token",
                                    "Device code has expired")
        if self.state.poll_script:
            error = self.state.poll_script.pop(0)
            kind = "".join(part.title() for part in error.split("_")) + "Exception"
            return self._oidc_error(kind, error, f"scripted {error}")
        if too_soon:
            device.interval += 5  # RFC 8628: each slow_down adds five seconds
            return self._oidc_error("SlowDownException", "slow_down", "Client is polling "
                                    "too quickly")
        if device.state == "denied":
            del self.state.devices[code]
            return self._oidc_error("AccessDeniedException", "access_denied",
                                    "The user denied the authorization request")
        if device.state == "pending":
            return self._oidc_error("AuthorizationPendingException", "authorization_pending",
                                    "Authorization is still pending")
        del self.state.devices[code]  # a device code is exchanged once
        return self._tokens_answer(device.client_id)

    def _tokens_answer(self, client: str) -> tuple[int, dict[str, Any], None]:
        access, refresh = self._new_tokens(client)
        answer: dict[str, Any] = {"accessToken": access, "tokenType": "Bearer",
                                  "expiresIn": self.token_expires_in}
        if self.issue_refresh_tokens:
            answer["refreshToken"] = refresh
        return 200, answer, None

    def _logout(self, token: str | None, **_: Any) -> tuple[int, dict[str, Any], str | None]:
        """The portal's Logout: the access token stops working."""
        if not self._authorized(token):
            return self._unauthorized()
        self.state.tokens.pop(str(token), None)
        return 200, {}, None

    def _approve(self, body: dict[str, Any], **_: Any) -> tuple[int, dict[str, Any], None]:
        for device in self.state.devices.values():
            if device.user_code == body.get("userCode"):
                device.state = "denied" if body.get("deny") else "approved"
                return 200, {}, None
        return 404, {"message": "no such user code"}, None

    def _authorized(self, token: str | None) -> bool:
        return token is not None and self.state.tokens.get(token, 0.0) > time.time()

    @staticmethod
    def _unauthorized() -> tuple[int, dict[str, Any], str]:
        return 401, {"message": "Session token not found or invalid"}, "UnauthorizedException"

    def _role_credentials(self, query: dict[str, str], token: str | None, **_: Any
                          ) -> tuple[int, dict[str, Any], str | None]:
        if not self._authorized(token):
            return self._unauthorized()
        account = self.accounts.get(query.get("account_id", ""))
        if account is None or query.get("role_name") not in account.roles:
            return 403, {"message": "No access"}, "ForbiddenException"
        creds = self.role_credentials(account.account_id, query["role_name"])
        return 200, {"roleCredentials": creds}, None

    def _page(self, items: list[dict[str, Any]], query: dict[str, str]
              ) -> tuple[list[dict[str, Any]], str | None]:
        start = int(query.get("next_token") or 0)
        size = min(int(query.get("max_result") or self.page_size), self.page_size)
        end = start + size
        return items[start:end], (str(end) if end < len(items) else None)

    def _accounts(self, query: dict[str, str], token: str | None, **_: Any
                  ) -> tuple[int, dict[str, Any], str | None]:
        if not self._authorized(token):
            return self._unauthorized()
        items = [{"accountId": a.account_id, "accountName": a.name, "emailAddress": a.email}
                 for a in self.accounts.values()]
        page, following = self._page(items, query)
        return 200, {"accountList": page, **({"nextToken": following} if following else {})}, None

    def _roles(self, query: dict[str, str], token: str | None, **_: Any
               ) -> tuple[int, dict[str, Any], str | None]:
        if not self._authorized(token):
            return self._unauthorized()
        account = self.accounts.get(query.get("account_id", ""))
        if account is None:
            return 403, {"message": "No access"}, "ForbiddenException"
        items = [{"roleName": r, "accountId": account.account_id} for r in account.roles]
        page, following = self._page(items, query)
        return 200, {"roleList": page, **({"nextToken": following} if following else {})}, None


def _handler(stand_in: SsoStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # bodies hold tokens: nothing is logged

        def _serve(self) -> None:
            split = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(split.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            status, answer, error = stand_in.handle(self.command, split.path, query,
                                                    self.headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", _random(32))
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

    return Handler
