"""A headless caller (boto3 through credential_process) needs an MFA code: the running
tray asks on the desktop, the person types it, and the waiting caller gets credentials.

The role's STS is the local endpoint that answers with real STS documents: moto's
GetSessionToken returns a fixed key its own IAM auth then rejects (tests/support)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ARTIFACTS, AwsEnv, NotificationLog, screenshot
from tests.test_dialogs import red_pixels, window_image
from traycreds.channel import client
from traycreds.core.errors import TraycredsError
from traycreds.tray.dialogs import MFA_TITLE

pytestmark = pytest.mark.usefixtures("desktop", "secret_service")
SERIAL = "arn:aws:iam::111122223333:mfa/headless"
CODE = "482913"


def _xdotool(*args: str) -> str:
    return subprocess.run(["xdotool", *args], capture_output=True, text=True,
                          timeout=10).stdout.strip()


def _wait_for_dialog(timeout: float = 30.0) -> None:
    """Until the MFA dialog is mapped and holds the keyboard focus."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _xdotool("search", "--name", f"^{MFA_TITLE}$") and \
                _xdotool("getwindowfocus", "getwindowname") == MFA_TITLE:
            return
        time.sleep(0.1)
    raise AssertionError("the tray's MFA dialog did not appear with the focus")


@dataclass
class MfaTray:
    env: dict[str, str]

    def sdk(self) -> subprocess.Popen[str]:
        """boto3 in a child process, its credentials from credential_process (the tray)."""
        return subprocess.Popen(
            [sys.executable, "-c",
             "import boto3; s = boto3.session.Session(profile_name='sdk'); "
             "print(s.client('sts', region_name='us-east-1').get_caller_identity()['Arn'])"],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL)


@pytest.fixture
def mfa_tray(aws_env: AwsEnv, sts_errors: Any,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[MfaTray]:
    """A running tray (its own process) whose role needs an MFA code from SERIAL."""
    runtime = Path(tempfile.mkdtemp(prefix="tc-", dir="/tmp")) / "traycreds"  # short path
    monkeypatch.setenv("TRAYCREDS_RUNTIME_DIR", str(runtime))
    env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=sts_errors.url,
               TRAYCREDS_RUNTIME_DIR=str(runtime))
    command = f"{sys.executable} -m traycreds credential-process needs-mfa"
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(
        "[profile needs-mfa]\nrole_arn = arn:aws:iam::111122223333:role/Deploy\n"
        f"source_profile = me\nmfa_serial = {SERIAL}\n\n"
        f"[profile sdk]\ncredential_process = {command}\n")
    key = "AKID" + "H" * 16, "abcdEFGH+/" * 4
    added = subprocess.run([sys.executable, "-m", "traycreds", "keys", "add", "me",
                            "--no-verify"], env=env, input=f"{key[0]}\n{key[1]}\n",
                           capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    log = ARTIFACTS / "channel-mfa" / "tray.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        tray = subprocess.Popen([sys.executable, "-m", "traycreds", "tray"], env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.request("hello", timeout=2)
                break
            except TraycredsError:
                assert tray.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield MfaTray(env)
    finally:
        subprocess.run([sys.executable, "-m", "traycreds", "quit"], env=env, timeout=30,
                       capture_output=True)
        try:
            tray.wait(10)
        except subprocess.TimeoutExpired:
            tray.kill()
        shutil.rmtree(runtime.parent, ignore_errors=True)


def test_credential_process_caller_gets_the_mfa_prompt_on_the_desktop(
        mfa_tray: MfaTray, sts_errors: Any) -> None:
    sts_errors.respond_success()
    env = mfa_tray.env
    sdk = mfa_tray.sdk()
    _wait_for_dialog()
    screenshot("channel-mfa-dialog")
    _xdotool("type", "--delay", "50", CODE)
    _xdotool("key", "Return")
    out, err = sdk.communicate(timeout=60)
    assert sdk.returncode == 0, err
    assert out.strip().startswith("arn:aws:")
    assert [p["TokenCode"] for p in sts_errors.params_of("GetSessionToken")] == [CODE]
    assert [p["SerialNumber"] for p in sts_errors.params_of("GetSessionToken")] == [SERIAL]
    # A second headless call reuses what the tray holds: no dialog, no code sent.
    again = subprocess.run([sys.executable, "-m", "traycreds", "credential-process",
                            "needs-mfa"], env=env, capture_output=True, text=True,
                           timeout=30)
    assert again.returncode == 0, again.stderr
    assert len(sts_errors.params_of("GetSessionToken")) == 1


def test_a_code_aws_refuses_reopens_the_dialog_with_the_reason(
        mfa_tray: MfaTray, sts_errors: Any) -> None:
    sts_errors.respond("AccessDenied", "MultiFactorAuthentication failed with invalid MFA "
                       "one time pass code.", status=403, times=1)
    sts_errors.respond_success()
    sdk = mfa_tray.sdk()
    _wait_for_dialog()
    first = _xdotool("search", "--name", f"^{MFA_TITLE}$")
    assert red_pixels(window_image(first, "channel-mfa-dialog-first")) == 0
    _xdotool("type", "--delay", "50", "111111")
    _xdotool("key", "Return")
    deadline = time.monotonic() + 30
    while not sts_errors.params_of("GetSessionToken"):  # the first code reached AWS
        assert time.monotonic() < deadline, "the first code never reached STS"
        time.sleep(0.1)
    _wait_for_dialog()  # reopened, not a notification and a closed dialog
    again = _xdotool("search", "--name", f"^{MFA_TITLE}$")
    assert red_pixels(window_image(again, "channel-mfa-dialog-reopened")) > 50, "no reason"
    _xdotool("type", "--delay", "50", CODE)
    _xdotool("key", "Return")
    out, err = sdk.communicate(timeout=60)
    assert sdk.returncode == 0, err
    assert out.strip().startswith("arn:aws:")
    assert [p["TokenCode"] for p in sts_errors.params_of("GetSessionToken")] == ["111111", CODE]


def test_three_refused_codes_end_with_a_notification_saying_what_to_do(
        mfa_tray: MfaTray, sts_errors: Any, notifications: NotificationLog) -> None:
    sts_errors.respond("AccessDenied", "MultiFactorAuthentication failed with invalid MFA "
                       "one time pass code.", status=403)
    sdk = mfa_tray.sdk()
    for attempt, code in enumerate(("111111", "222222", "333333"), start=1):
        _wait_for_dialog()
        _xdotool("type", "--delay", "50", code)
        _xdotool("key", "Return")
        deadline = time.monotonic() + 30
        while len(sts_errors.params_of("GetSessionToken")) < attempt:
            assert time.monotonic() < deadline, f"code {attempt} never reached STS"
            time.sleep(0.1)
    # The dialog is gone for good: the person at the desktop is told what happened.
    note = notifications.wait_for("after 3 tries", timeout=30)
    assert note.summary == "MFA failed" and "clock" in note.body
    _out, err = sdk.communicate(timeout=60)
    assert sdk.returncode != 0 and "after 3 tries" in err
    assert not _xdotool("search", "--name", f"^{MFA_TITLE}$")
    assert len(sts_errors.params_of("GetSessionToken")) == 3
