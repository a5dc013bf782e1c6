"""IAM Identity Center for every front end: sign-in, the session's token, roles, listings.

``sign_in`` runs the OIDC device flow (RegisterClient, StartDeviceAuthorization, the browser,
CreateToken polls) and stores the token where the AWS CLI v2 and botocore look for it.
``IdentityCenter.role_credentials`` is what an SSO role's Source calls: the cached token
(refreshed with its refresh token inside botocore's 15-minute window), then
GetRoleCredentials. ``accounts`` lists what the session may use, cached in traycreds' data
folder until ``refresh=True``. Tokens are never logged or put in messages.
"""

from __future__ import annotations

import logging
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from traycreds.adapters import ssocache
from traycreds.adapters.ssowire import Pending, Registration, SsoWire
from traycreds.core.errors import (
    CancelledError,
    ConfigError,
    ExpiredTokenError,
    NetworkError,
    SsoSignInRequiredError,
    TraycredsError,
    UnknownRoleError,
)
from traycreds.core.models import Credentials, SsoTarget, utc_now
from traycreds.core.roles import Catalog
from traycreds.core.sso import SsoToken, iso

log = logging.getLogger(__name__)

REFRESH_WINDOW = timedelta(minutes=15)  # botocore's SSOTokenProvider._REFRESH_WINDOW
SIGN_IN_LIMIT = 600.0  # seconds a sign-in may wait for the browser at most


@dataclass(frozen=True)
class SignInPrompt:
    """What the person must see: the code to compare and where to approve it."""

    session: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int


@dataclass(frozen=True)
class SsoAccount:
    account_id: str
    name: str
    email: str
    roles: tuple[str, ...]


def target_for(catalog: Catalog, name: str) -> SsoTarget:
    """The session ``name`` (an [sso-session]) or the one an SSO profile ``name`` uses.

    The target's account and role are empty for a bare session: sign-in needs only its URL.
    """
    session = catalog.sessions.get(name)
    if session is not None:
        return SsoTarget(session.name, session.start_url, session.region, "", "",
                         session.scopes)
    role = catalog.roles.get(name)
    if role is not None and role.sso is not None:
        return role.sso
    broken = [p for p in catalog.problems if p.message.startswith(f"[sso-session {name}]")]
    if broken:  # the section is there but unusable: say what is wrong, not that it is missing
        raise ConfigError(broken[0].describe(), title="IAM Identity Center session unusable")
    known = sorted({*catalog.sessions, *(r.name for r in catalog.roles.values()
                                         if r.sso is not None and r.sso.session is None)})
    raise UnknownRoleError(
        f"There is no IAM Identity Center session named {name!r}. Known: "
        f"{', '.join(known) or 'none'}. Add an [sso-session {name}] section to ~/.aws/config "
        "(aws configure sso-session writes one).")


def _not_signed_in(target: SsoTarget, why: str) -> SsoSignInRequiredError:
    return SsoSignInRequiredError(
        f"{why} Run: traycreds login {target.login_name} (or aws sso login).")


def _stored(target: SsoTarget, registration: Registration, answer: Any,
            now: datetime) -> SsoToken:
    return SsoToken(target.start_url, target.region, answer.access_token,
                    now + timedelta(seconds=answer.expires_in), answer.refresh_token,
                    registration.client_id, registration.client_secret,
                    registration.expires_at)


def _registration(target: SsoTarget, wire: SsoWire, now: datetime) -> Registration:
    """The registration the AWS CLI v2 would use, or a new one saved where it looks."""
    found = ssocache.load_registration(target, now)
    if found is not None:
        return Registration(*found)
    name = f"botocore-client-{target.session or int(now.timestamp())}"
    registration = wire.register_client(name, target.scopes)
    ssocache.save_registration(target, registration.client_id, registration.client_secret,
                               registration.expires_at)
    return registration


def sign_in(target: SsoTarget, show: Callable[[SignInPrompt], None], *,
            open_browser: bool = True, wire: SsoWire | None = None,
            cancelled: Callable[[], bool] = lambda: False,
            limit: float = SIGN_IN_LIMIT, sleep: Callable[[float], None] = time.sleep,
            clock: Callable[[], datetime] = utc_now) -> SsoToken:
    """The device flow. ``show`` gets the code and URL before the browser opens; the poll
    honours the interval, slow_down (five seconds more each time), the code's expiry and
    ``limit``. Raises AccessDeniedError, ExpiredTokenError, CancelledError, NetworkError."""
    wire = wire or SsoWire(target.region)
    registration = _registration(target, wire, clock())
    device = wire.start_device_authorization(registration, target.start_url)
    show(SignInPrompt(target.login_name, device.user_code, device.verification_uri,
                      device.verification_uri_complete, device.expires_in))
    if open_browser:
        try:
            webbrowser.open(device.verification_uri_complete, new=2)
        except webbrowser.Error:
            log.info("no browser could be opened; the URL was shown instead")
    interval = float(device.interval)
    ends = time.monotonic() + min(limit, float(device.expires_in))
    while True:
        if cancelled():
            raise CancelledError("Sign-in cancelled.")
        if time.monotonic() + interval > ends:
            raise ExpiredTokenError("The sign-in code expired before it was approved in the "
                                    f"browser. Run: traycreds login {target.login_name}")
        sleep(interval)
        try:
            answer = wire.create_token(registration.client_id, registration.client_secret,
                                       device_code=device.device_code)
        except Pending as pending:
            if pending.code == "slow_down":
                interval += 5
            continue
        token = _stored(target, registration, answer, clock())
        ssocache.save_token(target, token)
        log.info("signed in to IAM Identity Center %s", target.login_name)
        return token


def sign_out(target: SsoTarget, wire: SsoWire | None = None) -> bool:
    """End the portal session (Logout, as `aws sso logout` does) and forget the session's
    token here and for the AWS CLI. The token is forgotten even when the portal cannot be
    reached or refuses (it may have expired): its session then ends at its expiry. True
    when a token was removed."""
    token = ssocache.load_token(target)
    if token is not None and token.expires_at > utc_now():
        try:
            (wire or SsoWire(target.region)).logout(token.access_token)
        except TraycredsError as error:
            log.info("the portal's Logout for %s failed: %s", target.login_name, error.title)
    ssocache.remove_listing(target)
    return ssocache.forget_token(target)


class IdentityCenter:
    """Tokens and role credentials for every session; one lock per session, so a refresh
    (which spends the refresh token) happens once."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._wires: dict[str, SsoWire] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _wire(self, region: str) -> SsoWire:
        with self._guard:
            return self._wires.setdefault(region, SsoWire(region))

    def _lock(self, target: SsoTarget) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(target.login_name, threading.Lock())

    def token(self, target: SsoTarget) -> SsoToken:
        """The session's access token, refreshed when inside the window and refreshable."""
        with self._lock(target):
            token = ssocache.load_token(target)
            now = self._clock()
            if token is None:
                raise _not_signed_in(target, f"Not signed in to IAM Identity Center "
                                             f"{target.login_name!r}.")
            if token.expires_at - now > REFRESH_WINDOW:
                return token
            if token.can_refresh(now):
                try:
                    with ssocache.refresh_lock(target):
                        # Another process may have refreshed while this one waited.
                        again = ssocache.load_token(target) or token
                        if again.expires_at - now > REFRESH_WINDOW:
                            return again
                        return self._refresh(target, again, now)
                except (ExpiredTokenError, NetworkError) as error:
                    log.info("token refresh for %s failed: %s", target.login_name, error.title)
            if token.expires_at > now:
                return token
            raise _not_signed_in(target, f"The IAM Identity Center sign-in for "
                                         f"{target.login_name!r} expired at "
                                         f"{iso(token.expires_at)}.")

    def _refresh(self, target: SsoTarget, token: SsoToken, now: datetime) -> SsoToken:
        assert token.client_id and token.client_secret and token.refresh_token
        answer = self._wire(target.region).create_token(
            token.client_id, token.client_secret, refresh_token=token.refresh_token)
        fresh = replace(token, access_token=answer.access_token,
                        expires_at=now + timedelta(seconds=answer.expires_in),
                        refresh_token=answer.refresh_token or token.refresh_token,
                        start_url=target.start_url, region=target.region)
        ssocache.save_token(target, fresh)
        log.info("refreshed the IAM Identity Center token for %s", target.login_name)
        return fresh

    def role_credentials(self, target: SsoTarget) -> Credentials:
        token = self.token(target)
        try:
            return self._wire(target.region).get_role_credentials(
                token.access_token, target.account_id, target.role_name)
        except ExpiredTokenError:  # revoked or signed out elsewhere: the cache is stale
            raise _not_signed_in(target, "IAM Identity Center refused the cached sign-in for "
                                         f"{target.login_name!r}.") from None

    def accounts(self, target: SsoTarget, *, refresh: bool = False) -> list[SsoAccount]:
        """Accounts and roles the session may use: from traycreds' cache unless ``refresh``
        (or none is cached), else ListAccounts and ListAccountRoles, then cached."""
        if not refresh and (cached := _listing(ssocache.load_listing(target))) is not None:
            return cached
        token = self.token(target)
        wire = self._wire(target.region)
        found = []
        for account in wire.list_accounts(token.access_token):
            number = str(account.get("accountId", ""))
            roles = wire.list_account_roles(token.access_token, number)
            found.append(SsoAccount(number, str(account.get("accountName", "")),
                                    str(account.get("emailAddress", "")),
                                    tuple(sorted(str(r.get("roleName", "")) for r in roles))))
        found.sort(key=lambda a: (a.name.lower(), a.account_id))
        ssocache.save_listing(target, {"listedAt": iso(self._clock()), "accounts": [
            {"accountId": a.account_id, "accountName": a.name, "emailAddress": a.email,
             "roles": list(a.roles)} for a in found]})
        return found


def _listing(data: Any) -> list[SsoAccount] | None:
    """The cached listing, checked (None if absent or damaged: it is listed again)."""
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
        return None
    found = []
    for item in data["accounts"]:
        if not isinstance(item, dict) or not isinstance(item.get("roles"), list):
            return None
        values = [item.get(k) for k in ("accountId", "accountName", "emailAddress")]
        if not all(isinstance(v, str) for v in values) \
                or not all(isinstance(r, str) for r in item["roles"]):
            return None
        found.append(SsoAccount(str(values[0]), str(values[1]), str(values[2]),
                                tuple(item["roles"])))
    return found


def cached_accounts(target: SsoTarget) -> list[SsoAccount] | None:
    """The listing cached by ``IdentityCenter.accounts``, checked; None when there is none.
    Reads one file: the tray's reload uses it without a token or the network."""
    return _listing(ssocache.load_listing(target))
