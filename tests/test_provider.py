"""One way to credentials for every front end (app/provider.py, channel/remote.py).

The credentials document survives the channel field for field; the command line falls back
from the tray to its own engine once, on the first call, and knocks on the tray's door once
per command; rendering is the same whichever provider issued.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.support import AwsEnv
from traycreds.app.provider import FallbackProvider, LocalProvider, Provider
from traycreds.channel import protocol
from traycreds.core import shells
from traycreds.core.document import IssuedCredentials
from traycreds.core.errors import NotRunningError, UnknownRoleError, UsageError
from traycreds.core.models import Credentials, Identity

_KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def fake_key_id() -> str:
    """Built at run time: no key-shaped literal in the source."""
    return "ASIA" + "".join(_KEY_CHARS[b % 32] for b in os.urandom(16))


def issued(**changes: Any) -> IssuedCredentials:
    creds = Credentials(fake_key_id(), "c2VjcmV0/+=", "dG9rZW4=",
                        datetime(2099, 1, 1, 12, 30, tzinfo=timezone.utc))
    fields: dict[str, Any] = {"region": "eu-west-1", "notes": ("a shorter session",),
                              "default_shell": "fish"}
    fields.update(changes)
    return IssuedCredentials(creds, **fields)


class Scripted(Provider):
    """A provider that answers from a script and counts what it was asked."""

    def __init__(self, answer: IssuedCredentials | Exception) -> None:
        self.answer, self.calls = answer, 0

    def issue(self, role: str, *, fresh: bool = False) -> IssuedCredentials:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def identity(self, role: str) -> Identity:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return Identity("123456789012", f"arn:aws:sts::123456789012:assumed-role/{role}/s", "U")


def test_the_credentials_document_crosses_the_channel_field_for_field() -> None:
    sent = issued()
    got = protocol.decode_credentials(protocol.encode_credentials(sent))
    for field in ("access_key_id", "secret_access_key", "session_token", "expiration"):
        assert getattr(got.credentials, field) == getattr(sent.credentials, field), field
    assert (got.region, got.notes, got.default_shell) == ("eu-west-1", ("a shorter session",),
                                                          "fish")
    bare = protocol.encode_credentials(issued(region=None, notes=(), default_shell=None))
    assert set(bare) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}


def test_a_chained_role_says_so_across_the_channel() -> None:
    """The console caps a chained role's session at AWS's hour: the CLI must learn it from
    the tray. A tray that does not say (an older one) means not chained."""
    assert protocol.decode_credentials(protocol.encode_credentials(issued(chained=True))).chained
    document = protocol.encode_credentials(issued())
    assert "Chained" not in document and not protocol.decode_credentials(document).chained
    with pytest.raises(protocol.BadCredentialsError, match="Chained"):
        protocol.decode_credentials(dict(document, Chained="yes"))


def test_a_source_key_document_needs_no_token_or_expiration() -> None:
    key = IssuedCredentials(Credentials("AKIA" + fake_key_id()[4:], "c2VjcmV0/+="))
    got = protocol.decode_credentials(protocol.encode_credentials(key), temporary=False)
    assert got.credentials.session_token is None and got.credentials.expiration is None
    with pytest.raises(protocol.BadCredentialsError):  # a role's document must have both
        protocol.decode_credentials(protocol.encode_credentials(key))


def test_the_identity_crosses_the_channel_and_a_hostile_one_is_refused() -> None:
    identity = Identity("123456789012", "arn:aws:iam::123456789012:user/me", "AIDAEXAMPLE")
    assert protocol.decode_identity(protocol.encode_identity(identity)) == identity
    with pytest.raises(protocol.ProtocolError, match="not an identity"):
        protocol.decode_identity({"account": "1", "arn": "\x1b]0;owned\x07", "user_id": "u"})


def test_render_uses_the_issuers_default_shell_unless_one_is_asked_for() -> None:
    provider = Scripted(issued())
    rendered = provider.render("dev")
    assert rendered.shell == "fish"
    answer = provider.answer
    assert isinstance(answer, IssuedCredentials)
    assert rendered.text == shells.render("fish", answer.credentials, "eu-west-1")
    assert provider.render("dev", "pwsh").shell == "powershell"
    no_default = Scripted(issued(default_shell=None)).render("dev")
    assert no_default.shell == shells.default_shell(sys.platform)


def test_an_unknown_shell_is_refused_before_anything_is_issued() -> None:
    provider = Scripted(issued())
    with pytest.raises(UsageError, match="tcsh"):
        provider.render("dev", "tcsh")
    assert provider.calls == 0


def test_the_fallback_is_chosen_once_on_the_first_call() -> None:
    tray = Scripted(NotRunningError("no tray"))
    local = Scripted(issued())
    made: list[Provider] = []

    def make_local() -> Provider:
        made.append(local)
        return local

    provider = FallbackProvider(tray, make_local)
    provider.issue("dev")
    provider.identity("dev")
    provider.render("dev", "bash")
    assert (tray.calls, local.calls, len(made)) == (1, 3, 1)
    assert provider.chosen is local


def test_a_tray_that_answers_is_used_and_its_errors_are_not_hidden() -> None:
    made: list[Provider] = []
    tray = Scripted(issued())

    def make_local() -> Provider:
        made.append(tray)
        return tray

    assert FallbackProvider(tray, make_local).issue("dev").region == "eu-west-1"
    failing = FallbackProvider(Scripted(UnknownRoleError("No role 'x'.")), make_local)
    with pytest.raises(UnknownRoleError):
        failing.issue("x")
    assert made == []  # an error from the tray is the answer, not a reason to go local


@pytest.fixture
def unhardened(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests run export in this process: keep it from lowering pytest's own core limit
    for good (test_fastpath's tray raises its child's, which a lowered hard limit forbids)."""
    from traycreds.adapters import hardening

    monkeypatch.setattr(hardening, "disable_core_dumps", lambda: None)
    monkeypatch.setattr(hardening, "harden_process", lambda: None)


@pytest.mark.usefixtures("unhardened")
def test_a_cold_export_knocks_on_the_trays_door_once(aws_env: AwsEnv,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The fast path asks first; when no tray answers, the full command line must not ask
    again (it used to: a second connection attempt with another operation)."""
    from traycreds.channel import client
    from traycreds.cli import fast
    from traycreds.cli.main import main

    knocks: list[str] = []

    def no_tray(op: str, args: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
        knocks.append(op)
        raise NotRunningError("No tray runs here.")

    monkeypatch.setattr(client, "request", no_tray)
    monkeypatch.setattr(fast, "tray_absent", False)
    monkeypatch.delenv("TRAYCREDS_NO_TRAY", raising=False)
    monkeypatch.setenv("TRAYCREDS_NO_LOG_FILE", "1")
    argv = ["export", "no-such-role", "--shell", "bash"]
    assert fast.try_fast(argv) is None
    assert main(argv, tray_absent=fast.tray_absent) == 4  # unknown role, found locally
    assert knocks == ["credentials"]
    assert "no-such-role" in capsys.readouterr().err


@pytest.mark.usefixtures("unhardened")
def test_the_full_command_line_asks_the_tray_when_the_fast_path_did_not(
        aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forms the fast path leaves alone (--fresh) still go to a running tray, once."""
    from traycreds.channel import client
    from traycreds.cli.main import main

    knocks: list[tuple[str, dict[str, Any]]] = []
    document = protocol.encode_credentials(issued())

    def tray(op: str, args: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
        knocks.append((op, dict(args or {})))
        return document

    monkeypatch.setattr(client, "request", tray)
    monkeypatch.delenv("TRAYCREDS_NO_TRAY", raising=False)
    monkeypatch.setenv("TRAYCREDS_NO_LOG_FILE", "1")
    assert main(["export", "dev", "--fresh", "--shell", "bash"]) == 0
    assert knocks == [("credentials", {"role": "dev", "fresh": True})]


def test_no_tray_flag_never_knocks(aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    from traycreds.app.context import Context
    from traycreds.channel import client
    from traycreds.cli import providers

    monkeypatch.setattr(client, "request", lambda *a, **k: pytest.fail("knocked"))
    args = argparse.Namespace(no_tray=True)
    assert isinstance(providers.for_command(args, Context()), LocalProvider)
