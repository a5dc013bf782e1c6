"""What every platform's login item offers, its state, its error, and the file-based kind."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from traycreds.adapters.atomic import write_atomic
from traycreds.core.errors import FileError, TraycredsError

APP = "traycreds"


class AutostartError(TraycredsError):
    title = "Start at login"


@dataclass(frozen=True)
class AutostartState:
    """What is set up to start at login for this user."""

    enabled: bool
    where: str  # the file or registry value that decides it
    command: str | None  # what it starts, as written there (None when nothing is)
    current: bool  # it starts this traycreds, the way enable() would write it today
    # Set up, but switched off by something else (Windows: the user, in Task Manager).
    disabled_by: str | None = None

    def describe(self) -> str:
        if not self.enabled and self.disabled_by:
            return (f"off ({self.disabled_by}); run 'traycreds autostart on' to turn it "
                    "back on")
        if not self.enabled:
            return f"off ({self.where})"
        if not self.current:
            return (f"on, but it starts {self.command} ({self.where}); run 'traycreds "
                    "autostart on' to point it at this traycreds")
        return f"on ({self.where})"


class Autostart(Protocol):
    """One platform's login-item mechanism."""

    def enable(self) -> AutostartState: ...

    def disable(self) -> bool: ...

    def status(self) -> AutostartState: ...


def check_arguments(command: Sequence[str]) -> None:
    for part in command:
        if not part or any(ord(c) < 0x20 or c == "\x7f" for c in part):
            raise AutostartError(f"Cannot start {part!r} at login: the path is empty or holds "
                                 "control characters. Install traycreds in a plain folder.")


def home(env: Mapping[str, str] | None = None) -> Path:
    """The user's home: ``$HOME`` of ``env`` (default: os.environ), else the account's."""
    env = os.environ if env is None else env
    return Path(env.get("HOME") or Path.home())


class FileAutostart:
    """Start at login as one file the session reads (XDG autostart entry, LaunchAgent)."""

    path: Path

    def content(self) -> bytes:
        raise NotImplementedError

    def status(self) -> AutostartState:
        raise NotImplementedError

    def enable(self) -> AutostartState:
        try:
            write_atomic(self.path, self.content(), mode=0o644)
        except OSError as exc:
            raise FileError(f"Cannot write {self.path} ({exc.strerror or exc}).",
                            title="Start at login not set") from None
        return self.status()

    def disable(self) -> bool:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise FileError(f"Cannot remove {self.path} ({exc.strerror or exc}).",
                            title="Start at login not changed") from None
        return True
