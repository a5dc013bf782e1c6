"""The command line end to end, as separate processes: real STS (moto, auth enforced),
real keyring, real bash/zsh/fish evaluating the exported lines."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support import require_program

pytestmark = pytest.mark.usefixtures("secret_service")

CHECK = ("import boto3, os; print(boto3.client('sts', region_name='us-east-1', "
         "endpoint_url=os.environ['AWS_ENDPOINT_URL_STS']).get_caller_identity()['Arn'])")


def traycreds(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "traycreds", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


class Setup:
    def __init__(self, moto: Any, aws_env: Any) -> None:
        self.user = moto.make_user()
        self.role_arn = moto.make_role(trusted_arn=self.user.arn)
        moto.allow_assume(self.user, self.role_arn)
        self.chained_arn = moto.make_role(trusted_arn=self.role_arn)
        moto.allow_assume(self.role_arn.rsplit("/", 1)[1], self.chained_arn)
        self.env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=moto.url)
        aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
        aws_env.aws_config.write_text(
            "[default]\nregion = us-east-1\n\n"
            f"[profile dev]\nrole_arn = {self.role_arn}\nsource_profile = me\n"
            "region = eu-west-1\nrole_session_name = dev-session\n\n"
            f"[profile deep]\nrole_arn = {self.chained_arn}\nsource_profile = dev\n"
            "duration_seconds = 7200\n")
        self.log_dir = aws_env.state_home / "traycreds" / "log"
        result = traycreds(self.env, "keys", "add", "me",
                           stdin=f"{self.user.key_id}\n{self.user.secret}\n")
        assert result.returncode == 0, result.stderr
        assert self.user.arn in result.stdout


@pytest.fixture
def setup(moto: Any, aws_env: Any) -> Setup:
    return Setup(moto, aws_env)


def test_keys_list_shows_ids_and_users_never_secrets(setup: Setup) -> None:
    result = traycreds(setup.env, "keys", "list")
    assert result.returncode == 0
    assert setup.user.key_id in result.stdout and "deep, dev" in result.stdout
    assert setup.user.secret not in result.stdout + result.stderr


def test_roles_table(setup: Setup) -> None:
    result = traycreds(setup.env, "roles")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ACCOUNT", "ROLE", "SOURCE", "MFA", "REGION", "STATE"]
    dev = next(line for line in lines if line.startswith("dev "))
    assert "eu-west-1" in dev and " me " in dev
    assert any(line.startswith("deep ") and "me > dev" in line for line in lines)
    data = json.loads(traycreds(setup.env, "roles", "--json").stdout)
    assert {row["name"] for row in data} == {"dev", "deep"}


SHELL_RUNNERS = {
    "bash": ["bash", "-c", 'eval "$1"; python3 -c "$2"', "-"],
    "zsh": ["zsh", "-c", 'eval "$1"; python3 -c "$2"', "-"],
    "fish": ["fish", "-c", 'eval $argv[1]; python3 -c $argv[2]'],  # fish has no $0
}


@pytest.mark.parametrize("shell", sorted(SHELL_RUNNERS))
def test_exported_lines_work_in_real_shells(setup: Setup, shell: str) -> None:
    require_program(shell, f"exported lines run in {shell}")
    exported = traycreds(setup.env, "export", "dev", "--shell", shell)
    assert exported.returncode == 0, exported.stderr
    env = {k: v for k, v in setup.env.items() if not k.startswith("AWS_")}
    env["AWS_ENDPOINT_URL_STS"] = setup.env["AWS_ENDPOINT_URL_STS"]
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    runner = SHELL_RUNNERS[shell]
    result = subprocess.run([*runner, exported.stdout, CHECK], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"assumed-role/{setup.role_arn.rsplit('/', 1)[1]}"
                                          "/dev-session")


def _values_from(shell: str, text: str) -> dict[str, str]:
    """Read cmd and PowerShell lines by their documented rules (they cannot run here)."""
    values = {}
    for line in text.splitlines():
        if shell == "cmd":
            match = re.fullmatch(r'set "([A-Z_]+)=(.*)"', line)
            assert match, line
            values[match.group(1)] = match.group(2)
        else:
            match = re.fullmatch(r"\$env:([A-Z_]+) = '((?:[^']|'')*)'", line)
            assert match, line
            values[match.group(1)] = match.group(2).replace("''", "'")
    return values


@pytest.mark.parametrize("shell", ["cmd", "powershell"])
def test_windows_shell_lines_carry_working_credentials(setup: Setup, shell: str) -> None:
    exported = traycreds(setup.env, "export", "deep", "--shell", shell)
    assert exported.returncode == 0, exported.stderr
    assert "capped at 3600 s" in exported.stderr
    assert "\r" not in exported.stdout and exported.stdout.endswith("\n")
    values = _values_from(shell, exported.stdout)
    assert values["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")
    sts = boto3.client("sts", region_name="us-east-1",
                       endpoint_url=setup.env["AWS_ENDPOINT_URL_STS"],
                       aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
                       aws_session_token=values["AWS_SESSION_TOKEN"])
    assert f"assumed-role/{setup.chained_arn.rsplit('/', 1)[1]}/" in \
        sts.get_caller_identity()["Arn"]


def test_credential_process_document_works_for_the_aws_sdk(setup: Setup, aws_env: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    config = aws_env.aws_config
    command = f"{sys.executable} -m traycreds credential-process dev"
    config.write_text(f"{config.read_text()}\n[profile via-tray]\n"
                      f"credential_process = {command}\n")
    # boto3 in this process reads the patched environment (aws_env) and runs our command.
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", setup.env["AWS_ENDPOINT_URL_STS"])
    session = boto3.session.Session(profile_name="via-tray")
    sts = session.client("sts", region_name="us-east-1")
    assert "/dev-session" in sts.get_caller_identity()["Arn"]
    document = json.loads(traycreds(setup.env, "credential-process", "dev").stdout)
    assert document["Version"] == 1 and document["Expiration"].endswith("Z")
    source = json.loads(traycreds(setup.env, "credential-process", "--source", "me").stdout)
    assert source == {"Version": 1, "AccessKeyId": setup.user.key_id,
                      "SecretAccessKey": setup.user.secret}


def test_whoami(setup: Setup) -> None:
    result = traycreds(setup.env, "whoami", "dev")
    assert result.returncode == 0 and "dev-session" in result.stdout
    result = traycreds(setup.env, "whoami", "--source", "me")
    assert result.returncode == 0 and setup.user.arn in result.stdout


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (["export", "nope"], 4, "Known roles: deep, dev"),
    (["export", "dev", "--shell", "tcsh"], 2, "tcsh"),
    (["whoami", "--source", "missing"], 5, "traycreds keys add missing"),
])
def test_errors_are_two_lines_and_an_exit_code(setup: Setup, args: list[str], code: int,
                                                fragment: str) -> None:
    result = traycreds(setup.env, *args)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("traycreds: ")
    assert fragment in lines[1]


def test_keys_add_refuses_bad_shapes_without_echoing(setup: Setup) -> None:
    result = traycreds(setup.env, "keys", "add", "other", "--no-verify",
                       stdin="not-a-key\nsecret with spaces\n")
    assert result.returncode == 2 and "not-a-key" not in result.stderr
    result = traycreds(setup.env, "keys", "add", "other", "--no-verify",
                       stdin=f"{setup.user.key_id}\nbad secret!\n")
    assert result.returncode == 2 and "bad secret!" not in result.stderr


def test_malformed_config_names_file_and_line_and_other_roles_load(setup: Setup,
                                                                   aws_env: Any) -> None:
    config = aws_env.aws_config
    config.write_text(config.read_text() + "\nthis line is broken\n"
                      "[profile worse]\nrole_arn = not-an-arn\nsource_profile = me\n")
    result = traycreds(setup.env, "roles")
    assert result.returncode == 0
    assert "dev" in result.stdout
    # Line 15 is inside [profile deep]: that role is listed with the line as its error.
    deep = next(line for line in result.stdout.splitlines() if line.startswith("deep "))
    assert f"{config}, line 15" in deep
    assert traycreds(setup.env, "export", "deep").returncode == 3
    result = traycreds(setup.env, "export", "worse")
    assert result.returncode == 3 and "not an IAM role ARN" in result.stderr
    result = traycreds(setup.env, "config", "check")
    assert result.returncode == 3 and "line 15" in result.stdout


def test_no_secret_anywhere_at_debug(setup: Setup, aws_env: Any) -> None:
    """Every command at DEBUG: the long-term secret appears in no output or log; temporary
    secrets appear only on stdout of the commands whose job is to print them."""
    env = dict(setup.env, TRAYCREDS_LOG="debug")
    printed: list[str] = []
    secrets = {setup.user.secret}
    commands = [["--debug", "roles"], ["--debug", "keys", "list"], ["whoami", "dev"],
                ["export", "dev", "--shell", "json"], ["credential-process", "deep"],
                ["export", "nope"], ["whoami", "--source", "me"], ["config", "check"],
                ["keys", "add", "again", "--no-verify"]]
    for args in commands:
        stdin = f"{setup.user.key_id}\n{setup.user.secret}\n" if "add" in args else ""
        result = traycreds(env, *args, stdin=stdin)
        printed.append(result.stderr)
        if args[0] in ("export", "credential-process") and result.returncode == 0:
            document = json.loads(result.stdout)
            secrets |= {document["SecretAccessKey"], document["SessionToken"]}
        else:
            printed.append(result.stdout)
    logs = [p.read_text() for p in aws_env.log_root.rglob("*.log")]
    assert logs, "the log file should exist"
    assert "DEBUG" in "".join(logs)
    for secret in secrets:
        for text in printed + logs:
            assert secret not in text


@pytest.mark.usefixtures("desktop")
def test_export_copy_puts_the_lines_on_the_real_clipboard(setup: Setup) -> None:
    env = dict(setup.env)
    settings = Path(env["XDG_CONFIG_HOME"]) / "traycreds" / "settings.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("[app]\nclipboard_clear_seconds = 2\n")
    result = traycreds(env, "export", "dev", "--shell", "fish", "--copy")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "cleared in 2 s if unchanged" in result.stderr
    pasted = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                            text=True, timeout=10).stdout
    assert pasted.startswith("set -gx AWS_ACCESS_KEY_ID '") and pasted.endswith("\n")
    for _ in range(50):  # the detached clearer empties it once the 2 s are up
        now = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                             text=True, timeout=10).stdout
        if not now:
            break
        time.sleep(0.2)
    assert now == ""
