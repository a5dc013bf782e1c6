"""Opening files and folders with the desktop's own handler; is a tray host running?"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from traycreds.core.errors import TraycredsError

STATUS_NOTIFIER_WATCHER = "org.kde.StatusNotifierWatcher"
XEMBED_TRAY_SELECTION = "_NET_SYSTEM_TRAY_S0"


def open_path(path: Path) -> None:
    try:
        if sys.platform == "win32":
            os.startfile(path)
            return
        opener = "open" if sys.platform == "darwin" else "xdg-open"
        subprocess.Popen([opener, str(path)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    except OSError as exc:
        raise TraycredsError(f"Could not open {path} ({exc.strerror}). Open it yourself.",
                             title="Cannot open") from None


def tray_host_running() -> bool | None:
    """Would a tray icon show? True: an XEmbed system tray owns the X selection, or a
    StatusNotifier watcher is on the session bus; False: neither; None: cannot tell.

    Without either (GNOME Shell without its AppIndicator extension, a bare X server) the icon
    is created but nobody draws it: the tray would wait, invisible.
    """
    if sys.platform in ("win32", "darwin"):
        return True  # the taskbar's notification area / the menu bar is always there
    answers = []
    if os.environ.get("DISPLAY"):
        answers.append(_asked(xembed_tray_present))
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        answers.append(_asked(status_notifier_present))
    if any(answers):
        return True
    return None if None in answers or not answers else False


def _asked(check: Callable[[], bool]) -> bool | None:
    try:
        return check()
    except Exception:  # no display, no bus, a library missing: we cannot tell
        return None


def xembed_tray_present() -> bool:
    from Xlib import X, display  # type: ignore[import-untyped, unused-ignore]  # via pystray

    screen = display.Display()
    try:
        owner = screen.get_selection_owner(screen.intern_atom(XEMBED_TRAY_SELECTION))
    finally:
        screen.close()
    return bool(owner != X.NONE)


def status_notifier_present() -> bool:
    from jeepney import DBusAddress, new_method_call  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped, import-not-found, unused-ignore]

    bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                      interface="org.freedesktop.DBus")
    with open_dbus_connection(bus="SESSION") as connection:
        message = new_method_call(bus, "NameHasOwner", "s", (STATUS_NOTIFIER_WATCHER,))
        reply = connection.send_and_get_reply(message, timeout=2)
    return bool(reply.body[0])
