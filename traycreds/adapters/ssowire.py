"""IAM Identity Center's two APIs through botocore: sso-oidc (sign-in) and the SSO portal.

A botocore client (no boto3) per region and API, unsigned as both APIs are (the portal takes
the access token in a header). Like ``sts.boto_session`` it reads neither AWS_PROFILE nor the
shared files, but it does honour the environment, so ``AWS_ENDPOINT_URL_SSO_OIDC`` and
``AWS_ENDPOINT_URL_SSO`` (botocore's service-specific endpoints) point it elsewhere, as they
do the AWS CLI. Each call is bounded: connect and read timeouts and two attempts at most.
AWS's error codes become TraycredsErrors; the two a device-flow poll expects
(authorization_pending, slow_down) become ``Pending``. No token reaches a message.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from traycreds.core import errors
from traycreds.core.models import Credentials
from traycreds.core.sso import device_answer_problem, role_credentials

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
_LIST_PAGES = 100  # ListAccounts/ListAccountRoles pages followed at most


class Pending(Exception):
    """CreateToken said: not yet (``authorization_pending``) or poll slower (``slow_down``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class TokenAnswer:
    access_token: str = field(repr=False)
    expires_in: int
    refresh_token: str | None = field(default=None, repr=False)


_OIDC_ERRORS: dict[str, tuple[type[errors.TraycredsError], str]] = {
    "AccessDeniedException": (errors.AccessDeniedError,
                              "The sign-in was denied in the browser."),
    "ExpiredTokenException": (errors.ExpiredTokenError,
                              "The sign-in code expired before it was approved."),
    "InvalidGrantException": (errors.ExpiredTokenError,
                              "IAM Identity Center no longer accepts this sign-in."),
    "InvalidClientException": (errors.ExpiredTokenError,
                               "IAM Identity Center no longer knows this client registration."),
    "UnauthorizedException": (errors.ExpiredTokenError,
                              "IAM Identity Center refused the access token (expired or "
                              "signed out)."),
    "ForbiddenException": (errors.AccessDeniedError,
                           "This session is not assigned that role in that account."),
    "TooManyRequestsException": (errors.ThrottledError, "IAM Identity Center is throttling."),
}


def _translate(exc: Any, where: str) -> errors.TraycredsError | Pending:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code in ("AuthorizationPendingException", "SlowDownException"):
        return Pending("slow_down" if code.startswith("Slow") else "authorization_pending")
    kind, text = _OIDC_ERRORS.get(code, (errors.BadResponseError, f"{where} failed ({code})."))
    error = kind(text)
    error.sso_code = code  # type: ignore[attr-defined]  # for callers that branch on it
    return error


class SsoWire:
    """One region's sso-oidc and portal clients, made on first use."""

    def __init__(self, region: str, *, attempts: int = 2) -> None:
        self.region = region
        self._attempts = attempts
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                import botocore.session
                from botocore import UNSIGNED
                from botocore.config import Config
                from botocore.configprovider import ConstantProvider

                core = botocore.session.Session()
                core.get_component("config_store").set_config_provider(
                    "profile", ConstantProvider(None))
                for variable in ("config_file", "credentials_file"):
                    core.set_config_variable(variable, os.devnull)
                config = Config(signature_version=UNSIGNED, connect_timeout=CONNECT_TIMEOUT,
                                read_timeout=READ_TIMEOUT, region_name=self.region,
                                retries={"total_max_attempts": self._attempts,
                                         "mode": "standard"})
                self._clients[service] = core.create_client(service, config=config)
            return self._clients[service]

    def _call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        from botocore import exceptions as bx

        where = f"IAM Identity Center ({operation}, {self.region})"
        try:
            answer: dict[str, Any] = getattr(self._client(service), operation)(**params)
            return answer
        except bx.ClientError as exc:
            raise _translate(exc, where) from None
        except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError,
                bx.ConnectionClosedError) as exc:
            raise errors.NetworkError(f"Cannot reach {where}: {type(exc).__name__}. Check the "
                                      "network and the sso_region.") from None
        except (bx.ParamValidationError, bx.NoRegionError, bx.InvalidRegionError) as exc:
            raise errors.ConfigError(f"{where}: {exc}") from None

    # -- sso-oidc -------------------------------------------------------------------------
    def register_client(self, name: str, scopes: tuple[str, ...] = ()) -> Registration:
        params: dict[str, Any] = {"clientName": name, "clientType": "public"}
        if scopes:
            params["scopes"] = list(scopes)
        answer = self._call("sso-oidc", "register_client", **params)
        expires = datetime.fromtimestamp(int(answer["clientSecretExpiresAt"]), timezone.utc)
        return Registration(str(answer["clientId"]), str(answer["clientSecret"]), expires)

    def start_device_authorization(self, registration: Registration, start_url: str
                                   ) -> DeviceAuthorization:
        answer = self._call("sso-oidc", "start_device_authorization",
                            clientId=registration.client_id,
                            clientSecret=registration.client_secret, startUrl=start_url)
        page = answer.get("verificationUri")
        complete = answer.get("verificationUriComplete") or page
        expires_in, interval = answer.get("expiresIn", 600), answer.get("interval", 5)
        problem = device_answer_problem(answer.get("userCode"), (page, complete), expires_in,
                                        interval)
        if problem is not None or not isinstance(answer.get("deviceCode"), str):
            raise errors.SsoBadAnswerError(
                f"IAM Identity Center's StartDeviceAuthorization answer has "
                f"{problem or 'no device code'}; nothing was shown or opened. Check "
                "sso_start_url and sso_region (and AWS_ENDPOINT_URL_SSO_OIDC if set).")
        return DeviceAuthorization(answer["deviceCode"], answer["userCode"], str(page),
                                   str(complete), int(expires_in), int(interval))

    def create_token(self, client_id: str, client_secret: str, *,
                     device_code: str | None = None,
                     refresh_token: str | None = None) -> TokenAnswer:
        """One CreateToken: a device-code poll (may raise Pending) or a refresh."""
        params: dict[str, Any] = {"clientId": client_id, "clientSecret": client_secret}
        if refresh_token is not None:
            params.update(grantType="refresh_token", refreshToken=refresh_token)
        else:
            params.update(grantType=DEVICE_GRANT, deviceCode=device_code)
        answer = self._call("sso-oidc", "create_token", **params)
        expires_in = answer.get("expiresIn")
        if not isinstance(answer.get("accessToken"), str) or not isinstance(expires_in, int):
            raise errors.SsoBadAnswerError("IAM Identity Center's CreateToken answer has no "
                                          "access token or expiry.")
        refresh = answer.get("refreshToken")
        return TokenAnswer(answer["accessToken"], expires_in,
                           refresh if isinstance(refresh, str) else None)

    # -- the portal -----------------------------------------------------------------------
    def logout(self, access_token: str) -> None:
        """End the portal session the token belongs to (what `aws sso logout` does)."""
        self._call("sso", "logout", accessToken=access_token)

    def get_role_credentials(self, access_token: str, account: str, role: str) -> Credentials:
        answer = self._call("sso", "get_role_credentials", accessToken=access_token,
                            accountId=account, roleName=role)
        try:
            return role_credentials(answer.get("roleCredentials"))
        except ValueError as exc:
            raise errors.SsoBadAnswerError(
                f"IAM Identity Center's GetRoleCredentials answer is unusable: {exc}.") from None

    def _pages(self, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        following: str | None = None
        for _ in range(_LIST_PAGES):
            answer = self._call("sso", operation, **params,
                                **({"nextToken": following} if following else {}))
            items += [i for i in answer.get(key, []) if isinstance(i, dict)]
            following = answer.get("nextToken")
            if not following:
                break
        return items

    def list_accounts(self, access_token: str) -> list[dict[str, Any]]:
        return self._pages("list_accounts", "accountList", accessToken=access_token)

    def list_account_roles(self, access_token: str, account: str) -> list[dict[str, Any]]:
        return self._pages("list_account_roles", "roleList", accessToken=access_token,
                           accountId=account)


def expires_after(seconds: int, now: datetime) -> datetime:
    return now + timedelta(seconds=seconds)
