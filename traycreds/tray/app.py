"""The tray: pystray renders the menu the core computes and sends clicks to the service.

Start-up shows the icon first ("Loading roles..."); the files are read on a worker
thread, and boto3 and the keyring load there at the first click that needs them. Every
click returns at once: STS calls, keyring reads and file writes run on the service's
workers.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

from traycreds.adapters.traybackend import traycreds_choice
from traycreds.app.service import AppService
from traycreds.core.menu import (
    Action,
    Item,
    build_menu,
    icon_role,
    icon_status,
    native_label,
    tooltip,
)
from traycreds.core.models import utc_now
from traycreds.core.text import TOOLTIP_MAX, fit_notification, fit_text

log = logging.getLogger(__name__)


def choose_backend() -> None:
    """Run pystray with adapters/traybackend's choice (gtk on Linux) unless told otherwise;
    ``PYSTRAY_BACKEND`` still overrides."""
    chosen = traycreds_choice(sys.platform)
    if chosen is not None:
        os.environ.setdefault("PYSTRAY_BACKEND", chosen)
        if os.environ["PYSTRAY_BACKEND"] == "gtk":
            try:  # name the tray window traycreds, not __main__.py (python -m traycreds)
                from gi.repository import GLib

                GLib.set_prgname("traycreds")
            except ImportError:
                log.warning("PyGObject is missing: install traycreds with its 'linux' extra "
                            "(pipx install 'traycreds[linux]') for the tray to work")


APP_NAME = "traycreds"


class Notifications:
    """On Linux a D-Bus notification of our own; pystray's notify where the backend has one;
    notify-send, then the log, elsewhere.

    pystray's Linux notifier sends an empty application name, so notification servers
    showed (and grouped) traycreds' notifications under no name: on D-Bus traycreds sends
    its own, with pystray's icon, and like pystray replaces its previous notification.
    """

    def __init__(self, platform: str = sys.platform) -> None:
        self.icon: Any = None
        self.platform = platform
        self._last_id = 0

    def _notify_dbus(self, title: str, message: str) -> bool:
        try:
            from gi.repository import Gio, GLib
        except ImportError:
            return False
        icon_path = getattr(self.icon, "_icon_path", None) or ""
        hints = {"desktop-entry": GLib.Variant("s", APP_NAME)}
        try:
            bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
            answer = bus.call_sync(
                "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications", "Notify",
                GLib.Variant("(susssasa{sv}i)", (APP_NAME, self._last_id, icon_path, title,
                                                 message, [], hints, -1)),
                None, Gio.DBusCallFlags.NONE, 10_000, None)
        except GLib.Error as error:
            log.warning("D-Bus notification failed (%s); trying the next way", error.message)
            return False
        self._last_id = int(answer.unpack()[0])
        return True

    def notify(self, title: str, message: str) -> None:
        log.info("notification: %s", title)
        if self.platform.startswith("linux") and self._notify_dbus(title, message):
            return
        icon = self.icon
        if icon is not None and getattr(icon, "HAS_NOTIFICATION", False):
            if self.platform == "win32":
                # Win32's balloon fields are fixed-size: pystray raises ValueError past them,
                # and there is no notify-send to fall back on.
                title, message = fit_notification(title, message)
            try:
                icon.notify(message, title)
                return
            except Exception:
                log.exception("tray notification failed")
        sender = shutil.which("notify-send")
        if sender:
            subprocess.run([sender, f"--app-name={APP_NAME}", title, message], check=False,
                           stdin=subprocess.DEVNULL, timeout=10)
        else:
            log.warning("no notification service: %s: %s", title, message)


class TrayApp:
    def __init__(self, service: AppService, notifications: Notifications,
                 platform: str = sys.platform) -> None:
        self.service = service
        self.notifications = notifications
        self.platform = platform
        self.icon: Any = None
        self._quit = threading.Event()

    # -- menu ---------------------------------------------------------------------------
    def _convert(self, items: tuple[Item, ...]) -> Iterator[Any]:
        import pystray

        for item in items:
            label = native_label(item.label, self.platform)
            if item.separator:
                yield pystray.Menu.SEPARATOR
            elif item.children:
                yield pystray.MenuItem(label, pystray.Menu(*self._convert(item.children)),
                                       enabled=item.enabled)
            elif item.action is not None:
                yield pystray.MenuItem(label, functools.partial(self._clicked, item.action),
                                       enabled=item.enabled, default=item.default)
            else:
                yield pystray.MenuItem(label, None, enabled=False)

    def _items(self) -> Iterator[Any]:
        yield from self._convert(build_menu(self.service.state, utc_now()))

    def _clicked(self, action: Action, icon: Any, item: Any) -> None:
        if action.kind == "quit":
            self.quit()
            return
        self.service.perform(action)

    # -- state -> icon ------------------------------------------------------------------
    def refresh(self) -> None:
        """Image, tooltip, then menu. A failure of one is logged and never skips the others:
        a stale menu would offer what the state no longer allows."""
        icon = self.icon
        if icon is None:
            return
        from traycreds.tray.icon import draw_icon

        state, now = self.service.state, utc_now()
        try:
            shown = icon_role(state, now)  # the colour mark of the role the icon shows
            icon.icon = draw_icon(icon_status(state, now), 64,
                                  shown.colour if shown else None)
        except Exception:
            log.exception("could not update the tray icon's image")
        try:
            icon.title = self.tooltip_text(tooltip(state, now))
        except Exception:
            log.exception("could not update the tray icon's tooltip")
        icon.update_menu()

    def tooltip_text(self, text: str) -> str:
        """The tooltip as the platform takes it: Win32's szTip holds 127 characters, and
        pystray raises ValueError past that."""
        return fit_text(text, TOOLTIP_MAX) if self.platform == "win32" else text

    # -- lifecycle ----------------------------------------------------------------------
    def run(self) -> None:
        choose_backend()
        import pystray

        from traycreds.core.state import Status
        from traycreds.tray.icon import draw_icon

        self.icon = pystray.Icon("traycreds", draw_icon(Status.IDLE, 64), "traycreds",
                                 menu=pystray.Menu(self._items))
        self.notifications.icon = self.icon
        self.service.subscribe(self.refresh)
        self.icon.run(setup=self._setup)

    def _setup(self, icon: Any) -> None:
        icon.visible = True
        log.info("tray icon visible (backend %s)", type(icon).__module__)
        self.service.start()

    def quit(self) -> None:
        if self._quit.is_set():
            return
        self._quit.set()
        self.service.shutdown()
        if self.icon is not None:
            self.icon.stop()
