"""Access keys that rotate themselves (issue 16, item 3), against moto's IAM and STS with
authentication enforced, the real Secret Service keyring and CLI subprocesses.

A crash at every step is a real SIGKILL (tests/support/rotkill.py) followed by another
'traycreds keys rotate', which must finish or roll back and say so, leaving exactly one
key in IAM, the one the keyring holds, working at STS.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.support import AwsEnv
from tests.support.rotkill import KILLED
from tests.support.service import QuietDialogs, RecordedNotes
from tests.support.stsserver import MotoSts, User
from traycreds.adapters import iam, paths
from traycreds.adapters.iam import BotoIam
from traycreds.adapters.keystore import KeyStore
from traycreds.app import keyrotation
from traycreds.app.context import Context
from traycreds.app.keycare import KeyCare
from traycreds.app.rotationjobs import RotationJobs
from traycreds.core.errors import AccessDeniedError
from traycreds.core.menu import APP_ITEMS, build_menu
from traycreds.core.models import Credentials, MfaRequest, utc_now
from traycreds.core.state import AppState

pytestmark = pytest.mark.usefixtures("secret_service")

ROOT = Path(__file__).resolve().parents[1]
IAM_ACTIONS = ["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey",
               "iam:DeleteAccessKey", "iam:GetAccessKeyLastUsed"]
# Where a crash leaves a distinct state (app/rotation.py's CHECKPOINT names), in order.
STEPS = ("begun", "create-sent", "created", "stored-keyring", "stored", "old-aside",
         "switched", "proven", "deactivate-sent", "deactivated", "delete-sent")
ROLLED_BACK = {"begun", "create-sent", "created"}  # the new key's secret died with them
SECRET_SHAPE = re.compile(r"[A-Za-z0-9+/]{40}")


class Rotation:
    def __init__(self, moto: MotoSts, aws_env: AwsEnv) -> None:
        self.moto = moto
        self.user: User = moto.make_user()
        # On AWS the resource would be the user's own ARN; moto matches IAM actions only
        # against "*" (its policy check knows no IAM resource ARNs).
        moto.allow(self.user, IAM_ACTIONS, "*")
        self.source = f"tc-rot-{uuid.uuid4().hex[:8]}"  # the keyring is shared by the session
        self.env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=moto.url,
                        AWS_ENDPOINT_URL_IAM=moto.url, TRAYCREDS_NO_TRAY="1")
        self.log_dir = aws_env.state_home / "traycreds" / "log"
        self.keys = KeyStore(paths.data_dir() / "sources.json")
        self.journal = paths.data_dir() / "rotation.json"
        added = self.run("keys", "add", self.source,
                         stdin=f"{self.user.key_id}\n{self.user.secret}\n")
        assert added.returncode == 0, added.stderr
        self.secrets = {self.user.secret}

    def run(self, *args: str, stdin: str = "", kill_at: str | None = None
            ) -> subprocess.CompletedProcess[str]:
        launcher = ["-m", "tests.support.rotkill", kill_at] if kill_at else ["-m", "traycreds"]
        return subprocess.run([sys.executable, *launcher, *args], env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=120, cwd=ROOT)

    def iam_keys(self) -> dict[str, str]:
        listed = self.moto.iam().list_access_keys(UserName=self.user.name)
        return {k["AccessKeyId"]: k["Status"] for k in listed["AccessKeyMetadata"]}

    def stored(self) -> Any:
        creds = self.keys.get(self.source)
        self.secrets.add(creds.secret_access_key)
        return creds

    def works(self, key_id: str, secret: str) -> bool:
        sts = self.moto.sts(key_id, secret)
        try:
            return sts.get_caller_identity()["Arn"] == self.user.arn  # type: ignore[no-any-return]
        except sts.exceptions.ClientError:
            return False

    def assert_no_secret_written(self, *outputs: str) -> None:
        texts = list(outputs)
        if self.journal.exists():
            texts.append(self.journal.read_text())
            assert not SECRET_SHAPE.search(self.journal.read_text()), "a secret in the journal"
        texts += [p.read_text(errors="replace") for p in self.log_dir.rglob("*") if p.is_file()]
        for secret in self.secrets:
            assert not any(secret in text for text in texts), "a secret was written out"

    def assert_one_working_key(self, not_id: str) -> str:
        """Exactly one key in IAM, the keyring's, not ``not_id``, working at STS."""
        creds = self.stored()
        assert self.iam_keys() == {creds.access_key_id: "Active"}
        assert creds.access_key_id != not_id
        assert self.keys.index()[self.source]["key_id"] == creds.access_key_id
        assert self.works(creds.access_key_id, creds.secret_access_key)
        assert not self.keys.get_aside("new", self.source)
        assert not self.keys.get_aside("old", self.source)
        return str(creds.access_key_id)

    def journal_entry(self) -> dict[str, str]:
        data = json.loads(self.journal.read_text())
        entry: dict[str, str] = data["rotations"][self.source]
        return entry


@pytest.fixture
def rot(moto: MotoSts, aws_env: AwsEnv) -> Rotation:
    return Rotation(moto, aws_env)


def test_rotation_replaces_the_key_everywhere(rot: Rotation) -> None:
    result = rot.run("keys", "rotate", rot.source, "--delete-now")
    assert result.returncode == 0, result.stderr
    new_id = rot.assert_one_working_key(not_id=rot.user.key_id)
    assert not rot.works(*rot.user.key)  # the old key is gone from IAM
    assert f"Deleted the old key {rot.user.key_id}" in result.stdout
    assert new_id in result.stdout
    assert not rot.journal.exists()
    rot.assert_no_secret_written(result.stdout, result.stderr)


def test_old_key_waits_inactive_until_the_user_finishes(rot: Rotation) -> None:
    result = rot.run("keys", "rotate", rot.source)
    assert result.returncode == 0, result.stderr
    new = rot.stored()
    assert rot.iam_keys() == {rot.user.key_id: "Inactive", new.access_key_id: "Active"}
    assert rot.journal_entry()["step"] == "deactivated"
    assert f"traycreds keys rotate {rot.source} --finish" in result.stdout
    if sys.platform != "win32":  # Windows: the profile folder's ACL protects it
        assert (rot.journal.stat().st_mode & 0o777) == 0o600
    rot.assert_no_secret_written(result.stdout, result.stderr)
    again = rot.run("keys", "rotate", rot.source)  # within the grace period: no new rotation
    assert again.returncode == 0, again.stderr
    assert rot.stored().access_key_id == new.access_key_id
    finished = rot.run("keys", "rotate", rot.source, "--finish")
    assert finished.returncode == 0, finished.stderr
    assert rot.assert_one_working_key(not_id=rot.user.key_id) == new.access_key_id
    assert not rot.journal.exists()


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_any_step_is_finished_or_rolled_back(rot: Rotation, step: str) -> None:
    killed = rot.run("keys", "rotate", rot.source, "--delete-now", kill_at=step)
    assert killed.returncode == KILLED, killed.stderr
    assert rot.journal.exists()
    left = rot.journal_entry()
    # Whatever the moment, the keyring's entry holds a key STS accepts.
    assert rot.works(rot.stored().access_key_id, rot.stored().secret_access_key)
    pending = rot.keys.get_aside("new", rot.source)
    if pending:
        rot.secrets.add(pending.secret_access_key)
    rot.assert_no_secret_written(killed.stdout, killed.stderr)

    result = rot.run("keys", "rotate", rot.source, "--delete-now")
    assert result.returncode == 0, result.stderr
    assert f"was left at step '{left['step']}'" in result.stdout
    final = rot.assert_one_working_key(not_id=rot.user.key_id)
    if step in ROLLED_BACK:
        assert "Rolled back" in result.stdout
        assert final != left.get("new_key_id")  # a fresh rotation followed
    else:
        assert "Rolled back" not in result.stdout
        assert final == left["new_key_id"]  # the killed run's key, finished
    assert not rot.journal.exists()
    rot.assert_no_secret_written(result.stdout, result.stderr)


def test_two_keys_stop_and_name_the_unused_one(rot: Rotation) -> None:
    other = rot.moto.iam().create_access_key(UserName=rot.user.name)["AccessKey"]["AccessKeyId"]
    before = rot.iam_keys()
    result = rot.run("keys", "rotate", rot.source, "--delete-now")
    assert result.returncode == 1, result.stderr
    message = " ".join(result.stderr.split())
    assert "Two access keys" in message
    assert f"{other} (Active, never used)" in message and "Nothing was changed" in message
    assert rot.iam_keys() == before
    assert rot.stored().access_key_id == rot.user.key_id
    assert not rot.journal.exists()


def test_keys_list_shows_age_and_says_when_iam_cannot_be_asked(rot: Rotation,
                                                                moto: MotoSts) -> None:
    listed = rot.run("keys", "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(rot.source))
    assert "AGE" in listed.stdout and "LAST USED" in listed.stdout
    assert " 0 d " in row and rot.user.key_id in row
    # A second key whose user may not read IAM: its row says so, and the first still shows.
    bare = moto.make_user()
    name = f"tc-bare-{uuid.uuid4().hex[:8]}"
    added = rot.run("keys", "add", name, stdin=f"{bare.key_id}\n{bare.secret}\n")
    assert added.returncode == 0, added.stderr
    listed = rot.run("keys", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert "IAM not asked" in rows[name] and " 0 d " in rows[rot.source]
    assert "IAM could not be asked" in listed.stderr
    rot.secrets.add(bare.secret)
    rot.assert_no_secret_written(listed.stdout, listed.stderr)


class MfaPolicyIam(BotoIam):
    """IAM whose policy denies access key calls without MFA, as the common 'force MFA'
    policy does (aws:MultiFactorAuthPresent): moto evaluates no such condition, so this
    refuses as AWS would, before the call reaches moto."""

    calls: ClassVar[list[tuple[str, bool]]] = []  # (operation, signed with an MFA session)

    def _call(self, creds: Credentials, operation: str, **params: Any) -> dict[str, Any]:
        with_mfa = creds.session_token is not None
        MfaPolicyIam.calls.append((operation, with_mfa))
        if not with_mfa:
            raise AccessDeniedError(f"explicit deny of {operation}: no MFA")
        return super()._call(creds, operation, **params)


def test_an_iam_policy_that_wants_mfa_gets_one_mfa_session(
        aws_env: AwsEnv, artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto's own auth rejects the keys its GetSessionToken makes: a server without it.
    server = MotoSts.start(artifacts / "moto-mfa", enforce_auth=False)
    try:
        user = server.make_user()
        serial = server.make_mfa_device(user)
        source = f"tc-rot-{uuid.uuid4().hex[:8]}"
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", server.url)
        monkeypatch.setattr(iam, "BotoIam", MfaPolicyIam)
        aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
        aws_env.aws_config.write_text(
            f"[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\n"
            f"source_profile = {source}\nmfa_serial = {serial}\n")
        ctx = Context(env=dict(os.environ))
        ctx.keys.put(source, Credentials(*user.key))
        asked: list[MfaRequest] = []

        def prompt(request: MfaRequest) -> str:
            asked.append(request)
            return "123456"

        said: list[str] = []
        MfaPolicyIam.calls = []
        keyrotation.rotate(ctx, source, said.append, prompt, delete_now=True)
        assert [request.serial for request in asked] == [serial]  # one code, for all calls
        refused = MfaPolicyIam.calls.index(("list_access_keys", False))
        assert all(with_mfa for _, with_mfa in MfaPolicyIam.calls[refused + 1:])
        operations = [op for op, _ in MfaPolicyIam.calls]
        assert {"create_access_key", "update_access_key", "delete_access_key"} <= set(operations)
        stored = ctx.keys.get(source)
        listed = server.iam().list_access_keys(UserName=user.name)["AccessKeyMetadata"]
        assert [k["AccessKeyId"] for k in listed] == [stored.access_key_id] != [user.key_id]
        ctx.keys.remove(source)
    finally:
        server.stop()


def test_tray_jobs_warn_once_rotate_and_recover_at_start(
        rot: Rotation, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM"):
        monkeypatch.setenv(name, rot.env[name])
    notes, changed = RecordedNotes(), []
    jobs = RotationJobs(QuietDialogs(), notes, lambda: Context(env=dict(os.environ)),
                        key_changed=changed.append)
    later = utc_now() + timedelta(days=91)
    assert jobs.warn_old_keys(later) == [rot.source]
    assert notes.sent[-1][0] == f"Access key {rot.source} is 91 days old"
    assert jobs.warn_old_keys(later) == []  # once, remembered
    # A rotation killed once the new key is stored: the tray's start finishes it, keeping
    # the old key inactive for the grace period.
    killed = rot.run("keys", "rotate", rot.source, kill_at="stored")
    assert killed.returncode == KILLED, killed.stderr
    new_id = rot.journal_entry()["new_key_id"]
    jobs.recover()
    title, message = notes.sent[-1]
    assert title == "Access key rotation" and "left at step 'stored'" in message
    assert changed == [rot.source] and rot.stored().access_key_id == new_id
    assert rot.iam_keys() == {rot.user.key_id: "Inactive", new_id: "Active"}
    assert jobs.warn_old_keys(later) == [rot.source]  # the new key, in 91 days
    jobs.rotate(rot.source)  # waiting for the grace period: says so, rotates nothing
    assert rot.stored().access_key_id == new_id and "--finish" in notes.sent[-1][1]
    rot.assert_no_secret_written(*(t + m for t, m in notes.sent))


def test_the_tray_lists_the_stored_keys_marks_the_old_and_asks_before_rotating(
        rot: Rotation, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM"):
        monkeypatch.setenv(name, rot.env[name])
    state = AppState()

    def update(change: Any) -> None:
        nonlocal state
        state = change(state)

    dialogs, notes = QuietDialogs(), RecordedNotes()
    dialogs.confirmed = []
    with ThreadPoolExecutor(1) as pool:
        care = KeyCare(dialogs, notes, lambda: Context(env=dict(os.environ)), update,
                       pool.submit)
        care.start(first_check=3600)  # lists at once; IAM is asked only later
        try:
            assert state.access_keys == {rot.source: None}
            care.check(utc_now() + timedelta(days=100))
            assert state.access_keys == {rot.source: 100}
            assert notes.sent[-1][0] == f"Access key {rot.source} is 100 days old"
            assert build_menu(state, utc_now())[-len(APP_ITEMS) - 1].label == (
                "⚠ Rotate access key")
            care.rotate(rot.source)  # the person says no: nothing happens
            assert dialogs.confirmed == [f"Rotate access key {rot.source}?"]
            assert rot.iam_keys() == {rot.user.key_id: "Active"}
            dialogs.agree = True
            care.rotate(rot.source)
            assert notes.sent[-1][0] == f"Access key {rot.source} rotated"
            assert rot.stored().access_key_id != rot.user.key_id
            assert state.access_keys == {rot.source: None}  # the new key is young
        finally:
            care.stop()
    rot.assert_no_secret_written(*(t + m for t, m in notes.sent))
