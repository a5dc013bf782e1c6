"""The tray's credentials endpoint (channel/endpoint.py) end to end: a real ``traycreds tray``
(moto's STS with auth enforced, the real keyring) hands out a token on the channel, and a
child Python with botocore's own container provider (AWS_CONTAINER_CREDENTIALS_FULL_URI,
AWS_CONTAINER_AUTHORIZATION_TOKEN) gets the role's identity through it; refusals come as
HTTP statuses with a short JSON error and never a credential."""

# ruff: noqa: F811  (tray: fixtures imported from another test module, used by name)
from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support import require_program
from tests.test_fastpath import Tray, tray  # noqa: F401  (tray: the fixture, used by name)
from traycreds.app.tokens import TokenRegistry
from traycreds.channel import client
from traycreds.channel.endpoint import CredentialsEndpoint
from traycreds.core.errors import UnknownRoleError

# The child asks botocore's default chain, as any SDK program in a window would: with no
# keys, profile or config, the container provider is the one that answers.
CHILD = """
import json, botocore.session
session = botocore.session.Session()
creds = session.get_credentials()
sts = session.create_client("sts", region_name="us-east-1")
print(json.dumps({"method": creds.method, "key": creds.get_frozen_credentials().access_key,
                  "arn": sts.get_caller_identity()["Arn"]}))
"""


def child_env(tray: Tray, uri: str, token: str, base: Path) -> dict[str, str]:
    return {"PATH": tray.env["PATH"], "HOME": str(base),
            "AWS_CONFIG_FILE": str(base / "none"), "AWS_SHARED_CREDENTIALS_FILE":
            str(base / "none"), "AWS_ENDPOINT_URL_STS": tray.moto.url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": uri,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": token}


def run_child(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=90, stdin=subprocess.DEVNULL)


def get(uri: str, token: str | None, *, host: str | None = None,
        method: str = "GET") -> tuple[int, dict[str, Any]]:
    parts = urlsplit(uri)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        headers = {"Authorization": token} if token is not None else {}
        if host:
            headers["Host"] = host
        conn.request(method, parts.path, headers=headers)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


def token_for(role: str) -> tuple[str, str]:
    answer = client.request("endpoint-token", {"role": role}, timeout=30)
    assert set(answer) == {"uri", "token", "region"}
    assert urlsplit(answer["uri"]).hostname == "127.0.0.1"
    return answer["uri"], answer["token"]


def test_botocore_gets_the_role_through_the_endpoint_and_follows_a_refresh(
        tray: Tray, tmp_path: Path) -> None:
    uri, token = token_for("dev")
    first = run_child(child_env(tray, uri, token, tmp_path))
    assert first.returncode == 0, first.stderr
    seen = json.loads(first.stdout)
    assert seen["method"] == "container-role"
    role_name = tray.role_arn.rsplit("/", 1)[1]
    assert f":assumed-role/{role_name}/" in seen["arn"]

    # A forced refresh in the tray (as 'traycreds export --fresh' does): the next process
    # in the same window, with the same token, gets the new key without a new window.
    fresh = client.request("credentials", {"role": "dev", "fresh": True}, timeout=60)
    assert fresh["AccessKeyId"] != seen["key"]
    second = run_child(child_env(tray, uri, token, tmp_path))
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["key"] == fresh["AccessKeyId"]

    # The AWS CLI in the same window, through the same endpoint and token.
    aws = require_program("aws", "the AWS CLI through the tray's endpoint")
    cli = subprocess.run([aws, "sts", "get-caller-identity", "--region", "us-east-1",
                          "--output", "json"], env=child_env(tray, uri, token, tmp_path),
                         capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["Arn"] == seen["arn"]

    status, document = get(uri, token)
    assert status == 200
    assert set(document) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
    assert document["Expiration"].endswith("Z")


def test_wrong_other_forgotten_and_missing_tokens_get_no_credentials(
        tray: Tray, tmp_path: Path) -> None:
    uri, token = token_for("dev")
    other_uri, other_token = token_for("mfa")  # issuing a token asks no MFA code
    assert token != other_token and other_uri != uri
    assert get(uri, token)[0] == 200

    for attempt, expected in ((None, 401), ("", 401), (token + "x", 403),
                              (other_token, 403), (token.upper(), 403)):
        status, body = get(uri, attempt)
        assert status == expected, (attempt is None, status, body)
        assert set(body) == {"Code", "Message"}
    refused = run_child(child_env(tray, uri, other_token, tmp_path))
    assert refused.returncode != 0 and "403" in refused.stderr
    assert get(uri, token, method="POST")[0] == 405
    assert get(uri + "/x", token)[0] == 404
    assert get(uri, token, host="attacker.example:80")[0] == 403  # DNS rebinding
    with pytest.raises(UnknownRoleError):
        client.request("endpoint-token", {"role": "nope"}, timeout=30)

    # Forget (the menu's, or 'traycreds forget dev'): the window's token is dead for good.
    client.request("forget", {"role": "dev"}, timeout=30)
    status, body = get(uri, token)
    assert status == 403 and "forgotten" in body["Message"]
    # Other roles keep theirs (still known, only not for dev; asking mfa would need a code).
    status, body = get(uri, other_token)
    assert status == 403 and "for this role" in body["Message"]
    forgotten = run_child(child_env(tray, uri, token, tmp_path))
    assert forgotten.returncode != 0 and "403" in forgotten.stderr
    assert "AccessKeyId" not in forgotten.stdout


def test_oversized_request_is_refused_and_no_token_reaches_the_log(
        tray: Tray, tmp_path: Path) -> None:
    uri, token = token_for("dev")
    parts = urlsplit(uri)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     f"Authorization: {token}\r\nX-Pad: {'a' * 9000}\r\n\r\n".encode())
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 431 "), answer[:80]
    assert "AccessKeyId" not in answer
    assert get(uri, token)[0] == 200
    assert get(uri, token + "x")[0] == 403
    tray.stop()  # Quit: the tray's log is complete
    logs = [tray.log, *Path(tray.env["XDG_STATE_HOME"]).rglob("*.log*")]
    assert len(logs) > 1
    for log in logs:
        text = log.read_text(errors="replace")
        assert token not in text and token[:16] not in text, log


def test_connections_are_bounded_and_idle_ones_time_out() -> None:
    # Without a tray: the endpoint alone, with small limits to see them act.
    tokens = TokenRegistry()
    endpoint = CredentialsEndpoint(lambda role: pytest.fail("no credentials expected"),
                                   tokens, max_connections=2, read_timeout=1.0)
    endpoint.start()
    try:
        idle = [socket.create_connection(("127.0.0.1", endpoint.port), timeout=5)
                for _ in range(2)]
        time.sleep(0.3)  # both taken by their threads
        with socket.create_connection(("127.0.0.1", endpoint.port), timeout=5) as extra:
            assert extra.recv(100) == b""  # turned away unanswered
        for sock in idle:  # silent clients get 408 after the read deadline
            assert sock.recv(100).startswith(b"HTTP/1.1 408 ")
            sock.close()
        time.sleep(0.3)
        status, _ = get(endpoint.uri("dev"), "not-a-token",
                        host=f"127.0.0.1:{endpoint.port}")
        assert status == 403  # slots given back
    finally:
        endpoint.stop()
    tokens.issue("dev")
    tokens.clear()
    assert tokens.role_for("anything") is None
