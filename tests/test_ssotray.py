"""IAM Identity Center in the tray (issue 16): a click that needs a sign-in signs in and then
does what was asked; the sessions' menu; the accounts and roles a session allows become roles
without writing ~/.aws/config. The menu as data; the rest through the app service against the
sso-oidc/portal stand-in and moto's STS (tests/test_sso.py's fixtures), the CLI in a child.
"""

# ruff: noqa: F811  (stand_in, sso, setup: fixtures imported from test_sso, used by name)
from __future__ import annotations

import threading
import time
import webbrowser
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest

from tests.support.service import ClosedWindow, QuietDialogs, RecordedNotes
from tests.test_cli import traycreds
from tests.test_sso import (  # noqa: F401  (fixtures, used by name)
    ROLE,
    SESSION,
    SsoSetup,
    _token_file,
    setup,
    sso,
    stand_in,
)
from traycreds.app.service import AppService
from traycreds.app.sso import SignInPrompt
from traycreds.core.menu import Action, Item, build_menu, sso_items
from traycreds.core.models import Role, utc_now
from traycreds.core.state import AppState

pytestmark = pytest.mark.usefixtures("secret_service")

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


# -- the menu, as data ----------------------------------------------------------------------
def _submenu(items: tuple[Item, ...], label: str) -> Item:
    return next(i for i in items if i.label == label)


def test_each_session_gets_a_submenu_to_sign_in_and_refresh() -> None:
    until = NOW + timedelta(hours=8)
    items = sso_items({"zeta": None, "corp": until}, NOW)
    assert [i.label for i in items] == ["IAM Identity Center: corp", "IAM Identity Center: zeta"]
    corp = _submenu(items, "IAM Identity Center: corp")
    assert [(i.label, i.action, i.enabled) for i in corp.children] == [
        (f"Signed in, until {until.astimezone():%H:%M}", None, False),
        ("Sign out", Action("sso-sign-out", "corp"), True),
        ("Refresh accounts and roles", Action("sso-refresh", "corp"), True)]
    zeta = _submenu(items, "IAM Identity Center: zeta")
    assert [(i.label, i.action) for i in zeta.children] == [
        ("Sign in...", Action("sso-sign-in", "zeta")),
        ("Refresh accounts and roles", Action("sso-refresh", "zeta"))]
    # An expired token is no sign-in.
    expired = sso_items({"corp": NOW - timedelta(minutes=1)}, NOW)
    assert expired[0].children[0].label == "Sign in..."


def test_the_sessions_sit_above_the_app_items_with_or_without_roles() -> None:
    role = Role("r", "arn:aws:iam::111122223333:role/r", "me", "test")
    for state in (AppState(sso_sessions={"corp": None}),
                  AppState(roles=(role,), sso_sessions={"corp": None})):
        labels = [i.label for i in build_menu(state, NOW)]
        assert labels.index("IAM Identity Center: corp") < labels.index("Add access key...")
    assert "IAM Identity Center: corp" not in [i.label for i in build_menu(
        AppState(roles=(role,)), NOW)]


# -- through the app service ----------------------------------------------------------------
class Browser:
    """The person at the browser: approves, denies or does nothing with the code shown."""

    def __init__(self, sso: Any, answer: str | None) -> None:
        self.sso, self.answer = sso, answer
        self.opened: list[str] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        return True

    def act(self, code: str) -> None:
        if self.answer == "approve":
            self.sso.approve(code)
        elif self.answer == "deny":
            self.sso.deny(code)


class SignInDialogs(QuietDialogs):
    """The sign-in window: records what it showed and whether the worker closed it; the
    person approves or denies in the browser, or presses Cancel (``on_cancel``)."""

    def __init__(self, browser: Browser, *, cancel: bool = False) -> None:
        self.browser, self.cancel = browser, cancel
        self.shown: list[SignInPrompt] = []
        self.windows: list[ClosedWindow] = []

    def show_sign_in(self, prompt: SignInPrompt, on_cancel: Callable[[], None]
                     ) -> ClosedWindow:
        self.shown.append(prompt)
        window = ClosedWindow()
        self.windows.append(window)
        act = on_cancel if self.cancel else (lambda: self.browser.act(prompt.user_code))
        threading.Timer(0.3, act).start()  # after the first poll, as a person would be
        return window


@pytest.fixture
def in_process(setup: SsoSetup, monkeypatch: pytest.MonkeyPatch) -> SsoSetup:
    for name in ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL_SSO"):
        monkeypatch.setenv(name, setup.env[name])
    setup.sso.state.devices.clear()
    setup.sso.state.requests.clear()
    return setup


@pytest.fixture
def started(in_process: SsoSetup, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[Callable[..., tuple[AppService, SignInDialogs, RecordedNotes]]]:
    services: list[AppService] = []

    def start(answer: str | None = "approve", *, cancel: bool = False
              ) -> tuple[AppService, SignInDialogs, RecordedNotes]:
        browser = Browser(in_process.sso, answer)
        monkeypatch.setattr(webbrowser, "open", browser.open)
        dialogs, notes = SignInDialogs(browser, cancel=cancel), RecordedNotes()
        service = AppService(dialogs, notes, clipboard=lambda: Recorder())
        services.append(service)
        service.start().result(timeout=30)
        return service, dialogs, notes

    yield start
    for service in services:
        service.shutdown()


class Recorder:
    """The clipboard: what was copied (the real X clipboard is the e2e test's)."""

    name = "recorder"
    copied: ClassVar[list[str]] = []

    def copy(self, text: str) -> None:
        Recorder.copied.append(text)

    def paste(self) -> str | None:
        return Recorder.copied[-1] if Recorder.copied else None

    def state(self) -> object:
        return len(Recorder.copied)


def _done(future: Any) -> Any:
    assert future is not None, "the service did not start the job"
    return future.result(timeout=60)


def test_a_click_without_a_token_signs_in_then_copies(
        in_process: SsoSetup, started: Any) -> None:
    service, dialogs, notes = started("approve")
    Recorder.copied.clear()
    _done(service.copy("sso-dev", "bash"))
    assert len(dialogs.shown) == 1 and dialogs.windows[0].closed
    code = dialogs.shown[0].user_code
    assert any(code in message for title, message in notes.sent
               if title == "Sign in to IAM Identity Center")
    assert _token_file(in_process.home).exists()
    assert Recorder.copied and "AWS_ACCESS_KEY_ID" in Recorder.copied[-1]
    held = service.state.states["sso-dev"]
    assert held.held and held.error is None and not held.working
    assert in_process.sso.operations().count("device_authorization") == 1
    assert service.state.sso_sessions["corp"] is not None  # the menu says signed in now


def test_two_clicks_on_one_session_make_one_sign_in(
        in_process: SsoSetup, started: Any) -> None:
    service, dialogs, _ = started("approve")
    first = service.whoami("sso-dev")
    time.sleep(0.1)
    second = service.whoami("deep")  # chained from sso-dev: same session
    _done(first), _done(second)
    assert len(dialogs.shown) == 1
    assert in_process.sso.operations().count("device_authorization") == 1
    assert service.state.states["deep"].held and service.state.states["sso-dev"].held


def test_a_program_on_the_channel_gets_the_role_after_the_sign_in(
        in_process: SsoSetup, started: Any) -> None:
    service, dialogs, _ = started("approve")
    issued = service.issue_for_caller("deep")
    assert issued.credentials.access_key_id and len(dialogs.shown) == 1


def test_cancel_stops_the_sign_in_and_the_role_goes_back_to_idle(
        in_process: SsoSetup, started: Any) -> None:
    service, dialogs, notes = started(None, cancel=True)
    began = time.monotonic()
    assert _done(service.copy("sso-dev", "bash")) is None
    assert time.monotonic() - began < 10
    assert dialogs.windows[0].closed
    held = service.state.states["sso-dev"]
    assert not held.working and held.error is None and not held.held
    assert not _token_file(in_process.home).exists()
    assert [t for t, _ in notes.sent] == ["Sign in to IAM Identity Center"]  # only the code


def test_a_denial_is_told_with_the_reason(in_process: SsoSetup, started: Any) -> None:
    service, dialogs, notes = started("deny")
    _done(service.copy("sso-dev", "bash"))
    assert dialogs.windows[0].closed
    assert notes.sent[-1] == ("Access denied", "The sign-in was denied in the browser.")
    failure = service.state.states["sso-dev"].error
    assert failure is not None and failure.title == "Access denied"


def test_refresh_lists_the_sessions_roles_as_menu_groups(
        in_process: SsoSetup, started: Any) -> None:
    service, dialogs, notes = started("approve")
    menu = build_menu(service.state, utc_now())
    corp = _submenu(menu, f"IAM Identity Center: {SESSION}")
    assert corp.children[0].action == Action("sso-sign-in", SESSION)
    assert corp.children[-1].action is not None
    _done(service.perform(corp.children[-1].action))  # Refresh accounts and roles
    assert len(dialogs.shown) == 1  # not signed in yet: the sign-in came first
    listed = f"{SESSION}/{in_process.account}/ReadOnly"
    assert service.state.role(listed) is not None
    # sso-dev is the same session, account and role: shown once, under its profile name.
    assert service.state.role(f"{SESSION}/{in_process.account}/{ROLE}") is None
    groups = [i.label for i in build_menu(service.state, utc_now()) if i.children]
    assert f"Sandbox ({in_process.account})" in groups
    assert "Production (210987654321)" in groups and "Audit (333333333333)" in groups
    assert notes.sent[-1] == ("IAM Identity Center roles", f"{SESSION}: 4 role(s) in 3 "
                              "account(s).")
    Recorder.copied.clear()
    _done(service.copy(listed, "bash"))
    assert "AWS_ACCESS_KEY_ID" in Recorder.copied[-1]
    signed = _submenu(build_menu(service.state, utc_now()), f"IAM Identity Center: {SESSION}")
    assert signed.children[0].label.startswith("Signed in, until ")


def test_listed_roles_from_the_portal_are_checked(in_process: SsoSetup) -> None:
    from traycreds.adapters import ssocache
    from traycreds.app.context import Context
    from traycreds.app.ssolisted import session_target

    catalog = Context().catalog
    session = catalog.sessions[SESSION]
    ssocache.save_listing(session_target(session), {"listedAt": "2026-11-28T12:00:00Z",
                                                     "accounts": [
        {"accountId": "12345", "accountName": "Short", "emailAddress": "", "roles": ["A"]},
        {"accountId": "444455556666", "accountName": "Evil\x1b[2J\nName", "emailAddress": "",
         "roles": ["Good", "$(touch /tmp/x)", "Bad\nRole"]},
        {"accountId": in_process.account, "accountName": "Sandbox", "emailAddress": "",
         "roles": [ROLE]}]})
    roles = Context().catalog.roles
    listed = sorted(name for name in roles if name.startswith(f"{SESSION}/"))
    assert listed == [f"{SESSION}/444455556666/Good"]  # sso-dev already is the Sandbox one
    assert roles[listed[0]].group == "Evil [2J Name (444455556666)"
    assert roles[listed[0]].sso is not None and "sso-dev" in roles


# -- the CLI sees the listed roles too --------------------------------------------------------
def test_a_listed_role_exports_on_the_command_line(setup: SsoSetup) -> None:
    setup.write_cli_token()
    listing = traycreds(setup.env, "sso-roles", SESSION)
    assert listing.returncode == 0, listing.stderr
    name = f"{SESSION}/210987654321/ReadOnly"
    roles = traycreds(setup.env, "roles")
    assert name in roles.stdout, roles.stdout
    result = traycreds(setup.env, "export", name, "--shell", "bash")
    assert result.returncode == 0, result.stderr
    assert "export AWS_ACCESS_KEY_ID=" in result.stdout


def test_the_menu_signs_in_and_out(in_process: SsoSetup, started: Any) -> None:
    service, dialogs, notes = started("approve")
    _done(service.perform(Action("sso-sign-in", SESSION)))
    assert len(dialogs.shown) == 1 and notes.sent[-1] == ("Sign in to IAM Identity Center",
                                                          f"Signed in to {SESSION}.")
    assert service.state.sso_sessions[SESSION] is not None
    _done(service.copy("sso-dev", "bash"))
    assert service.state.states["sso-dev"].held and len(dialogs.shown) == 1
    _done(service.perform(Action("sso-sign-out", SESSION)))
    assert not _token_file(in_process.home).exists()
    assert service.state.sso_sessions[SESSION] is None
    assert not service.state.states["sso-dev"].held  # got with the old token: dropped


def test_a_program_on_the_channel_hears_why_before_it_stops_waiting(
        in_process: SsoSetup, started: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from traycreds.app import ssotray
    from traycreds.channel.remote import TRAY_TIMEOUT
    from traycreds.core.errors import ExpiredTokenError

    assert ssotray.CALLER_LIMIT < TRAY_TIMEOUT - 10
    monkeypatch.setattr(ssotray, "CALLER_LIMIT", 2.0)  # the real one: 165 s of 180
    service, dialogs, _ = started(None)  # nobody approves
    began = time.monotonic()
    with pytest.raises(ExpiredTokenError, match="expired before it was approved"):
        service.issue_for_caller("sso-dev")
    assert time.monotonic() - began < 10 and dialogs.windows[0].closed
