"""The quick start's demo: a whole round trip on the built-in local STS."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import require_program
from traycreds.cli import demo

VENV_BIN = str(Path(sys.executable).parent)
# A user's own files, which the demo must neither read nor change.
SENTINEL_CONFIG = b"[profile mine]\nregion = eu-north-1\n"
SENTINEL_CREDENTIALS = b"[default]\naws_access_key_id = AKIAMINE\naws_secret_access_key = mine\n"


def _users_own_files(aws_env: Any) -> dict[str, Any]:
    """HOME with the user's own ~/.aws files, found where the AWS tools look by default."""
    aws_env.aws_config.parent.mkdir(parents=True)
    aws_env.aws_config.write_bytes(SENTINEL_CONFIG)
    aws_env.aws_credentials.write_bytes(SENTINEL_CREDENTIALS)
    env = dict(aws_env.env)
    del env["AWS_CONFIG_FILE"], env["AWS_SHARED_CREDENTIALS_FILE"]  # defaults: ~/.aws/...
    return env


def _assert_untouched(aws_env: Any) -> None:
    assert aws_env.aws_config.read_bytes() == SENTINEL_CONFIG
    assert aws_env.aws_credentials.read_bytes() == SENTINEL_CREDENTIALS


def _stored_keys(env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-m", "traycreds", "keys", "list"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.usefixtures("secret_service")
def test_demo_runs_end_to_end_without_touching_the_users_aws_files(aws_env: Any) -> None:
    env = _users_own_files(aws_env)
    result = subprocess.run([sys.executable, "-m", "traycreds", "demo", "--no-tray"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "demo-readonly" in out and "traycreds-demo > demo-readonly" in out
    assert "export AWS_SESSION_TOKEN='" in out and 'set "AWS_SESSION_TOKEN=' in out
    assert ":assumed-role/demo-deploy/" in out
    _assert_untouched(aws_env)
    # "write" went to the demo's own credentials file, which the demo named.
    demo_credentials = aws_env.data_home / "traycreds" / "demo" / "aws-credentials"
    assert f"in {demo_credentials}" in out
    assert "aws_session_token" in demo_credentials.read_text()
    assert f"export AWS_SHARED_CREDENTIALS_FILE={demo_credentials}" in out
    # It ends with one line saying the demo key is gone, and it is.
    assert out.splitlines()[-1].startswith("traycreds demo: ended; the demo key")
    assert "removed from the keyring" in out.splitlines()[-1]
    assert demo.SOURCE not in _stored_keys(env)


@pytest.mark.usefixtures("secret_service")
def test_the_demos_aws_cli_advice_works_as_written(aws_env: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The lines the demo prints for another terminal, then the `aws --profile` line that
    `write` (and the tray's notification) gives: the real AWS CLI reaches the demo STS."""
    env = _users_own_files(aws_env)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL",
                 "TRAYCREDS_SETTINGS"):
        monkeypatch.delenv(name, raising=False)  # restored after prepare() sets them
    server, url = demo.start_server()
    try:
        folder = demo.prepare(url)
        lines = demo.environment_lines(demo.demo_environment(folder, url))
        write = subprocess.run(
            ["bash", "-c", lines + 'exec "$0" -m traycreds write demo-readonly', sys.executable],
            env=env, capture_output=True, text=True, timeout=60)
        assert write.returncode == 0, write.stderr
        advice = re.search(r"Use them with: (aws --profile \S+(?: --region \S+)?) \.\.\.",
                           write.stdout)
        assert advice, write.stdout
        shell_env = {**env, "PATH": VENV_BIN + os.pathsep + env.get("PATH", "")}
        aws = subprocess.run(["bash", "-c", lines + advice.group(1) +
                              " sts get-caller-identity --output text"],
                             env=shell_env, capture_output=True, text=True, timeout=60)
        assert aws.returncode == 0, aws.stderr
        assert ":assumed-role/demo-readonly/" in aws.stdout
        _assert_untouched(aws_env)
    finally:
        server.stop()
        ended = demo.remove_demo_key()
    assert ended.startswith("traycreds demo: ended; the demo key")
    assert demo.SOURCE not in _stored_keys(env)


@pytest.mark.usefixtures("secret_service", "desktop")
def test_the_demo_tray_uses_the_demo_files_and_ends_with_one_line(aws_env: Any) -> None:
    env = _users_own_files(aws_env)
    runtime = Path(tempfile.mkdtemp(prefix="tc-"))  # short: the channel socket's path
    env["TRAYCREDS_RUNTIME_DIR"] = str(runtime)
    proc = subprocess.Popen([sys.executable, "-m", "traycreds", "demo"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        state = _when_the_tray_answers(proc, env)
        assert state["files"]["aws_config"] == str(
            aws_env.data_home / "traycreds" / "demo" / "aws-config")
        assert "demo-readonly" in state["names"]
        quit_tray = subprocess.run([sys.executable, "-m", "traycreds", "quit"], env=env,
                                   capture_output=True, text=True, timeout=30)
        assert quit_tray.returncode == 0, quit_tray.stderr
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
        shutil.rmtree(runtime, ignore_errors=True)
    assert proc.returncode == 0, err
    assert "Starting the tray" in out
    assert out.splitlines()[-1].startswith("traycreds demo: ended; the demo key"), out
    _assert_untouched(aws_env)
    assert demo.SOURCE not in _stored_keys(env)


def _when_the_tray_answers(proc: subprocess.Popen[str], env: dict[str, str]) -> Any:
    """The running demo tray's state, once it has roles, asked over its channel."""
    probe = ("import json; from traycreds.channel import client; "
             "print(json.dumps(client.request('state', timeout=3.0)))")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the demo exited with {proc.returncode}: "
                                 f"{proc.communicate()}")
        answer = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                                text=True, timeout=30)
        state = json.loads(answer.stdout) if answer.returncode == 0 else {}
        if state.get("names"):  # the tray loads its roles after it starts answering
            return state
        time.sleep(0.3)
    raise AssertionError("the demo tray did not serve roles within 60 s")


@pytest.mark.usefixtures("secret_service", "desktop")
def test_without_a_tray_host_the_demo_says_so_instead_of_an_invisible_icon(
        aws_env: Any) -> None:
    """A display nobody draws tray icons on (a bare X server, as GNOME without its
    AppIndicator extension): the demo says so and shows the command line instead."""
    env = _users_own_files(aws_env)
    with _bare_x_display() as display:
        env["DISPLAY"] = display
        result = subprocess.run([sys.executable, "-m", "traycreds", "demo"], env=env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 0, result.stderr
    assert "No tray host runs on this display" in result.stdout
    assert ":assumed-role/demo-deploy/" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("traycreds demo: ended; the demo key")


@contextlib.contextmanager
def _bare_x_display() -> Iterator[str]:
    """A private Xvfb with no tray on it; yields its DISPLAY."""
    require_program("Xvfb", "a display without a tray host")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp",
                               "-screen", "0", "640x480x24"], pass_fds=(write_end,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as numbers:
            number = numbers.readline().strip()
        assert number, "Xvfb did not report its display number"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_demo_copies_for_the_platforms_shell() -> None:
    # Issue 15: the demo's settings name no shell, so its tray copies for cmd.exe on Windows
    # and bash elsewhere, like a real install (it used to force bash everywhere).
    from traycreds.cli.demo import settings_text
    from traycreds.core.settings import parse_settings
    from traycreds.core.shells import default_shell

    text = settings_text({"demo-readonly": {"role_arn": "arn:aws:iam::123456789012:role/r"}})
    parsed, problems = parse_settings(text, "/demo/settings.toml")
    assert not problems
    assert default_shell("win32", parsed.app.default_shell) == "cmd"
    assert default_shell("linux", parsed.app.default_shell) == "bash"
