"""A corrected key is used at once, without restarting the tray (issue 11, item 3).

The tray's engine keeps the key it read from the keyring, the MFA sessions started with it
and the role credentials issued from it. Adding, removing or importing a key, from the
tray's own dialog or from the command line (which tells the running tray), drops all three.
Real parts: moto STS, the Secret Service keyring, the local channel, CLI subprocesses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from tests.support import AwsEnv
from tests.support.service import QuietDialogs, RecordedNotes
from tests.support.stsserver import REGION, MotoSts
from tests.test_cli import traycreds
from traycreds.adapters import paths
from traycreds.adapters.keystore import KeyStore
from traycreds.app.service import AppService
from traycreds.channel.server import ChannelServer
from traycreds.channel.serving import handlers
from traycreds.core.errors import SourceKeyMissingError, WrongSecretError
from traycreds.core.keys import NewKey
from traycreds.core.menu import Action, Item, build_menu
from traycreds.core.models import Credentials, utc_now

pytestmark = pytest.mark.usefixtures("secret_service")

WRONG_SECRET = "wrongwrongwrongwrongwrongwrongwrongwrong"  # 40 characters, as a real one


class Dialogs(QuietDialogs):
    """The tray's dialogs, answering as a person would: the key to add (MFA sessions:
    tests/test_engine.py)."""

    def __init__(self) -> None:
        self.new_keys: list[NewKey] = []
        self.problems: list[str | None] = []
        self.asked: list[tuple[str, NewKey | None, bool]] = []  # (source, typed, offline)

    def ask_new_key(self, problem: str | None = None, source: str = "", *,
                    typed: NewKey | None = None, offline: bool = False) -> NewKey | None:
        self.problems.append(problem)
        self.asked.append((source, typed, offline))
        return self.new_keys.pop(0) if self.new_keys else None


class Tray:
    """An AppService as the tray builds it, serving the local channel like the tray."""

    def __init__(self, moto: MotoSts, aws_env: AwsEnv, runtime: Path) -> None:
        self.moto = moto
        self.user = moto.make_user()
        self.role_arn = moto.make_role(trusted_arn=self.user.arn)
        moto.allow_assume(self.user, self.role_arn)
        self.source = f"tc-key-{uuid.uuid4().hex[:8]}"  # the keyring is shared by the session
        self.keys = KeyStore(paths.data_dir() / "sources.json")
        aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
        aws_env.aws_config.write_text(
            f"[profile ops]\nrole_arn = {self.role_arn}\nsource_profile = {self.source}\n"
            f"region = {REGION}\nendpoint_url = {moto.url}\n")
        self.env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=moto.url,
                        TRAYCREDS_RUNTIME_DIR=str(runtime))
        self.credentials_file = aws_env.aws_credentials
        self.dialogs, self.notes = Dialogs(), RecordedNotes()
        self.service = AppService(self.dialogs, self.notes)
        self.service.start().result(timeout=30)
        self.server = ChannelServer(handlers(self.service))
        self.server.start()

    def store(self, key_id: str, secret: str) -> None:
        self.keys.put(self.source, Credentials(key_id, secret))

    def cli_keys_add(self, key_id: str, secret: str) -> Any:
        result = traycreds(self.env, "keys", "add", self.source, stdin=f"{key_id}\n{secret}\n")
        assert result.returncode == 0, result.stderr
        return result

    def close(self) -> None:
        self.server.stop()
        self.service.shutdown()
        self.keys.remove(self.source)


@pytest.fixture
def tray(moto: MotoSts, aws_env: AwsEnv, runtime: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Tray]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto.url)  # the key check (GetCallerIdentity)
    started = Tray(moto, aws_env, runtime)
    yield started
    started.close()


def wait(future: Future[Any] | None) -> None:
    assert future is not None
    future.result(timeout=60)


def fails_with_the_wrong_secret(tray: Tray) -> None:
    with pytest.raises(WrongSecretError):
        tray.service.issue_for_caller("ops")
    wait(tray.service.refresh("ops"))  # as a click does: the menu shows the failure
    error = tray.service.state.states["ops"].error
    assert error is not None and error.title == "Signature rejected"


def test_the_tray_dialog_replaces_a_wrong_secret_without_restart(tray: Tray) -> None:
    tray.store(tray.user.key_id, WRONG_SECRET)
    fails_with_the_wrong_secret(tray)
    tray.dialogs.new_keys.append(NewKey(tray.source, tray.user.key_id, tray.user.secret))
    wait(tray.service.perform(Action("add-key")))
    assert tray.dialogs.problems == [None], "the right key was not accepted"
    assert tray.notes.sent[-1][0] == f"Key {tray.source!r} stored"
    # The failure was the old key's: the menu no longer shows it.
    assert tray.service.state.states["ops"].error is None
    issued = tray.service.issue_for_caller("ops")
    assert issued.credentials.session_token


def test_the_command_line_tells_the_tray_about_added_removed_and_imported_keys(
        tray: Tray) -> None:
    tray.store(tray.user.key_id, WRONG_SECRET)
    fails_with_the_wrong_secret(tray)
    tray.cli_keys_add(tray.user.key_id, tray.user.secret)
    held = tray.service.issue_for_caller("ops").credentials
    # Removed: the tray must not go on using the key it read before.
    removed = traycreds(tray.env, "keys", "remove", tray.source)
    assert removed.returncode == 0, removed.stderr
    assert "the running tray dropped the credentials it held for ops" in removed.stderr
    assert tray.service.held("ops") is None
    with pytest.raises(SourceKeyMissingError):
        tray.service.issue_for_caller("ops")
    # Imported from the credentials file: used at once.
    tray.credentials_file.parent.mkdir(parents=True, exist_ok=True)
    tray.credentials_file.write_text(f"[{tray.source}]\naws_access_key_id = {tray.user.key_id}\n"
                                     f"aws_secret_access_key = {tray.user.secret}\n")
    imported = traycreds(tray.env, "keys", "import", tray.source)
    assert imported.returncode == 0, imported.stderr
    again = tray.service.issue_for_caller("ops").credentials
    assert again.access_key_id != held.access_key_id


def test_role_credentials_from_the_old_key_are_not_reused(tray: Tray) -> None:
    iam = tray.moto.iam()
    tray.store(tray.user.key_id, tray.user.secret)
    first = tray.service.issue_for_caller("ops").credentials
    assert tray.service.issue_for_caller("ops").credentials == first  # held: reused
    # The key is rotated: a new one is stored, then the old one deleted in IAM.
    new = iam.create_access_key(UserName=tray.user.name)["AccessKey"]
    added = tray.cli_keys_add(new["AccessKeyId"], new["SecretAccessKey"])
    assert "the running tray dropped the credentials it held for ops" in added.stderr
    iam.delete_access_key(UserName=tray.user.name, AccessKeyId=tray.user.key_id)
    assert tray.service.held("ops") is None
    assert tray.service.state.states["ops"].held is False  # the menu shows it too
    # Assumed again, with the new key: the old one is gone from IAM, so the call would
    # have failed with it (InvalidClientTokenId).
    second = tray.service.issue_for_caller("ops").credentials
    assert second.access_key_id != first.access_key_id


def _items(items: tuple[Item, ...]) -> list[Item]:
    return [item for top in items for item in (top, *_items(top.children))]


def test_a_role_missing_its_key_proposes_the_name_and_a_refused_key_comes_back(
        tray: Tray) -> None:
    wait(tray.service.refresh("ops"))  # no key stored under the role's source profile
    error = tray.service.state.states["ops"].error
    assert error is not None and error.needs_key
    offer = [i for i in _items(build_menu(tray.service.state, utc_now()))
             if i.action == Action("add-key", "ops")]
    assert [i.label for i in offer] == ["Add access key..."]
    refused = NewKey(tray.source, tray.user.key_id, WRONG_SECRET)
    tray.dialogs.new_keys += [refused, NewKey(tray.source, tray.user.key_id, tray.user.secret)]
    wait(tray.service.perform(Action("add-key", "ops")))
    # Opened with the name the role needs; reopened with what was typed and the reason.
    assert tray.dialogs.asked == [(tray.source, None, False), (tray.source, refused, False)]
    assert (tray.dialogs.problems[1] or "").startswith("Signature rejected:")
    assert tray.notes.sent[-1][0] == f"Key {tray.source!r} stored"
    assert tray.service.issue_for_caller("ops").credentials.session_token


def test_sts_out_of_reach_offers_to_save_the_key_unchecked(
        moto: MotoSts, aws_env: AwsEnv, runtime: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")  # nothing listens there
    tray = Tray(moto, aws_env, runtime)
    try:
        typed = NewKey(tray.source, tray.user.key_id, tray.user.secret)
        tray.dialogs.new_keys += [typed, NewKey(tray.source, tray.user.key_id,
                                                tray.user.secret, verify=False)]
        wait(tray.service.perform(Action("add-key")))
        assert tray.dialogs.asked == [("", None, False), (tray.source, typed, True)]
        assert "127.0.0.1:9" in (tray.dialogs.problems[1] or "")
        assert tray.keys.get(tray.source) == Credentials(tray.user.key_id, tray.user.secret)
        assert "without checking" in tray.notes.sent[-1][1]
    finally:
        tray.close()
