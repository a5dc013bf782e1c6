"""The Linux application-menu entry (Desktop Entry spec) and the XDG folders it lives in.

    install_desktop_entry(write_icon)   # launcher + icon under $XDG_DATA_HOME
    remove_desktop_entry()              # -> what was there

The same file format, read and written here, is the XDG autostart entry
(traycreds.adapters.autostart.linux). Standard library only.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from traycreds.adapters.atomic import write_atomic
from traycreds.adapters.autostart.base import check_arguments, home
from traycreds.adapters.autostart.launch import launch_command
from traycreds.core.errors import FileError

DESKTOP_FILE = "traycreds.desktop"
ICON_NAME = "traycreds"
ICON_SIZE = 256
COMMENT = "Switch AWS roles from the system tray"

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
    check_arguments(command)
    quoted = []
    for arg in command:
        if any(c in _RESERVED for c in arg):
            arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
        quoted.append(arg.replace("%", "%%"))
    return " ".join(quoted).replace("\\", "\\\\")


def _xdg(env: Mapping[str, str], name: str, default: str) -> Path:
    """An XDG base directory: the variable if it is an absolute path, else the default
    (the Base Directory spec says relative paths are invalid and must be ignored)."""
    value = env.get(name, "")
    return Path(value) if os.path.isabs(value) else home(env) / default


def xdg_config_home(env: Mapping[str, str] | None = None) -> Path:
    return _xdg(os.environ if env is None else env, "XDG_CONFIG_HOME", ".config")


def xdg_data_home(env: Mapping[str, str] | None = None) -> Path:
    return _xdg(os.environ if env is None else env, "XDG_DATA_HOME", ".local/share")


def desktop_file_text(command: Sequence[str], *, autostart: bool) -> str:
    """traycreds' ``.desktop`` file starting ``command``: the menu launcher, or with
    ``autostart`` the XDG autostart entry (plus GNOME's keys for it)."""
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
        write_atomic(paths.launcher, desktop_file_text(command, autostart=False), mode=0o644)
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
