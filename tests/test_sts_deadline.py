"""Every STS call has an overall deadline, whatever the server does (issue 10, item 2).

botocore's read_timeout is per socket read: a server that trickles a byte a second held
`traycreds export` forever. Here a loopback server drips bytes (in the headers, in the
body) or never answers; the command line, the engine and the tray's service must give up
at the deadline with exit 17 / NetworkError, leave nothing running, and let the role be
used again at once. Timings are generous upper bounds, only there so a hang fails.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support import AwsEnv
from tests.support.dripserver import DripServer, engine_at, make_tls_files
from tests.support.errorserver import success_document
from tests.support.service import QuietDialogs, RecordedNotes
from tests.support.stsserver import REGION, MotoSts
from traycreds.adapters import paths
from traycreds.adapters.keystore import KeyStore
from traycreds.app.service import AppService
from traycreds.core import errors
from traycreds.core.models import Credentials
from traycreds.core.settings import AppSettings

pytestmark = pytest.mark.usefixtures("secret_service")

SLACK = 20.0  # beyond the deadline: generous, a busy 2-core machine is slow, not hung
T = TypeVar("T")


def within(seconds: float, job: Callable[[], T]) -> T:
    """``job()``'s result, or a failure (not a hang) if it has not returned by then."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = job()
        except BaseException as exc:  # handed to the test below
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s: the call has no deadline"
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


def sts_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("traycreds-sts")]


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"not within {timeout} s: {what}"
        time.sleep(0.05)


# -- the engine, in process --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["drip-headers", "drip-body", "silent"])
def test_a_call_that_never_completes_ends_at_the_deadline(drip: DripServer, drip_keys: KeyStore,
                                                          mode: str) -> None:
    drip.mode = mode
    before = sts_threads()
    # Under wine botocore takes over a second to build a client, part of the deadline: give
    # the request time to reach the server there too.
    deadline = 5 if sys.platform == "win32" else 2
    engine = engine_at(drip.url, drip_keys, deadline=deadline)
    with pytest.raises(errors.NetworkError) as info:
        within(deadline + SLACK, lambda: engine.issue("r"))
    assert info.value.exit_code == errors.ExitCode.NETWORK == 17
    assert drip.url in info.value.message and f"{deadline} s" in info.value.message
    assert "sts_timeout_seconds" in info.value.message
    # The abandoned call does not live on: its connection is shut, its thread ends, and no
    # retry starts past the deadline.
    wait_for(lambda: all(c.ended.is_set() for c in drip.connections()),
             "the server saw the connection close")
    wait_for(lambda: sts_threads() == before, "the STS worker thread ended")
    assert drip.requests() == 1


def test_the_deadline_covers_retries(drip: DripServer, drip_keys: KeyStore) -> None:
    """Retries still happen inside the deadline; none starts after it."""
    drip.answer(b"<html>busy</html>", status=500)
    engine = engine_at(drip.url, drip_keys, deadline=30)
    with pytest.raises(errors.TraycredsError):
        within(30 + SLACK, lambda: engine.issue("r"))
    assert drip.requests() == 4  # the configured attempts, well inside 30 s
    drip.reset()
    drip.mode = "silent"
    with pytest.raises(errors.NetworkError):
        within(3 + SLACK, lambda: engine_at(drip.url, drip_keys, deadline=3).issue("r"))
    wait_for(lambda: all(c.ended.is_set() for c in drip.connections()),
             "the server saw the connection close")
    assert drip.requests() == 1


def success_answer() -> bytes:
    params = {"RoleArn": "arn:aws:iam::111122223333:role/R", "RoleSessionName": "tc-test"}
    document = success_document("AssumeRole", params, "r-1", datetime.now(timezone.utc))
    assert document is not None
    return document.encode()


def test_https_with_aws_ca_bundle_still_works_and_still_ends(
        tmp_path: Path, drip_keys: KeyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer is read through botocore's own HTTP session: its TLS settings hold."""
    cert, key = make_tls_files(tmp_path)
    server = DripServer(tls=(cert, key)).start()
    try:
        server.answer(success_answer())
        with pytest.raises(errors.TraycredsError, match="SSL"):  # not trusted without it
            engine_at(server.url, drip_keys, deadline=30).issue("r")
        monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
        assert engine_at(server.url, drip_keys, deadline=30).issue("r").credentials.session_token
        server.reset()
        server.mode = "drip-headers"
        before = sts_threads()
        with pytest.raises(errors.NetworkError, match="within 2 s"):
            within(2 + SLACK, lambda: engine_at(server.url, drip_keys, deadline=2).issue("r"))
        wait_for(lambda: all(c.ended.is_set() for c in server.connections()),
                 "the server saw the TLS connection close")
        wait_for(lambda: sts_threads() == before, "the STS worker thread ended")
    finally:
        server.stop()


def test_a_proxy_still_carries_the_call_and_the_deadline_holds(
        drip: DripServer, drip_keys: KeyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", drip.url)  # the loopback server plays the proxy
    drip.answer(success_answer())
    target = "http://sts.proxied.invalid"
    assert engine_at(target, drip_keys, deadline=30).issue("r").credentials.session_token
    assert drip.request_lines()[0].startswith(f"POST {target}/ HTTP/1.1")
    drip.reset()
    drip.mode = "drip-body"
    with pytest.raises(errors.NetworkError, match="within 2 s"):
        within(2 + SLACK, lambda: engine_at(target, drip_keys, deadline=2).issue("r"))
    wait_for(lambda: all(c.ended.is_set() for c in drip.connections()),
             "the proxy saw the connection close")


# -- the command line ----------------------------------------------------------------------------


def cli_env(aws_env: AwsEnv, url: str, keystore: KeyStore, seconds: int) -> dict[str, str]:
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(
        f"[profile slow]\nrole_arn = arn:aws:iam::111122223333:role/R\nsource_profile = me\n"
        f"region = {REGION}\nendpoint_url = {url}\n")
    settings = paths.settings_file()
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(f"[app]\nsts_timeout_seconds = {seconds}\n")
    keystore.put("me", Credentials("AKIA" + "Q" * 16, "s" * 40))
    return dict(aws_env.env, TRAYCREDS_NO_TRAY="1")


def test_export_gives_up_with_exit_17_and_two_lines(aws_env: AwsEnv, drip: DripServer) -> None:
    drip.mode = "drip-headers"
    keystore = KeyStore(paths.data_dir() / "sources.json")
    env = cli_env(aws_env, drip.url, keystore, 5)
    try:
        result = subprocess.run([sys.executable, "-m", "traycreds", "export", "slow"], env=env,
                                capture_output=True, text=True, timeout=5 + SLACK)
    finally:
        keystore.remove("me")
    assert result.returncode == 17, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0] == "traycreds: Cannot reach AWS", result.stderr
    assert drip.url in lines[1] and "within 5 s" in lines[1]
    assert "VPN" in lines[1] and "sts_timeout_seconds" in lines[1]
    assert result.stdout == ""
    log = "".join(p.read_text() for p in aws_env.log_root.rglob("*.log"))
    assert "Traceback" not in log


@pytest.mark.parametrize(("text", "problem"), [
    ("sts_timeout_seconds = 2", "from 5 to 120"),
    ("sts_timeout_seconds = 121", "from 5 to 120"),
    ('sts_timeout_seconds = "30"', "from 5 to 120"),
])
def test_the_setting_is_checked(text: str, problem: str) -> None:
    from traycreds.core.settings import parse_settings

    settings, problems = parse_settings(f"[app]\n{text}\n", "settings.toml")
    assert settings.app.sts_timeout_seconds == AppSettings().sts_timeout_seconds == 30
    assert [p for p in problems if problem in p.message]
    for value in (5, 7.5, 120):
        good, none = parse_settings(f"[app]\nsts_timeout_seconds = {value}\n", "settings.toml")
        assert good.app.sts_timeout_seconds == value and not none


# -- the tray's service ---------------------------------------------------------------------------


def test_tray_role_is_usable_again_at_once_after_a_timeout(aws_env: AwsEnv, drip: DripServer,
                                                          moto: MotoSts) -> None:
    user = moto.make_user()
    role_arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, role_arn)
    source, name = f"tc-src-{uuid.uuid4().hex[:8]}", "slow"
    keystore = KeyStore(paths.data_dir() / "sources.json")
    keystore.put(source, Credentials(user.key_id, user.secret))

    def configure(url: str) -> None:
        aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
        aws_env.aws_config.write_text(
            f"[profile {name}]\nrole_arn = {role_arn}\nsource_profile = {source}\n"
            f"region = {REGION}\nendpoint_url = {url}\n")

    configure(drip.url)
    drip.mode = "drip-body"
    settings = paths.settings_file()
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("[app]\nsts_timeout_seconds = 5\n")
    notes, before = RecordedNotes(), sts_threads()
    service = AppService(QuietDialogs(), notes)
    try:
        service.start().result(timeout=30)
        first = service.refresh(name)
        assert first is not None
        first.result(timeout=5 + SLACK)
        state = service.state.states[name]
        assert not state.working and state.error is not None
        assert state.error.title == "Cannot reach AWS" and drip.url in state.error.message
        assert notes.sent[-1][0] == "Cannot reach AWS"
        # The endpoint is healthy again (the user fixed the VPN): the very next click works.
        configure(moto.url)
        service.reload()
        again = service.refresh(name)
        assert again is not None, "the role still counts as busy"
        again.result(timeout=60)
        state = service.state.states[name]
        assert state.error is None and service.held(name) is not None
        wait_for(lambda: sts_threads() == before, "the abandoned STS thread ended")
    finally:
        service.shutdown()
        keystore.remove(source)
