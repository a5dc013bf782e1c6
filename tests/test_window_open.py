"""'Open terminal as ROLE' (app/windows.py, adapters/terminal.py) on Linux, for real: the app
service with moto's STS and the real keyring, the tray's credentials endpoint on loopback,
and $TERMINAL a real program (a POSIX shell script that runs what follows -e, as
x-terminal-emulator does). The window's shell is Python with botocore's default chain: it
writes the identity it gets, the variables it sees, and whether its token is in any
process's command line (/proc/*/cmdline) while it runs."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import AwsEnv
from tests.support.service import QuietDialogs, RecordedNotes
from tests.support.stsserver import MotoSts
from tests.test_cli import traycreds
from traycreds.adapters import paths
from traycreds.app.service import AppService
from traycreds.channel.endpoint import CredentialsEndpoint
from traycreds.core.menu import Action

pytestmark = [pytest.mark.usefixtures("secret_service"),
              pytest.mark.skipif(sys.platform != "linux", reason="/proc and X terminals")]

WINDOW = """
import json, os, sys, botocore.session
token = os.environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN", "")
seen = []
for pid in os.listdir("/proc"):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            seen.append(f.read())
    except OSError:
        pass
session = botocore.session.Session()
creds = session.get_credentials()
arn = session.create_client("sts").get_caller_identity()["Arn"]
keep = ("TRAYCREDS_ROLE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI")
print(json.dumps({"arn": arn, "method": creds.method, "argv": sys.argv,
                  "env": {k: os.environ[k] for k in keep if k in os.environ},
                  "token_in_argv": bool(token) and any(token.encode() in c for c in seen)}))
"""


class Desktop:
    """A role in ~/.aws/config with its key in the keyring; $TERMINAL and $SHELL scripts."""

    def __init__(self, moto: MotoSts, aws_env: AwsEnv, tmp: Path,
                 monkeypatch: pytest.MonkeyPatch) -> None:
        user = moto.make_user()
        self.role_arn = moto.make_role(trusted_arn=user.arn)
        moto.allow_assume(user, self.role_arn)
        source = f"me-{uuid.uuid4().hex[:8]}"  # the keyring is shared by the session
        aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
        aws_env.aws_config.write_text(f"[profile dev]\nrole_arn = {self.role_arn}\n"
                                      f"source_profile = {source}\nregion = eu-west-1\n")
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto.url)
        added = traycreds(dict(os.environ), "keys", "add", source,
                          stdin=f"{user.key_id}\n{user.secret}\n")
        assert added.returncode == 0, added.stderr
        self.args, self.out = tmp / "terminal-args", tmp / "window.json"
        (tmp / "window.py").write_text(WINDOW)
        terminal = tmp / "term"
        terminal.write_text(f"""#!/bin/sh
printf '%s\\n' "$@" > '{self.args}'
while [ $# -gt 0 ] && [ "$1" != -e ]; do shift; done
shift
exec "$@"
""")
        shell = tmp / "login-shell"  # what the window runs: the user's $SHELL
        shell.write_text(f"#!/bin/sh\n'{sys.executable}' '{tmp / 'window.py'}' "
                         f"> '{self.out}.part' 2>&1 && mv '{self.out}.part' '{self.out}'\n")
        for script in (terminal, shell):
            script.chmod(0o755)
        monkeypatch.setenv("TERMINAL", str(terminal))
        monkeypatch.setenv("SHELL", str(shell))
        # Static keys in the tray's own environment must not reach the window.
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + uuid.uuid4().hex[:16].upper())
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", uuid.uuid4().hex)

    def window(self, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.out.exists():
            part = self.out.with_name(self.out.name + ".part")
            assert time.monotonic() < deadline, (
                "the window wrote nothing", self.args.exists() and self.args.read_text(),
                part.exists() and part.read_text())
            time.sleep(0.2)
        text = self.out.read_text()
        try:
            return dict(json.loads(text))
        except ValueError:
            raise AssertionError(text) from None


@pytest.fixture
def desktop(moto: MotoSts, aws_env: AwsEnv, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Desktop:
    return Desktop(moto, aws_env, tmp_path, monkeypatch)


@pytest.fixture
def service() -> Iterator[tuple[AppService, RecordedNotes]]:
    notes = RecordedNotes()
    started = AppService(QuietDialogs(), notes)
    endpoint = CredentialsEndpoint(lambda role: started.issue_for_caller(role).credentials,
                                   started.tokens)
    endpoint.start()
    started.windows.uri_of = endpoint.uri  # as tray/main.py does
    try:
        started.start().result(timeout=30)
        yield started, notes
    finally:
        endpoint.stop()
        started.shutdown()


def open_window(service: AppService) -> None:
    job = service.perform(Action("window", "dev", "terminal"))
    assert job is not None
    job.result(timeout=60)


def test_the_terminal_window_runs_as_the_role_through_the_endpoint(
        desktop: Desktop, service: tuple[AppService, RecordedNotes]) -> None:
    open_window(service[0])
    seen = desktop.window()
    assert seen["method"] == "container-role"  # the endpoint, not the tray's static keys
    assert f":assumed-role/{desktop.role_arn.rsplit('/', 1)[-1]}/" in seen["arn"]
    assert seen["env"]["TRAYCREDS_ROLE"] == "dev"
    assert seen["env"]["AWS_REGION"] == seen["env"]["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "AWS_ACCESS_KEY_ID" not in seen["env"]
    assert seen["token_in_argv"] is False
    args = desktop.args.read_text().splitlines()
    assert args[:3] == ["-T", "traycreds: dev", "-e"]  # the title names the role
    assert not service[1].sent, service[1].sent


def test_static_keys_join_the_window_when_the_setting_asks(
        desktop: Desktop, service: tuple[AppService, RecordedNotes]) -> None:
    settings = paths.settings_file()
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("[app]\nwindow_static_keys = true\n")
    service[0].reload()
    open_window(service[0])
    seen = desktop.window()
    assert seen["method"] == "env"  # static variables win over the endpoint, as documented
    assert seen["env"]["AWS_ACCESS_KEY_ID"].startswith("ASIA")  # the role's, not the tray's
    assert f":assumed-role/{desktop.role_arn.rsplit('/', 1)[-1]}/" in seen["arn"]
    assert seen["env"]["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")


def test_without_a_terminal_the_notification_says_what_to_install(
        desktop: Desktop, service: tuple[AppService, RecordedNotes], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.delenv("TERMINAL")
    monkeypatch.setenv("PATH", str(empty))
    open_window(service[0])
    assert service[1].sent, "no notification"
    title, message = service[1].sent[-1]
    assert title == "Cannot open a window"
    assert "set TERMINAL" in message and "xterm" in message
    monkeypatch.setenv("TERMINAL", "no-such-terminal")
    open_window(service[0])
    assert "TERMINAL is set to 'no-such-terminal'" in service[1].sent[-1][1]
    assert not desktop.out.exists()
