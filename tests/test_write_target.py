"""`write` targets a profile the AWS tools read keys from (issue 11, item 2).

The README's layout puts the role in ``[profile prod-admin]`` with ``role_arn`` and
``source_profile = me``, the key ``me`` in the keyring. Keys written to ``[prod-admin]`` in
~/.aws/credentials are never read: the AWS CLI takes the config profile's role_arn first
and cannot find ``me``. These tests run the real AWS CLI (in the venv) against moto.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support import AwsEnv
from tests.support.service import QuietDialogs, RecordedNotes
from tests.support.stsserver import REGION, MotoSts
from tests.test_cli import traycreds
from traycreds.app.service import AppService
from traycreds.core.menu import Item, build_menu
from traycreds.core.models import utc_now

pytestmark = pytest.mark.usefixtures("secret_service")


def aws_cli() -> list[str]:
    """The AWS CLI installed beside this Python (the venv's), as a user runs it."""
    found = Path(sys.executable).parent / "aws"
    return [str(found)] if found.exists() else [sys.executable, "-m", "awscli"]


class Readme:
    """The README's layout, with the key in the keyring and STS served by moto."""

    def __init__(self, moto: MotoSts, aws_env: AwsEnv) -> None:
        self.user = moto.make_user()
        self.role_arn = moto.make_role(trusted_arn=self.user.arn)
        moto.allow_assume(self.user, self.role_arn)
        self.source = f"me-{uuid.uuid4().hex[:8]}"  # the keyring is shared by the session
        self.env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=moto.url)
        self.config, self.credentials = aws_env.aws_config, aws_env.aws_credentials
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f"[profile prod-admin]\nrole_arn = {self.role_arn}\nsource_profile = {self.source}\n"
            f"region = {REGION}\nrole_session_name = alice\n\n"
            "[profile sso-dev]\nsso_session = corp\nsso_account_id = 111122223333\n\n"
            "[default]\ncredential_process = /bin/false\n")
        added = traycreds(self.env, "keys", "add", self.source,
                          stdin=f"{self.user.key_id}\n{self.user.secret}\n")
        assert added.returncode == 0, added.stderr

    def aws(self, line: str) -> subprocess.CompletedProcess[str]:
        """Run an `aws ...` line as printed, with the command given instead of '...'."""
        words = shlex.split(line)
        assert words[0] == "aws" and words[-1] == "...", line
        return subprocess.run([*aws_cli(), *words[1:-1], "sts", "get-caller-identity",
                               "--output", "text", "--query", "Arn"], env=self.env,
                              capture_output=True, text=True, timeout=120)

    def remove_key(self) -> None:
        traycreds(self.env, "keys", "remove", self.source)


@pytest.fixture
def readme(moto: MotoSts, aws_env: AwsEnv) -> Any:
    world = Readme(moto, aws_env)
    yield world
    world.remove_key()


def printed_aws_line(stdout: str) -> str:
    start = stdout.index("Use them with: ") + len("Use them with: ")
    return stdout[start:stdout.index(" ...", start) + 4]


def test_the_readme_write_recipe_works_with_the_aws_cli(readme: Readme) -> None:
    result = traycreds(readme.env, "write", "prod-admin")
    assert result.returncode == 0, result.stderr
    assert "to [prod-admin-traycreds] in" in result.stdout
    line = printed_aws_line(result.stdout)
    assert line == f"aws --profile prod-admin-traycreds --region {REGION} ..."
    text = readme.credentials.read_text()
    assert "[prod-admin-traycreds]\n" in text and "[prod-admin]" not in text
    cli = readme.aws(line)
    assert cli.returncode == 0, cli.stderr
    assert ":assumed-role/" in cli.stdout and cli.stdout.strip().endswith("/alice")
    # Why the role's own name cannot be the target: the AWS CLI uses role_arn there.
    own = readme.aws(f"aws --profile prod-admin --region {REGION} ...")
    assert own.returncode != 0 and readme.source in own.stderr


def test_remove_and_clean_find_the_section_under_its_new_name(readme: Readme) -> None:
    before = "[keep]\naws_access_key_id = AKIDKEEP000000000000\naws_secret_access_key = k\n"
    readme.credentials.write_text(before)
    assert traycreds(readme.env, "write", "prod-admin").returncode == 0
    removed = traycreds(readme.env, "write", "prod-admin", "--remove")
    assert removed.returncode == 0, removed.stderr
    assert "Removed [prod-admin-traycreds]" in removed.stdout
    assert readme.credentials.read_text() == before
    # A section an earlier traycreds wrote under the role's own name goes with --remove too.
    earlier = ("\n[prod-admin]\naws_access_key_id = ASIDOLD0000000000000\n"
               "aws_secret_access_key = s\naws_session_token = t\n"
               "aws_credential_expiration = 2999-01-01T00:00:00Z\ntraycreds_role = prod-admin\n")
    readme.credentials.write_text(before + earlier)
    assert traycreds(readme.env, "write", "prod-admin").returncode == 0
    removed = traycreds(readme.env, "write", "prod-admin", "--remove")
    assert "Removed [prod-admin-traycreds], [prod-admin]" in removed.stdout
    assert readme.credentials.read_text() == before
    # clean: the section under the new name, once expired.
    assert traycreds(readme.env, "write", "prod-admin").returncode == 0
    text = readme.credentials.read_text()
    stamp = text.split("aws_credential_expiration = ")[1].split("\n")[0]
    readme.credentials.write_text(text.replace(stamp, "2020-01-01T00:00:00Z"))
    cleaned = traycreds(readme.env, "clean")
    assert cleaned.returncode == 0 and "prod-admin-traycreds" in cleaned.stdout
    assert readme.credentials.read_text() == before


@pytest.mark.parametrize(("name", "key"), [("prod-admin", "role_arn"),
                                           ("sso-dev", "sso_session"),
                                           ("default", "credential_process")])
def test_a_profile_the_aws_tools_would_not_read_is_refused(readme: Readme, name: str,
                                                           key: str) -> None:
    result = traycreds(readme.env, "write", "prod-admin", "--profile", name)
    assert result.returncode == 8, result.stderr
    header = "[default]" if name == "default" else f"[profile {name}]"
    assert "Profile would be ignored" in result.stderr
    assert f"{readme.config} has {header} with {key}" in result.stderr
    assert "--profile prod-admin-traycreds" in result.stderr
    assert "traycreds setup-profiles prod-admin" in result.stderr
    assert not readme.credentials.exists()


def test_the_profile_setting_is_the_default_when_the_aws_tools_read_it(readme: Readme,
                                                                      aws_env: AwsEnv) -> None:
    settings = aws_env.home / "traycreds-settings.toml"
    readme.env["TRAYCREDS_SETTINGS"] = str(settings)
    settings.write_text('[roles.prod-admin]\nprofile = "work"\n')
    result = traycreds(readme.env, "write", "prod-admin")
    assert result.returncode == 0, result.stderr
    assert readme.aws(printed_aws_line(result.stdout)).returncode == 0
    assert "to [work] in" in result.stdout
    # A profile setting naming a role's config profile is passed over, not obeyed.
    settings.write_text('[roles.prod-admin]\nprofile = "sso-dev"\n')
    result = traycreds(readme.env, "write", "prod-admin")
    assert result.returncode == 0 and "to [prod-admin-traycreds] in" in result.stdout


# -- the tray -------------------------------------------------------------------------------


def write_label(menu: tuple[Item, ...]) -> str:
    for item in menu:
        if item.label.startswith("Write to credentials profile"):
            return item.label
        if item.children:
            try:
                return write_label(item.children)
            except LookupError:
                pass
    raise LookupError("no write item")


def test_the_tray_menu_and_notification_name_the_working_profile(
        readme: Readme, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", readme.env["AWS_ENDPOINT_URL_STS"])
    notes = RecordedNotes()
    service = AppService(QuietDialogs(), notes)
    try:
        service.start().result(timeout=30)
        assert write_label(build_menu(service.state, utc_now())) == \
            "Write to credentials profile [prod-admin-traycreds]"
        job = service.write("prod-admin")
        assert job is not None
        job.result(timeout=60)
        title, message = notes.sent[-1]
        assert title == "prod-admin written to [prod-admin-traycreds]"
        assert f"Use: aws --profile prod-admin-traycreds --region {REGION} ..." in message
        line = message[message.index("Use: ") + 5:message.index(" ...") + 4]
        cli = readme.aws(line)
        assert cli.returncode == 0, cli.stderr
        assert cli.stdout.strip().endswith("/alice")
    finally:
        service.shutdown()
