"""IAM Identity Center (SSO) in the AWS CLI v2's words: sessions, SSO profiles, the token cache.

``[sso-session NAME]`` holds ``sso_start_url``, ``sso_region`` and optionally
``sso_registration_scopes``; a profile with ``sso_account_id`` and ``sso_role_name`` names a
role in an account through ``sso_session``, or (the legacy form) through its own
``sso_start_url`` and ``sso_region``. Such a profile is a chain's root: its credentials come
from GetRoleCredentials, and other roles may name it as their ``source_profile``.

The token cache file names and fields are botocore's (``utils.SSOTokenLoader``,
``tokens.SSOTokenProvider``) and the AWS CLI v2's (its registration cache), so a sign-in made
by either tool serves the other. Standard library only: this is core.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from traycreds.core import ini
from traycreds.core.models import Credentials, Problem, SsoTarget

SSO_KEYS = ("sso_session", "sso_start_url", "sso_region", "sso_account_id", "sso_role_name")
_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_START_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d+$")
_SESSION_NAME = re.compile(r"^[\w.@+=,-]{1,64}$")
_TOKEN_LIMIT = 8192  # an access or refresh token (AWS's are about 1-2 KB)


@dataclass(frozen=True)
class SsoSession:
    name: str
    start_url: str
    region: str
    scopes: tuple[str, ...] = ()
    path: str = ""
    line: int = 0


def session_name(section: str) -> str | None:
    """``sso-session NAME`` -> NAME (None for other sections)."""
    kind, _, name = section.partition(" ")
    name = name.strip().strip('"')
    return name if kind == "sso-session" and name else None


def _session_problem(path: str, line: int, name: str, values: Mapping[str, str]) -> str | None:
    if not _SESSION_NAME.match(name):
        return f"[sso-session {name}]: the name must be 1-64 letters, digits or ._@+=,-."
    missing = [k for k in ("sso_start_url", "sso_region") if not values.get(k)]
    if missing:
        return (f"[sso-session {name}] is missing {' and '.join(missing)}: "
                "the AWS CLI's 'aws configure sso-session' writes both.")
    if not _START_URL.match(values["sso_start_url"]):
        return (f"[sso-session {name}]: sso_start_url {values['sso_start_url']!r} is not a URL "
                "(https://d-1234567890.awsapps.com/start).")
    if not _REGION.match(values["sso_region"]):
        return f"[sso-session {name}]: sso_region {values['sso_region']!r} is not a region."
    return None


def read_sso_sessions(text: str, path: str) -> tuple[dict[str, SsoSession], list[Problem]]:
    """Every well-formed ``[sso-session NAME]`` of the config file, and what is wrong with
    the others (an incomplete session is reported, and profiles using it are refused)."""
    sessions: dict[str, SsoSession] = {}
    problems: list[Problem] = []
    for section in ini.parse(text).sections:
        name = session_name(section.name)
        if name is None:
            continue
        values = section.values()
        if (error := _session_problem(path, section.start + 1, name, values)) is not None:
            problems.append(Problem(path, section.start + 1, error,
                                    "Fix the section; profiles using it cannot be used."))
            continue
        scopes = tuple(s.strip() for s in values.get("sso_registration_scopes", "").split(",")
                       if s.strip())
        sessions[name] = SsoSession(name, values["sso_start_url"], values["sso_region"],
                                    scopes, path, section.start + 1)
    return sessions, problems


def is_sso_profile(values: Mapping[str, str]) -> bool:
    """A profile naming an SSO role (not one that only names a session for its token)."""
    return "role_arn" not in values and ("sso_account_id" in values or "sso_role_name" in values)


def sso_target(name: str, values: Mapping[str, str], sessions: Mapping[str, SsoSession]
               ) -> SsoTarget | str:
    """The SSO role a profile names, or what is wrong with it (a sentence)."""
    missing = [k for k in ("sso_account_id", "sso_role_name") if not values.get(k)]
    if missing:
        return (f"profile {name!r} is an IAM Identity Center profile but lacks "
                f"{' and '.join(missing)}.")
    account, role = values["sso_account_id"], values["sso_role_name"]
    if not _ACCOUNT.match(account):
        return f"sso_account_id {account!r} is not a 12-digit AWS account id."
    if not _ROLE_NAME.match(role):
        return f"sso_role_name {role!r} is not a permission set role name."
    wanted = values.get("sso_session")
    if wanted:
        session = sessions.get(wanted)
        if session is None:
            return (f"sso_session {wanted!r} names no well-formed [sso-session {wanted}] "
                    "section in the config file.")
        for key, theirs in (("sso_start_url", session.start_url),
                            ("sso_region", session.region)):
            if values.get(key) and values[key] != theirs:
                return f"{key} differs from [sso-session {wanted}]'s; keep it in one place."
        return SsoTarget(wanted, session.start_url, session.region, account, role,
                         session.scopes)
    url, region = values.get("sso_start_url"), values.get("sso_region")
    if not url or not region:
        return ("sso_session is missing: name an [sso-session] section (or give the legacy "
                "sso_start_url and sso_region).")
    if not _START_URL.match(url):
        return f"sso_start_url {url!r} is not a URL."
    if not _REGION.match(region):
        return f"sso_region {region!r} is not an AWS region name."
    return SsoTarget(None, url, region, account, role)


# -- the token cache ------------------------------------------------------------------------
def token_cache_key(session: str | None, start_url: str) -> str:
    """botocore's SSOTokenLoader: sha1 of the session name, or of the start URL (legacy)."""
    return hashlib.sha1((session if session is not None else start_url).encode()).hexdigest()


def registration_cache_key(session: str | None, start_url: str, region: str,
                           scopes: tuple[str, ...]) -> str:
    """The AWS CLI v2's client registration file (BaseSSOTokenFetcher._registration_cache_key)."""
    args = {"tool": "botocore", "startUrl": start_url, "region": region,
            "scopes": list(scopes) or None, "session_name": session}
    return hashlib.sha1(json.dumps(args, sort_keys=True).encode()).hexdigest()


def iso(moment: datetime) -> str:
    """The CLI's timestamps: UTC with a Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time as the CLI and botocore write them (Z, +00:00 or UTC suffix)."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("not a timestamp")
    text = value.strip().replace("UTC", "Z")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class SsoToken:
    """An access token from the cache. Secrets stay out of repr."""

    start_url: str
    region: str
    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    registration_expires_at: datetime | None = None

    def can_refresh(self, now: datetime) -> bool:
        return bool(self.refresh_token and self.client_id and self.client_secret
                    and self.registration_expires_at and self.registration_expires_at > now)


def _text(data: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > _TOKEN_LIMIT \
            or any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError(f"field {key} is missing or malformed")
    return value


def parse_token(data: Any) -> SsoToken:
    """A token file's JSON, checked: the file is shared with other programs (hostile)."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    registration = data.get("registrationExpiresAt")
    return SsoToken(
        start_url=_text(data, "startUrl", required=False) or "",
        region=_text(data, "region", required=False) or "",
        access_token=str(_text(data, "accessToken")),
        expires_at=parse_time(data.get("expiresAt")),
        refresh_token=_text(data, "refreshToken", required=False),
        client_id=_text(data, "clientId", required=False),
        client_secret=_text(data, "clientSecret", required=False),
        registration_expires_at=parse_time(registration) if registration else None,
    )


def token_document(token: SsoToken) -> dict[str, str]:
    """The token file's JSON, with the fields botocore's SSOTokenProvider writes."""
    doc = {"startUrl": token.start_url, "region": token.region,
           "accessToken": token.access_token, "expiresAt": iso(token.expires_at)}
    if token.client_id and token.client_secret and token.registration_expires_at:
        doc.update(clientId=token.client_id, clientSecret=token.client_secret,
                   registrationExpiresAt=iso(token.registration_expires_at))
    if token.refresh_token:
        doc["refreshToken"] = token.refresh_token
    return doc


def role_credentials(answer: Any) -> Credentials:
    """GetRoleCredentials' ``roleCredentials`` (expiration in epoch milliseconds)."""
    if not isinstance(answer, dict):
        raise ValueError("roleCredentials is missing")
    millis = answer.get("expiration")
    if not isinstance(millis, int) or isinstance(millis, bool) or millis <= 0:
        raise ValueError("expiration is missing or malformed")
    return Credentials(str(_text(answer, "accessKeyId")), str(_text(answer, "secretAccessKey")),
                       _text(answer, "sessionToken"),
                       datetime.fromtimestamp(millis / 1000, timezone.utc))


# What StartDeviceAuthorization may answer before any of it is shown or opened: AWS's user
# codes are letters and digits in groups ("ABCD-EFGH"); its pages are https. Anything else
# (a terminal escape in the code, a file: or javascript: address) is refused, never printed.
_USER_CODE = re.compile(r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")
_PAGE = re.compile(r"^https://[^\s/?#@]+(?:[/?#][!-~]*)?$")
_LOOPBACK_PAGE = re.compile(r"^http://(?:127\.0\.0\.1|\[::1\]|localhost)(?::\d+)?"
                            r"(?:[/?#][!-~]*)?$")


def device_answer_problem(user_code: object, pages: tuple[object, ...], expires_in: object,
                          interval: object) -> str | None:
    """What is wrong with a StartDeviceAuthorization answer, or None. Pages must be https
    (http only to loopback: a test's stand-in), at most 2 KiB of printable ASCII."""
    if not isinstance(user_code, str) or len(user_code) > 32 or not _USER_CODE.match(user_code):
        return "a user code that is not letters and digits"
    for page in pages:
        if not isinstance(page, str) or len(page) > 2048 or not (
                _PAGE.match(page) or _LOOPBACK_PAGE.match(page)):
            return "a verification page that is not an https address"
    if not isinstance(expires_in, int) or not 1 <= expires_in <= 86400:
        return "a code lifetime out of range"
    if not isinstance(interval, int) or not 1 <= interval <= 300:
        return "a polling interval out of range"
    return None
