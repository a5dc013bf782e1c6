"""One bad line in the AWS files breaks at most the role it is in (README: "A malformed file
is reported with its line; the other roles still load"): the real command line against a
real STS (moto), with the key in the real keyring."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("secret_service")


def traycreds(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "traycreds", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


class Files:
    """A user with roles 'good' and 'stage' on one key 'me', and a way to spoil a file."""

    def __init__(self, moto: Any, aws_env: Any) -> None:
        user = moto.make_user()
        self.arns = {}
        for name in ("good", "stage"):
            self.arns[name] = moto.make_role(trusted_arn=user.arn)
            moto.allow_assume(user, self.arns[name])
        self.env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=moto.url, TRAYCREDS_NO_TRAY="1")
        self.config: Path = aws_env.aws_config
        self.credentials: Path = aws_env.aws_credentials
        self.config.parent.mkdir(parents=True, exist_ok=True)
        result = traycreds(self.env, "keys", "add", "me", stdin=f"{user.key_id}\n{user.secret}\n")
        assert result.returncode == 0, result.stderr

    def write_config(self, stage_header: str = "[profile stage]", stage_extra: str = "") -> None:
        self.config.write_text(
            "[default]\nregion = us-east-1\n\n"
            f"{stage_header}\nrole_arn = {self.arns['stage']}\nsource_profile = me\n"
            f"{stage_extra}\n"
            f"[profile good]\nrole_arn = {self.arns['good']}\nsource_profile = me\n")


@pytest.fixture
def files(moto: Any, aws_env: Any) -> Files:
    return Files(moto, aws_env)


def _spoil(files: Files, kind: str) -> int | None:
    """Spoil one file; the line traycreds must name (None: a file it does not read)."""
    if kind == "setting without =":
        files.write_config(stage_extra="duration_seconds 3600")
        return 7
    if kind == "header without ]":
        files.write_config(stage_header="[profile stage")
        return 4
    files.write_config()
    files.credentials.write_bytes(b"[old]\naws_access_key_id = AKIA\xff\xfe\n")
    return None


@pytest.mark.parametrize("kind", ["setting without =", "header without ]",
                                  "credentials not UTF-8"])
def test_a_bad_line_breaks_only_its_role(files: Files, kind: str) -> None:
    line = _spoil(files, kind)
    good = traycreds(files.env, "export", "good", "--shell", "bash")
    assert good.returncode == 0, good.stderr
    assert "AWS_SESSION_TOKEN" in good.stdout and "Unable to parse" not in good.stderr
    who = traycreds(files.env, "whoami", "good")
    assert who.returncode == 0, who.stderr
    assert files.arns["good"].rsplit("/", 1)[1] in who.stdout
    if line is None:
        stage = traycreds(files.env, "export", "stage", "--shell", "bash")
        assert stage.returncode == 0, stage.stderr
        return
    where = f"{files.config}, line {line}"
    stage = traycreds(files.env, "export", "stage", "--shell", "bash")
    assert stage.returncode == 3, stage.stderr
    assert where in stage.stderr and stage.stdout == ""
    check = traycreds(files.env, "config", "check")
    assert check.returncode == 3
    assert where in check.stdout
    fix = "Write it as 'duration_seconds = 3600'" if line == 7 else "Close the header with ']'"
    assert fix in check.stdout and fix in stage.stderr


def test_config_check_reports_a_region_that_is_no_region(aws_env: Any) -> None:
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(
        "[profile eu]\nrole_arn = arn:aws:iam::111122223333:role/Eu\nsource_profile = me\n"
        "region = Europe\n\n"
        "[profile us]\nrole_arn = arn:aws:iam::111122223333:role/Us\nsource_profile = me\n"
        "region = us-gov-west-1\n")
    env = dict(aws_env.env, TRAYCREDS_NO_TRAY="1")
    check = traycreds(env, "config", "check")
    assert check.returncode == 3
    assert check.stdout.startswith(f"{aws_env.aws_config}, line 4: role 'eu': region 'Europe' "
                                   "is not an AWS region name (such as us-east-1")
    assert "'us'" not in check.stdout
    roles = traycreds(env, "roles")
    assert roles.returncode == 0 and "us-gov-west-1" in roles.stdout
