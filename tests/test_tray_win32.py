"""The tray on pystray's real win32 backend, on Windows CPython under wine (the Windows lane):
traycreds' TrayApp runs its real ``pystray.Icon`` (Shell_NotifyIconW, a Win32 popup menu),
docked by wine's explorer in trayer on the lane's X display and clicked with xdotool.

What stands in: only the service behind the menu (``Service`` below records the clicked
actions; the tray's own code is real). What wine cannot show is said where it matters:
Windows 10+ shows a balloon as a toast, wine as a ``tooltips_class32`` balloon window; the
field sizes are NOTIFYICONDATAW's either way (shellapi.h), which pystray's ctypes structure
enforces by raising ValueError.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.support import ARTIFACTS, wine_desktop
from tests.support.windesk import (
    MENU_TIMEOUT,
    Rect,
    TrayHost,
    XDesk,
    open_menus,
    poll,
    read_menu,
    tray_host,
    windows_of_class,
)
from tests.test_win32_limits import KEYRING_ERROR, LONG_ROLE
from traycreds.core.menu import Action
from traycreds.core.models import Role
from traycreds.core.state import AppState, RoleState
from traycreds.core.text import NOTIFY_MESSAGE_MAX, NOTIFY_TITLE_MAX, TOOLTIP_MAX, utf16_units
from traycreds.tray.app import Notifications, TrayApp

pytestmark = wine_desktop("pystray's win32 backend and wine's notification area")

BALLOON_TIMEOUT = 15.0  # Shell_NotifyIconW(NIF_INFO) -> explorer shows the balloon window


def role(name: str) -> Role:
    return Role(name=name, role_arn=f"arn:aws:iam::111122223333:role/{name.replace('&', '')}",
                source="me", origin="test")


class Service:
    """The part of AppService the tray calls; records what the menu asked for."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.performed: list[Action] = []
        self.listeners: list[Callable[[], None]] = []
        self.started = threading.Event()

    def subscribe(self, listener: Callable[[], None]) -> None:
        self.listeners.append(listener)

    def start(self) -> None:
        self.started.set()

    def shutdown(self) -> None:
        pass

    def perform(self, action: Action) -> None:
        self.performed.append(action)


class RunningTray:
    def __init__(self, app: TrayApp, service: Service, host: TrayHost, desk: XDesk) -> None:
        self.app, self.service, self.host, self.desk = app, service, host, desk
        self.icon_rect: Rect = host.wait_docked()

    @property
    def icon(self) -> Any:
        return self.app.icon

    def menu(self) -> Any:
        return read_menu(self.icon._menu_handle[0])

    def open_menu(self) -> list[tuple[int, Rect]]:
        self.close_menus()
        self.desk.click(*self.icon_rect.centre, 3)
        return poll(open_menus, MENU_TIMEOUT, "a right click opens the tray menu")

    def close_menus(self) -> None:
        self.desk.close_menus()

    def wait_performed(self, count: int) -> list[Action]:
        return poll(lambda: len(self.service.performed) >= count and self.service.performed,
                    MENU_TIMEOUT, f"{count} menu action(s) reach the service")


@pytest.fixture
def start_tray() -> Iterator[Callable[[AppState], RunningTray]]:
    running: list[tuple[TrayApp, threading.Thread]] = []
    with tray_host() as (host, desk):

        def start(state: AppState) -> RunningTray:
            service = Service(state)
            app = TrayApp(service, Notifications("win32"), platform="win32")  # type: ignore[arg-type]
            thread = threading.Thread(target=app.run, name="tray", daemon=True)
            thread.start()
            running.append((app, thread))
            assert service.started.wait(30), "the tray's setup never ran"
            return RunningTray(app, service, host, desk)

        try:
            yield start
        finally:
            for app, thread in running:
                for _attempt in range(4):  # a menu left open holds the tray's message loop
                    if not open_menus():
                        break
                    desk.keys_to_menu("Escape")
                    time.sleep(0.2)
                app.quit()
                thread.join(15)
                assert not thread.is_alive(), "the tray's message loop did not end on Quit"


def rd_state() -> AppState:
    return AppState(roles=(role("r&d"), role("ops")), active="r&d")


def test_the_real_menu_has_the_default_item_and_shows_ampersands(
        start_tray: Callable[[AppState], RunningTray]) -> None:
    tray = start_tray(rd_state())
    entries = tray.menu()
    texts = [entry.text for entry in entries]
    # Win32 menus take "&" as the access-key marker: "&&" is what shows one "&".
    # The top item says what a click does (issue 15: "Copy for ...", the default shell here).
    assert entries[0].text == "Copy for bash/zsh: r&&d", texts
    assert entries[0].default, "the active role's item is not the menu's default item"
    assert [entry.text for entry in entries if entry.default] == [entries[0].text]
    roles = [entry for entry in entries if entry.submenu]
    assert [r.text.split(" ", 1)[-1] for r in roles] == ["ops", "r&&d"], texts
    assert roles[0].submenu[0].text == "Copy for cmd.exe"

    # A left click on the docked icon runs the default item (pystray: WM_LBUTTONUP).
    tray.desk.click(*tray.icon_rect.centre, 1)
    assert tray.wait_performed(1) == [Action("copy-active")]

    # A right click opens the menu; the keyboard walks it: the active item, the first role,
    # its submenu (first item: Copy for cmd.exe), Return.
    menus = tray.open_menu()
    tray.desk.keys_to_menu("Down", "Down", "Right")
    menus = poll(lambda: len(m := open_menus()) >= 2 and m, MENU_TIMEOUT,
                 "the role's submenu opens")
    left = min(rect.left for _, rect in menus)
    bottom = max(rect.bottom for _, rect in menus)
    tray.desk.screenshot(ARTIFACTS / "screenshots" / "win32-tray-menu-rd.png",
                         Rect(max(0, left - 10), 0, tray.icon_rect.right + 2, bottom + 10))
    tray.desk.keys_to_menu("Return")
    poll(lambda: not open_menus(), MENU_TIMEOUT, "the menu closes after Return")
    assert tray.wait_performed(2)[1] == Action("copy", "ops", "cmd")


def long_state() -> AppState:
    name = LONG_ROLE * 2  # a tooltip of well over 127 characters
    held = RoleState(held=True, expiration=datetime.now(timezone.utc) + timedelta(hours=5))
    return AppState(roles=(role(name),), active=name, states={name: held})


def test_the_real_tooltip_is_fitted_and_the_menu_never_goes_stale(
        start_tray: Callable[[AppState], RunningTray], caplog: pytest.LogCaptureFixture) -> None:
    tray = start_tray(rd_state())
    icon = tray.icon
    # szTip[128] holds 127 characters and the NUL. pystray's ctypes structure takes 128 (a
    # full array, no NUL: Windows copies at most 127 of it) and raises ValueError past that.
    icon.title = "t" * TOOLTIP_MAX
    with pytest.raises(ValueError):
        icon.title = "t" * (TOOLTIP_MAX + 2)

    tray.service.state = long_state()
    tray.app.refresh()
    assert utf16_units(icon.title) <= TOOLTIP_MAX
    assert icon.title.startswith("traycreds: platform-engineering")
    assert icon.title.endswith(" left")
    assert LONG_ROLE in tray.menu()[0].text, "the menu was not updated"
    assert "could not update" not in caplog.text

    # Unfitted (as before the fix, or as another platform passes it), Windows refuses the
    # tooltip; the menu is updated all the same.
    tray.app.platform = "linux"
    tray.service.state = AppState(roles=(*long_state().roles, role("zz")),
                                  active=long_state().active, states=long_state().states)
    with caplog.at_level(logging.ERROR):
        tray.app.refresh()
    assert "could not update the tray icon's tooltip" in caplog.text
    # (pystray stores the refused title before Shell_NotifyIconW fails, so icon.title is no
    # witness here: Windows keeps showing the previous tooltip.)
    assert tray.menu()[-1].text == "Quit" and any(e.text.endswith("zz") for e in tray.menu())

    # The tooltip shows on hover: a tooltips_class32 window of explorer below the icon, as
    # wide as the long (fitted) text it holds.
    tray.desk.move(*tray.icon_rect.centre)
    poll(lambda: [rect for _, rect in windows_of_class("tooltips_class32")
                  if rect.top >= tray.icon_rect.bottom - 4 and rect.right - rect.left >= 150],
         MENU_TIMEOUT, "the tooltip shows when the pointer rests on the icon")


def balloons() -> list[tuple[int, Rect]]:
    """Balloon windows: tooltips_class32 windows big enough for a title and a message (the
    hover tooltip is one short line)."""
    return [(hwnd, rect) for hwnd, rect in windows_of_class("tooltips_class32")
            if rect.bottom - rect.top >= 40 and rect.right - rect.left >= 80]


def test_real_notifications_are_fitted_and_shown(
        start_tray: Callable[[AppState], RunningTray], caplog: pytest.LogCaptureFixture) -> None:
    tray = start_tray(rd_state())
    icon = tray.icon
    # pystray's win32 backend refuses what NOTIFYICONDATAW cannot hold, szInfoTitle[64] and
    # szInfo[256]: with ValueError past the array; exactly 64/256 fills it with no NUL left.
    with pytest.raises(ValueError):
        icon.notify("m", "t" * (NOTIFY_TITLE_MAX + 2))
    with pytest.raises(ValueError):
        icon.notify("m" * (NOTIFY_MESSAGE_MAX + 2), "t")

    before = {hwnd for hwnd, _ in balloons()}  # visible ones only
    notifications = tray.app.notifications
    assert notifications.icon is icon
    with caplog.at_level(logging.INFO):
        notifications.notify(f"{LONG_ROLE} copied for JSON (credential_process)",
                             KEYRING_ERROR)
    assert "tray notification failed" not in caplog.text
    assert "no notification service" not in caplog.text
    shown = poll(lambda: [b for b in balloons() if b[0] not in before], BALLOON_TIMEOUT,
                 "explorer shows the balloon notification")
    tray.desk.screenshot(ARTIFACTS / "screenshots" / "win32-balloon.png",
                         Rect(max(0, shown[0][1].left - 10), 0, tray.icon_rect.right + 2,
                              shown[0][1].bottom + 10))
    with caplog.at_level(logging.INFO):
        notifications.notify("Title at the limit" + "x" * 46, "m" * 256)  # 64 and 256
    assert "tray notification failed" not in caplog.text
