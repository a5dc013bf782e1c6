"""Every exit code in the README's table, produced for real by the command line: each case
makes the condition happen (a scripted STS answer, a hostile endpoint, no tray, no input) and
checks the code and both lines the user reads (the title, then what to do).

The scripted STS (support/errorserver.py) answers what moto cannot: wrong signatures,
MFA failures, expired tokens, disabled regions, throttling. The drip server answers bytes
that are no STS response, or credentials no shell should receive."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import AwsEnv
from tests.support.dripserver import DripServer
from tests.support.errorserver import ACCOUNT_ID, StsErrorServer
from traycreds.adapters import paths
from traycreds.adapters.keystore import KeyStore
from traycreds.core.errors import ExitCode
from traycreds.core.models import Credentials

pytestmark = pytest.mark.usefixtures("secret_service")

ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/Admin"
MFA_SERIAL = f"arn:aws:iam::{ACCOUNT_ID}:mfa/me"
SOURCE_KEY = Credentials("AKIA" + "EXITCODES" + "T" * 7, "s" * 40)


@dataclass
class Servers:
    sts: StsErrorServer
    drip: DripServer


@dataclass
class Case:
    code: ExitCode
    args: tuple[str, ...]
    title: str
    says: str  # in the second line: what happened and what to do
    script: Callable[[Servers], str | None] = lambda servers: None  # -> endpoint, if not sts
    stdin: str = ""
    env: dict[str, str] = field(default_factory=dict)


def _answer_with_a_secret_no_shell_should_get(servers: Servers) -> str:
    servers.drip.answer(
        b'<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<AssumeRoleResult><Credentials><AccessKeyId>ASIAEXITCODESTESTXX</AccessKeyId>"
        b"<SecretAccessKey>abc%PATH%def!x</SecretAccessKey><SessionToken>dG9rZW4=</SessionToken>"
        b"<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult>"
        b"</AssumeRoleResponse>")
    return servers.drip.url


def _captive_portal(servers: Servers) -> str:
    servers.drip.answer(b"<html><body>Sign in to the hotel Wi-Fi</body></html>")
    return servers.drip.url


def _closed_port(servers: Servers) -> str:
    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _sts_error(code: str, message: str, status: int = 400) -> Callable[[Servers], None]:
    def script(servers: Servers) -> None:
        servers.sts.respond(code, message, status)

    return script


CASES = [
    Case(ExitCode.UNKNOWN_ROLE, ("export", "prod-admn"), "Unknown role",
         "Unknown role 'prod-admn'. Did you mean 'prod-admin'? 'traycreds roles' lists them."),
    Case(ExitCode.UNSAFE_VALUE, ("export", "prod-admin", "--shell", "cmd"),
         "Value cannot be written safely", "The AWS_SECRET_ACCESS_KEY that AWS returned is "
         "not base64 characters", _answer_with_a_secret_no_shell_should_get),
    Case(ExitCode.CANCELLED, ("keys", "add", "other"), "Cancelled",
         "Expected access key id on standard input."),
    Case(ExitCode.WRONG_SECRET, ("export", "prod-admin"), "Signature rejected",
         "the secret access key is wrong. Store the right one with 'traycreds keys add'",
         _sts_error("SignatureDoesNotMatch", "The request signature we calculated does not "
                    "match the signature you provided.", 403)),
    Case(ExitCode.ACCESS_DENIED, ("export", "prod-admin"), "Access denied",
         f"may not assume {ROLE_ARN}. AWS says: User is not authorized to perform: "
         "sts:AssumeRole. Ask an administrator",
         _sts_error("AccessDenied", "User is not authorized to perform: sts:AssumeRole", 403)),
    Case(ExitCode.MFA, ("export", "with-mfa"), "MFA failed",
         f"AWS did not accept the MFA code to start an MFA session with {MFA_SERIAL}. Codes "
         "are single-use",
         _sts_error("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one "
                    "time pass code.", 403), stdin="123456\n"),
    Case(ExitCode.EXPIRED_TOKEN, ("export", "prod-admin"), "Session expired",
         "has expired. Refresh it",
         _sts_error("ExpiredToken", "The security token included in the request is expired")),
    Case(ExitCode.REGION_DISABLED, ("export", "prod-admin"), "Region disabled",
         "STS is not enabled in this region for the account",
         _sts_error("RegionDisabledException", "STS is not activated in this region for "
                    f"account:{ACCOUNT_ID}.", 403)),
    Case(ExitCode.THROTTLED, ("export", "prod-admin"), "AWS is throttling requests",
         "kept throttling the request after several retries. Wait a minute",
         _sts_error("Throttling", "Rate exceeded")),
    Case(ExitCode.NETWORK, ("export", "prod-admin"), "Cannot reach AWS",
         "(EndpointConnectionError). Check the network, VPN or proxy", _closed_port),
    Case(ExitCode.NOT_RUNNING, ("forget",), "traycreds is not running",
         "No tray is running for this user"),
    Case(ExitCode.BAD_RESPONSE, ("export", "prod-admin"),
         "STS answered with something that is not an STS response",
         "Check that AWS_ENDPOINT_URL_STS", _captive_portal),
]


@pytest.fixture
def servers(sts_errors: StsErrorServer, drip: DripServer) -> Servers:
    return Servers(sts_errors, drip)


@pytest.fixture
def stored_key(aws_env: AwsEnv) -> Any:
    keys = KeyStore(paths.data_dir() / "sources.json")
    keys.put("me", SOURCE_KEY)
    yield keys
    keys.remove("me")


@pytest.mark.parametrize("case", CASES, ids=[f"{int(c.code)}-{c.code.name}" for c in CASES])
def test_each_exit_code_with_its_two_lines(case: Case, servers: Servers, aws_env: AwsEnv,
                                           stored_key: Any, tmp_path: Path) -> None:
    endpoint = case.script(servers) or servers.sts.url
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(
        f"[profile prod-admin]\nrole_arn = {ROLE_ARN}\nsource_profile = me\n"
        "region = us-east-1\n\n"
        f"[profile with-mfa]\nrole_arn = {ROLE_ARN}\nsource_profile = me\n"
        f"mfa_serial = {MFA_SERIAL}\nregion = us-east-1\n")
    runtime = tmp_path / "runtime"  # no tray serves here: every case runs in this process
    env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=endpoint, TRAYCREDS_RUNTIME_DIR=str(runtime),
               **case.env)
    result = subprocess.run([sys.executable, "-m", "traycreds", *case.args], env=env,
                            input=case.stdin, capture_output=True, text=True, timeout=120,
                            start_new_session=True)  # no terminal to ask on
    assert result.returncode == case.code, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and result.stdout == "", result.stderr
    assert lines[0] == f"traycreds: {case.title}"
    assert case.says in " ".join(lines[1].split()), lines[1]
    assert SOURCE_KEY.secret_access_key not in result.stderr


def test_the_cases_cover_every_code_that_needs_a_live_condition() -> None:
    """0, 1 (anything else), 2 (argparse), 3, 5, 8 and 10 have tests near their features
    (test_cli*, test_config_resilience, test_keystore, test_file_safety)."""
    elsewhere = {ExitCode.OK, ExitCode.FAILURE, ExitCode.USAGE, ExitCode.CONFIG,
                 ExitCode.KEYRING, ExitCode.FILE, ExitCode.INVALID_KEY}
    assert {case.code for case in CASES} | elsewhere == set(ExitCode)
