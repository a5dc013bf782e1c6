"""The terminal's MFA prompt after AWS refuses a code: asked again with the reason, like the
tray's dialog (the engine's one three-try budget), or a clear stop when the code came on
standard input and no second one can. Real parts: the CLI in a child process on a
pseudo-terminal, botocore against the scripted STS endpoint, the Secret Service keyring."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import AwsEnv, posix_only
from tests.test_cli import traycreds

pytestmark = [pytest.mark.usefixtures("secret_service"),
              posix_only("a pseudo-terminal drives the prompt")]
SERIAL = "arn:aws:iam::111122223333:mfa/terminal"
REFUSED = "MultiFactorAuthentication failed with invalid MFA one time pass code."


def _setup(aws_env: AwsEnv, sts_errors: Any) -> dict[str, str]:
    runtime = Path(tempfile.mkdtemp(prefix="tc-", dir="/tmp")) / "traycreds"  # no tray here
    env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=sts_errors.url,
               TRAYCREDS_RUNTIME_DIR=str(runtime))
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(
        "[profile needs-mfa]\nrole_arn = arn:aws:iam::111122223333:role/Deploy\n"
        f"source_profile = me\nmfa_serial = {SERIAL}\nregion = us-east-1\n")
    key = "AKID" + "T" * 16, "abcdEFGH+/" * 4
    added = traycreds(env, "keys", "add", "me", "--no-verify", stdin=f"{key[0]}\n{key[1]}\n")
    assert added.returncode == 0, added.stderr
    return env


def _read_until(fd: int, wanted: str, seen: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while wanted not in "".join(seen):
        left = deadline - time.monotonic()
        assert left > 0, f"no {wanted!r} in {''.join(seen)!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen.append(os.read(fd, 4096).decode(errors="replace"))
            except OSError:  # the child closed the terminal
                break


def test_terminal_asks_again_with_the_reason(aws_env: AwsEnv, sts_errors: Any) -> None:
    env = _setup(aws_env, sts_errors)
    sts_errors.respond("AccessDenied", REFUSED, status=403, times=1)
    sts_errors.respond_success()
    leader, follower = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "traycreds", "export", "needs-mfa",
                              "--shell", "bash"], env=env, stdin=follower, stdout=follower,
                             stderr=follower, close_fds=True)
    os.close(follower)
    seen: list[str] = []
    try:
        _read_until(leader, "MFA code for needs-mfa", seen)
        os.write(leader, b"111111\n")
        _read_until(leader, "AWS refused that code", seen)
        _read_until(leader, "MFA code for needs-mfa", seen[-1:])  # asked again
        os.write(leader, b"222222\n")
        assert child.wait(timeout=60) == 0, "".join(seen)
        _read_until(leader, "AWS_SESSION_TOKEN", seen)
    finally:
        if child.poll() is None:
            child.kill()
        os.close(leader)
    assert [p["TokenCode"] for p in sts_errors.params_of("GetSessionToken")] == [
        "111111", "222222"]


def test_a_refused_code_from_stdin_stops_with_the_reason(aws_env: AwsEnv,
                                                          sts_errors: Any) -> None:
    env = _setup(aws_env, sts_errors)
    sts_errors.respond("AccessDenied", REFUSED, status=403)
    # A session of its own: no controlling terminal to fall back on, wherever this runs.
    result = subprocess.run([sys.executable, "-m", "traycreds", "export", "needs-mfa"],
                            env=env, input="111111\n", capture_output=True, text=True,
                            timeout=60, start_new_session=True)
    assert result.returncode == 13, result.stderr  # ExitCode.MFA
    assert "AWS refused that code" in result.stderr
    assert len(sts_errors.params_of("GetSessionToken")) == 1  # one code, sent once
