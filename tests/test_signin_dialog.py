"""The tray's IAM Identity Center sign-in window (real Tk under Xvfb, driven with xdotool):
it returns at once, shows the code, Escape and Cancel tell the worker to stop, close() from
the worker's thread closes it, and "Open the page again" (Enter) hands the page to the
browser through webbrowser. Screenshot: sign-in-dialog.png."""

from __future__ import annotations

import threading
import time
import webbrowser

import pytest

from tests.test_dialogs import (
    dialogs,
    press,
    wait_gone,
    wait_until,
    wait_window,
    window_image,
    windows_named,
)
from traycreds.app.sso import SignInPrompt
from traycreds.tray.dialogs import SIGN_IN_TITLE, TkDialogs

__all__ = ["dialogs"]  # the fixture, used by name

PROMPT = SignInPrompt("corp", "ABCD-EFGH\x1b[2J", "https://device.sso.eu-west-1.amazonaws.com/",
                      "https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH", 600)


def test_the_window_returns_at_once_and_the_worker_closes_it(dialogs: TkDialogs) -> None:
    cancelled = threading.Event()
    started = time.monotonic()
    window = dialogs.show_sign_in(PROMPT, cancelled.set)
    assert time.monotonic() - started < 1.0
    shown = wait_window(SIGN_IN_TITLE)
    window_image(shown, "sign-in-dialog")
    threading.Thread(target=window.close).start()  # the worker: the sign-in succeeded
    wait_gone(SIGN_IN_TITLE)
    assert not cancelled.is_set()


@pytest.mark.parametrize("keys", [("Escape",), ("Tab", "Return")])  # Escape; Tab to Cancel
def test_escape_and_cancel_tell_the_worker_to_stop(dialogs: TkDialogs,
                                                   keys: tuple[str, ...]) -> None:
    cancelled = threading.Event()
    dialogs.show_sign_in(PROMPT, cancelled.set)
    wait_window(SIGN_IN_TITLE)
    press(*keys)
    wait_gone(SIGN_IN_TITLE)
    assert cancelled.is_set()


def test_enter_opens_the_page_again(dialogs: TkDialogs, monkeypatch: pytest.MonkeyPatch
                                    ) -> None:
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, new=0, autoraise=True:
                        opened.append(url) or True)
    window = dialogs.show_sign_in(PROMPT, lambda: None)
    wait_window(SIGN_IN_TITLE)
    press("Return")
    wait_until(lambda: opened, "the browser gets the page again")
    assert opened == [PROMPT.verification_uri_complete]
    window.close()
    wait_gone(SIGN_IN_TITLE)


def test_a_sign_in_over_before_the_window_is_built_shows_nothing(dialogs: TkDialogs) -> None:
    window = dialogs.show_sign_in(PROMPT, lambda: None)
    window.close()
    time.sleep(0.5)
    assert not windows_named(SIGN_IN_TITLE)
