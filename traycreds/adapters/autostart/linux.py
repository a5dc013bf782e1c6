"""Linux (any XDG desktop): an autostart entry under ``$XDG_CONFIG_HOME/autostart``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from traycreds.adapters.autostart.base import AutostartState, FileAutostart
from traycreds.adapters.autostart.launch import launch_command
from traycreds.adapters.desktop_entry import (
    DESKTOP_FILE,
    desktop_exec,
    desktop_file_text,
    read_desktop_entry,
    xdg_config_home,
)


class LinuxAutostart(FileAutostart):
    """``$XDG_CONFIG_HOME/autostart/traycreds.desktop`` (XDG Autostart spec): every XDG
    desktop (GNOME, KDE, Xfce, Cinnamon, MATE, LXQt) starts it at the next login."""

    def __init__(self, command: Sequence[str] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.command = list(command) if command is not None else launch_command()
        self.path = xdg_config_home(env) / "autostart" / DESKTOP_FILE

    def content(self) -> bytes:
        return desktop_file_text(self.command, autostart=True).encode("utf-8")

    def status(self) -> AutostartState:
        entry = read_desktop_entry(self.path)
        if entry is None:
            return AutostartState(False, str(self.path), None, False)
        # A desktop's own "startup applications" switch writes these rather than deleting.
        off = (entry.get("Hidden", "").lower() == "true"
               or entry.get("X-GNOME-Autostart-enabled", "true").lower() == "false")
        command = entry.get("Exec")
        if off:
            return AutostartState(False, str(self.path), None, False)
        return AutostartState(True, str(self.path), command,
                              command == desktop_exec(self.command))
