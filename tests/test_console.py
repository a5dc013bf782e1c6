"""`traycreds console ROLE`: the federation exchange against a local stand-in, and a fake
browser (a real script in BROWSER) that records what it was given."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import time
import webbrowser
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.support import windows_only
from tests.support.federation import FederationServer, federation_server
from traycreds.adapters import console as outside
from traycreds.app.provider import Provider
from traycreds.cli import console as cli_console
from traycreds.cli import providers
from traycreds.cli.main import build_parser
from traycreds.core import console
from traycreds.core.document import IssuedCredentials
from traycreds.core.models import Credentials

BROWSER = r'''import json, os, re, stat, sys
from urllib.parse import urlsplit, unquote
arg = sys.argv[1]
seen = {"argv": sys.argv[1:]}
if arg.startswith("file://"):
    path = unquote(urlsplit(arg).path)
    seen["mode"] = stat.S_IMODE(os.stat(path).st_mode)
    seen["page"] = open(path, encoding="utf-8").read()
    token = re.search(r"SigninToken=([^&\"]+)", seen["page"]).group(1)
    leaks = []
    for pid in os.listdir("/proc"):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        if token.encode() in cmdline:
            leaks.append(pid)
    seen["leaks"] = leaks
open(os.environ["FAKE_BROWSER_LOG"], "w").write(json.dumps(seen))
'''


def _key_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def _issued(token: str | None = "IQoJ" + "x" * 40, *, chained: bool = False
            ) -> IssuedCredentials:
    expires = datetime.now(timezone.utc) + timedelta(hours=1)
    return IssuedCredentials(Credentials(_key_id("AS" + "IA"), "s" * 40, token,
                                         expires if token else None), "eu-west-1",
                             chained=chained)


def _gone(path: Path, deadline: float = 20.0) -> bool:
    """Whether ``path`` (the redirect page, removed by a detached process) disappears."""
    end = time.monotonic() + deadline
    while path.exists() and time.monotonic() < end:
        time.sleep(0.1)
    return not path.exists() and not path.parent.exists()


def _command_lines_with(secret: str) -> list[str]:
    """The processes whose command line, readable by any user on Linux, holds ``secret``."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            if secret.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


class _Fixed(Provider):
    def __init__(self, issued: IssuedCredentials) -> None:
        self.issued = issued

    def issue(self, role: str, *, fresh: bool = False) -> IssuedCredentials:
        return self.issued


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[FederationServer]:
    with federation_server() as server:
        monkeypatch.setenv(outside.ENV_URL, server.url)
        yield server


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "fake-browser"
    script.write_text(f"#!{sys.executable}\n{BROWSER}")
    script.chmod(0o700)
    log = tmp_path / "browser.json"
    monkeypatch.setenv("BROWSER", f"{script} %s")
    monkeypatch.setenv("FAKE_BROWSER_LOG", str(log))
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read BROWSER again
    monkeypatch.setattr(webbrowser, "_browsers", {})
    monkeypatch.setattr(outside, "REMOVE_AFTER", 1.0)  # the page's life, not a wait
    return log


def _run(monkeypatch: pytest.MonkeyPatch, issued: IssuedCredentials, *extra: str) -> int:
    from traycreds.adapters import hardening

    # The command runs in this process: keep it from lowering pytest's own core limit for
    # good (test_hardening's children raise theirs, which a lowered hard limit forbids).
    monkeypatch.setattr(hardening, "harden_process", lambda: None)
    monkeypatch.setattr(providers, "for_command", lambda args, ctx: _Fixed(issued))
    args = build_parser().parse_args(["console", "dev", *extra])  # the real command line
    return cli_console.cmd_console(args, None)  # type: ignore[arg-type]


@pytest.mark.skipif(sys.platform == "win32", reason="the fake browser reads /proc")
def test_the_browser_gets_a_private_file_never_the_secret_url(
        stand_in: FederationServer, browser: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    issued = _issued()
    started = time.monotonic()
    assert _run(monkeypatch, issued, "--region", "eu-west-1") == 0
    took = time.monotonic() - started
    assert took < 3.0, f"the command waited {took:.1f} s (for the browser to read the page?)"
    assert _command_lines_with(stand_in.token) == []  # the page's remover is not told it
    seen = json.loads(browser.read_text())
    [arg] = seen["argv"]
    assert arg.startswith("file://") and stand_in.token not in arg
    assert seen["mode"] == 0o600 and seen["leaks"] == []
    assert f"SigninToken={stand_in.token}" in seen["page"]
    assert "Action=login" in seen["page"] and "eu-west-1.console.aws.amazon.com" in seen["page"]
    session = json.loads(stand_in.requests[0]["Session"])
    assert session["sessionToken"] == issued.credentials.session_token
    out = capsys.readouterr()
    assert stand_in.token not in out.out + out.err + caplog.text
    page = Path(unquote(urlsplit(arg).path))
    assert page.exists()  # the browser may not have read it yet: it outlives the command
    assert _gone(page)  # ... but not by long, and nobody waited for it


def test_print_prints_the_url_and_warns(
        stand_in: FederationServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(monkeypatch, _issued(), "--print", "--duration", "99999") == 0
    out = capsys.readouterr()
    query = parse_qs(urlsplit(out.out.strip()).query)
    assert query["Action"] == ["login"] and query["SigninToken"] == [stand_in.token]
    assert query["Destination"] == [console.DEFAULT_DESTINATION]
    assert "warning" in out.err and stand_in.token not in out.err
    assert stand_in.requests[0]["SessionDuration"] == "43200"  # capped as AWS caps it


def test_long_term_keys_are_refused_with_the_reason(
        stand_in: FederationServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(console.ConsoleError, match="long-term access key"):
        _run(monkeypatch, _issued(token=None), "--print")
    assert stand_in.requests == []  # the secret never left


def test_a_session_the_endpoint_refuses_says_why(
        stand_in: FederationServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(console.ConsoleError, match="GetSessionToken") as caught:
        _run(monkeypatch, _issued(token="GST" + "y" * 40), "--print")
    assert "y" * 40 not in str(caught.value)


def test_durations_are_capped_as_aws_caps_them() -> None:
    assert console.session_duration(None) is None
    assert console.session_duration(60) == 900
    assert console.session_duration(99999) == 43200
    assert console.session_duration(43200, chained=True) == 3600
    assert console.session_duration(None, chained=True) == 3600  # no default over the hour


def test_a_chained_role_asks_for_no_more_than_the_hour(
        stand_in: FederationServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(monkeypatch, _issued(chained=True), "--print", "--duration", "43200") == 0
    assert stand_in.requests[0]["SessionDuration"] == "3600"


def test_a_page_whose_remover_never_ran_is_swept_by_the_next_opening(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale, fresh = (outside._redirect_file("https://example.invalid/") for _ in range(2))
    old = time.time() - outside.REMOVE_AFTER - 5
    os.utime(stale.parent, (old, old))
    outside.sweep()
    assert not stale.parent.exists() and fresh.exists()


@windows_only("ShellExecute (os.startfile) is Windows' own launcher")
def test_windows_shell_gets_the_page_never_the_url(
        stand_in: FederationServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """With BROWSER unset, webbrowser on Windows hands ShellExecute (os.startfile) what it
    opens; it must be the private page's file:// URL, the sign-in URL only inside it. The
    launcher is recorded, not run: under wine it would start no real browser."""
    launched: list[str] = []

    def startfile(target: str, *args: Any) -> None:
        page = Path(unquote(urlsplit(target).path).lstrip("/"))
        launched.extend([target, page.read_text(encoding="utf-8")])

    monkeypatch.delenv("BROWSER", raising=False)
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    monkeypatch.setattr(os, "startfile", startfile, raising=False)
    monkeypatch.setattr(outside, "REMOVE_AFTER", 1.0)
    started = time.monotonic()
    assert _run(monkeypatch, _issued()) == 0
    assert time.monotonic() - started < 5.0
    target, content = launched
    assert target.startswith("file:///") and stand_in.token not in target
    assert f"SigninToken={stand_in.token}" in content
    assert _gone(Path(unquote(urlsplit(target).path).lstrip("/")))


def test_only_https_or_loopback_federation_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(outside.ENV_URL, "http://example.com/federation")
    with pytest.raises(console.ConsoleError):
        outside.federation_url()
    monkeypatch.delenv(outside.ENV_URL)
    assert outside.federation_url() == console.FEDERATION_URL


def test_a_bad_destination_or_region_is_a_usage_error() -> None:
    from traycreds.core.errors import UsageError
    for dest, region in (("http://x.example/", None), (None, "eu west 1")):
        with pytest.raises(UsageError):
            console.destination(dest, region)


@pytest.mark.skipif(sys.platform == "win32", reason="the fake browser reads /proc")
@pytest.mark.usefixtures("secret_service")
def test_the_tray_opens_the_console_off_its_thread(
        aws_env: Any, sts_errors: Any, stand_in: FederationServer, browser: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """The menu's "Open AWS console as ROLE": the service (what the tray calls) assumes the
    role against the scripted STS and hands the browser the private redirect file."""
    from tests.support.service import QuietDialogs, RecordedNotes
    from traycreds.adapters import paths
    from traycreds.adapters.keystore import KeyStore
    from traycreds.app.service import AppService
    from traycreds.core.menu import Action

    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(
        "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/Dev\nsource_profile = me\n"
        f"region = us-east-1\nendpoint_url = {sts_errors.url}\n")
    keys = KeyStore(paths.data_dir() / "sources.json")
    keys.put("me", Credentials(_key_id("AK" + "IA"), "s" * 40))
    notes = RecordedNotes()
    caplog.set_level(logging.DEBUG)
    service = AppService(QuietDialogs(), notes)
    try:
        service.start().result(timeout=30)
        job = service.perform(Action("console", "dev"))
        assert job is not None
        job.result(timeout=60)
        seen = json.loads(browser.read_text())
        [arg] = seen["argv"]
        assert arg.startswith("file://") and stand_in.token not in arg
        assert seen["mode"] == 0o600 and seen["leaks"] == []
        assert f"SigninToken={stand_in.token}" in seen["page"]
        assert service.state.active is None  # opening the console is not choosing a role
        assert not any(stand_in.token in title + text for title, text in notes.sent)
        assert stand_in.token not in caplog.text and "SigninToken" not in caplog.text
    finally:
        service.shutdown()
        keys.remove("me")


@pytest.mark.skipif(sys.platform == "win32", reason="the fake browser reads /proc")
def test_the_real_command_for_a_chained_role(
        moto: Any, aws_env: Any, stand_in: FederationServer, browser: Path) -> None:
    """`traycreds --no-tray console deep` as a user runs it: the real engine walks the
    two-hop chain against moto's STS, marks it chained, and so asks the federation endpoint
    for no more than the hour; the process exits with the page left to its remover."""
    from tests.test_cli import Setup, traycreds

    setup = Setup(moto, aws_env)
    env = dict(setup.env, BROWSER=os.environ["BROWSER"], TRAYCREDS_FEDERATION_URL=stand_in.url,
               FAKE_BROWSER_LOG=str(browser))
    result = traycreds(env, "--no-tray", "console", "deep", "--duration", "43200")
    assert result.returncode == 0, result.stderr
    assert [form.get("SessionDuration") for form in stand_in.requests] == ["3600"]
    seen = json.loads(browser.read_text())
    assert seen["argv"][0].startswith("file://") and seen["leaks"] == []
    assert stand_in.token not in result.stdout + result.stderr
    assert _command_lines_with(stand_in.token) == []
    assert Path(unquote(urlsplit(seen["argv"][0]).path)).exists()  # the remover's, later
