"""macOS: a LaunchAgent that launchd starts at login."""

from __future__ import annotations

import plistlib
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from traycreds.adapters.autostart.base import AutostartState, FileAutostart, check_arguments, home
from traycreds.adapters.autostart.launch import launch_command

LAUNCH_AGENT_LABEL = "io.github.traycreds"


class MacAutostart(FileAutostart):
    """``~/Library/LaunchAgents/io.github.traycreds.plist``: launchd loads every agent in
    that folder at login and RunAtLoad starts it then (launchd.plist(5))."""

    def __init__(self, command: Sequence[str] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.command = list(command) if command is not None else launch_command()
        self.path = home(env) / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"

    def agent(self) -> dict[str, Any]:
        check_arguments(self.command)
        return {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": list(self.command),
            "RunAtLoad": True,
            "KeepAlive": False,  # Quit in the menu means quit
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",  # the GUI login, not ssh sessions
        }

    def content(self) -> bytes:
        return plistlib.dumps(self.agent(), fmt=plistlib.FMT_XML)

    def status(self) -> AutostartState:
        try:
            with open(self.path, "rb") as handle:
                agent = plistlib.load(handle)
        except FileNotFoundError:
            return AutostartState(False, str(self.path), None, False)
        except (OSError, plistlib.InvalidFileException, ValueError):
            return AutostartState(False, str(self.path), None, False)
        if not isinstance(agent, dict) or agent.get("Disabled") is True \
                or agent.get("RunAtLoad") is not True:
            return AutostartState(False, str(self.path), None, False)
        arguments = agent.get("ProgramArguments")
        argv = [str(a) for a in arguments] if isinstance(arguments, list) else []
        return AutostartState(True, str(self.path), subprocess.list2cmdline(argv),
                              argv == self.command)
