"""Windows: the per-user Run key, and Task Manager's switch for it.

The registry is reached through a ``winreg``-shaped object (injectable), the stdlib
``winreg`` in production.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import Any, Protocol

from traycreds.adapters.autostart.base import AutostartError, AutostartState, check_arguments
from traycreds.adapters.autostart.launch import launch_command

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "traycreds"
# Task Manager's (and Settings' "Startup apps") switch for each Run value: a REG_BINARY of the
# same name, 12 bytes; bit 0 of the first byte set (0x03, 0x07) means the user turned it off,
# clear (0x02, 0x06) on; the other bytes hold when it was turned off. Explorer skips a Run
# value marked off, so the Run value alone does not say whether traycreds starts at login.
STARTUP_APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
APPROVED_ON = b"\x02" + bytes(11)  # what Task Manager writes when switching an entry on
DISABLED_IN_TASK_MANAGER = "disabled in Task Manager"


class RegistryApi(Protocol):
    """The part of the stdlib ``winreg`` module used here (same names and conventions)."""

    HKEY_CURRENT_USER: int
    KEY_QUERY_VALUE: int
    KEY_SET_VALUE: int
    REG_SZ: int
    REG_BINARY: int

    def OpenKey(self, key: Any, sub_key: str, reserved: int = 0, access: int = ...) -> Any: ...

    def CreateKeyEx(self, key: Any, sub_key: str, reserved: int = 0,
                    access: int = ...) -> Any: ...

    def CloseKey(self, hkey: Any) -> None: ...

    def QueryValueEx(self, key: Any, name: str) -> tuple[Any, int]: ...

    def SetValueEx(self, key: Any, value_name: str, reserved: int, type: int,
                   value: Any) -> None: ...

    def DeleteValue(self, key: Any, value: str) -> None: ...


def load_winreg() -> RegistryApi:
    if sys.platform != "win32":
        raise AutostartError("The Windows registry exists only on Windows.")
    import winreg

    return winreg  # type: ignore[return-value, unused-ignore]  # a module as the protocol


def windows_command_line(command: Sequence[str]) -> str:
    """A command line for the Run key: the program always in double quotes (a path with
    spaces, unquoted, is ambiguous to CreateProcess), arguments by the C runtime's rules."""
    check_arguments(command)
    program, *arguments = command
    if '"' in program:
        raise AutostartError(f"{program!r} cannot be started at login: it contains a quote.")
    line = f'"{program}"'
    return f"{line} {subprocess.list2cmdline(arguments)}" if arguments else line


class WindowsAutostart:
    """``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``, value ``traycreds``
    (REG_SZ): Windows runs each value's command line at this user's logon, unless the value
    of the same name under ``...\\Explorer\\StartupApproved\\Run`` says the user switched it
    off in Task Manager. ``status`` reads both; ``enable`` switches it back on."""

    def __init__(self, api: RegistryApi | None = None,
                 command: Sequence[str] | None = None) -> None:
        self._api = api
        self.command = list(command) if command is not None else \
            launch_command(platform="win32")
        self.where = f"HKEY_CURRENT_USER\\{RUN_KEY}\\{RUN_VALUE}"

    @property
    def api(self) -> RegistryApi:
        if self._api is None:
            self._api = load_winreg()
        return self._api

    def _failed(self, exc: OSError, doing: str, key: str | None = None) -> AutostartError:
        where = self.where if key is None else f"HKEY_CURRENT_USER\\{key}\\{RUN_VALUE}"
        return AutostartError(f"Cannot {doing} {where} ({exc.strerror or exc}).")

    def enable(self) -> AutostartState:
        api = self.api
        line = windows_command_line(self.command)
        try:
            key = api.CreateKeyEx(api.HKEY_CURRENT_USER, RUN_KEY, 0, api.KEY_SET_VALUE)
            try:
                api.SetValueEx(key, RUN_VALUE, 0, api.REG_SZ, line)
            finally:
                api.CloseKey(key)
        except OSError as exc:
            raise self._failed(exc, "write") from None
        if self._approved() is False:
            self._approve()
        return self.status()

    def _approved(self) -> bool | None:
        """Task Manager's switch: False if the user turned traycreds off there, True if on,
        None if Windows has recorded nothing (then the Run value alone decides)."""
        api = self.api
        try:
            key = api.OpenKey(api.HKEY_CURRENT_USER, STARTUP_APPROVED_KEY, 0,
                              api.KEY_QUERY_VALUE)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._failed(exc, "read", STARTUP_APPROVED_KEY) from None
        try:
            value, _kind = api.QueryValueEx(key, RUN_VALUE)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._failed(exc, "read", STARTUP_APPROVED_KEY) from None
        finally:
            api.CloseKey(key)
        if not isinstance(value, bytes) or not value:
            return None  # not Windows' format: leave the decision to the Run value
        return not value[0] & 1

    def _approve(self) -> None:
        """Switch traycreds back on as Task Manager does: the value's first byte 0x02."""
        api = self.api
        try:
            key = api.CreateKeyEx(api.HKEY_CURRENT_USER, STARTUP_APPROVED_KEY, 0,
                                  api.KEY_SET_VALUE)
            try:
                api.SetValueEx(key, RUN_VALUE, 0, api.REG_BINARY, APPROVED_ON)
            finally:
                api.CloseKey(key)
        except OSError as exc:
            raise self._failed(exc, "write", STARTUP_APPROVED_KEY) from None

    def disable(self) -> bool:
        api = self.api
        try:
            key = api.OpenKey(api.HKEY_CURRENT_USER, RUN_KEY, 0, api.KEY_SET_VALUE)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._failed(exc, "open") from None
        try:
            api.DeleteValue(key, RUN_VALUE)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._failed(exc, "remove") from None
        finally:
            api.CloseKey(key)
        return True

    def status(self) -> AutostartState:
        api = self.api
        try:
            key = api.OpenKey(api.HKEY_CURRENT_USER, RUN_KEY, 0, api.KEY_QUERY_VALUE)
        except FileNotFoundError:
            return AutostartState(False, self.where, None, False)
        except OSError as exc:
            raise self._failed(exc, "read") from None
        try:
            value, _kind = api.QueryValueEx(key, RUN_VALUE)
        except FileNotFoundError:
            return AutostartState(False, self.where, None, False)
        except OSError as exc:
            raise self._failed(exc, "read") from None
        finally:
            api.CloseKey(key)
        line = str(value)
        expected = windows_command_line(self.command)
        current = line.casefold() == expected.casefold()
        if self._approved() is False:
            return AutostartState(False, self.where, line, current,
                                  disabled_by=DISABLED_IN_TASK_MANAGER)
        return AutostartState(True, self.where, line, current)
