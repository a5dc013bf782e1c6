"""The harness is real: moto enforces IAM auth, botocore parses and retries against the
scripted STS, the keyring is gnome-keyring's Secret Service, notifications reach a daemon,
and a tray host owns the system tray selection."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support import AwsEnv, NotificationLog, posix_only, screenshot
from tests.support.errorserver import StsErrorServer
from tests.support.stsserver import ACCOUNT_ID, MotoSts


def fake_key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(
        secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16)
    )


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# -- moto: a real STS with IAM authentication -----------------------------------------------


def test_moto_refuses_unknown_key(moto: MotoSts) -> None:
    with pytest.raises(ClientError) as exc:
        moto.sts(fake_key_id(), secrets.token_urlsafe(30)).get_caller_identity()
    assert error_of(exc) == ("InvalidClientTokenId", 403)


def test_moto_refuses_wrong_secret(moto: MotoSts) -> None:
    user = moto.make_user()
    with pytest.raises(ClientError) as exc:
        moto.sts(user.key_id, user.secret[::-1]).get_caller_identity()
    assert error_of(exc) == ("SignatureDoesNotMatch", 403)


def test_moto_denies_assume_role_without_policy(moto: MotoSts) -> None:
    user = moto.make_user()
    role_arn = moto.make_role(trusted_arn=user.arn)
    with pytest.raises(ClientError) as exc:
        moto.sts(*user.key).assume_role(RoleArn=role_arn, RoleSessionName="harness")
    assert error_of(exc) == ("AccessDenied", 403)


def test_moto_denies_assume_role_when_trust_names_someone_else(moto: MotoSts) -> None:
    user, other = moto.make_user(), moto.make_user()
    role_arn = moto.make_role(trusted_arn=other.arn)
    moto.allow_assume(user, role_arn)
    with pytest.raises(ClientError) as exc:
        moto.sts(*user.key).assume_role(RoleArn=role_arn, RoleSessionName="harness")
    assert error_of(exc) == ("AccessDenied", 403)


def test_moto_allowed_user_gets_role_credentials(moto: MotoSts) -> None:
    user = moto.make_user()
    role_arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, role_arn)

    before = datetime.now(timezone.utc)
    creds = moto.sts(*user.key).assume_role(
        RoleArn=role_arn, RoleSessionName="harness", DurationSeconds=900
    )["Credentials"]

    assert creds["AccessKeyId"].startswith("ASIA")
    expires_in = creds["Expiration"] - before
    assert timedelta(seconds=890) < expires_in < timedelta(seconds=910)
    role_name = role_arn.rsplit("/", 1)[-1]
    identity = moto.sts(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    ).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/harness"

    with pytest.raises(ClientError) as exc:
        moto.sts(creds["AccessKeyId"], creds["SecretAccessKey"], "bogus").get_caller_identity()
    assert error_of(exc)[0] == "InvalidClientTokenId"


def test_moto_role_chaining_and_mfa_session(moto: MotoSts) -> None:
    user = moto.make_user()
    first = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, first)
    second = moto.make_role(trusted_arn=first)  # trusts the first role's sessions
    creds = moto.sts(*user.key).assume_role(RoleArn=first, RoleSessionName="hop1")["Credentials"]
    hop = moto.sts(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])

    with pytest.raises(ClientError) as exc:
        hop.assume_role(RoleArn=second, RoleSessionName="hop2")
    assert error_of(exc)[0] == "AccessDenied"
    moto.allow_assume(first, second)  # a role, by ARN (or by name)
    chained = hop.assume_role(RoleArn=second, RoleSessionName="hop2")
    assert chained["AssumedRoleUser"]["Arn"].endswith(f"/{second.rsplit('/', 1)[-1]}/hop2")
    with pytest.raises(ClientError) as exc:  # the user itself was not granted the second role
        moto.sts(*user.key).assume_role(RoleArn=second, RoleSessionName="skip")
    assert error_of(exc)[0] == "AccessDenied"

    serial = moto.make_mfa_device(user)
    assert serial.startswith(f"arn:aws:iam::{ACCOUNT_ID}:mfa/")
    with pytest.raises(ClientError) as exc:
        moto.sts(*user.key).get_session_token(SerialNumber=serial, TokenCode="123456")
    assert error_of(exc)[0] == "AccessDenied"  # moto, unlike AWS, wants a policy for this
    moto.allow_session_token(user)
    session = moto.sts(*user.key).get_session_token(SerialNumber=serial, TokenCode="123456")
    assert session["Credentials"]["SessionToken"]


def test_moto_checks_a_wrong_external_id_but_not_a_missing_one(moto: MotoSts) -> None:
    user = moto.make_user()
    role_arn = moto.make_role(
        trusted_arn=user.arn, condition={"StringEquals": {"sts:ExternalId": "expected"}}
    )
    moto.allow_assume(user, role_arn)
    sts = moto.sts(*user.key)
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="harness", ExternalId="wrong")
    assert error_of(exc) == ("AccessDenied", 403)
    sts.assume_role(RoleArn=role_arn, RoleSessionName="harness", ExternalId="expected")
    sts.assume_role(RoleArn=role_arn, RoleSessionName="harness")  # AWS would refuse this


# -- the scripted STS: botocore's parsing and retries ----------------------------------------


def scripted_sts(server: StsErrorServer, **config: Any) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=fake_key_id(),
        aws_secret_access_key=secrets.token_urlsafe(30),
        region_name="us-east-1",
    )
    return session.client("sts", endpoint_url=server.url, config=Config(**config))


def test_error_server_errors_are_parsed_by_botocore(sts_errors: StsErrorServer) -> None:
    skewed = datetime(2001, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    sts_errors.respond(
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code.",
        403,
        date=skewed,
    )
    client = scripted_sts(sts_errors, retries={"mode": "standard", "max_attempts": 1})
    with pytest.raises(ClientError) as exc:
        client.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/admin",
            RoleSessionName="harness",
            SerialNumber=f"arn:aws:iam::{ACCOUNT_ID}:mfa/someone",
            TokenCode="123456",
        )
    assert error_of(exc) == ("AccessDenied", 403)
    assert exc.value.response["Error"]["Message"].startswith("MultiFactorAuthentication failed")
    assert exc.value.response["Error"]["Type"] == "Sender"
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["date"] == (
        "Sat, 03 Feb 2001 04:05:06 GMT"
    )
    assert sts_errors.params_of("AssumeRole") == [
        {
            "RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/admin",
            "RoleSessionName": "harness",
            "SerialNumber": f"arn:aws:iam::{ACCOUNT_ID}:mfa/someone",
            "TokenCode": "123456",
        }
    ]


def test_error_server_throttling_is_retried_then_succeeds(sts_errors: StsErrorServer) -> None:
    sts_errors.respond("Throttling", "Rate exceeded", 400, times=2)
    sts_errors.respond_success()
    client = scripted_sts(sts_errors, retries={"mode": "standard", "max_attempts": 3})

    result = client.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/admin",
        RoleSessionName="harness",
        DurationSeconds=1800,
    )

    assert sts_errors.actions() == ["AssumeRole"] * 3
    assert result["ResponseMetadata"]["RetryAttempts"] == 2
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert result["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/admin/harness"
    )
    expires_in = result["Credentials"]["Expiration"] - datetime.now(timezone.utc)
    assert timedelta(seconds=1790) < expires_in <= timedelta(seconds=1800)


def test_error_server_answers_other_success_documents(sts_errors: StsErrorServer) -> None:
    client = scripted_sts(sts_errors, retries={"mode": "standard", "max_attempts": 1})
    assert client.get_caller_identity()["Account"] == ACCOUNT_ID
    token = client.get_session_token(DurationSeconds=3600)["Credentials"]
    assert token["AccessKeyId"].startswith("ASIA")
    sts_errors.respond("ExpiredToken", "The security token included in the request is expired")
    for _ in range(2):  # times=None: every later request
        with pytest.raises(ClientError) as exc:
            client.get_caller_identity()
        assert error_of(exc) == ("ExpiredToken", 400)


# -- the desktop session: keyring, notifications, tray host ---------------------------------


@posix_only("secret-tool and the Secret Service of the Linux desktop session")
def test_keyring_round_trips_a_long_value_through_secret_service(secret_service: Any) -> None:
    import keyring

    service, user = f"traycreds-harness-{uuid.uuid4().hex}", "source-key"
    value = secrets.token_urlsafe(1200)[:1200]
    keyring.set_password(service, user, value)
    try:
        assert keyring.get_password(service, user) == value
        assert secret_service.get_password(service, user) == value
        # The item lives in gnome-keyring, as any other Secret Service client sees it.
        looked_up = subprocess.run(
            ["secret-tool", "lookup", "service", service, "username", user],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        assert looked_up == value
    finally:
        keyring.delete_password(service, user)
    assert keyring.get_password(service, user) is None


def test_notifications_reach_the_daemon(notifications: NotificationLog) -> None:
    marker = uuid.uuid4().hex
    subprocess.run(
        ["notify-send", "-a", "traycreds-harness", f"Harness {marker}", "body text"],
        check=True,
        timeout=10,
    )
    note = notifications.wait_for(marker, timeout=15)
    assert (note.app_name, note.summary, note.body) == (
        "traycreds-harness",
        f"Harness {marker}",
        "body text",
    )


@pytest.mark.usefixtures("desktop")
def test_tray_host_is_running_and_screen_can_be_captured() -> None:
    panel = subprocess.run(
        ["xdotool", "search", "--name", "^panel$"], capture_output=True, text=True, timeout=10
    )
    assert panel.returncode == 0 and panel.stdout.strip(), "trayer's panel window not found"
    from Xlib import X, display  # type: ignore[import-untyped, unused-ignore]  # via pystray

    screen = display.Display()
    try:
        owner = screen.get_selection_owner(screen.intern_atom("_NET_SYSTEM_TRAY_S0"))
        assert owner != X.NONE, "nobody owns the system tray selection"
    finally:
        screen.close()
    # The demo's check (no tray host: say so instead of an invisible icon) sees trayer too.
    from traycreds.adapters.desktop import tray_host_running

    assert tray_host_running() is True
    shot = screenshot("harness-desktop")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_aws_env_isolates_the_user(aws_env: AwsEnv) -> None:
    assert Path.home() == aws_env.home
    assert not aws_env.aws_config.exists() and not aws_env.aws_credentials.exists()
    assert os.environ["AWS_CONFIG_FILE"] == str(aws_env.aws_config)
    assert not {"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_REGION"} & set(os.environ)
    assert aws_env.env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert aws_env.env["XDG_CONFIG_HOME"] == str(aws_env.config_home)
    for kept in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "XDG_RUNTIME_DIR"):
        assert aws_env.env.get(kept) == os.environ.get(kept)
    assert boto3.session.Session().get_credentials() is None
