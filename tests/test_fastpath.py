"""The fast path end to end: a real ``traycreds tray`` (real STS: moto with auth enforced, the
real keyring, Tk dialogs on the private display) holds a role, and ``traycreds export`` and
``traycreds credential-process`` are answered by it over the channel, before argparse,
logging, boto3 or the keyring are imported (cli/entry.py, cli/fast.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support import ARTIFACTS, AwsEnv, require_program
from traycreds.channel import client
from traycreds.core.errors import TraycredsError

pytestmark = pytest.mark.usefixtures("desktop", "secret_service")

START_TIMEOUT = 20.0  # spawn -> the tray answers hello (it imports GTK and PIL first)
MFA_SERIAL = "arn:aws:iam::123456789012:mfa/fastpath"
# Never imported while the tray answers: what the fast path exists to avoid.
HEAVY = ("boto3", "botocore", "keyring", "pystray", "PIL", "tkinter", "argparse", "logging",
         "multiprocessing", "traycreds.cli.main", "traycreds.cli.commands", "traycreds.app.engine")


def cli(env: dict[str, str], *args: str, importtime: bool = False,
        timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``python -m traycreds ARGS`` (the same entry as the console script); with
    ``importtime``, also the modules it imported (its stderr then holds only its own lines)."""
    flags = ["-X", "importtime"] if importtime else []
    result = subprocess.run([sys.executable, *flags, "-m", "traycreds", *args], env=env,
                            capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    modules = set()
    own = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:"):
            modules.add(line.rsplit("|", 1)[1].strip())
        else:
            own.append(line)
    if importtime:
        assert modules, "no -X importtime output"
        result.stderr = "".join(f"{line}\n" for line in own)
    return result, modules


def allow_core_dumps() -> None:
    """As high as this process may still go: a test that hardened the pytest process in
    place has lowered its hard limit for good."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def credentials_of(bash_lines: str) -> tuple[str, str, str]:
    """What a real bash gets from ``eval`` of the exported lines."""
    shown = subprocess.run(
        ["bash", "-c", 'eval "$1"; printf "%s\\n" "$AWS_ACCESS_KEY_ID" '
         '"$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN"', "-", bash_lines],
        capture_output=True, text=True, timeout=30, check=True, env={"PATH": os.defpath})
    key_id, secret, token = shown.stdout.splitlines()
    assert re.fullmatch(r"ASIA[A-Z0-9]{12,}", key_id), key_id
    assert secret and token
    return key_id, secret, token


class Tray:
    """A moto user with a stored key, roles in ~/.aws/config, and a running tray."""

    def __init__(self, moto: Any, aws_env: AwsEnv, runtime: Path) -> None:
        self.moto = moto
        user = moto.make_user()
        self.role_arn = moto.make_role(trusted_arn=user.arn)
        moto.allow_assume(user, self.role_arn)
        self.env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=moto.url,
                        TRAYCREDS_RUNTIME_DIR=str(runtime))
        aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
        aws_env.aws_config.write_text(
            "[default]\nregion = us-east-1\n\n"
            f"[profile dev]\nrole_arn = {self.role_arn}\nsource_profile = me\n"
            "role_session_name = fast-session\n\n"
            f"[profile mfa]\nrole_arn = {self.role_arn}\nsource_profile = me\n"
            f"mfa_serial = {MFA_SERIAL}\n")
        added = subprocess.run([sys.executable, "-m", "traycreds", "keys", "add", "me",
                                "--no-verify"], env=self.env, capture_output=True, text=True,
                               timeout=60, input=f"{user.key_id}\n{user.secret}\n")
        assert added.returncode == 0, added.stderr
        self.log = ARTIFACTS / "fastpath" / f"tray-{os.getpid()}-{time.monotonic_ns()}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            # Allowed to dump core, so a test sees the tray lower the limit itself.
            self.proc = subprocess.Popen([sys.executable, "-m", "traycreds", "tray"],
                                         env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, preexec_fn=allow_core_dumps)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                hello = client.request("hello", timeout=2)
                break
            except TraycredsError:
                assert self.proc.poll() is None, f"the tray exited: {self.log.read_text()}"
                assert time.monotonic() < deadline, f"no tray answer: {self.log.read_text()}"
                time.sleep(0.1)
        assert hello["pid"] == self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                client.request("quit", timeout=5)
                self.proc.wait(10)
            except (TraycredsError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def tray(moto: Any, aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tray]:
    base = Path(tempfile.mkdtemp(prefix="tc-", dir="/tmp"))  # socket paths are short
    runtime = base / "traycreds"
    monkeypatch.setenv("TRAYCREDS_RUNTIME_DIR", str(runtime))  # for client.request here
    started = Tray(moto, aws_env, runtime)
    try:
        yield started
    finally:
        started.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_export_is_answered_by_the_tray_with_the_credentials_it_holds(tray: Tray) -> None:
    first, modules = cli(tray.env, "export", "dev", "--shell", "bash", importtime=True)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    key_id, secret, token = credentials_of(first.stdout)
    state = client.request("state")
    assert state["roles"]["dev"]["status"] == "fresh", state  # the tray holds it now

    again, _ = cli(tray.env, "export", "dev", "--shell", "bash")
    assert again.returncode == 0 and credentials_of(again.stdout) == (key_id, secret, token)
    document, modules = cli(tray.env, "credential-process", "dev", importtime=True)
    assert document.returncode == 0, document.stderr
    assert not modules & set(HEAVY)
    assert json.loads(document.stdout)["AccessKeyId"] == key_id

    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=tray.moto.url,
                       aws_access_key_id=key_id, aws_secret_access_key=secret,
                       aws_session_token=token)
    assert sts.get_caller_identity()["Arn"].endswith("/fast-session")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/PID/limits")
def test_the_tray_runs_without_core_dumps(tray: Tray) -> None:
    """The tray holds credentials for hours: it sets its core limit to 0 (soft and hard) as it
    starts (and clears the dumpable flag: test_hardening.py)."""
    limits = Path(f"/proc/{tray.proc.pid}/limits").read_text().splitlines()
    [core] = [line for line in limits if line.startswith("Max core file size")]
    assert core.split()[4:6] == ["0", "0"], core


def test_without_the_tray_the_command_line_does_the_work_itself(tray: Tray) -> None:
    held, _ = cli(tray.env, "export", "dev", "--shell", "bash")
    alone, modules = cli(dict(tray.env, TRAYCREDS_NO_TRAY="1"), "export", "dev", "--shell",
                         "bash", importtime=True)
    assert alone.returncode == 0, alone.stderr
    # Its own STS call: other credentials, and the modules the fast path avoids (which also
    # shows that the import check above can see them).
    assert credentials_of(alone.stdout)[0] != credentials_of(held.stdout)[0]
    assert {"botocore", "keyring", "argparse", "logging", "traycreds.cli.main"} <= modules


@pytest.mark.parametrize(("args", "code", "title", "fragment"), [
    (["export", "nope"], 4, "Unknown role", "dev"),
    (["credential-process", "nope"], 4, "Unknown role", "mfa"),
    (["export", "dev", "--shell", "tcsh"], 2, "", "tcsh"),
])
def test_errors_over_the_channel_are_two_lines_and_an_exit_code(
        tray: Tray, args: list[str], code: int, title: str, fragment: str) -> None:
    result, modules = cli(tray.env, *args, importtime=True)
    assert not modules & set(HEAVY), "not answered by the tray"
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"traycreds: {title}") and lines[1].startswith("  ")
    assert fragment in lines[1]


def mfa_dialog_shown() -> bool:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name",
                            "^traycreds: MFA code$"], capture_output=True, text=True, timeout=10)
    return bool(found.stdout.split())


def test_a_tray_killed_mid_request_gives_a_clear_error_at_once(tray: Tray) -> None:
    """The MFA dialog keeps the request open in the tray; killing the tray then must end the
    command with two lines and a non-zero code, not a traceback or a wait for the timeout."""
    require_program("xdotool", "a tray killed mid-request")
    waiting = subprocess.Popen([sys.executable, "-m", "traycreds", "export", "mfa"],
                               env=tray.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while not mfa_dialog_shown():
            assert waiting.poll() is None, waiting.communicate()
            assert time.monotonic() < deadline, "the tray showed no MFA dialog"
            time.sleep(0.1)
        tray.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        out, err = waiting.communicate(timeout=10)
        assert time.monotonic() - killed < 3
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait(10)
    assert waiting.returncode not in (0, None)
    assert out == "" and "Traceback" not in err
    assert err.splitlines() == ["traycreds: traycreds stopped",
                                "  The tray stopped while answering; try again."]


def test_whoami_and_roles_are_answered_by_the_running_tray(tray: Tray) -> None:
    """whoami goes through the tray's provider (its held role, its STS call) and roles shows
    the tray's state; neither loads boto3's or botocore's STS client in this process."""
    who, modules = cli(tray.env, "whoami", "dev", importtime=True)
    assert who.returncode == 0, who.stderr
    assert f":assumed-role/{tray.role_arn.rsplit('/', 1)[1]}/fast-session" in who.stdout
    assert not modules & {"botocore", "boto3", "traycreds.adapters.stswire"}, modules
    state = client.request("state")
    assert state["roles"]["dev"]["status"] == "fresh", state  # the tray assumed it
    roles = cli(tray.env, "roles", "--json")[0]
    assert roles.returncode == 0, roles.stderr
    [dev] = [row for row in json.loads(roles.stdout) if row["name"] == "dev"]
    assert dev["state"].startswith("fresh, "), dev
    # With the tray out of the way, whoami does the work itself: another session.
    alone, modules = cli(dict(tray.env, TRAYCREDS_NO_TRAY="1"), "whoami", "dev",
                         importtime=True)
    assert alone.returncode == 0, alone.stderr
    assert "traycreds.adapters.stswire" in modules
