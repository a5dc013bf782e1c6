"""Credentials profiles and key import, end to end: the files, boto3 and the AWS CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.test_cli import traycreds

pytestmark = pytest.mark.usefixtures("secret_service")

EXISTING = """\
# my keys, hand-written
[me]
aws_access_key_id = {key_id}
aws_secret_access_key = {secret}
region=eu-west-1 ; not a comment for botocore

[other]
aws_access_key_id = AKIDOTHER0000000000
aws_secret_access_key = xyz
"""


class World:
    def __init__(self, moto: Any, aws_env: Any) -> None:
        self.moto = moto
        self.user = moto.make_user()
        self.role_arn = moto.make_role(trusted_arn=self.user.arn)
        moto.allow_assume(self.user, self.role_arn)
        self.env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=moto.url)
        self.config: Path = aws_env.aws_config
        self.credentials: Path = aws_env.aws_credentials
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text(f"# config\n[profile dev]\nrole_arn = {self.role_arn}\n"
                               "source_profile = me\nrole_session_name = writer\n",
                               encoding="utf-8")
        self.credentials.write_text(EXISTING.format(key_id=self.user.key_id,
                                                    secret=self.user.secret), encoding="utf-8")

    def aws_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(self.env, AWS_ENDPOINT_URL=self.moto.url)
        return subprocess.run([sys.executable, "-m", "awscli", *args], env=env,
                              capture_output=True, text=True, timeout=120)


@pytest.fixture
def world(moto: Any, aws_env: Any) -> World:
    return World(moto, aws_env)


def test_write_then_sdk_and_cli_use_the_profile(world: World) -> None:
    before = world.credentials.read_text()
    world.credentials.chmod(0o644)
    assert traycreds(world.env, "keys", "add", "me",
                     stdin=f"{world.user.key_id}\n{world.user.secret}\n").returncode == 0
    result = traycreds(world.env, "write", "dev", "--profile", "dev-temp")
    assert result.returncode == 0, result.stderr
    assert "[dev-temp]" in result.stdout
    # Others could read the file; now it holds secrets: 0600, and said once on stderr (POSIX:
    # Windows keeps the file private by its folder's ACL, and has no mode bits to report).
    if sys.platform != "win32":
        assert f"{world.credentials} was readable by other users (mode 0644); traycreds made " \
            "it 0600" in result.stderr
        assert world.credentials.stat().st_mode & 0o777 == 0o600
    after = world.credentials.read_text()
    assert after.startswith(before)  # every byte of the existing file kept, ours appended
    assert "traycreds_role = dev" in after and "aws_credential_expiration = " in after
    session = boto3.session.Session(profile_name="dev-temp")
    arn = session.client("sts", region_name="us-east-1", endpoint_url=world.moto.url) \
        .get_caller_identity()["Arn"]
    assert arn.endswith("/writer")
    cli = world.aws_cli("sts", "get-caller-identity", "--profile", "dev-temp",
                        "--region", "us-east-1", "--output", "text", "--query", "Arn")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip() == arn
    # Writing again replaces our section in place; removing restores the original bytes.
    again = traycreds(world.env, "write", "dev", "--profile", "dev-temp", "--fresh")
    assert again.returncode == 0 and "readable by other users" not in again.stderr
    assert world.credentials.read_text().count("[dev-temp]") == 1
    assert traycreds(world.env, "write", "dev", "--profile", "dev-temp", "--remove") \
        .returncode == 0
    assert world.credentials.read_text() == before


def test_a_section_that_is_not_ours_is_never_touched(world: World) -> None:
    traycreds(world.env, "keys", "add", "me", stdin=f"{world.user.key_id}\n{world.user.secret}\n")
    before = world.credentials.read_bytes()
    result = traycreds(world.env, "write", "dev", "--profile", "other")
    assert result.returncode == 8
    assert "--take-over" in result.stderr and "--profile" in result.stderr
    assert world.credentials.read_bytes() == before
    result = traycreds(world.env, "write", "dev", "--profile", "other", "--take-over")
    assert result.returncode == 0, result.stderr
    backups = list(world.credentials.parent.glob("credentials.traycreds-backup-*"))
    assert [b.read_bytes() for b in backups] == [before]
    assert sys.platform == "win32" or backups[0].stat().st_mode & 0o777 == 0o600


def test_keys_import_moves_the_key_and_the_aws_cli_keeps_working(world: World) -> None:
    config_before = world.config.read_text()
    result = traycreds(world.env, "keys", "import", "me")
    assert result.returncode == 0, result.stderr
    assert world.user.arn in result.stdout
    creds_after = world.credentials.read_text()
    assert world.user.secret not in creds_after and world.user.key_id not in creds_after
    # The rest of [me] and every other section stay as they were.
    assert "region=eu-west-1 ; not a comment for botocore" in creds_after
    assert "[other]\naws_access_key_id = AKIDOTHER0000000000" in creds_after
    assert creds_after.startswith("# my keys, hand-written\n[me]\nregion=")
    config_after = world.config.read_text()
    assert config_after.startswith(config_before)
    assert "[profile me]\ncredential_process = " in config_after
    assert "credential-process --source me" in config_after
    # The AWS CLI, through credential_process, reaches the keyring.
    cli = world.aws_cli("sts", "get-caller-identity", "--profile", "me", "--region",
                        "us-east-1", "--output", "text", "--query", "Arn")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip() == world.user.arn
    # And the role that uses it as source_profile still works through traycreds.
    assert traycreds(world.env, "whoami", "dev").returncode == 0
    # Importing again finds nothing to import and changes nothing.
    again = traycreds(world.env, "keys", "import", "me")
    assert again.returncode == 5 and "Nothing to import" in again.stderr
    assert world.credentials.read_text() == creds_after


def test_import_with_a_bad_key_changes_nothing(world: World) -> None:
    secret = "abcdefghijklmnopqrstuvwxyz0123456789ABCD"
    world.credentials.write_text("[me]\naws_access_key_id = AKIDUNKNOWN00000000\n"
                                 f"aws_secret_access_key = {secret}\n")
    before = world.credentials.read_bytes(), world.config.read_bytes()
    result = traycreds(world.env, "keys", "import", "me")
    assert result.returncode == 10, result.stderr
    assert (world.credentials.read_bytes(), world.config.read_bytes()) == before


def test_clean_removes_only_expired_sections_of_ours(world: World) -> None:
    ours = ("\n[old]\naws_access_key_id = ASIDOLD0000000000000\naws_secret_access_key = s\n"
            "aws_session_token = t\naws_credential_expiration = 2020-01-01T00:00:00Z\n"
            "traycreds_role = dev\n"
            "\n[new]\naws_access_key_id = ASIDNEW0000000000000\naws_secret_access_key = s\n"
            "aws_session_token = t\naws_credential_expiration = 2999-01-01T00:00:00Z\n"
            "traycreds_role = dev\n")
    original = world.credentials.read_text()
    world.credentials.write_text(original + ours)
    result = traycreds(world.env, "clean")
    assert result.returncode == 0 and "old" in result.stdout
    text = world.credentials.read_text()
    assert "[old]" not in text and "[new]" in text and text.startswith(original)


def test_setup_profiles_serves_roles_to_the_aws_cli_without_secrets_in_files(
        world: World) -> None:
    traycreds(world.env, "keys", "add", "me", stdin=f"{world.user.key_id}\n{world.user.secret}\n")
    before = world.config.read_text()
    result = traycreds(world.env, "setup-profiles", "dev")
    assert result.returncode == 0, result.stderr
    config = world.config.read_text()
    assert config.startswith(before)
    assert "[profile dev-tray]\ncredential_process = " in config
    assert "credential-process dev\n" in config and "traycreds_role = dev" in config
    assert world.user.secret not in config
    cli = world.aws_cli("sts", "get-caller-identity", "--profile", "dev-tray", "--region",
                        "us-east-1", "--output", "text", "--query", "Arn")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip().endswith("/writer")
    assert traycreds(world.env, "setup-profiles", "dev").returncode == 0  # idempotent
    assert world.config.read_text() == config
    assert traycreds(world.env, "setup-profiles", "dev", "--remove").returncode == 0
    assert world.config.read_text() == before


def test_setup_profiles_never_overwrites_a_profile_of_the_users(world: World) -> None:
    world.config.write_text(world.config.read_text() + "\n[profile dev-tray]\nregion = x\n")
    before = world.config.read_bytes()
    result = traycreds(world.env, "setup-profiles", "dev")
    assert result.returncode == 8 and "--suffix" in result.stderr
    assert world.config.read_bytes() == before
