"""The IAM Identity Center token cache shared with the AWS CLI v2 and botocore.

``~/.aws/sso/cache/<sha1>.json`` (botocore's ``SSOTokenProvider._SSO_TOKEN_CACHE_DIR``, which
has no override either): the token file is named by the sso-session (or legacy start URL),
the client registration file by ``core.sso.registration_cache_key``. Files are written
atomically and 0600; what is read was written by other programs and is checked before use.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from traycreds.adapters import atomic, paths
from traycreds.core.errors import ConfigError, FileError
from traycreds.core.models import SsoTarget
from traycreds.core.sso import (
    SsoToken,
    iso,
    parse_time,
    parse_token,
    registration_cache_key,
    token_cache_key,
    token_document,
)

log = logging.getLogger(__name__)

CACHE_FILE_LIMIT = 64 * 1024  # a token file is about 3 KB


def cache_dir() -> Path:
    return Path("~/.aws/sso/cache").expanduser()


def token_path(target: SsoTarget) -> Path:
    return cache_dir() / f"{token_cache_key(target.session, target.start_url)}.json"


def registration_path(target: SsoTarget) -> Path:
    key = registration_cache_key(target.session, target.start_url, target.region, target.scopes)
    return cache_dir() / f"{key}.json"


def _read_json(path: Path) -> Any | None:
    """The file's JSON; None when absent or unusable (logged without its content)."""
    try:
        raw = paths.read_bounded(path, CACHE_FILE_LIMIT, ConfigError)
    except (ConfigError, OSError) as exc:
        log.warning("ignoring SSO cache file %s: %s", path.name, getattr(exc, "message", exc))
        return None
    if raw is None:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        log.warning("ignoring SSO cache file %s: not JSON", path.name)
        return None


def load_token(target: SsoTarget) -> SsoToken | None:
    """The cached token for the target's session, or None (absent, damaged, another URL)."""
    path = token_path(target)
    data = _read_json(path)
    if data is None:
        return None
    try:
        token = parse_token(data)
    except ValueError as exc:
        log.warning("ignoring SSO token file %s: %s", path.name, exc)
        return None
    if token.start_url and token.start_url != target.start_url:
        log.warning("ignoring SSO token file %s: it is for another start URL", path.name)
        return None
    return token


def refresh_lock(target: SsoTarget) -> contextlib.AbstractContextManager[None]:
    """Held while one traycreds process spends the session's refresh token: IAM Identity
    Center rotates it, so a second process refreshing with the same one would be refused
    and the person asked to sign in again for nothing. The lock is a hidden file beside the
    token (inifile's, as for the credentials file)."""
    from traycreds.adapters import inifile

    return inifile.locked(token_path(target))


def save_token(target: SsoTarget, token: SsoToken) -> None:
    path = token_path(target)
    atomic.ensure_folder(path.parent)
    atomic.write_atomic(path, json.dumps(token_document(token)), mode=0o600, private=True)
    log.info("saved the IAM Identity Center token for %s (expires %s)", target.login_name,
             iso(token.expires_at))


def forget_token(target: SsoTarget) -> bool:
    """Remove the token file (sign out locally). True when there was one."""
    try:
        token_path(target).unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise FileError(f"Cannot remove {token_path(target)}: {exc.strerror}.") from None
    return True


def load_registration(target: SsoTarget, now: datetime) -> tuple[str, str, datetime] | None:
    """(client id, secret, expiry) of the CLI-compatible client registration, if still valid."""
    data = _read_json(registration_path(target))
    if not isinstance(data, dict) or "accessToken" in data:
        return None
    try:
        client, secret = data["clientId"], data["clientSecret"]
        expires = parse_time(data["expiresAt"])
    except (KeyError, ValueError):
        return None
    if not (isinstance(client, str) and isinstance(secret, str) and client and secret
            and len(client) < 1024 and len(secret) < 8192):
        return None
    # A day's margin: a registration must outlive the sign-in that starts with it.
    return (client, secret, expires) if (expires - now).total_seconds() > 86400 else None


def save_registration(target: SsoTarget, client: str, secret: str, expires: datetime) -> None:
    path = registration_path(target)
    atomic.ensure_folder(path.parent)
    doc: dict[str, Any] = {"clientId": client, "clientSecret": secret,
                           "expiresAt": iso(expires),
                           "receivedAt": iso(datetime.now(timezone.utc))}
    if target.scopes:
        doc["scopes"] = list(target.scopes)
    atomic.write_atomic(path, json.dumps(doc), mode=0o600, private=True)


def listing_path(target: SsoTarget) -> Path:
    """traycreds' own cache of the accounts and roles a session may use (no secrets)."""
    return paths.data_dir() / "sso" / f"{token_cache_key(target.session, target.start_url)}.json"


def load_listing(target: SsoTarget) -> Any | None:
    return _read_json(listing_path(target))


def save_listing(target: SsoTarget, data: Any) -> None:
    path = listing_path(target)
    atomic.ensure_folder(path.parent)
    atomic.write_atomic(path, json.dumps(data), mode=0o600)


def remove_listing(target: SsoTarget) -> None:
    with contextlib.suppress(FileNotFoundError):
        listing_path(target).unlink()
