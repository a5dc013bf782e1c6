"""Answers that are not STS answers are a typed error, exit 19 (issue 10, item 3).

A captive portal, a proxy that rewrites answers or a wrong endpoint gave "Internal error
... ResponseParserError", exit 1 and a traceback in the log; a 10 MB body was read whole.
Here a loopback server sends such answers through botocore's real parsing: each ends as
BadResponseError naming the endpoint, the body read is bounded (MAX_STS_RESPONSE), and the
command line prints two lines and logs no traceback.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from tests.support import AwsEnv
from tests.support.dripserver import SOURCE_KEY, DripServer, engine_at
from tests.support.errorserver import NAMESPACE
from tests.support.stsserver import REGION
from traycreds.adapters import paths
from traycreds.adapters.keystore import KeyStore
from traycreds.adapters.sts import MAX_STS_RESPONSE, BotoSts
from traycreds.core import errors
from traycreds.core.endpoints import Endpoint

pytestmark = pytest.mark.usefixtures("secret_service")

TEN_MB = 10 * 1000 * 1000
HOLD_BACK = 2 * 1024 * 1024  # the server sends this much, then waits for a hang-up


def assume_role_answer(credentials: str) -> bytes:
    return (f'<AssumeRoleResponse xmlns="{NAMESPACE}"><AssumeRoleResult>{credentials}'
            "</AssumeRoleResult><ResponseMetadata><RequestId>r-1</RequestId>"
            "</ResponseMetadata></AssumeRoleResponse>").encode()


# Built at run time, like every fake key id here: no file holds a string shaped like a real one.
FAKE_KEY_ID = "ASIA" + "Q" * 16


def credentials_xml(key: str = f"<AccessKeyId>{FAKE_KEY_ID}</AccessKeyId>",
                    expiration: str = "2030-01-01T00:00:00Z", token: bool = True) -> str:
    return ("<Credentials>" + key + "<SecretAccessKey>c2VjcmV0</SecretAccessKey>"
            + ("<SessionToken>dG9rZW4=</SessionToken>" if token else "")
            + f"<Expiration>{expiration}</Expiration></Credentials>")


SMALL_BAD_ANSWERS = {
    "invalid XML": b"this is not XML <<<",
    "a captive portal": b"<html><body>Sign in to the Wi-Fi</body></html>",
    "no credentials": assume_role_answer(""),
    "no session token": assume_role_answer(credentials_xml(token=False)),
    "a key id that is not a string": assume_role_answer(
        credentials_xml(key="<AccessKeyId><a>1</a></AccessKeyId>")),
    "an unparsable expiration": assume_role_answer(credentials_xml(expiration="next week")),
}


@pytest.mark.parametrize("body", SMALL_BAD_ANSWERS.values(), ids=SMALL_BAD_ANSWERS.keys())
def test_an_answer_that_is_not_sts_is_a_bad_response(drip: DripServer, drip_keys: KeyStore,
                                                    body: bytes) -> None:
    drip.answer(body)
    with pytest.raises(errors.BadResponseError) as info:
        engine_at(drip.url, drip_keys).issue("r")
    error = info.value
    assert error.exit_code == errors.ExitCode.BAD_RESPONSE == 19
    assert error.title == "STS answered with something that is not an STS response"
    assert drip.url in error.message and "AWS_ENDPOINT_URL_STS" in error.message
    assert "proxy" in error.message and "<<<" not in error.message  # no body echoed
    assert drip.requests() == 1  # not retried: the same server would answer the same


def test_caller_identity_with_missing_fields_is_a_bad_response(drip: DripServer) -> None:
    drip.answer(f'<GetCallerIdentityResponse xmlns="{NAMESPACE}"><GetCallerIdentityResult>'
                   "<Arn>arn:aws:iam::111122223333:user/x</Arn></GetCallerIdentityResult>"
                   "</GetCallerIdentityResponse>".encode())
    with pytest.raises(errors.BadResponseError):
        BotoSts(deadline=60).get_caller_identity(SOURCE_KEY, endpoint=Endpoint(REGION, drip.url),
                                                caller="test")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_answer_is_abandoned_early(drip: DripServer, drip_keys: KeyStore,
                                          chunked: bool) -> None:
    drip.answer(b"<" + b"A" * (TEN_MB - 1), chunked=chunked, hold_back=HOLD_BACK)
    with pytest.raises(errors.BadResponseError) as info:
        engine_at(drip.url, drip_keys).issue("r")
    assert f"more than {MAX_STS_RESPONSE // 1024} KiB" in info.value.message
    (conn,) = drip.connections()
    assert conn.ended.wait(30), "the connection was left open"
    # The client hung up while the server held the rest back: it did not read 10 MB.
    assert conn.closed_early and conn.body_sent <= HOLD_BACK < TEN_MB
    assert drip.requests() == 1


def test_the_response_bound_is_one_mib() -> None:
    assert MAX_STS_RESPONSE == 1024 * 1024


# -- the command line ------------------------------------------------------------------------


CLI_CASES = {
    "invalid XML": (SMALL_BAD_ANSWERS["invalid XML"], None),
    "garbage credentials": (SMALL_BAD_ANSWERS["an unparsable expiration"], None),
    "10 MB": (b"<" + b"A" * (TEN_MB - 1), HOLD_BACK),
}


@pytest.mark.parametrize(("body", "hold_back"), CLI_CASES.values(), ids=CLI_CASES.keys())
def test_export_exits_19_with_two_lines_and_no_traceback(aws_env: AwsEnv, drip: DripServer,
                                                         body: bytes,
                                                         hold_back: int | None) -> None:
    drip.answer(body, hold_back=hold_back)
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(
        f"[profile odd]\nrole_arn = arn:aws:iam::111122223333:role/R\nsource_profile = me\n"
        f"region = {REGION}\nendpoint_url = {drip.url}\n")
    keystore = KeyStore(paths.data_dir() / "sources.json")
    keystore.put("me", SOURCE_KEY)
    try:
        result = subprocess.run([sys.executable, "-m", "traycreds", "export", "odd"],
                                env=dict(aws_env.env, TRAYCREDS_NO_TRAY="1"),
                                capture_output=True, text=True, timeout=90)
    finally:
        keystore.remove("me")
    assert result.returncode == 19, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0] == "traycreds: STS answered with something that is not an STS response"
    assert drip.url in lines[1]
    logs = list(aws_env.log_root.rglob("*.log"))
    assert logs, "the command line should have logged"
    assert "Traceback" not in "".join(p.read_text() for p in logs)


def test_no_thread_is_left_behind(drip: DripServer, drip_keys: KeyStore) -> None:
    before = threading.active_count()
    drip.answer(SMALL_BAD_ANSWERS["invalid XML"])
    with pytest.raises(errors.BadResponseError):
        engine_at(drip.url, drip_keys).issue("r")
    assert not [t for t in threading.enumerate() if t.name.startswith("traycreds-sts")]
    assert threading.active_count() <= before + 1  # the server's connection thread at most
