"""The provider chain against a real STS/IAM (moto's server, IAM auth enforced) and the
real keyring; STS error codes moto cannot produce come from a local endpoint that answers
with STS's own XML error documents, so botocore's parsing and retries run for real."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from traycreds.adapters.keystore import KeyStore
from traycreds.adapters.sts import BotoSts
from traycreds.app.engine import Engine
from traycreds.core import errors
from traycreds.core.models import Credentials, MfaRequest, Role
from traycreds.core.roles import Catalog

pytestmark = pytest.mark.usefixtures("secret_service")


class CountingSts(BotoSts):
    """The real adapter, counting calls per operation."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def _call(self, creds: Credentials, endpoint: Any, operation: str, **kw: Any) -> Any:
        self.calls.append(operation)
        return super()._call(creds, endpoint, operation, **kw)


class Prompt:
    def __init__(self, *codes: str) -> None:
        self.codes = list(codes)
        self.requests: list[MfaRequest] = []

    def __call__(self, request: MfaRequest) -> str:
        self.requests.append(request)
        return self.codes.pop(0)


def role(name: str, arn: str, source: str, url: str, **kw: Any) -> Role:
    return Role(name=name, role_arn=arn, source=source, origin="test", endpoint_url=url, **kw)


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "sources.json")


def make_engine(roles: list[Role], keys: KeyStore, prompt: Callable[[MfaRequest], str],
                sts: BotoSts | None = None) -> Engine:
    catalog = Catalog(roles={r.name: r for r in roles})
    return Engine(catalog, keys, sts or BotoSts(), prompt, env={}, session_name="tc-test")


def no_prompt(request: MfaRequest) -> str:
    raise AssertionError(f"unexpected MFA prompt for {request.role}")


def test_assume_role_and_whoami(moto: Any, keys: KeyStore) -> None:
    user = moto.make_user()
    arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, arn)
    keys.put("me", Credentials(user.key_id, user.secret))
    engine = make_engine([role("r", arn, "me", moto.url, duration_seconds=1800,
                               session_name="alice")], keys, no_prompt)
    issued = engine.issue("r")
    creds = issued.credentials
    assert creds.access_key_id.startswith("ASIA") and creds.session_token
    assert creds.expiration is not None and creds.expiration.tzinfo is timezone.utc
    left = creds.seconds_left(datetime.now(timezone.utc)) or 0
    assert 1700 < left <= 1800
    identity = engine.identity("r")
    assert identity.arn.endswith(f":assumed-role/{arn.rsplit('/', 1)[1]}/alice")
    # Held credentials are reused, not fetched again.
    assert engine.issue("r").credentials == creds
    assert engine.issue("r", fresh=True).credentials != creds


def test_one_mfa_prompt_for_every_role_behind_the_device(keys: KeyStore,
                                                         sts_errors: Any) -> None:
    # moto's GetSessionToken returns a fixed key its own IAM auth then rejects, so the MFA
    # flow runs against the local STS endpoint that answers with real STS documents.
    sts_errors.respond_success()
    serial = "arn:aws:iam::111122223333:mfa/me"
    keys.put("me", Credentials("AKID" + "Q" * 16, "s" * 40))
    sts, prompt = CountingSts(), Prompt("123456")
    engine = make_engine([role(f"r{i}", f"arn:aws:iam::111122223333:role/R{i}", "me",
                               sts_errors.url, mfa_serial=serial) for i in range(3)],
                         keys, prompt, sts)
    for name in ("r0", "r1", "r2"):
        engine.issue(name)
    assert [(r.role, r.serial) for r in prompt.requests] == [("r0", serial)]
    assert sts.calls == ["get_session_token"] + ["assume_role"] * 3
    assert [p["TokenCode"] for p in sts_errors.params_of("GetSessionToken")] == ["123456"]
    # The roles were assumed with the MFA session, so AssumeRole carries no code itself.
    assert all("TokenCode" not in p for p in sts_errors.params_of("AssumeRole"))


def test_mfa_code_shape_and_reuse_are_caught_before_aws(keys: KeyStore,
                                                         sts_errors: Any) -> None:
    sts_errors.respond_success()
    keys.put("me", Credentials("AKID" + "Q" * 16, "s" * 40))
    arn, serial = "arn:aws:iam::111122223333:role/R", "arn:aws:iam::111122223333:mfa/me"
    prompt = Prompt("12345", "654321", "654321", "111111")
    engine = make_engine([role("a", arn, "me", sts_errors.url, mfa_serial=serial),
                          role("b", arn, "a", sts_errors.url, mfa_serial=serial)], keys, prompt)
    engine.issue("a")  # "12345" refused, "654321" used for GetSessionToken
    engine.issue("b")  # later hop: AssumeRole with a code; "654321" again is refused
    problems = [r.problem for r in prompt.requests]
    assert problems[0] is None and "six digits" in (problems[1] or "")
    assert "already used" in (problems[3] or "")
    sent = [p.get("TokenCode") for p in sts_errors.params_of("GetSessionToken")
            + sts_errors.params_of("AssumeRole")]
    assert sorted(c for c in sent if c) == ["111111", "654321"]


def test_chained_hop_is_capped_at_one_hour(moto: Any, keys: KeyStore) -> None:
    user = moto.make_user()
    first = moto.make_role(trusted_arn=user.arn, max_session_duration=43200)
    moto.allow_assume(user, first)
    second = moto.make_role(trusted_arn=first)
    moto.allow_assume(first.rsplit("/", 1)[1], second)
    keys.put("me", Credentials(user.key_id, user.secret))
    engine = make_engine([role("base", first, "me", moto.url, duration_seconds=43200),
                          role("hop", second, "base", moto.url, duration_seconds=7200)],
                         keys, no_prompt)
    issued = engine.issue("hop")
    left = issued.credentials.seconds_left(datetime.now(timezone.utc)) or 0
    assert 3500 < left <= 3600
    assert any("role chaining" in note for note in issued.notes)
    assert issued.chained and not engine.issue("base").chained  # the console caps by it
    assert engine.identity("hop").arn.split("/")[1] == second.rsplit("/", 1)[1]
    # The intermediate role is held: a second chained role reuses it.
    assert engine.held("base") is not None


def test_unknown_key_wrong_secret_and_denied_role(moto: Any, keys: KeyStore) -> None:
    user = moto.make_user()
    arn = moto.make_role(trusted_arn=user.arn)
    engine = make_engine([role("r", arn, "me", moto.url)], keys, no_prompt)
    keys.put("me", Credentials(user.key_id, user.secret))
    with pytest.raises(errors.AccessDeniedError) as denied:
        engine.issue("r")
    assert arn in denied.value.message and user.key_id in denied.value.message
    keys.put("me", Credentials(user.key_id, "x" * 40))
    engine.forget()
    with pytest.raises(errors.WrongSecretError, match="secret access key is wrong"):
        engine.issue("r")
    keys.put("me", Credentials("AKID" + "Z" * 16, user.secret))
    engine.forget()
    with pytest.raises(errors.InvalidKeyError, match="deleted or deactivated"):
        engine.issue("r")


_WRONG_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code."


def test_a_code_aws_refuses_is_asked_again_with_the_reason(keys: KeyStore,
                                                           sts_errors: Any) -> None:
    sts_errors.respond("AccessDenied", _WRONG_CODE, status=403, times=1)
    sts_errors.respond_success()
    keys.put("me", Credentials("AKID" + "Q" * 16, "s" * 40))
    serial = "arn:aws:iam::111122223333:mfa/me"
    sts, prompt = CountingSts(), Prompt("111111", "222222")
    engine = make_engine([role("r", "arn:aws:iam::111122223333:role/R", "me",
                               sts_errors.url, mfa_serial=serial)], keys, prompt, sts)
    engine.issue("r")
    problems = [r.problem for r in prompt.requests]
    assert problems[0] is None and len(problems) == 2
    assert (problems[1] or "").startswith("AWS refused that code:")
    assert "single-use" in (problems[1] or "")
    # One MFA session, started with the second code; the role assumed once with it.
    assert sts.calls == ["get_session_token"] * 2 + ["assume_role"]
    assert [p["TokenCode"] for p in sts_errors.params_of("GetSessionToken")] == [
        "111111", "222222"]


def test_three_refused_codes_stop_with_advice(keys: KeyStore, sts_errors: Any) -> None:
    keys.put("me", Credentials("AKID" + "Q" * 16, "s" * 40))
    serial = "arn:aws:iam::111122223333:mfa/me"
    prompt = Prompt("111111", "222222", "333333", "444444")
    engine = make_engine([role("a", "arn:aws:iam::111122223333:role/A", "me",
                               sts_errors.url),
                          role("b", "arn:aws:iam::111122223333:role/B", "a",
                               sts_errors.url, mfa_serial=serial)], keys, prompt)
    sts_errors.respond_success(times=1)  # role a; then every code for b's hop is refused
    sts_errors.respond("AccessDenied", _WRONG_CODE, status=403)
    with pytest.raises(errors.MfaError) as info:
        engine.issue("b")
    assert len(prompt.requests) == 3  # three tries, not four
    assert all((r.problem or "").startswith("AWS refused") for r in prompt.requests[1:])
    assert "after 3 tries" in info.value.message and "clock" in info.value.message
    assert [p["TokenCode"] for p in sts_errors.params_of("AssumeRole") if "TokenCode" in p] == [
        "111111", "222222", "333333"]


def test_missing_key_says_how_to_add_it(keys: KeyStore) -> None:
    engine = make_engine([role("r", "arn:aws:iam::111122223333:role/R", "nobody",
                               "http://127.0.0.1:9")], keys, no_prompt)
    with pytest.raises(errors.SourceKeyMissingError, match="traycreds keys add nobody"):
        engine.issue("r")


@pytest.mark.parametrize(("code", "message", "error", "advice"), [
    ("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.",
     errors.MfaError, "single-use"),
    ("ExpiredToken", "The security token included in the request is expired",
     errors.ExpiredTokenError, "Refresh"),
    ("RegionDisabledException", "STS is not activated in this region for account:1111.",
     errors.RegionDisabledError, "Activate the region"),
    ("InvalidClientTokenId", "The security token included in the request is invalid.",
     errors.InvalidKeyError, "new access key"),
])
def test_sts_error_codes_become_typed_errors(keys: KeyStore, sts_errors: Any, code: str,
                                             message: str, error: type[Exception],
                                             advice: str) -> None:
    sts_errors.respond(code, message, status=403)
    keys.put("me", Credentials("AKID" + "Q" * 16, "s" * 40))
    engine = make_engine([role("r", "arn:aws:iam::111122223333:role/R", "me",
                               sts_errors.url)], keys, Prompt("123456"))
    with pytest.raises(error) as info:
        engine.issue("r")
    assert advice in info.value.message  # type: ignore[attr-defined]


def test_throttling_is_retried_then_succeeds_or_gives_up(keys: KeyStore, sts_errors: Any) -> None:
    keys.put("me", Credentials("AKID" + "Q" * 16, "s" * 40))
    engine = make_engine([role("r", "arn:aws:iam::111122223333:role/R", "me",
                               sts_errors.url)], keys, no_prompt)
    sts_errors.respond("Throttling", "Rate exceeded", status=400, times=2)
    sts_errors.respond_success()
    assert engine.issue("r").credentials.session_token
    assert sts_errors.actions().count("AssumeRole") == 3
    sts_errors.reset()
    sts_errors.respond("Throttling", "Rate exceeded", status=400)
    with pytest.raises(errors.ThrottledError):
        engine.issue("r", fresh=True)
    assert sts_errors.actions() == ["AssumeRole"] * 4, sts_errors.requests  # bounded


def test_skewed_clock_is_measured_from_the_date_header(keys: KeyStore, sts_errors: Any) -> None:
    server_time = datetime.now(timezone.utc) - timedelta(minutes=47)
    sts_errors.respond("SignatureDoesNotMatch", "Signature expired", status=403,
                       date=server_time)
    keys.put("me", Credentials("AKID" + "Q" * 16, "s" * 40))
    engine = make_engine([role("r", "arn:aws:iam::111122223333:role/R", "me",
                               sts_errors.url)], keys, no_prompt)
    with pytest.raises(errors.WrongSecretError) as info:
        engine.issue("r")
    assert info.value.title == "Clock is off"
    assert "47 min ahead of" in info.value.message


def test_network_down_is_a_network_error(keys: KeyStore) -> None:
    keys.put("me", Credentials("AKID" + "Q" * 16, "s" * 40))
    engine = make_engine([role("r", "arn:aws:iam::111122223333:role/R", "me",
                               "http://127.0.0.1:9")], keys, no_prompt)
    with pytest.raises(errors.NetworkError, match=r"127\.0\.0\.1:9"):
        engine.issue("r")


class KeyRecordingSts(BotoSts):
    """The real adapter, recording which access key signed each call."""

    def __init__(self) -> None:
        super().__init__()
        self.signed: list[tuple[str, str]] = []

    def _call(self, creds: Credentials, endpoint: Any, operation: str, **kw: Any) -> Any:
        self.signed.append((operation, creds.access_key_id))
        return super()._call(creds, endpoint, operation, **kw)


def test_a_changed_key_drops_its_mfa_sessions_and_roles_only(keys: KeyStore,
                                                              sts_errors: Any) -> None:
    sts_errors.respond_success()
    serial = "arn:aws:iam::111122223333:mfa/me"
    old, new, other = "AKID" + "O" * 16, "AKID" + "N" * 16, "AKID" + "Y" * 16
    keys.put("me", Credentials(old, "s" * 40))
    keys.put("you", Credentials(other, "t" * 40))
    sts, prompt = KeyRecordingSts(), Prompt("123456", "234567")
    engine = make_engine([role("r", "arn:aws:iam::111122223333:role/R", "me", sts_errors.url,
                               mfa_serial=serial),
                          role("deep", "arn:aws:iam::111122223333:role/D", "r", sts_errors.url),
                          role("o", "arn:aws:iam::111122223333:role/O", "you",
                               sts_errors.url)], keys, prompt, sts)
    engine.issue("deep")
    kept = engine.issue("o").credentials
    assert sts.signed[0] == ("get_session_token", old) and len(prompt.requests) == 1
    keys.put("me", Credentials(new, "s" * 40))
    assert sorted(engine.forget_source("me")) == ["deep", "r"]
    assert engine.held("r") is None and engine.held("deep") is None
    assert engine.held("o") == kept  # another key's role is untouched
    sts.signed.clear()
    engine.issue("r")
    # A new MFA session (a second code), started with the new key.
    assert len(prompt.requests) == 2
    assert sts.signed[0] == ("get_session_token", new)
    assert engine.issue("o").credentials == kept


def test_what_a_walk_with_the_old_key_obtains_is_not_kept(keys: KeyStore,
                                                          sts_errors: Any) -> None:
    # The key changes while the MFA dialog is open: the walk finishes for its caller, but
    # neither the key, nor the MFA session, nor the role's credentials are kept.
    sts_errors.respond_success()
    serial = "arn:aws:iam::111122223333:mfa/me"
    keys.put("me", Credentials("AKID" + "O" * 16, "s" * 40))
    engine: Engine | None = None
    codes = iter(("123456", "234567"))

    def prompt(request: MfaRequest) -> str:
        assert engine is not None
        if len(asked) == 0:
            engine.forget_source("me")
        asked.append(request)
        return next(codes)

    asked: list[MfaRequest] = []
    engine = make_engine([role("r", "arn:aws:iam::111122223333:role/R", "me", sts_errors.url,
                               mfa_serial=serial)], keys, prompt)
    assert engine.issue("r").credentials.session_token
    assert engine.held("r") is None
    engine.issue("r")
    assert len(asked) == 2  # the MFA session begun with the old key was not kept either
    assert engine.held("r") is not None


class ExpiringSource:
    """A root whose credentials last 20 minutes (as an IAM Identity Center session's do):
    the user's real key, handed out with an expiration, counting each fetch."""

    def __init__(self, name: str, key: Credentials, clock: Callable[[], datetime]) -> None:
        self.name, self._key, self._clock, self.fetches = name, key, clock, 0

    def fetch(self) -> Credentials:
        self.fetches += 1
        return Credentials(self._key.access_key_id, self._key.secret_access_key,
                           expiration=self._clock() + timedelta(minutes=20))

    def describe(self, creds: Credentials) -> str:
        return f"session {self.name!r}"


def test_a_chain_root_is_kept_for_its_own_lifetime(moto: Any, keys: KeyStore) -> None:
    """The engine asks the chain's root (app/sources.py) for credentials and keeps them
    while they last: a stored key until it changes, an expiring root until the refresh
    window, then it fetches again."""
    user = moto.make_user()
    arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, arn)
    now = [datetime.now(timezone.utc)]
    source = ExpiringSource("sso", Credentials(user.key_id, user.secret), lambda: now[0])
    catalog = Catalog(roles={"r": role("r", arn, "sso", moto.url)})
    engine = Engine(catalog, keys, BotoSts(), no_prompt, env={}, session_name="tc-test",
                    clock=lambda: now[0], sources=lambda name: source)
    engine.issue("r")
    engine.issue("r", fresh=True)
    assert source.fetches == 1  # 20 minutes left: more than the refresh window
    now[0] += timedelta(minutes=6)  # 14 minutes left
    engine.issue("r", fresh=True)
    assert source.fetches == 2
    engine.forget_source("sso")
    engine.issue("r", fresh=True)
    assert source.fetches == 3
    # A stored key (the default root) is read from the keyring once and then held.
    keys.put("me", Credentials(user.key_id, user.secret))
    stored = make_engine([role("s", arn, "me", moto.url)], keys, no_prompt)
    stored.issue("s")
    keys.put("me", Credentials("AKIA" + "Q" * 16, "changed-but-not-told"))
    assert stored.issue("s", fresh=True).credentials.access_key_id.startswith("ASIA")
