"""``traycreds exec ROLE -- COMMAND``: a child runs as the role. With a real tray (moto's STS,
the real keyring) its SDKs go through the tray's endpoint; without one it gets static
variables. The children are real: Python with boto3, bash, sh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.support import AwsEnv
from tests.test_fastpath import Tray, tray  # noqa: F401  (tray: the fixture)

# What the child sees: how boto3 found its credentials, who it is, and its environment.
CHILD = """
import json, os, boto3
session = boto3.Session()
creds = session.get_credentials()
arn = session.client("sts", region_name="us-east-1").get_caller_identity()["Arn"]
print(json.dumps({"method": creds.method, "key": creds.get_frozen_credentials().access_key,
                  "arn": arn, "env": {k: v for k, v in os.environ.items()
                                      if k.startswith(("AWS_", "TRAYCREDS_ROLE"))}}))
"""
# Whatever a parent shell held that would win over the role's credentials.
INHERITED = {"AWS_ACCESS_KEY_ID": "AKIA" + "INHERITED" * 2, "AWS_SECRET_ACCESS_KEY": "x" * 40,
             "AWS_SESSION_TOKEN": "stale", "AWS_PROFILE": "someone-else"}


def run_exec(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "traycreds", *args], env=env,
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def seen(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_exec_with_a_tray_gives_the_child_the_endpoint(tray: Tray) -> None:  # noqa: F811
    env = dict(tray.env, **INHERITED)
    child = seen(run_exec(env, "exec", "dev", "--", sys.executable, "-c", CHILD))
    assert child["method"] == "container-role"
    assert f":assumed-role/{tray.role_arn.rsplit('/', 1)[1]}/" in child["arn"]
    names = set(child["env"])
    assert {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN"} <= names
    assert child["env"]["TRAYCREDS_ROLE"] == "dev"
    assert child["env"]["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")
    assert not names & set(INHERITED)
    assert "AWS_CREDENTIAL_EXPIRATION" not in names  # nothing static in the window

    # POSIX shells as the command: the same child behind bash -c and sh -c.
    for shell in ("bash", "sh"):
        through = seen(run_exec(env, "exec", "dev", "--", shell, "-c", 'exec "$0" -c "$1"',
                                sys.executable, CHILD))
        assert through["method"] == "container-role", shell
        assert through["arn"] == child["arn"]


def test_exit_codes_and_signals_come_back(tray: Tray) -> None:  # noqa: F811
    assert run_exec(tray.env, "exec", "dev", "--", "bash", "-c", "exit 7").returncode == 7
    killed = run_exec(tray.env, "exec", "dev", "--", "sh", "-c", "kill -TERM $$")
    assert killed.returncode == 128 + 15
    missing = run_exec(tray.env, "exec", "dev", "--", "no-such-command-here")
    assert missing.returncode == 127 and "command not found" in missing.stderr


def test_exec_without_a_tray_gives_static_variables(tray: Tray) -> None:  # noqa: F811
    env = dict(tray.env, **INHERITED)
    flagged = seen(run_exec(env, "exec", "--no-tray", "dev", "--", sys.executable, "-c", CHILD))
    tray.stop()
    alone = seen(run_exec(env, "exec", "dev", "--", sys.executable, "-c", CHILD))
    for child in (flagged, alone):
        assert child["method"] == "env"
        assert child["key"] == child["env"]["AWS_ACCESS_KEY_ID"] != INHERITED["AWS_ACCESS_KEY_ID"]
        assert child["env"]["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")
        assert child["env"]["TRAYCREDS_ROLE"] == "dev"
        assert "AWS_PROFILE" not in child["env"]
        assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" not in child["env"]
        assert ":assumed-role/" in child["arn"]


@pytest.mark.parametrize("argv", [["exec", "dev"], ["exec", "dev", "--"]])
def test_a_missing_command_is_a_usage_error(aws_env: AwsEnv, argv: list[str]) -> None:
    result = run_exec(dict(aws_env.env, TRAYCREDS_NO_TRAY="1"), *argv)
    assert result.returncode == 2
    assert "traycreds exec dev -- COMMAND" in result.stderr
    assert os.environ.get("AWS_ACCESS_KEY_ID") is None


def test_child_environment_as_data() -> None:
    from traycreds.core.childenv import Endpoint, with_endpoint

    parent = {"PATH": "/bin", "aws_profile": "x", "AWS_REGION": "eu-west-1", **INHERITED}
    kept = with_endpoint(parent, "dev", Endpoint("http://127.0.0.1:1/role/dev", "t" * 43, None))
    assert kept["AWS_REGION"] == "eu-west-1" and kept["PATH"] == "/bin"  # no region: parent's
    assert not {"aws_profile", *INHERITED} & set(kept)
    own = with_endpoint(parent, "dev", Endpoint("http://127.0.0.1:1/role/dev", "t" * 43,
                                                "ap-south-1"))
    assert own["AWS_REGION"] == own["AWS_DEFAULT_REGION"] == "ap-south-1"


def test_a_default_profile_key_would_win_so_the_child_gets_static_variables(
        tray: Tray, aws_env: AwsEnv) -> None:  # noqa: F811
    # botocore asks ~/.aws/credentials' [default] before the container provider.
    parts = ("AKIA", "DEFAULTPROFILE", "KEY1")
    aws_env.aws_credentials.write_text(f"[default]\naws_access_key_id = {''.join(parts)}\n"
                                       f"aws_secret_access_key = {'s' * 40}\n")
    result = run_exec(tray.env, "exec", "dev", "--", sys.executable, "-c", CHILD)
    child = seen(result)
    assert child["method"] == "env" and ":assumed-role/" in child["arn"]
    assert "[default] profile" in result.stderr and "keys import default" in result.stderr


# A long-lived SDK program in a window: calls STS every 0.2 s for argv[1] seconds, printing
# the key it used for each call as it goes, then a summary. Its credentials last 15 minutes,
# inside botocore's refresh window, so botocore fetches from the endpoint on every call.
LOOP = """
import json, sys, time, botocore.session
session = botocore.session.Session()
creds = session.get_credentials()
sts = session.create_client("sts", region_name="us-east-1")
keys, errors, end = [], [], time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    try:
        sts.get_caller_identity()
        keys.append(creds.get_frozen_credentials().access_key)
        print("call", keys[-1], flush=True)
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    time.sleep(0.2)
print(json.dumps({"method": creds.method, "keys": keys, "errors": errors}), flush=True)
"""


def test_a_long_lived_sdk_loop_in_a_window_runs_across_refreshes(
        tray: Tray, aws_env: AwsEnv) -> None:  # noqa: F811
    """The issue's 'a test runs a long-lived SDK loop in an opened window across a credentials
    refresh without an error': the window's environment is exec's, the loop outlives the
    credentials it started with (the tray re-assumes the role, and a forced refresh in the
    middle), and not one call fails."""
    from traycreds.channel import client

    with aws_env.aws_config.open("a", encoding="utf-8") as config:
        config.write(f"\n[profile short]\nrole_arn = {tray.role_arn}\nsource_profile = me\n"
                     "duration_seconds = 900\n")
    client.request("reload", {}, timeout=30)
    loop = subprocess.Popen([sys.executable, "-m", "traycreds", "exec", "short", "--",
                             sys.executable, "-c", LOOP, "12"], env=tray.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        assert loop.stdout is not None
        first = loop.stdout.readline()
        assert first.startswith("call "), first + (loop.stderr.read() if loop.stderr else "")
        forced = client.request("credentials", {"role": "short", "fresh": True}, timeout=60)
        out, err = loop.communicate(timeout=120)
    finally:
        if loop.poll() is None:
            loop.kill()
    assert loop.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["method"] == "container-role"
    assert summary["errors"] == []
    assert len(summary["keys"]) >= 10, summary
    assert len(set(summary["keys"])) >= 2  # it followed the tray's new credentials
    assert forced["AccessKeyId"] in summary["keys"] or summary["keys"][-1] != first.split()[1]
