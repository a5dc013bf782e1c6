"""IAM Identity Center as a chain root, against the sso-oidc/portal stand-in and moto's STS.

The device flow (pending, slow_down, expired, denied), the token cache shared with the AWS
CLI both ways, SSO roles exported to a real bash and chained into a moto role, and no token
in traycreds' logs.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.support import require_program
from tests.support.ssoserver import SsoStandIn
from tests.test_cli import CHECK, SHELL_RUNNERS, traycreds
from traycreds.app.sso import SignInPrompt, sign_in
from traycreds.core.errors import AccessDeniedError, ExpiredTokenError
from traycreds.core.models import SsoTarget

pytestmark = pytest.mark.usefixtures("secret_service")

START_URL = "https://d-9067000000.awsapps.com/start"
SESSION = "corp"
ROLE = "DevAccess"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[SsoStandIn]:
    server = SsoStandIn().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sso(stand_in: SsoStandIn) -> SsoStandIn:
    stand_in.interval, stand_in.device_expires_in, stand_in.token_expires_in = 1, 600, 3600
    stand_in.device_answer_override = {}
    stand_in.refresh_delay = 0.0
    stand_in.state.poll_script.clear()
    stand_in.state.requests.clear()
    stand_in.enforce_interval = True
    return stand_in


def _target() -> SsoTarget:
    return SsoTarget(SESSION, START_URL, "eu-west-1", "", "")


def _token_file(home: Path, name: str = SESSION) -> Path:
    return home / ".aws" / "sso" / "cache" / f"{hashlib.sha1(name.encode()).hexdigest()}.json"


def _sign_in(sso: SsoStandIn, approve: str | None, **kwargs: Any) -> Any:
    """sign_in in this process; the person at the browser acts after the first poll."""
    shown: list[SignInPrompt] = []
    sso.state.devices.clear()  # the person acts on this sign-in's code, not an older one
    sso.state.requests.clear()

    def person() -> None:
        code = sso.pending_user_code()
        while "token" not in sso.operations():
            threading.Event().wait(0.05)
        if approve == "approve":
            sso.approve(code)
        elif approve == "deny":
            sso.deny(code)

    helper = threading.Thread(target=person, daemon=True)
    helper.start()
    try:
        return sign_in(_target(), shown.append, open_browser=False, **kwargs), shown
    finally:
        helper.join(timeout=10)


@pytest.fixture
def endpoints(sso: SsoStandIn, monkeypatch: pytest.MonkeyPatch, aws_env: Any) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", sso.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", sso.url)


@pytest.mark.usefixtures("endpoints")
def test_device_flow_waits_while_pending_then_stores_the_cli_token(
        sso: SsoStandIn, aws_env: Any) -> None:
    token, shown = _sign_in(sso, "approve")
    assert shown[0].user_code and shown[0].verification_uri_complete.startswith(sso.url)
    operations = sso.operations()
    assert operations[:2] == ["register", "device_authorization"]
    assert operations.count("token") >= 2  # authorization_pending at least once
    path = _token_file(aws_env.home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert set(saved) == {"startUrl", "region", "accessToken", "expiresAt", "clientId",
                          "clientSecret", "registrationExpiresAt", "refreshToken"}
    assert saved["accessToken"] == token.access_token and saved["expiresAt"].endswith("Z")
    # The registration is cached where the AWS CLI v2 looks, and reused by the next sign-in.
    registrations = [p for p in path.parent.iterdir() if p != path]
    assert len(registrations) == 1 and "clientSecret" in json.loads(registrations[0].read_text())
    _sign_in(sso, "approve")
    assert "register" not in sso.operations()


@pytest.mark.usefixtures("endpoints")
def test_slow_down_adds_five_seconds_to_the_interval(sso: SsoStandIn) -> None:
    sso.enforce_interval = False
    sso.state.poll_script.extend(["slow_down", "authorization_pending"])
    waits: list[float] = []
    _sign_in(sso, "approve", sleep=waits.append)
    assert waits[:3] == [1.0, 6.0, 6.0]


@pytest.mark.usefixtures("endpoints")
def test_an_expired_device_code_and_a_denial_are_errors(sso: SsoStandIn) -> None:
    sso.state.poll_script.append("expired_token")
    with pytest.raises(ExpiredTokenError, match="expired before it was approved"):
        _sign_in(sso, None)
    with pytest.raises(AccessDeniedError, match="denied"):
        _sign_in(sso, "deny")
    sso.device_expires_in = 2  # nobody approves: traycreds stops polling at the code's end
    with pytest.raises(ExpiredTokenError, match="traycreds login corp"):
        _sign_in(sso, None)


class SsoSetup:
    """moto: a user whose role is what the stand-in's GetRoleCredentials hands out, and a
    second role chained from it. The config names both, the first as an SSO profile."""

    def __init__(self, moto: Any, aws_env: Any, sso: SsoStandIn) -> None:
        self.sso, self.home = sso, aws_env.home
        user = moto.make_user()
        self.role_arn = moto.make_role(trusted_arn=user.arn)
        moto.allow_assume(user, self.role_arn)
        self.deep_arn = moto.make_role(trusted_arn=self.role_arn)
        moto.allow_assume(self.role_arn.rsplit("/", 1)[1], self.deep_arn)
        self.account = self.role_arn.split(":")[4]
        sso.add_account(self.account, "Sandbox", [ROLE, "ReadOnly"])
        sso.add_account("210987654321", "Production", ["ReadOnly"])
        sso.add_account("333333333333", "Audit", ["SecurityAudit"])

        def hand_out(account: str, role: str) -> dict[str, Any]:
            answer = moto.sts(user.key_id, user.secret).assume_role(
                RoleArn=self.role_arn, RoleSessionName="sso-user")["Credentials"]
            return {"accessKeyId": answer["AccessKeyId"],
                    "secretAccessKey": answer["SecretAccessKey"],
                    "sessionToken": answer["SessionToken"],
                    "expiration": int(answer["Expiration"].timestamp() * 1000)}

        sso.role_credentials = hand_out
        self.env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=moto.url,
                        AWS_ENDPOINT_URL_SSO_OIDC=sso.url, AWS_ENDPOINT_URL_SSO=sso.url,
                        TRAYCREDS_LOG="debug", TRAYCREDS_NO_TRAY="1")
        aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
        aws_env.aws_config.write_text(
            f"[sso-session {SESSION}]\nsso_start_url = {START_URL}\nsso_region = eu-west-1\n\n"
            f"[profile sso-dev]\nsso_session = {SESSION}\nsso_account_id = {self.account}\n"
            f"sso_role_name = {ROLE}\nregion = us-east-1\n\n"
            f"[profile deep]\nrole_arn = {self.deep_arn}\nsource_profile = sso-dev\n")
        self.log_dir = aws_env.state_home / "traycreds" / "log"

    def write_cli_token(self, *, expired: bool = False) -> tuple[str, str]:
        """A token file as `aws sso login` writes it."""
        access, refresh = self.sso.issue_token()
        client = next(iter(self.sso.state.clients))
        now = datetime.now(timezone.utc)
        path = _token_file(self.home)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "startUrl": START_URL, "region": "eu-west-1", "accessToken": access,
            "expiresAt": (now + timedelta(hours=-1 if expired else 8)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
            "clientId": client, "clientSecret": self.sso.state.clients[client],
            "registrationExpiresAt": (now + timedelta(days=80)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "refreshToken": refresh}))
        return access, refresh


@pytest.fixture
def setup(moto: Any, aws_env: Any, sso: SsoStandIn) -> SsoSetup:
    sso.state.clients.clear()
    return SsoSetup(moto, aws_env, sso)


def test_a_token_from_the_aws_cli_serves_whoami_and_a_chained_role(setup: SsoSetup) -> None:
    access, _ = setup.write_cli_token()
    result = traycreds(setup.env, "whoami", "sso-dev")
    assert result.returncode == 0, result.stderr
    assert f"assumed-role/{setup.role_arn.rsplit('/', 1)[1]}/" in result.stdout
    deep = traycreds(setup.env, "whoami", "deep")
    assert deep.returncode == 0, deep.stderr
    assert f"assumed-role/{setup.deep_arn.rsplit('/', 1)[1]}/" in deep.stdout
    roles = traycreds(setup.env, "roles")
    assert "sso:corp > sso-dev" in roles.stdout, roles.stdout
    _assert_no_secret(setup, [access])


def test_an_expired_token_is_refreshed_with_its_refresh_token(setup: SsoSetup) -> None:
    old, refresh = setup.write_cli_token(expired=True)
    result = traycreds(setup.env, "export", "sso-dev", "--shell", "bash")
    assert result.returncode == 0, result.stderr
    saved = json.loads(_token_file(setup.home).read_text())
    assert saved["accessToken"] != old and saved["refreshToken"] != refresh
    assert "token" in setup.sso.operations()
    _assert_no_secret(setup, [old, refresh, saved["accessToken"], saved["refreshToken"]])


def test_two_programs_refreshing_at_once_spend_the_refresh_token_once(
        setup: SsoSetup) -> None:
    """IAM Identity Center rotates refresh tokens: a second program refreshing with the same
    one would be refused and its user told to sign in again. The second waits for the first
    and uses the token it stored."""
    setup.write_cli_token(expired=True)
    setup.sso.refresh_delay = 1.5  # both programs are surely inside the refresh at once
    setup.sso.state.requests.clear()
    runs = [subprocess.Popen([sys.executable, "-m", "traycreds", "export", "sso-dev"],
                             env=setup.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert setup.sso.operations().count("token") == 1


def test_not_signed_in_says_to_run_login(setup: SsoSetup) -> None:
    result = traycreds(setup.env, "export", "sso-dev")
    assert result.returncode == 14, result.stderr
    assert "traycreds login corp" in result.stderr
    path = _token_file(setup.home)  # a damaged (hostile) file is the same as none
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"accessToken": "\\u001b[2J", "expiresAt": "2999-01-01T00:00:00Z"}')
    result = traycreds(setup.env, "export", "sso-dev")
    assert result.returncode == 14 and "traycreds login corp" in result.stderr


def _login(setup: SsoSetup) -> subprocess.CompletedProcess[str]:
    setup.sso.state.devices.clear()
    approver = threading.Thread(target=lambda: setup.sso.approve(
        setup.sso.pending_user_code(timeout=30)), daemon=True)
    approver.start()
    result = traycreds(setup.env, "login", SESSION, "--no-browser")
    approver.join(timeout=30)
    return result


def test_login_then_the_aws_cli_uses_the_token(setup: SsoSetup) -> None:
    result = _login(setup)
    assert result.returncode == 0, result.stderr
    assert "enter the code" in result.stderr and "Signed in to corp" in result.stdout
    env = {k: v for k, v in setup.env.items() if not k.startswith("TRAYCREDS_")}
    aws = subprocess.run([str(Path(sys.executable).parent / "aws"), "sts",
                          "get-caller-identity", "--profile", "sso-dev", "--output", "json"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert aws.returncode == 0, aws.stderr
    assert f"assumed-role/{setup.role_arn.rsplit('/', 1)[1]}/" in json.loads(aws.stdout)["Arn"]
    saved = json.loads(_token_file(setup.home).read_text())
    _assert_no_secret(setup, [saved["accessToken"], saved["refreshToken"],
                              saved["clientSecret"]])
    logout = traycreds(setup.env, "logout", SESSION)
    assert logout.returncode == 0 and not _token_file(setup.home).exists()
    # The portal session ended too (Logout, as `aws sso logout` does): the old token is dead.
    assert "logout" in setup.sso.operations()
    assert saved["accessToken"] not in setup.sso.state.tokens


FAKE_BROWSER = """
import json, sys, urllib.parse, urllib.request
url = sys.argv[1]
open(sys.argv[2], "w").write(url)
split = urllib.parse.urlsplit(url)
code = urllib.parse.parse_qs(split.query)["user_code"][0]
body = json.dumps({"userCode": code}).encode()
urllib.request.urlopen(urllib.request.Request(
    f"{split.scheme}://{split.netloc}/stand-in/approve", data=body, method="POST"), timeout=5)
"""


def test_login_opens_the_browser_named_by_BROWSER(setup: SsoSetup, tmp_path: Path) -> None:
    """The fake browser approves the code it was opened with, as the person would."""
    script, seen = tmp_path / "browser.py", tmp_path / "opened.txt"
    script.write_text(FAKE_BROWSER)
    env = dict(setup.env, BROWSER=f"{sys.executable} {script} %s {seen}")
    result = traycreds(env, "login", SESSION)
    assert result.returncode == 0, result.stderr
    assert seen.read_text().startswith(f"{setup.sso.url}/stand-in/device?user_code=")
    assert _token_file(setup.home).exists()


@pytest.mark.parametrize("shell", sorted(SHELL_RUNNERS))
def test_sso_role_exported_to_real_shells(setup: SsoSetup, shell: str) -> None:
    require_program(shell, f"exported lines run in {shell}")
    setup.write_cli_token()
    exported = traycreds(setup.env, "export", "sso-dev", "--shell", shell)
    assert exported.returncode == 0, exported.stderr
    env = {k: v for k, v in setup.env.items() if not k.startswith("AWS_")}
    env["AWS_ENDPOINT_URL_STS"] = setup.env["AWS_ENDPOINT_URL_STS"]
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    result = subprocess.run([*SHELL_RUNNERS[shell], exported.stdout, CHECK], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"assumed-role/{setup.role_arn.rsplit('/', 1)[1]}/" in result.stdout


# The syntax of each shell this machine cannot run (cmd, PowerShell: the Windows lane and
# test_shells_real run those lines), read back into values.
SYNTAX = {"cmd": r'set "(?P<name>\w+)=(?P<value>[^"]*)"',
          "powershell": r"\$env:(?P<name>\w+) = '(?P<value>[^']*)'",
          "dotenv": r"(?P<name>\w+)=(?P<value>.*)"}


@pytest.mark.parametrize("shell", ["cmd", "powershell", "dotenv", "json"])
def test_sso_role_exported_for_the_other_shells(setup: SsoSetup, shell: str,
                                                moto: Any) -> None:
    """The SSO role's credentials in each syntax, read back, are the role's at STS."""
    setup.write_cli_token()
    exported = traycreds(setup.env, "export", "sso-dev", "--shell", shell)
    assert exported.returncode == 0, exported.stderr
    if shell == "json":
        document = json.loads(exported.stdout)
        values = {"AWS_ACCESS_KEY_ID": document["AccessKeyId"],
                  "AWS_SECRET_ACCESS_KEY": document["SecretAccessKey"],
                  "AWS_SESSION_TOKEN": document["SessionToken"]}
    else:
        lines = [re.fullmatch(SYNTAX[shell], line) for line in exported.stdout.splitlines()]
        assert all(lines), exported.stdout
        values = {m["name"]: m["value"] for m in lines if m}
    sts = moto.sts(values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"],
                   values["AWS_SESSION_TOKEN"])
    assert f"assumed-role/{setup.role_arn.rsplit('/', 1)[1]}/" in \
        sts.get_caller_identity()["Arn"]


def test_sso_roles_lists_accounts_and_roles_with_a_cache(setup: SsoSetup) -> None:
    setup.write_cli_token()
    first = traycreds(setup.env, "sso-roles", SESSION, "--json")
    assert first.returncode == 0, first.stderr
    listed = {a["account_name"]: a["roles"] for a in json.loads(first.stdout)}
    assert listed == {"Sandbox": ["DevAccess", "ReadOnly"], "Production": ["ReadOnly"],
                      "Audit": ["SecurityAudit"]}
    calls = setup.sso.operations().count("accounts")
    assert calls == 2  # two pages: the stand-in pages by two, so nextToken is followed
    traycreds(setup.env, "sso-roles", SESSION)
    assert setup.sso.operations().count("accounts") == calls  # cached
    again = traycreds(setup.env, "sso-roles", SESSION, "--refresh")
    assert again.returncode == 0 and "Production" in again.stdout
    assert setup.sso.operations().count("accounts") == calls + 2


def _assert_no_secret(setup: SsoSetup, secrets: list[str]) -> None:
    logs = "".join(p.read_text(errors="replace") for p in setup.log_dir.rglob("*")
                   if p.is_file())
    assert logs, "the debug log is empty: the canary proves nothing"
    for secret in secrets:
        assert secret not in logs


@pytest.mark.parametrize("hostile", [
    {"userCode": "ABCD\u001b]0;pwned\u0007"},  # a terminal escape in the code
    {"verificationUriComplete": "file:///etc/passwd"},
    {"verificationUriComplete": "javascript:alert(1)"},
    {"verificationUri": "https://evil.example/ x"},
    {"interval": 0},
])
def test_a_hostile_device_answer_is_refused_before_anything_is_shown(
        setup: SsoSetup, tmp_path: Path, hostile: dict[str, Any]) -> None:
    """Neither the terminal nor the browser gets what a hostile or broken server answered."""
    setup.sso.device_answer_override = hostile
    opened = tmp_path / "opened.txt"
    env = dict(setup.env, BROWSER=f"{sys.executable} -c 'open(\"{opened}\", \"w\")' %s")
    result = traycreds(env, "login", SESSION)
    assert result.returncode == 19, result.stderr  # STS-like bad answer: exit 19
    assert "IAM Identity Center answered with something unusable" in result.stderr
    assert "StartDeviceAuthorization" in result.stderr and "\u001b" not in result.stderr
    assert "file:" not in result.stderr and "javascript" not in result.stderr
    assert not opened.exists()
