"""What Windows' fixed limits do to the tray, checked on any system: menu access keys (``&``),
the NOTIFYICONDATAW field sizes of balloon notifications and the tooltip. The fitting is pure
(traycreds.core.text). The tray's win32 path is checked on pystray's real win32 backend on the
Windows lane (tests/test_tray_win32.py, under wine); elsewhere, where that backend cannot load,
against tests/support/fakes.py's PystrayWin32Icon, which raises ValueError where it does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import REPO_ROOT, posix_only
from tests.support.fakes import PystrayWin32Icon
from traycreds.core.menu import native_label
from traycreds.core.models import Role
from traycreds.core.state import AppState, RoleState
from traycreds.core.text import (
    ELLIPSIS,
    NOTIFY_MESSAGE_MAX,
    NOTIFY_TITLE_MAX,
    TOOLTIP_MAX,
    fit_notification,
    fit_text,
    utf16_units,
)
from traycreds.tray.app import Notifications, TrayApp

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
LONG_ROLE = "platform-engineering-production-eu-west-1-break-glass-administrator"
# Shaped like the 301-character keyring error the tray showed (adapters/keystore.py).
KEYRING_ERROR = (
    "No keyring is available to read the key 'work'. traycreds keeps access keys only in the "
    "OS keyring. On Linux install and unlock a Secret Service (gnome-keyring or KWallet; e.g. "
    "'apt install gnome-keyring' and log in to a desktop session); Windows and macOS have one "
    "built in. 'traycreds doctor' shows which keyring was found."
)


# -- menu labels: & is an access-key marker in Windows menus ------------------------------------


def test_native_label_doubles_ampersands_only_on_windows() -> None:
    assert native_label("r&d - 42 min left", "win32") == "r&&d - 42 min left"
    assert native_label("a && b &", "win32") == "a &&&& b &&"
    assert native_label("r&d", "linux") == "r&d"
    assert native_label("r&d", "darwin") == "r&d"
    assert native_label("no marker", "win32") == "no marker"


MENU_SCRIPT = """
import json, sys
from traycreds.core.models import Role
from traycreds.core.state import AppState
from traycreds.tray.app import Notifications, TrayApp

class Service:
    state = AppState(roles=(Role(name="r&d", role_arn="arn:aws:iam::111122223333:role/rd",
                                 source="me", origin="test"),), active="r&d")

def texts(items):
    for item in items:
        yield item.text
        if item.submenu:
            yield from texts(item.submenu.items)

app = TrayApp(Service(), Notifications(sys.argv[1]), platform=sys.argv[1])
print(json.dumps(list(texts(app._items()))))
"""


@pytest.mark.parametrize(("platform", "shown"), [("win32", "r&&d"), ("linux", "r&d")])
def test_tray_menu_items_carry_the_native_label(platform: str, shown: str) -> None:
    """Real pystray menu items (its dummy backend, in a process of their own so this one's
    backend choice is untouched), built by the tray from the pure menu."""
    done = subprocess.run(
        [sys.executable, "-c", MENU_SCRIPT, platform], cwd=REPO_ROOT, capture_output=True,
        text=True, timeout=60, check=False, env={**os.environ, "PYSTRAY_BACKEND": "dummy"},
    )
    assert done.returncode == 0, done.stderr
    texts = json.loads(done.stdout)
    # Issue 15: the top item says what a click hands over (it was "r&d - click to assume").
    assert f"Copy for bash/zsh: {shown}" in texts
    assert any(text.startswith(f"○ {shown}") for text in texts), texts
    assert "Copy for cmd.exe" in texts


# -- fitting text -------------------------------------------------------------------------------


def test_text_that_fits_is_unchanged() -> None:
    for limit in (NOTIFY_TITLE_MAX, NOTIFY_MESSAGE_MAX, TOOLTIP_MAX):
        exact = "x" * limit
        assert fit_text(exact, limit) == exact
    assert fit_text("", 10) == ""
    assert fit_notification("Title", "Message.") == ("Title", "Message.")


def test_a_long_role_name_loses_its_middle_and_the_shell_stays() -> None:
    title = f"{LONG_ROLE} copied for JSON (credential_process)"
    fitted = fit_text(title, NOTIFY_TITLE_MAX)
    assert utf16_units(fitted) <= NOTIFY_TITLE_MAX
    assert fitted.endswith(" copied for JSON (credential_process)")
    head, tail = fitted.split(" ", 1)[0].split(ELLIPSIS)
    assert LONG_ROLE.startswith(head) and LONG_ROLE.endswith(tail) and head and tail


def test_the_keyring_error_keeps_its_start_and_its_advice() -> None:
    assert len(KEYRING_ERROR) > 300
    fitted = fit_text(KEYRING_ERROR, NOTIFY_MESSAGE_MAX)
    assert utf16_units(fitted) <= NOTIFY_MESSAGE_MAX
    assert fitted.startswith("No keyring is available to read the key 'work'.")
    assert fitted.endswith(" 'traycreds doctor' shows which keyring was found.")
    assert ELLIPSIS in fitted


def test_could_not_refresh_is_fitted_with_its_advice() -> None:
    title = f"Could not refresh {LONG_ROLE}"
    message = ("Access denied: AccessDenied from STS: User arn:aws:iam::111122223333:user/"
               "someone-with-a-long-name is not authorized to perform: sts:AssumeRole on "
               f"resource: arn:aws:iam::111122223333:role/{LONG_ROLE}. Ask your AWS "
               "administrator to allow it. It keeps the current credentials until 14:05; "
               "traycreds tries again. Choose 'Refresh now' to try yourself.")
    fitted_title, fitted_message = fit_notification(title, message)
    assert fitted_title.startswith("Could not refresh platform-")
    assert utf16_units(fitted_title) <= NOTIFY_TITLE_MAX
    assert utf16_units(fitted_message) <= NOTIFY_MESSAGE_MAX
    assert fitted_message.startswith("Access denied: AccessDenied from STS:")
    assert fitted_message.endswith("Choose 'Refresh now' to try yourself.")


def test_characters_beyond_the_bmp_count_twice() -> None:
    """Windows counts UTF-16 code units: an emoji takes two of the 63."""
    title = "\U0001f511" * 40
    assert utf16_units(title) == 80
    fitted = fit_text(title, NOTIFY_TITLE_MAX)
    assert utf16_units(fitted) <= NOTIFY_TITLE_MAX
    assert "\ud83d" not in fitted  # never half a surrogate pair


WORDS = st.text(alphabet=st.sampled_from("abcXYZ019-:/'.é\U0001f511"), min_size=1, max_size=90)
TEXTS = st.lists(WORDS, max_size=30).map(" ".join) | st.text(max_size=400)


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.integers(min_value=1, max_value=300))
def test_fit_text_properties(text: str, limit: int) -> None:
    fitted = fit_text(text, limit)
    assert utf16_units(fitted) <= limit
    assert utf16_units(fitted) <= utf16_units(text)  # never longer
    if utf16_units(text) <= limit:
        assert fitted == text
        return
    assert fitted.endswith(ELLIPSIS) or ELLIPSIS in fitted
    keep = min(limit // 4, 8)
    if keep and not text[:keep].isspace():
        # The start stays: the first word keeps its head even when shortened.
        assert fitted[: min(keep, len(fitted) - 1)] == text[: min(keep, len(fitted) - 1)] or \
            fitted.startswith(text.lstrip()[:1])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["alpha", "be", "gamma", "delta", "epsilon", "zeta"]),
                min_size=60, max_size=120))
def test_a_cut_ends_at_a_word_boundary(words: list[str]) -> None:
    text = " ".join(words)
    fitted = fit_text(text, 100)
    assert fitted.endswith(ELLIPSIS)
    kept = fitted[: -len(ELLIPSIS)]
    assert text.startswith(kept)
    assert text[len(kept)] == " ", "cut inside a word"


# -- the tray's win32 path ------------------------------------------------------------------------

# On Windows the real backend shows all this (tests/test_tray_win32.py); the fake is for the
# systems where pystray's win32 backend cannot load.
real_backend_on_windows = posix_only(
    "on Windows tests/test_tray_win32.py checks this on pystray's real win32 backend")


@real_backend_on_windows
def test_win32_notifications_are_fitted_and_shown() -> None:
    icon = PystrayWin32Icon()
    notifications = Notifications("win32")
    notifications.icon = icon
    notifications.notify(f"{LONG_ROLE} copied for JSON (credential_process)", KEYRING_ERROR)
    notifications.notify("Title at the limit" + "x" * 46, "m" * 256)  # 64 and 256: too long
    ((title, message), (title2, message2)) = icon.notifications
    assert title.endswith("copied for JSON (credential_process)")
    assert message.endswith("shows which keyring was found.")
    assert utf16_units(title2) == NOTIFY_TITLE_MAX
    assert utf16_units(message2) == NOTIFY_MESSAGE_MAX


def test_notifications_elsewhere_are_passed_whole() -> None:
    """The fitting is Windows' only: other backends get the whole text."""

    class Whole:
        HAS_NOTIFICATION = True
        shown: list[tuple[str, str]] = []  # noqa: RUF012

        def notify(self, message: str, title: str) -> None:
            self.shown.append((title, message))

    icon = Whole()
    notifications = Notifications("darwin")
    notifications.icon = icon
    notifications.notify(LONG_ROLE * 2, KEYRING_ERROR)
    assert icon.shown == [(LONG_ROLE * 2, KEYRING_ERROR)]


class StateOnly:
    """The one part of the service that TrayApp.refresh reads."""

    def __init__(self, state: AppState) -> None:
        self.state = state


def long_state() -> AppState:
    name = LONG_ROLE * 2  # a tooltip of well over 127 characters
    role = Role(name=name, role_arn="arn:aws:iam::111122223333:role/x", source="me",
                origin="test")
    held = RoleState(held=True, expiration=datetime.now(timezone.utc) + timedelta(hours=5))
    return AppState(roles=(role,), active=name, states={name: held})


@real_backend_on_windows
def test_win32_tooltip_is_fitted_and_the_menu_updated() -> None:
    service: Any = StateOnly(long_state())
    app = TrayApp(service, Notifications("win32"), platform="win32")
    icon = PystrayWin32Icon()
    app.icon = icon
    app.refresh()
    (title,) = icon.titles
    assert utf16_units(title) <= TOOLTIP_MAX
    assert title.startswith("traycreds: platform-engineering")
    assert title.endswith(" left")
    assert icon.menu_updates == 1


@real_backend_on_windows
def test_a_failing_tooltip_never_skips_the_menu_update() -> None:
    """Even with the tooltip refused (here: unfitted, as before), the menu is updated."""
    service: Any = StateOnly(long_state())
    app = TrayApp(service, Notifications("linux"), platform="linux")
    icon = PystrayWin32Icon()
    app.icon = icon
    app.refresh()  # logs the ValueError
    assert icon.titles == []
    assert icon.menu_updates == 1
    assert len(icon.images) == 1
