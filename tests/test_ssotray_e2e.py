"""IAM Identity Center sign-in through the real tray: ``python -m traycreds tray`` docked in
trayer with an [sso-session] and no token; "Copy for bash/zsh" on the SSO role opens the real
Tk sign-in window and a real notification (D-Bus) with the code, the browser command in
BROWSER gets the page, the test approves through the stand-in as the browser would, and the
copy completes without a second click. Screenshot: tray-sso-signin.png."""

# ruff: noqa: F811  (stand_in, sso, setup: fixtures imported from test_sso, used by name)
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import NotificationLog, poll
from tests.test_sso import SsoSetup, _token_file, setup, sso, stand_in  # noqa: F401
from tests.test_tray_e2e import (
    MENU_TIMEOUT,
    Desk,
    Tray,
    desk,
    key,
    shot,
    wait_clipboard,
)
from traycreds.tray.dialogs import SIGN_IN_TITLE

pytestmark = [pytest.mark.usefixtures("desktop", "secret_service"),
              pytest.mark.skipif(sys.platform != "linux", reason="X menus (xdotool)")]
__all__ = ["desk"]  # the fixture, used by name

FAKE_BROWSER = '#!/bin/sh\nprintf "%s\\n" "$1" >> "$(dirname "$0")/opened.txt"\n'


def sign_in_window() -> bool:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name",
                            f"^{SIGN_IN_TITLE}$"], capture_output=True, text=True)
    return bool(found.stdout.split())


def test_a_copy_without_a_token_signs_in_in_the_tray_then_copies(
        desk: Desk, setup: SsoSetup, moto: Any, tmp_path: Path,
        notifications: NotificationLog) -> None:
    browser = tmp_path / "browser" / "open-page"
    browser.parent.mkdir()
    browser.write_text(FAKE_BROWSER)
    browser.chmod(0o755)
    setup.sso.state.devices.clear()
    env = dict(desk.env(moto.url), AWS_ENDPOINT_URL_SSO_OIDC=setup.sso.url,
               AWS_ENDPOINT_URL_SSO=setup.sso.url, BROWSER=str(browser))
    tray = Tray(env, desk.runtime, desk.output_dir / f"{desk.name}.log")
    desk.trays.append(tray)

    # Menu: "No active role yet" (disabled), deep >, sso-dev >; in sso-dev's submenu,
    # Copy for cmd.exe -> PowerShell -> bash/zsh.
    tray.open_submenu(2)
    key("Down", "Down", "Return")
    poll(lambda: not tray.menus(), MENU_TIMEOUT, "the menu closes")

    poll(sign_in_window, 20, f"the sign-in window appears; tray output:\n{tray.log()}")
    code = setup.sso.pending_user_code(timeout=10)
    shot("tray-sso-signin")
    note = notifications.wait_for("Sign in to IAM Identity Center", timeout=10)
    assert code in note.body, note
    opened = browser.parent / "opened.txt"
    poll(opened.exists, 10, "the browser command gets the page")
    assert f"user_code={code}" in opened.read_text()

    setup.sso.approve(code)  # the person approves in the browser
    text = wait_clipboard("export AWS_ACCESS_KEY_ID='", timeout=30)
    assert "export AWS_SESSION_TOKEN='" in text
    poll(lambda: not sign_in_window(), 10, "the sign-in window closes by itself")
    assert _token_file(setup.home).exists()
    assert notifications.wait_for("sso-dev copied for bash", timeout=10)
    tray.quit_via_menu()
