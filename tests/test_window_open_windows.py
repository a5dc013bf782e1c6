"""'Open cmd.exe as ROLE' on Windows CPython (the wine lane): the app service with moto's STS
and the real keyring, the credentials endpoint on loopback, and the adapter's own command
line and CREATE_NEW_CONSOLE run for real. The test adds one thing to cmd's line: after the
window's ``title``, a Windows-CPython child that asks botocore's default chain who it is and
reads its console's title, then ``exit`` (a real window would wait for the user)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support import AwsEnv, windows_only
from tests.support.service import QuietDialogs, RecordedNotes
from traycreds.adapters import terminal
from traycreds.app.service import AppService
from traycreds.channel.endpoint import CredentialsEndpoint
from traycreds.core.menu import Action

pytestmark = windows_only("cmd.exe windows and their console titles")

WHO = """import ctypes, json, os, botocore.session
session = botocore.session.Session()
creds = session.get_credentials()
title = ctypes.create_unicode_buffer(256)
ctypes.windll.kernel32.GetConsoleTitleW(title, 256)
print(json.dumps({"arn": session.create_client("sts").get_caller_identity()["Arn"],
                  "method": creds.method, "title": title.value,
                  "role": os.environ.get("TRAYCREDS_ROLE"),
                  "region": os.environ.get("AWS_REGION"),
                  "static": "AWS_ACCESS_KEY_ID" in os.environ}))
"""


def test_cmd_window_runs_as_the_role_with_its_title(
        moto: Any, aws_env: AwsEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = moto.make_user()
    role_arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, role_arn)
    source = f"win-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + uuid.uuid4().hex[:16].upper())
    added = subprocess.run([sys.executable, "-m", "traycreds", "keys", "add", source,
                            "--no-verify"], env=dict(os.environ),
                           input=f"{user.key_id}\n{user.secret}\n", capture_output=True,
                           text=True, timeout=120, check=False)
    assert added.returncode == 0, added.stdout + added.stderr
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(f"[profile dev]\nrole_arn = {role_arn}\n"
                                  f"source_profile = {source}\nregion = eu-west-1\n")
    script, out = tmp_path / "who.py", tmp_path / "who.json"
    script.write_text(WHO)
    lines: list[str] = []

    def launch(kind: str, title: str, env: Mapping[str, str]) -> None:
        line, flags = terminal.window_command(kind, terminal.safe_title(title), env)
        assert isinstance(line, str)
        lines.append(line)
        subprocess.Popen(f'{line} & "{sys.executable}" "{script}" > "{out}" 2>&1 & exit',
                         env=dict(env), creationflags=flags)

    notes = RecordedNotes()
    service = AppService(QuietDialogs(), notes)
    service.windows._launch = launch
    endpoint = CredentialsEndpoint(lambda role: service.issue_for_caller(role).credentials,
                                   service.tokens)
    endpoint.start()
    service.windows.uri_of = endpoint.uri
    try:
        service.start().result(timeout=60)
        job = service.perform(Action("window", "dev", "cmd"))
        assert job is not None
        job.result(timeout=120)
        deadline = time.monotonic() + 120
        while not (out.exists() and out.read_text().strip().endswith("}")):
            assert time.monotonic() < deadline, (notes.sent, lines)
            time.sleep(0.5)
    finally:
        endpoint.stop()
        service.shutdown()
    seen = json.loads(out.read_text())
    assert f":assumed-role/{role_arn.rsplit('/', 1)[1]}/" in seen["arn"]
    assert seen["method"] == "container-role" and not seen["static"]
    assert seen["role"] == "dev" and seen["region"] == "eu-west-1"
    assert seen["title"].startswith("traycreds: dev")
    assert lines[0].endswith(" /k title traycreds: dev") and "token" not in lines[0].lower()


def test_titles_hold_no_character_cmd_or_powershell_would_parse() -> None:
    assert terminal.safe_title("a&b|c\"d'e%f^g$h`i;j") == "a_b_c_d_e_f_g_h_i_j"
    line, _ = terminal.window_command("powershell", "traycreds: prod (eu)", {})
    assert isinstance(line, str) and line.endswith(
        " -NoExit -NoLogo -Command \"$Host.UI.RawUI.WindowTitle = 'traycreds: prod (eu)'\"")
