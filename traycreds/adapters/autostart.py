"""Start traycreds at login, per user, the way each desktop documents it.

    autostart = for_platform()
    autostart.enable()      # -> AutostartState
    autostart.status()      # -> AutostartState (enabled? what does it start?)
    autostart.disable()     # -> True if something was removed

Linux (any XDG desktop): ``$XDG_CONFIG_HOME/autostart/traycreds.desktop`` (XDG Autostart
spec). macOS: ``~/Library/LaunchAgents/io.github.traycreds.plist`` with RunAtLoad (launchd).
Windows: the value ``traycreds`` of ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``
(the installer's "start at login" task writes the same value). Each touches exactly its one
file or value. ``install_desktop_entry()`` adds the Linux application-menu launcher and icon.

Standard library only; the Windows registry is reached through a ``winreg``-shaped object
(injectable), the stdlib ``winreg`` in production.
"""

from __future__ import annotations

import configparser
import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from traycreds.adapters.atomic import write_atomic
from traycreds.core.errors import FileError, TraycredsError

APP = "traycreds"
DESKTOP_FILE = "traycreds.desktop"
LAUNCH_AGENT_LABEL = "io.github.traycreds"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "traycreds"
# Task Manager's (and Settings' "Startup apps") switch for each Run value: a REG_BINARY of the
# same name, 12 bytes; bit 0 of the first byte set (0x03, 0x07) means the user turned it off,
# clear (0x02, 0x06) on; the other bytes hold when it was turned off. Explorer skips a Run
# value marked off, so the Run value alone does not say whether traycreds starts at login.
STARTUP_APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
APPROVED_ON = b"\x02" + bytes(11)  # what Task Manager writes when switching an entry on
DISABLED_IN_TASK_MANAGER = "disabled in Task Manager"
# The windowed executable of the Windows bundle (installer/traycreds.spec): no console window.
WINDOWED_EXE = "traycredsw.exe"
ICON_NAME = "traycreds"
ICON_SIZE = 256
COMMENT = "Switch AWS roles from the system tray"


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


# --- what to start --------------------------------------------------------------------------


def windows_bundle(executable: Path) -> Path | None:
    """The folder of the Windows bundle (installer/build-windows.sh) whose interpreter is
    ``executable`` (``<bundle>\\python\\python[w].exe``, the launchers beside ``python\\``),
    None for any other Python."""
    bundle = executable.parent.parent
    if executable.parent.name.casefold() == "python" and (bundle / WINDOWED_EXE).is_file() \
            and (bundle / f"{APP}.exe").is_file():
        return bundle
    return None


def launch_command(*, platform: str | None = None, executable: str | None = None,
                   frozen: bool | None = None,
                   which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """The absolute command that starts this traycreds' tray.

    A PyInstaller bundle: its own executable (on Windows the windowed one beside it). The
    Windows bundle of installer/build-windows.sh (the interpreter in ``<bundle>\\python\\``,
    the launchers beside that folder): its windowed launcher, as the installer writes it.
    Windows from Python: pythonw (no console window) ``-m traycreds``. Elsewhere the ``traycreds``
    script of this installation (beside the interpreter, as pipx and venvs put it), else the
    one on PATH, else ``python -m traycreds``.
    """
    platform = sys.platform if platform is None else platform
    executable = sys.executable if executable is None else executable
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    if not executable:
        raise AutostartError("No Python interpreter or traycreds executable is known, so "
                             "there is nothing to start at login.")
    exe = Path(executable)
    if frozen:
        if platform == "win32" and (exe.parent / WINDOWED_EXE).is_file():
            return [str(exe.parent / WINDOWED_EXE), "tray"]
        return [str(exe), "tray"]
    if platform == "win32":
        bundle = windows_bundle(exe)
        if bundle is not None:
            return [str(bundle / WINDOWED_EXE), "tray"]
        pythonw = exe.with_name("pythonw.exe")
        return [str(pythonw if pythonw.is_file() else exe), "-m", APP, "tray"]
    beside = exe.parent / APP
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside), "tray"]
    found = which(APP)
    if found:
        return [os.path.abspath(found), "tray"]
    return [str(exe), "-m", APP, "tray"]


def _check_arguments(command: Sequence[str]) -> None:
    for part in command:
        if not part or any(ord(c) < 0x20 or c == "\x7f" for c in part):
            raise AutostartError(f"Cannot start {part!r} at login: the path is empty or holds "
                                 "control characters. Install traycreds in a plain folder.")


# --- Linux: XDG autostart and the application menu ------------------------------------------

# Desktop Entry spec, "The Exec key": characters that oblige quoting an argument.
_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")


def desktop_exec(command: Sequence[str]) -> str:
    """``command`` as the value of a Desktop Entry ``Exec`` key.

    Per the spec: an argument with a reserved character is put in double quotes, with the
    double quote, backtick, dollar sign and backslash escaped by a backslash; ``%`` is doubled
    (field codes); then the string-value escape doubles every backslash again (so a literal
    one becomes four). GLib's launcher (tests/test_autostart.py) recovers each argument.
    A ``%`` in the program's own path is the one thing GLib will not launch.
    """
    _check_arguments(command)
    quoted = []
    for arg in command:
        if any(c in _RESERVED for c in arg):
            arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
        quoted.append(arg.replace("%", "%%"))
    return " ".join(quoted).replace("\\", "\\\\")


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home())


def _xdg(env: Mapping[str, str], name: str, default: str) -> Path:
    """An XDG base directory: the variable if it is an absolute path, else the default
    (the Base Directory spec says relative paths are invalid and must be ignored)."""
    value = env.get(name, "")
    return Path(value) if os.path.isabs(value) else _home(env) / default


def xdg_config_home(env: Mapping[str, str] | None = None) -> Path:
    return _xdg(os.environ if env is None else env, "XDG_CONFIG_HOME", ".config")


def xdg_data_home(env: Mapping[str, str] | None = None) -> Path:
    return _xdg(os.environ if env is None else env, "XDG_DATA_HOME", ".local/share")


def _desktop_entry(command: Sequence[str], *, autostart: bool) -> str:
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.0",
        "Name=traycreds",
        f"Comment={COMMENT}",
        f"Exec={desktop_exec(command)}",
        f"Icon={ICON_NAME}",
        "Terminal=false",
        "Categories=Utility;Security;",
        "Keywords=AWS;credentials;STS;role;keyring;",
        "StartupNotify=false",
    ]
    if autostart:
        lines += ["X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-Delay=2"]
    return "\n".join(lines) + "\n"


def read_desktop_entry(path: Path) -> dict[str, str] | None:
    """The ``[Desktop Entry]`` group of ``path`` (keys case-sensitive, values raw), or None
    when the file does not exist or is not a desktop entry."""
    parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",),
                                       comment_prefixes=("#",), empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # keys keep case
    try:
        text = path.read_text(encoding="utf-8")
        parser.read_string(text, str(path))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    if not parser.has_section("Desktop Entry"):
        return None
    return dict(parser.items("Desktop Entry"))


class _FileAutostart:
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


class LinuxAutostart(_FileAutostart):
    """``$XDG_CONFIG_HOME/autostart/traycreds.desktop`` (XDG Autostart spec): every XDG
    desktop (GNOME, KDE, Xfce, Cinnamon, MATE, LXQt) starts it at the next login."""

    def __init__(self, command: Sequence[str] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.command = list(command) if command is not None else launch_command()
        self.path = xdg_config_home(env) / "autostart" / DESKTOP_FILE

    def content(self) -> bytes:
        return _desktop_entry(self.command, autostart=True).encode("utf-8")

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


@dataclass(frozen=True)
class DesktopEntryPaths:
    launcher: Path
    icon: Path


def desktop_entry_paths(env: Mapping[str, str] | None = None) -> DesktopEntryPaths:
    data = xdg_data_home(env)
    return DesktopEntryPaths(
        launcher=data / "applications" / DESKTOP_FILE,
        icon=data / "icons" / "hicolor" / f"{ICON_SIZE}x{ICON_SIZE}" / "apps" / f"{ICON_NAME}.png")


def install_desktop_entry(write_icon: Callable[[Path], None], *,
                          command: Sequence[str] | None = None,
                          env: Mapping[str, str] | None = None) -> DesktopEntryPaths:
    """The application-menu launcher and its icon, for this user (Linux).

    ``write_icon(path)`` writes a 256x256 PNG there (the tray layer draws it). The menu
    caches are refreshed when their tools are installed; desktops also watch these folders.
    """
    paths = desktop_entry_paths(env)
    command = list(command) if command is not None else launch_command()
    try:
        paths.icon.parent.mkdir(parents=True, exist_ok=True)
        write_icon(paths.icon)
        write_atomic(paths.launcher, _desktop_entry(command, autostart=False), mode=0o644)
    except OSError as exc:
        raise FileError(f"Cannot write the launcher or its icon ({exc.strerror or exc}: "
                        f"{exc.filename or paths.launcher}).",
                        title="Launcher not installed") from None
    _refresh_caches(paths)
    return paths


def remove_desktop_entry(env: Mapping[str, str] | None = None) -> list[Path]:
    """Remove the launcher and the icon; returns what was there."""
    paths = desktop_entry_paths(env)
    removed = []
    for path in (paths.launcher, paths.icon):
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise FileError(f"Cannot remove {path} ({exc.strerror or exc}).") from None
    if removed:
        _refresh_caches(paths)
    return removed


def _refresh_caches(paths: DesktopEntryPaths) -> None:
    """Best effort: menus and icon themes also rescan these folders on their own."""
    jobs = [("update-desktop-database", [str(paths.launcher.parent)])]
    theme = paths.icon.parents[2]  # .../icons/hicolor
    if (theme / "index.theme").is_file():  # gtk-update-icon-cache refuses a theme without it
        jobs.append(("gtk-update-icon-cache", ["-q", "-t", str(theme)]))
    for tool, args in jobs:
        found = shutil.which(tool)
        if found is None or not Path(args[-1]).is_dir():
            continue
        try:
            subprocess.run([found, *args], check=False, timeout=20, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            continue


# --- macOS: a LaunchAgent --------------------------------------------------------------------


class MacAutostart(_FileAutostart):
    """``~/Library/LaunchAgents/io.github.traycreds.plist``: launchd loads every agent in
    that folder at login and RunAtLoad starts it then (launchd.plist(5))."""

    def __init__(self, command: Sequence[str] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.command = list(command) if command is not None else launch_command()
        home = _home(os.environ if env is None else env)
        self.path = home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"

    def agent(self) -> dict[str, Any]:
        _check_arguments(self.command)
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


# --- Windows: the per-user Run key ------------------------------------------------------------


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
    _check_arguments(command)
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


def for_platform(platform: str | None = None) -> Autostart:
    """The mechanism for this system."""
    platform = sys.platform if platform is None else platform
    if platform == "win32":
        return WindowsAutostart()
    if platform == "darwin":
        return MacAutostart()
    return LinuxAutostart()
