"""`traycreds doctor`: every section a support request needs, and no secret (canary test).

Canaries are planted everywhere a careless report could pick one up: the keyring (a stored
key), ~/.aws/credentials (a plaintext key), ~/.aws/config (a bad value a problem message
would quote), and the environment (AWS_* credentials). None may appear in the output or
the logs, nor may a key id; a key count may.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from typing import Any

import pytest

from tests.support import AwsEnv

pytestmark = pytest.mark.usefixtures("secret_service")

SECTIONS = ("traycreds", "Python", "platform", "desktop session", "boto3", "botocore",
            "keyring", "pystray", "Pillow", "keyring backend", "tray backend", "tray host",
            "clipboard", "AWS config", "AWS credentials", "settings", "data folder",
            "log folder", "runtime folder", "tray running", "start at login", "roles",
            "config problems", "access keys", "IAM Identity Center", "environment")

PLAINTEXT_ID = "AKIA" + "PLAINTEXTCANARY7"  # built at run time: no key-shaped literal
ENV_ID = "AKIA" + "ENVIRONMENTCANRY"
PLAINTEXT_SECRET = "PlainTextCanarySecret/0123456789abcdefABCD"
CONFIG_CANARY = "ConfigValueCanary0123456789"
ENV_SECRET = "EnvironmentCanarySecret/0123456789abcdefAB"
ENV_TOKEN = "EnvironmentCanaryToken+" + "Q" * 60


def traycreds(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "traycreds", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


def rows(output: str) -> dict[str, str]:
    """The report's `label  value` lines (labels are separated by two spaces or more)."""
    found = {}
    for line in output.splitlines()[2:]:
        label, _, value = line.partition("  ")
        found[label.strip()] = value.strip()
    return found


def test_doctor_reports_every_section_and_no_secret(moto: Any, aws_env: AwsEnv) -> None:
    user = moto.make_user()
    role_arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, role_arn)
    env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=moto.url)
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(
        f"[profile dev]\nrole_arn = {role_arn}\nsource_profile = me\n\n"
        f"[profile leaky]\nrole_arn = {CONFIG_CANARY}\nsource_profile = me\n")
    aws_env.aws_credentials.write_text(
        f"[plain]\naws_access_key_id = {PLAINTEXT_ID}\n"
        f"aws_secret_access_key = {PLAINTEXT_SECRET}\n")
    added = traycreds(env, "keys", "add", "me", stdin=f"{user.key_id}\n{user.secret}\n")
    assert added.returncode == 0, added.stderr
    # Credentials a user may have exported in the shell they run doctor from.
    env.update(AWS_ACCESS_KEY_ID=ENV_ID, AWS_SECRET_ACCESS_KEY=ENV_SECRET,
               AWS_SESSION_TOKEN=ENV_TOKEN, AWS_PROFILE="dev", TRAYCREDS_LOG="debug")
    # A role's temporary credentials, to be sure none of them leaks either.
    issued = traycreds(env, "export", "dev", "--shell", "json")
    assert issued.returncode == 0, issued.stderr

    result = traycreds(env, "doctor")
    assert result.returncode == 0, result.stderr
    report = rows(result.stdout)
    for section in SECTIONS:
        if section == "desktop session" and sys.platform == "win32":
            continue  # the X11/Wayland/D-Bus line: Linux only
        assert section in report, f"no {section!r} line in:\n{result.stdout}"
    assert report["access keys"] == "1 stored"
    assert report["roles"].startswith("1 usable, 1 misconfigured: leaky")
    assert "leaky" in report["config problems"] and str(aws_env.aws_config) in \
        report["config problems"]
    backend = "Windows.WinVaultKeyring" if sys.platform == "win32" else "SecretService.Keyring"
    assert report["keyring backend"].startswith(f"keyring.backends.{backend}")
    tray = "win32 (pystray's choice)" if sys.platform == "win32" else "gtk (traycreds' choice)"
    assert report["tray backend"] == tray
    assert report["tray running"] == "no"
    assert report["start at login"].startswith("off (")
    assert report["AWS config"] == f"{aws_env.aws_config} (exists, from AWS_CONFIG_FILE)"
    assert "AWS_PROFILE=dev" in report["environment"]
    assert "AWS_SECRET_ACCESS_KEY" in report["environment"]  # the name, never the value
    assert "error:" not in result.stdout

    document = json.loads(issued.stdout)
    secrets = {user.secret, PLAINTEXT_SECRET, ENV_SECRET, ENV_TOKEN,
               document["SecretAccessKey"], document["SessionToken"]}
    key_ids = {user.key_id, PLAINTEXT_ID, ENV_ID, document["AccessKeyId"]}
    for canary in secrets | key_ids:
        assert canary not in result.stdout + result.stderr
    # Problems only by place and role: their text quotes the files' values. (At DEBUG the
    # usual log lines on stderr name the problem, as every command's do.)
    assert CONFIG_CANARY not in result.stdout
    logs = [p.read_text() for p in aws_env.log_root.rglob("*.log")]
    assert logs, "doctor ran at DEBUG: the log file should exist"
    for text in logs:
        for secret in secrets:
            assert secret not in text


def test_doctor_with_nothing_set_up(aws_env: AwsEnv) -> None:
    result = traycreds(aws_env.env, "doctor")
    assert result.returncode == 0, result.stderr
    report = rows(result.stdout)
    assert report["access keys"] == "0 stored" and report["roles"] == "0 usable"
    assert report["config problems"] == "none"
    assert report["IAM Identity Center"] == "none"
    assert report["AWS config"].endswith("(missing, from AWS_CONFIG_FILE)")


def test_doctor_says_which_identity_center_sessions_are_signed_in(aws_env: AwsEnv) -> None:
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(
        "[sso-session corp]\nsso_start_url = https://d-1234567890.awsapps.com/start\n"
        "sso_region = eu-west-1\n\n[sso-session lab]\n"
        "sso_start_url = https://d-0987654321.awsapps.com/start\nsso_region = us-east-1\n")
    token = "canary" + "T" * 40  # the AWS CLI's cache format, as `aws sso login` writes it
    cache = aws_env.home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / f"{hashlib.sha1(b'corp').hexdigest()}.json").write_text(json.dumps({
        "startUrl": "https://d-1234567890.awsapps.com/start", "region": "eu-west-1",
        "accessToken": token, "expiresAt": "2999-01-01T00:00:00Z"}))
    result = traycreds(aws_env.env, "doctor")
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout)["IAM Identity Center"] == (
        "corp: signed in until 2999-01-01 00:00 UTC; lab: not signed in (traycreds login lab)")
    assert token not in result.stdout + result.stderr
