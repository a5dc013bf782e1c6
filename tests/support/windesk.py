"""The Windows lane's desktop, driven from Windows CPython under wine as a person would.

wine runs Linux programs for a Windows process only through ``cmd /c start /unix PROGRAM``
(running a Linux ELF with subprocess fails with "Invalid handle"), fire and forget, with no
output: so every Linux tool here (trayer, xdotool, xwininfo, ImageMagick's import) runs
through ``/bin/sh -c "... > file"`` and the test polls that file with a deadline.

- ``TrayHost``: trayer on the lane's X display. wine's explorer docks every Shell_NotifyIcon
  icon into it through XEmbed, as an ``explorer.exe`` window inside trayer's ``panel``.
- ``XDesk``: xdotool clicks and keys, screenshots. wine's popup menus (window class
  ``#32768``) do not grab the keyboard as GTK's do: the X input focus is put on the open
  menu's X window (wine's ``__wine_x11_whole_window`` property) before keys are sent, so
  Down/Right/Return walk it like a person's keyboard.
- Win32 reads (user32 through ctypes, 64-bit handles): open menus, visible windows by class
  (a balloon notification is a ``tooltips_class32`` window of explorer), the clipboard text.
"""

from __future__ import annotations

import contextlib
import ctypes
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import poll

UNIX_TIMEOUT = 20.0  # a Linux tool started through wine's start /unix -> its exit recorded
DOCK_TIMEOUT = 30.0  # Shell_NotifyIcon NIM_ADD -> the icon docked in trayer's panel
MENU_TIMEOUT = 10.0  # a click or key -> the menu window reacts




def linux_path(path: Path | str) -> str:
    """The Linux name of a path on wine's Z: drive (Z:\\tmp\\x is /tmp/x)."""
    text = str(path)
    if not re.match(r"^[zZ]:\\", text):
        raise ValueError(f"{text} is not on wine's Z: drive")
    return text[2:].replace("\\", "/")


@dataclass(frozen=True)
class Rect:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def centre(self) -> tuple[int, int]:
        return (self.left + self.right) // 2, (self.top + self.bottom) // 2

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.right, self.bottom


class Unix:
    """Linux programs started from Windows CPython under wine (``start /unix``)."""

    def __init__(self, folder: Path | None = None) -> None:
        # On Z: so both sides see it: Windows as Z:\tmp\..., Linux as /tmp/...
        self.folder = folder or Path(tempfile.mkdtemp(prefix="traycreds-unix-", dir="Z:\\tmp"))
        self._count = 0

    def _start(self, script: str) -> None:
        subprocess.run(["cmd", "/c", "start", "/unix", "/bin/sh", "-c", script], check=True,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=UNIX_TIMEOUT)

    def run(self, *argv: str, check: bool = True, timeout: float = UNIX_TIMEOUT) -> str:
        """Run a Linux program to its end; its stdout (and stderr) as text."""
        self._count += 1
        out, status = (self.folder / f"run{self._count}.{ext}" for ext in ("out", "status"))
        lin_out, lin_status = linux_path(out), linux_path(status)
        # The status is written to a side file, then renamed: never read half-written.
        self._start(f"{shlex.join(argv)} > {lin_out} 2>&1; echo $? > {lin_status}.part; "
                    f"mv {lin_status}.part {lin_status}")
        poll(status.exists, timeout, f"{argv[0]} ends (started with start /unix)", 0.05)
        code = int(status.read_text().strip())
        text = out.read_text(errors="replace")
        if check and code != 0:
            raise AssertionError(f"{shlex.join(argv)} failed ({code}): {text}")
        return text

    def spawn(self, *argv: str, name: str) -> int:
        """Start a long-running Linux program; returns its Linux pid (for ``kill``)."""
        log, pid_file = self.folder / f"{name}.log", self.folder / f"{name}.pid"
        self._start(f"echo $$ > {linux_path(pid_file)}.part; mv {linux_path(pid_file)}.part "
                    f"{linux_path(pid_file)}; exec {shlex.join(argv)} > {linux_path(log)} 2>&1")
        poll(pid_file.exists, UNIX_TIMEOUT, f"{argv[0]} starts", 0.05)
        return int(pid_file.read_text().strip())

    def kill(self, pid: int) -> None:
        self.run("kill", str(pid), check=False)


# -- Win32 reads ---------------------------------------------------------------------------------

_user32: Any = None


def user32() -> Any:
    """user32 with the argtypes/restype this module uses (handles are 64-bit)."""
    global _user32
    if _user32 is not None:
        return _user32
    assert sys.platform == "win32"
    from ctypes import wintypes

    dll: Any = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
    hwnd, rect_p = wintypes.HWND, ctypes.POINTER(wintypes.RECT)
    signatures: dict[str, tuple[Any, list[Any]]] = {
        "FindWindowExW": (hwnd, [hwnd, hwnd, wintypes.LPCWSTR, wintypes.LPCWSTR]),
        "IsWindowVisible": (wintypes.BOOL, [hwnd]),
        "GetWindowRect": (wintypes.BOOL, [hwnd, rect_p]),
        "GetPropW": (ctypes.c_void_p, [hwnd, wintypes.LPCWSTR]),
        "GetClassNameW": (ctypes.c_int, [hwnd, wintypes.LPWSTR, ctypes.c_int]),
        "GetMenuItemCount": (ctypes.c_int, [wintypes.HMENU]),
        "GetMenuDefaultItem": (wintypes.UINT, [wintypes.HMENU, wintypes.UINT, wintypes.UINT]),
        "GetMenuStringW": (ctypes.c_int, [wintypes.HMENU, wintypes.UINT, wintypes.LPWSTR,
                                          ctypes.c_int, wintypes.UINT]),
        "GetSubMenu": (wintypes.HMENU, [wintypes.HMENU, ctypes.c_int]),
        "OpenClipboard": (wintypes.BOOL, [hwnd]),
        "CloseClipboard": (wintypes.BOOL, []),
        "GetClipboardData": (wintypes.HANDLE, [wintypes.UINT]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(dll, name)
        function.restype, function.argtypes = restype, argtypes
    _user32 = dll
    return dll


def _rect(hwnd: int) -> Rect:
    from ctypes import wintypes

    rect = wintypes.RECT()
    user32().GetWindowRect(hwnd, ctypes.byref(rect))
    return Rect(rect.left, rect.top, rect.right, rect.bottom)


def windows_of_class(class_name: str) -> list[tuple[int, Rect]]:
    """Visible top-level windows of a class (any process): (hwnd, rect)."""
    found, hwnd = [], None
    while True:
        hwnd = user32().FindWindowExW(None, hwnd, class_name, None)
        if not hwnd:
            return found
        if user32().IsWindowVisible(hwnd):
            found.append((int(hwnd), _rect(hwnd)))


def open_menus() -> list[tuple[int, Rect]]:
    """Open popup menus (class #32768), left to right: a submenu opens left of the tray's."""
    return sorted(windows_of_class("#32768"), key=lambda found: found[1].left)


def x_window(hwnd: int) -> int:
    """The X window wine made for a top-level window."""
    return int(user32().GetPropW(hwnd, "__wine_x11_whole_window") or 0)


@dataclass(frozen=True)
class MenuEntry:
    text: str  # as given to Windows: "&&" shows one "&"
    default: bool
    submenu: tuple[MenuEntry, ...]


def read_menu(hmenu: int) -> tuple[MenuEntry, ...]:
    """A menu as Windows holds it (GetMenuStringW, GetMenuDefaultItem, GetSubMenu)."""
    api = user32()
    mf_byposition, gmdi_usedisabled = 0x400, 0x1
    default = api.GetMenuDefaultItem(hmenu, 1, gmdi_usedisabled)
    entries = []
    for index in range(api.GetMenuItemCount(hmenu)):
        buffer = ctypes.create_unicode_buffer(512)
        api.GetMenuStringW(hmenu, index, buffer, 512, mf_byposition)
        sub = api.GetSubMenu(hmenu, index)
        entries.append(MenuEntry(buffer.value, index == default,
                                 read_menu(sub) if sub else ()))
    return tuple(entries)


def clipboard_text() -> str:
    """CF_UNICODETEXT on the (wine) Windows clipboard, "" when none or busy."""
    assert sys.platform == "win32"
    kernel32: Any = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.GlobalLock.restype, kernel32.GlobalLock.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    kernel32.GlobalUnlock.argtypes = [ctypes.c_void_p]
    api = user32()
    if not api.OpenClipboard(None):
        return ""
    try:
        handle = api.GetClipboardData(13)  # CF_UNICODETEXT
        if not handle:
            return ""
        pointer = kernel32.GlobalLock(handle)
        try:
            return ctypes.wstring_at(pointer) if pointer else ""
        finally:
            kernel32.GlobalUnlock(handle)
    finally:
        api.CloseClipboard()


# -- the X side: trayer, xdotool, screenshots ----------------------------------------------------


class XDesk:
    """xdotool and ImageMagick on the lane's X display, started through ``start /unix``."""

    def __init__(self, unix: Unix) -> None:
        self.unix = unix

    def click(self, x: int, y: int, button: int) -> None:
        self.unix.run("/usr/bin/xdotool", "mousemove", str(x), str(y), "click", str(button))

    def move(self, x: int, y: int) -> None:
        self.unix.run("/usr/bin/xdotool", "mousemove", str(x), str(y))

    def keys_to_menu(self, *keys: str) -> None:
        """Keys for the open menu: wine's menus do not grab the keyboard, so the X focus is
        put on the newest menu's window first (as the pointer's click would on Windows)."""
        menus = open_menus()
        assert menus, "no open menu to send keys to"
        window = x_window(menus[0][0])
        self.unix.run("/usr/bin/xdotool", "windowfocus", str(window), "key", "--delay", "60",
                      *keys)

    def close_menus(self) -> None:
        """Escape until no menu is open (one Escape closes one level)."""
        for _attempt in range(4):
            if not open_menus():
                return
            self.keys_to_menu("Escape")
            time.sleep(0.2)
        assert not open_menus(), "the menus do not close on Escape"

    def keys(self, window: int, *keys: str) -> None:
        self.unix.run("/usr/bin/xdotool", "windowfocus", str(window), "key", "--delay", "40",
                      *keys)

    def screenshot(self, target: Path, crop: Rect | None = None) -> Path:
        """The whole screen (or ``crop``) as a PNG."""
        target.parent.mkdir(parents=True, exist_ok=True)
        raw = self.unix.folder / f"shot-{time.monotonic_ns()}.png"
        self.unix.run("/usr/bin/import", "-window", "root", linux_path(raw))
        from PIL import Image

        with Image.open(raw) as image:
            (image.crop(crop.box) if crop else image).save(target, format="PNG")
        raw.unlink()
        return target


class TrayHost:
    """trayer on the lane's display: wine's explorer docks notification icons into it."""

    def __init__(self, unix: Unix) -> None:
        self.unix = unix
        self.pid = unix.spawn("/usr/bin/trayer", "--edge", "top", "--align", "right",
                              "--widthtype", "request", "--height", "32", "--SetDockType",
                              "false", "--transparent", "false", name="trayer")
        self.panel = poll(self._panel, UNIX_TIMEOUT, "trayer's panel window appears")

    def _panel(self) -> int | None:
        out = self.unix.run("/usr/bin/xdotool", "search", "--name", "^panel$", check=False)
        return int(out.split()[0]) if out.split() else None

    def docked(self) -> list[Rect]:
        """The docked icons (explorer.exe's windows in the panel), on screen."""
        tree = self.unix.run("/usr/bin/xwininfo", "-tree", "-id", str(self.panel), check=False)
        icons = []
        for match in re.finditer(r'"explorer\.exe"\)\s+(\d+)x(\d+)[+-]\d+[+-]\d+\s+'
                                 r"\+(-?\d+)\+(-?\d+)", tree):
            width, height, x, y = map(int, match.groups())
            if width > 1 and height > 1:
                icons.append(Rect(x, y, x + width, y + height))
        return icons

    def wait_docked(self, timeout: float = DOCK_TIMEOUT) -> Rect:
        return poll(lambda: self.docked()[:1], timeout, "an icon docks in trayer's panel",
                    0.3)[0]

    def stop(self) -> None:
        self.unix.kill(self.pid)


@contextlib.contextmanager
def tray_host() -> Iterator[tuple[TrayHost, XDesk]]:
    unix = Unix()
    host = TrayHost(unix)
    try:
        yield host, XDesk(unix)
    finally:
        host.stop()
        shutil.rmtree(unix.folder, ignore_errors=True)

