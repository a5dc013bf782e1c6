"""Start traycreds at login, per user, the way each desktop documents it.

    autostart = for_platform()
    autostart.enable()      # -> AutostartState
    autostart.status()      # -> AutostartState (enabled? what does it start?)
    autostart.disable()     # -> True if something was removed

One module per platform, each touching exactly its one file or value:
Linux (any XDG desktop, ``linux``): ``$XDG_CONFIG_HOME/autostart/traycreds.desktop`` (XDG
Autostart spec). macOS (``macos``): ``~/Library/LaunchAgents/io.github.traycreds.plist`` with
RunAtLoad (launchd). Windows (``windows``): the value ``traycreds`` of
``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`` (the installer's "start at login"
task writes the same value). ``launch`` says what they start. The Linux application-menu
launcher is traycreds.adapters.desktop_entry. Standard library only.
"""

from __future__ import annotations

import sys

from traycreds.adapters.autostart.base import Autostart, AutostartError, AutostartState
from traycreds.adapters.autostart.launch import launch_command, windows_bundle

__all__ = [
    "Autostart",
    "AutostartError",
    "AutostartState",
    "for_platform",
    "launch_command",
    "windows_bundle",
]


def for_platform(platform: str | None = None) -> Autostart:
    """The mechanism for this system."""
    # Imported here: a platform's module is loaded only where it is used, and the Linux one
    # (through the desktop entry) needs this package's launch command loaded first.
    platform = sys.platform if platform is None else platform
    if platform == "win32":
        from traycreds.adapters.autostart.windows import WindowsAutostart

        return WindowsAutostart()
    if platform == "darwin":
        from traycreds.adapters.autostart.macos import MacAutostart

        return MacAutostart()
    from traycreds.adapters.autostart.linux import LinuxAutostart

    return LinuxAutostart()
