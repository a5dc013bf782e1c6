"""The system clipboard: copy credentials, and clear them later only if still there.

    clipboard = get_clipboard()
    clipboard.copy(text)                    # raises ClipboardError saying what to do
    schedule_clear(fingerprint(text), 45)   # the CLI: a detached clearer
    timer = ClearTimer(clipboard)           # the tray: in-process
    timer.copied(text, 45)

Backends: the Win32 API on Windows (kept out of clipboard history and cloud sync), pbcopy
on macOS, wl-copy on Wayland, xclip or xsel on X11. Standard library only.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping

from traycreds.adapters.clipboard.base import Clipboard, ClipboardError, fingerprint
from traycreds.adapters.clipboard.clearing import ClearTimer, clear_if_unchanged, schedule_clear
from traycreds.adapters.clipboard.commands import (
    PBCOPY,
    WL_COPY,
    XCLIP,
    XSEL,
    CommandClipboard,
    Tool,
)

__all__ = [
    "ClearTimer",
    "Clipboard",
    "ClipboardError",
    "clear_if_unchanged",
    "fingerprint",
    "get_clipboard",
    "schedule_clear",
]


def _command(tool: Tool, env: Mapping[str, str], explicit: bool) -> CommandClipboard | None:
    """The tool as a clipboard if all its binaries are on env's PATH."""
    search = env.get("PATH", os.defpath)
    paths = {binary: shutil.which(binary, path=search) for binary in tool.binaries}
    found = {binary: path for binary, path in paths.items() if path}
    if len(found) != len(paths):
        return None
    return CommandClipboard(tool, paths=found, env=env if explicit else None)


def _nothing_found(wayland: bool, x11: bool) -> ClipboardError:
    if wayland and x11:
        advice = (
            "No clipboard program found: install wl-clipboard (e.g. 'sudo apt install "
            "wl-clipboard'), or xclip for X11 programs ('sudo apt install xclip')."
        )
    elif wayland:
        advice = (
            "No clipboard program for Wayland found: install wl-clipboard "
            "(e.g. 'sudo apt install wl-clipboard')."
        )
    elif x11:
        advice = (
            "No clipboard program found: install xclip or xsel "
            "(e.g. 'sudo apt install xclip')."
        )
    else:
        advice = (
            "There is no desktop clipboard here: neither DISPLAY nor WAYLAND_DISPLAY is set. "
            "Run this in a terminal of your desktop session (with xclip or wl-clipboard "
            "installed), or print the credentials instead of copying them."
        )
    return ClipboardError(advice)


def get_clipboard(
    env: Mapping[str, str] | None = None, *, platform: str | None = None
) -> Clipboard:
    """The clipboard for this session: win32 on Windows, pbcopy on macOS, wl-copy on Wayland,
    else xclip, then xsel, on X11. ``env`` (default: os.environ) decides the session and
    PATH, and becomes the tools' environment. Raises ClipboardError saying what to install.
    """
    platform = sys.platform if platform is None else platform
    explicit = env is not None
    environ: Mapping[str, str] = os.environ if env is None else env
    if platform == "win32":
        from traycreds.adapters.clipboard.win32 import Win32Clipboard, load_api

        return Win32Clipboard(load_api())
    if platform == "darwin":
        found = _command(PBCOPY, environ, explicit)
        if found is None:
            raise ClipboardError(
                "pbcopy or pbpaste not found. They ship with macOS: make sure /usr/bin is on "
                "PATH."
            )
        return found
    wayland, x11 = bool(environ.get("WAYLAND_DISPLAY")), bool(environ.get("DISPLAY"))
    candidates = ([WL_COPY] if wayland else []) + ([XCLIP, XSEL] if x11 else [])
    for tool in candidates:
        found = _command(tool, environ, explicit)
        if found is not None:
            return found
    raise _nothing_found(wayland, x11)
