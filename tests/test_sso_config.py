"""IAM Identity Center in ~/.aws/config: sessions, SSO profiles as chain roots, clear errors,
and the token cache's file names and fields as botocore reads them (pure Python)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from traycreds.adapters.keystore import KeyStore
from traycreds.adapters.sts import BotoSts
from traycreds.app.engine import Engine
from traycreds.app.sources import by_profile
from traycreds.core.awsconfig import read_profiles
from traycreds.core.models import Credentials
from traycreds.core.roles import CHAINED_MAX_DURATION, build_catalog, resolve_chain
from traycreds.core.settings import Settings
from traycreds.core.sso import (
    parse_token,
    read_sso_sessions,
    token_cache_key,
    token_document,
)

URL = "https://d-9067000000.awsapps.com/start"
CONFIG = f"""
[sso-session corp]
sso_start_url = {URL}
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = DevAccess
region = us-east-2

[profile old]
sso_start_url = {URL}
sso_region = eu-west-1
sso_account_id = 111122223333
sso_role_name = ReadOnly

[profile deep]
role_arn = arn:aws:iam::444455556666:role/deep
source_profile = dev
duration_seconds = 7200

[sso-session half]
sso_start_url = {URL}

[profile lost]
sso_session = nowhere
sso_account_id = 111122223333
sso_role_name = DevAccess

[profile broken]
sso_session = half
sso_account_id = 111122223333
sso_role_name = DevAccess

[profile partial]
sso_session = corp
sso_account_id = 111122223333
"""


def _catalog() -> object:
    profiles, problems = read_profiles(CONFIG, "config")
    sessions, bad = read_sso_sessions(CONFIG, "config")
    return build_catalog(profiles, Settings(path="settings.toml"), problems + bad, sessions)


def test_sso_profiles_are_roles_and_roots() -> None:
    catalog = _catalog()
    dev = catalog.roles["dev"]  # type: ignore[attr-defined]
    assert dev.sso.session == "corp" and dev.sso.scopes == ("sso:account:access",)
    assert dev.account == "111122223333" and dev.role_name == "DevAccess"
    assert dev.region == "us-east-2"
    old = catalog.roles["old"]  # type: ignore[attr-defined]
    assert old.sso.session is None and old.sso.login_name == URL
    chain = resolve_chain(catalog, "dev")  # type: ignore[arg-type]
    assert chain.hops == () and chain.root == dev and chain.source_key == "dev"
    assert chain.role == dev


def test_a_role_chained_from_an_sso_role_is_capped_at_one_hour() -> None:
    chain = resolve_chain(_catalog(), "deep")  # type: ignore[arg-type]
    assert chain.source_key == "dev" and [h.role.name for h in chain.hops] == ["deep"]
    assert chain.hops[0].duration == CHAINED_MAX_DURATION
    assert "dev's role credentials" in (chain.hops[0].note or "")
    # AWS's role chaining: the console session made from it is capped at the hour too.
    assert chain.chained and not resolve_chain(_catalog(), "dev").chained  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "words"), [
    ("lost", "names no well-formed [sso-session nowhere]"),
    ("broken", "names no well-formed [sso-session half]"),
    ("partial", "lacks sso_role_name"),
])
def test_incomplete_profiles_are_refused_with_the_reason(name: str, words: str) -> None:
    catalog = _catalog()
    assert words in catalog.broken[name].message  # type: ignore[attr-defined]


def test_an_incomplete_session_is_reported() -> None:
    _, problems = read_sso_sessions(CONFIG, "config")
    assert [p.message for p in problems] == [
        "[sso-session half] is missing sso_region: the AWS CLI's 'aws configure "
        "sso-session' writes both."]


def test_cache_keys_are_botocores() -> None:
    assert token_cache_key("corp", URL) == hashlib.sha1(b"corp").hexdigest()
    assert token_cache_key(None, URL) == hashlib.sha1(URL.encode()).hexdigest()


def test_a_token_round_trips_and_hostile_ones_are_refused() -> None:
    data = {"startUrl": URL, "region": "eu-west-1", "accessToken": "aoa" + "x" * 40,
            "expiresAt": "2030-01-02T03:04:05Z", "clientId": "c", "clientSecret": "s",
            "registrationExpiresAt": "2030-02-01T00:00:00UTC", "refreshToken": "r"}
    token = parse_token(data)
    assert token.expires_at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert token.can_refresh(datetime(2029, 1, 1, tzinfo=timezone.utc))
    assert "aoa" not in repr(token) and "'s'" not in repr(token)
    assert token_document(token)["registrationExpiresAt"] == "2030-02-01T00:00:00Z"
    for bad in ({**data, "accessToken": "a\x1b[2Jb"}, {**data, "expiresAt": 5},
                {**data, "accessToken": "x" * 9000}, [data]):
        with pytest.raises(ValueError):
            parse_token(bad)


class _Root:
    """An IAM Identity Center root's port: role credentials, as GetRoleCredentials gives."""

    def role_credentials(self, target: object) -> Credentials:
        return Credentials("ASIA" + "ROOTEXAMPLE12345", "s" * 40, "t" * 200,
                           datetime.now(timezone.utc) + timedelta(hours=1))


def test_mfa_after_an_sso_root_goes_with_assume_role(sts_errors: Any, tmp_path: Any) -> None:
    """GetSessionToken refuses role credentials, so the code is AssumeRole's own."""
    profiles, _ = read_profiles(CONFIG.replace(
        "duration_seconds = 7200", "mfa_serial = arn:aws:iam::444455556666:mfa/me\n"
        f"endpoint_url = {sts_errors.url}"), "config")
    sessions, _ = read_sso_sessions(CONFIG, "config")
    catalog = build_catalog(profiles, Settings(path="settings.toml"), [], sessions)
    keys = KeyStore(tmp_path / "sources.json")
    engine = Engine(catalog, keys, BotoSts(), lambda request: "123456", env={},
                    sources=by_profile(catalog.roles, keys, _Root()))
    engine.issue("deep")
    assert [(r.action, r.params.get("SerialNumber"), r.params.get("TokenCode"))
            for r in sts_errors.requests] == [
        ("AssumeRole", "arn:aws:iam::444455556666:mfa/me", "123456")]


def test_signing_in_to_a_broken_session_says_what_is_wrong_with_it() -> None:
    from traycreds.app.sso import target_for
    from traycreds.core.errors import ConfigError, UnknownRoleError

    with pytest.raises(ConfigError, match=r"\[sso-session half\] is missing"):
        target_for(_catalog(), "half")  # type: ignore[arg-type]
    with pytest.raises(UnknownRoleError, match="no IAM Identity Center session named 'none'"):
        target_for(_catalog(), "none")  # type: ignore[arg-type]
