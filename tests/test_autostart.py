"""Start at login, the Linux menu entry, and removing traycreds' data before an uninstall.

Linux is tested for real: the XDG files are written, read back with a parser, launched by
GLib's own desktop-entry launcher, and (in the desktop session) the autostart entry starts a
tray that docks. macOS' LaunchAgent is checked with plistlib. Windows' Run key and Task
Manager's StartupApproved switch are tested in the real registry on Windows CPython (the wine
lane, scripts/test-windows.sh), and against the recording winreg fake (tests/support/fakes.py)
on Linux; both are compared with what the Inno Setup script writes. Tests named *linux* need
Linux; the Windows CI job leaves them out.
"""

from __future__ import annotations

import configparser
import contextlib
import ctypes
import json
import os
import plistlib
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT, WINDOWS, AwsEnv, posix_only, screenshot, windows_only
from tests.support.fakes import WinRegistry
from traycreds.adapters import autostart, desktop_entry
from traycreds.adapters.autostart import launch_command
from traycreds.adapters.autostart import windows as windows_autostart
from traycreds.adapters.autostart.linux import LinuxAutostart
from traycreds.adapters.autostart.macos import MacAutostart
from traycreds.adapters.autostart.windows import (
    RUN_KEY,
    STARTUP_APPROVED_KEY,
    WindowsAutostart,
    windows_command_line,
)
from traycreds.adapters.desktop_entry import desktop_exec
from traycreds.core.errors import TraycredsError

KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS docs' example id, built at run time
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def traycreds(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "traycreds", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def parse_desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


# --- what starts at login -------------------------------------------------------------------


def test_launch_command_in_a_windows_bundle_is_the_windowed_exe(tmp_path: Path) -> None:
    (tmp_path / "traycreds.exe").write_bytes(b"")
    (tmp_path / "traycredsw.exe").write_bytes(b"")
    command = launch_command(platform="win32", executable=str(tmp_path / "traycreds.exe"),
                             frozen=True)
    assert command == [str(tmp_path / "traycredsw.exe"), "tray"]


def test_launch_command_in_the_embeddable_bundle_is_the_windowed_launcher(
        tmp_path: Path) -> None:
    # installer/build-windows.sh: the launchers at the top, the interpreter in python\; the
    # CLI runs on python.exe, the tray on pythonw.exe. Both must write what the installer does.
    for name in ("traycreds.exe", "traycredsw.exe"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "python").mkdir()
    for name in ("python.exe", "pythonw.exe"):
        (tmp_path / "python" / name).write_bytes(b"")
        command = launch_command(platform="win32", frozen=False,
                                 executable=str(tmp_path / "python" / name))
        assert command == [str(tmp_path / "traycredsw.exe"), "tray"]
        assert windows_command_line(command) == f'"{tmp_path / "traycredsw.exe"}" tray'


def test_credential_process_lines_from_the_bundle_name_its_traycreds_exe(
        tmp_path: Path) -> None:
    from traycreds.app.profiles import traycreds_command

    bundle = tmp_path / "Programs" / "trav creds"  # a space: the path is quoted
    (bundle / "python").mkdir(parents=True)
    for name in ("traycreds.exe", "traycredsw.exe", "python/python.exe"):
        (bundle / name).write_bytes(b"")
    python = str(bundle / "python" / "python.exe")
    assert traycreds_command(python, platform="win32") == f'"{bundle / "traycreds.exe"}"'
    # Any other Python: the traycreds on PATH, else python -m traycreds.
    other = tmp_path / "py" / "python.exe"
    other.parent.mkdir()
    other.write_bytes(b"")
    assert traycreds_command(str(other), platform="win32") in (
        shutil.which("traycreds"), f"{other} -m traycreds")


def test_launch_command_from_python_on_windows_is_pythonw(tmp_path: Path) -> None:
    (tmp_path / "python.exe").write_bytes(b"")
    (tmp_path / "pythonw.exe").write_bytes(b"")
    command = launch_command(platform="win32", executable=str(tmp_path / "python.exe"),
                             frozen=False)
    assert command == [str(tmp_path / "pythonw.exe"), "-m", "traycreds", "tray"]


def test_launch_command_on_posix_prefers_this_installation(tmp_path: Path) -> None:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_bytes(b"")

    # An absolute path on the system running the test (a POSIX path such as /somewhere/else
    # is not absolute on Windows: os.path.abspath makes it X:\somewhere\else).
    on_path = str(tmp_path / "somewhere" / "else" / "traycreds")

    def elsewhere(name: str) -> str:
        return on_path

    # Nothing beside the interpreter: the one on PATH, else python -m traycreds.
    assert launch_command(platform="linux", executable=str(python), frozen=False,
                          which=elsewhere) == [on_path, "tray"]
    assert launch_command(platform="linux", executable=str(python), frozen=False,
                          which=lambda name: None) == [str(python), "-m", "traycreds", "tray"]
    # pipx and venvs put the script beside the interpreter: that one, whatever PATH says.
    script = bin_dir / "traycreds"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert launch_command(platform="linux", executable=str(python), frozen=False,
                          which=elsewhere) == [str(script), "tray"]


# --- Linux: XDG autostart -------------------------------------------------------------------


def test_linux_desktop_exec_quotes_by_the_desktop_entry_spec() -> None:
    assert desktop_exec(["/usr/bin/traycreds", "tray"]) == "/usr/bin/traycreds tray"
    assert desktop_exec(["/home/a b/.local/bin/traycreds", "tray"]) == \
        '"/home/a b/.local/bin/traycreds" tray'
    # ", `, $ and \ escaped inside the quotes; then the string escape doubles backslashes.
    assert desktop_exec(['/o/$x "y"/`z`/p']) == '"/o/\\\\$x \\\\"y\\\\"/\\\\`z\\\\`/p"'
    assert desktop_exec(["/p", "100%"]) == "/p 100%%"
    with pytest.raises(TraycredsError):
        desktop_exec(["/p", "line\nbreak"])


@posix_only("GLib's desktop-entry launcher (PyGObject) is a Linux library")
def test_linux_glib_launches_exactly_our_arguments(tmp_path: Path) -> None:
    """GLib's desktop-entry launcher (what GNOME, Xfce, Cinnamon use to run autostart
    entries) recovers every argument from the Exec line, whatever the path holds."""
    import gi  # type: ignore[import-untyped, unused-ignore]

    gi.require_version("Gio", "2.0")
    from gi.repository import Gio, GLib  # type: ignore[import-untyped, unused-ignore]

    # (GLib checks that the program exists before expanding %%, so no % in the folder name.)
    folder = tmp_path / "My Apps" / "a $b \"c\" `d` 'e' (f) & g; h \\ i ~"
    folder.mkdir(parents=True)
    program = folder / "traycreds"
    record = tmp_path / "argv.json"
    program.write_text(f"#!{sys.executable}\nimport json, sys\n"
                       f"open({str(record)!r}, 'w').write(json.dumps(sys.argv))\n")
    program.chmod(0o755)
    command = [str(program), "tray", "it's", "100%", "%f", "$HOME", "two words"]
    entry = LinuxAutostart(command, env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    entry.enable()

    info = Gio.DesktopAppInfo.new_from_filename(str(entry.path))
    assert info is not None, "GLib refused the desktop entry"
    pids: list[int] = []
    info.launch_uris_as_manager([], None, GLib.SpawnFlags.DO_NOT_REAP_CHILD, None, None,
                                lambda _info, pid, _data: pids.append(pid), None)
    assert len(pids) == 1
    os.waitpid(pids[0], 0)
    assert json.loads(record.read_text()) == command


@posix_only("checks the entry's file mode (0644)")
def test_linux_autostart_writes_detects_and_removes_exactly_its_file(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "autostart").mkdir(parents=True)
    other = config / "autostart" / "other-app.desktop"
    other.write_text("[Desktop Entry]\nType=Application\nExec=other\n")
    before = files_under(tmp_path)
    command = ["/opt/tray creds/bin/traycreds", "tray"]
    entry = LinuxAutostart(command, env={"XDG_CONFIG_HOME": str(config), "HOME": "/nowhere"})

    assert not entry.status().enabled
    state = entry.enable()
    path = config / "autostart" / "traycreds.desktop"
    assert files_under(tmp_path) - before == {path}
    assert state.enabled and state.current and state.where == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    fields = parse_desktop_entry(path)
    assert fields["Type"] == "Application"
    assert fields["Exec"] == '"/opt/tray creds/bin/traycreds" tray'
    assert fields["X-GNOME-Autostart-enabled"] == "true"
    assert fields["Icon"] == "traycreds" and fields["Terminal"] == "false"

    # Another installation's entry is on, but not this one's.
    elsewhere = LinuxAutostart(["/usr/bin/traycreds", "tray"],
                               env={"XDG_CONFIG_HOME": str(config)}).status()
    assert elsewhere.enabled and not elsewhere.current
    assert "traycreds autostart on" in elsewhere.describe()

    assert entry.disable() is True
    assert files_under(tmp_path) == before and other.exists()
    assert not entry.status().enabled
    assert entry.disable() is False


@pytest.mark.parametrize("line", ["Hidden=true", "X-GNOME-Autostart-enabled=false"])
def test_linux_autostart_switched_off_by_the_desktop_reads_as_off(tmp_path: Path,
                                                                   line: str) -> None:
    entry = LinuxAutostart(["/usr/bin/traycreds", "tray"],
                           env={"XDG_CONFIG_HOME": str(tmp_path)})
    entry.enable()
    text = entry.path.read_text().replace("X-GNOME-Autostart-enabled=true\n", "")
    entry.path.write_text(text + line + "\n")
    assert not entry.status().enabled
    assert entry.enable().enabled  # on again: rewritten


def test_linux_xdg_config_home_relative_or_unset_means_dot_config(tmp_path: Path) -> None:
    for env in ({"HOME": str(tmp_path)}, {"HOME": str(tmp_path), "XDG_CONFIG_HOME": "rel"}):
        assert LinuxAutostart(["/p"], env=env).path == \
            tmp_path / ".config" / "autostart" / "traycreds.desktop"


@posix_only("the CLI's autostart writes an XDG entry only on Linux (Windows: the Run key)")
def test_linux_autostart_command_line(aws_env: AwsEnv) -> None:
    path = aws_env.config_home / "autostart" / "traycreds.desktop"
    result = traycreds(aws_env.env, "autostart", "status")
    assert result.returncode == 0 and "off" in result.stdout
    result = traycreds(aws_env.env, "autostart", "on")
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout
    exec_line = parse_desktop_entry(path)["Exec"]
    program = exec_line.split(" ")[0]
    assert os.path.isabs(program) and os.access(program, os.X_OK), exec_line
    assert "on (" in traycreds(aws_env.env, "autostart", "status").stdout
    result = traycreds(aws_env.env, "autostart", "off")
    assert result.returncode == 0 and not path.exists()
    assert "not set" in traycreds(aws_env.env, "autostart", "off").stdout


@pytest.mark.usefixtures("desktop")
def test_linux_next_login_starts_a_tray_that_docks(aws_env: AwsEnv, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`traycreds autostart on`, then what a session does at login: GLib launches the
    autostart entry, and the tray's icon docks in the panel (trayer)."""
    import gi  # type: ignore[import-untyped, unused-ignore]

    gi.require_version("Gio", "2.0")
    from gi.repository import Gio, GLib  # type: ignore[import-untyped, unused-ignore]

    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("TRAYCREDS_RUNTIME_DIR", str(runtime))  # this tray alone
    result = traycreds(dict(os.environ), "autostart", "on")
    assert result.returncode == 0, result.stderr
    panel = subprocess.run(["xdotool", "search", "--name", "^panel$"], capture_output=True,
                           text=True, timeout=10, check=True).stdout.split()[0]

    def docked() -> bool:
        """traycreds' icon window (WM_CLASS traycreds) is inside the panel, at icon size."""
        tree = subprocess.run(["xwininfo", "-tree", "-id", panel], capture_output=True,
                              text=True, timeout=10, check=True).stdout
        found = re.search(r'\("traycreds" "Traycreds"\)\s+(\d+)x(\d+)', tree)
        return found is not None and min(int(found[1]), int(found[2])) >= 16

    assert not docked(), "another traycreds icon is already in the panel"
    info = Gio.DesktopAppInfo.new_from_filename(
        str(aws_env.config_home / "autostart" / "traycreds.desktop"))
    pids: list[int] = []
    info.launch_uris_as_manager([], None, GLib.SpawnFlags.DO_NOT_REAP_CHILD, None, None,
                                lambda _info, pid, _data: pids.append(pid), None)
    try:
        deadline = time.monotonic() + 30
        while not docked() and time.monotonic() < deadline:
            assert os.waitpid(pids[0], os.WNOHANG) == (0, 0), "the tray exited"
            time.sleep(0.2)
        assert docked(), "the tray started at login did not dock"
        time.sleep(0.5)  # let it paint, for the people reading the screenshot
        screenshot("autostart-login-tray")
    finally:
        os.kill(pids[0], signal.SIGTERM)
        os.waitpid(pids[0], 0)


# --- Linux: the application menu ------------------------------------------------------------


def test_linux_desktop_entry_and_icon_are_installed_and_removed(tmp_path: Path) -> None:
    from PIL import Image

    from traycreds.tray.front import TrayFront

    data = tmp_path / "data"
    env = {"XDG_DATA_HOME": str(data)}
    paths = desktop_entry.install_desktop_entry(TrayFront().write_icon_png,
                                                command=["/a b/traycreds", "tray"], env=env)
    assert paths.launcher == data / "applications" / "traycreds.desktop"
    assert paths.icon == data / "icons" / "hicolor" / "256x256" / "apps" / "traycreds.png"
    fields = parse_desktop_entry(paths.launcher)
    assert fields["Exec"] == '"/a b/traycreds" tray' and fields["Icon"] == "traycreds"
    assert "X-GNOME-Autostart-enabled" not in fields
    with Image.open(paths.icon) as icon:
        assert (icon.format, icon.size, icon.mode) == ("PNG", (256, 256), "RGBA")
    assert set(desktop_entry.remove_desktop_entry(env)) == {paths.launcher, paths.icon}
    assert not paths.launcher.exists() and not paths.icon.exists()
    assert desktop_entry.remove_desktop_entry(env) == []


@posix_only("install-desktop-entry is for Linux desktops; Windows refuses it")
def test_linux_install_desktop_entry_command(aws_env: AwsEnv) -> None:
    result = traycreds(aws_env.env, "install-desktop-entry")
    assert result.returncode == 0, result.stderr
    launcher = aws_env.data_home / "applications" / "traycreds.desktop"
    assert str(launcher) in result.stdout
    assert (aws_env.data_home / "icons/hicolor/256x256/apps/traycreds.png").is_file()
    result = traycreds(aws_env.env, "install-desktop-entry", "--remove")
    assert result.returncode == 0 and not launcher.exists()


# --- macOS: a LaunchAgent -------------------------------------------------------------------


def test_mac_launch_agent_is_a_valid_plist_that_runs_at_load(tmp_path: Path) -> None:
    command = ["/Users/a b/.local/bin/traycreds", "tray"]
    agent = MacAutostart(command, env={"HOME": str(tmp_path)})
    path = tmp_path / "Library" / "LaunchAgents" / "io.github.traycreds.plist"
    assert not agent.status().enabled
    state = agent.enable()
    assert state.enabled and state.current and state.where == str(path)
    raw = path.read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')
    document = plistlib.loads(raw, fmt=plistlib.FMT_XML)
    assert document["Label"] == "io.github.traycreds"
    assert document["ProgramArguments"] == command  # one element per argument: no shell
    assert document["RunAtLoad"] is True and document["KeepAlive"] is False
    assert files_under(tmp_path) == {path}

    document["Disabled"] = True
    path.write_bytes(plistlib.dumps(document))
    assert not agent.status().enabled
    assert agent.enable().enabled
    assert agent.disable() is True and not path.exists()
    assert agent.disable() is False


# --- Windows: the Run key, in the real registry on Windows (wine), the fake elsewhere ------

APP = r"C:\Users\Jo Smith\AppData\Local\Programs\traycreds"
WINDOWED = [APP + r"\traycredsw.exe", "tray"]
NEIGHBOUR = "OneDrive"  # another program's login item: never ours to touch
OURS = ("traycreds", NEIGHBOUR)

# Task Manager's switch (HKCU\...\Explorer\StartupApproved\Run), as Windows writes it: the
# first byte 0x02 on, 0x03 off; then a FILETIME of when it was turned off.
TASK_MANAGER_OFF = bytes.fromhex("03000000d40d438dc83bd901")
TASK_MANAGER_ON = bytes.fromhex("020000000000000000000000")


def _clear(api: Any) -> None:
    for key in (RUN_KEY, STARTUP_APPROVED_KEY):
        for name in OURS:
            try:
                handle = api.OpenKey(api.HKEY_CURRENT_USER, key, 0, api.KEY_SET_VALUE)
            except FileNotFoundError:
                break
            try:
                api.DeleteValue(handle, name)
            except FileNotFoundError:
                pass
            finally:
                api.CloseKey(handle)


@pytest.fixture
def registry() -> Iterator[Any]:
    """The registry as traycreds reaches it: the stdlib ``winreg`` on Windows (the wine
    lane's throw-away prefix; our values removed before and after), else the recording fake
    shaped like it (tests/support/fakes.py)."""
    if not WINDOWS:
        yield WinRegistry()
        return
    import winreg

    _clear(winreg)
    yield winreg
    _clear(winreg)


def reg_set(api: Any, path: str, name: str, value: Any, kind: int | None = None) -> None:
    """Write a value the way another program (Task Manager, an installer) would."""
    handle = api.CreateKeyEx(api.HKEY_CURRENT_USER, path, 0, api.KEY_SET_VALUE)
    try:
        api.SetValueEx(handle, name, 0, api.REG_SZ if kind is None else kind, value)
    finally:
        api.CloseKey(handle)


def reg_get(api: Any, path: str, name: str) -> tuple[Any, int] | None:
    """(data, type) of a value as the registry holds it, or None."""
    try:
        handle = api.OpenKey(api.HKEY_CURRENT_USER, path, 0, api.KEY_QUERY_VALUE)
    except FileNotFoundError:
        return None
    try:
        value, kind = api.QueryValueEx(handle, name)
        return value, kind
    except FileNotFoundError:
        return None
    finally:
        api.CloseKey(handle)


def no_handles_left(api: Any) -> bool:
    """The fake counts open handles; the real registry does not tell."""
    return not isinstance(api, WinRegistry) or api.open_handles == {}


def test_windows_enable_sets_a_quoted_reg_sz_value(registry: Any) -> None:
    reg_set(registry, RUN_KEY, NEIGHBOUR, r'"C:\OneDrive\OneDrive.exe" /background')
    state = WindowsAutostart(registry, WINDOWED).enable()
    line = f'"{APP}\\traycredsw.exe" tray'
    assert reg_get(registry, RUN_KEY, "traycreds") == (line, registry.REG_SZ)
    # the other program's value untouched
    assert reg_get(registry, RUN_KEY, NEIGHBOUR) == \
        (r'"C:\OneDrive\OneDrive.exe" /background', registry.REG_SZ)
    assert state.enabled and state.current and state.command == line
    assert state.where == r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run" \
        r"\traycreds"
    assert no_handles_left(registry)


def test_windows_status_reads_the_value_and_compares_it(registry: Any) -> None:
    entry = WindowsAutostart(registry, WINDOWED)
    assert not entry.status().enabled
    reg_set(registry, RUN_KEY, "TrayCreds", r'"D:\old\traycredsw.exe" tray')  # names ignore case
    state = entry.status()
    assert state.enabled and not state.current and state.command == r'"D:\old\traycredsw.exe" tray'
    assert "traycreds autostart on" in state.describe()
    reg_set(registry, RUN_KEY, "traycreds", f'"{APP.upper()}\\TRAYCREDSW.EXE" tray')  # paths too
    assert entry.status().current
    assert no_handles_left(registry)


def test_windows_disable_deletes_the_value_and_tolerates_its_absence(registry: Any) -> None:
    reg_set(registry, RUN_KEY, NEIGHBOUR, "x")
    entry = WindowsAutostart(registry, WINDOWED)
    entry.enable()
    assert entry.disable() is True
    assert reg_get(registry, RUN_KEY, "traycreds") is None
    assert reg_get(registry, RUN_KEY, NEIGHBOUR) == ("x", registry.REG_SZ)
    assert entry.disable() is False  # no value
    assert not entry.status().enabled
    assert no_handles_left(registry)


@posix_only("a registry without the Run key at all: every Windows profile has one")
def test_windows_without_a_run_key_is_off() -> None:
    assert WindowsAutostart(WinRegistry(), WINDOWED).disable() is False
    assert not WindowsAutostart(WinRegistry(), WINDOWED).status().enabled


def test_windows_status_says_off_when_task_manager_disabled_it(registry: Any) -> None:
    entry = WindowsAutostart(registry, WINDOWED)
    entry.enable()
    reg_set(registry, STARTUP_APPROVED_KEY, "traycreds", TASK_MANAGER_OFF, registry.REG_BINARY)
    state = entry.status()
    assert not state.enabled and state.current
    assert state.disabled_by == "disabled in Task Manager"
    assert state.describe().startswith("off (disabled in Task Manager)")
    assert "traycreds autostart on" in state.describe()
    for first in (0x02, 0x06):  # on, as Windows writes it
        reg_set(registry, STARTUP_APPROVED_KEY, "TrayCreds", bytes([first]) + bytes(11),
                registry.REG_BINARY)
        assert entry.status().enabled, hex(first)
    reg_set(registry, STARTUP_APPROVED_KEY, "traycreds", b"\x07" + bytes(11),
            registry.REG_BINARY)
    assert not entry.status().enabled
    assert no_handles_left(registry)


def test_windows_enable_switches_task_managers_entry_back_on(registry: Any) -> None:
    reg_set(registry, STARTUP_APPROVED_KEY, NEIGHBOUR, TASK_MANAGER_OFF, registry.REG_BINARY)
    entry = WindowsAutostart(registry, WINDOWED)
    entry.enable()
    reg_set(registry, STARTUP_APPROVED_KEY, "traycreds", TASK_MANAGER_OFF, registry.REG_BINARY)
    assert not entry.status().enabled
    state = entry.enable()
    assert state.enabled and state.current and state.disabled_by is None
    assert reg_get(registry, STARTUP_APPROVED_KEY, "traycreds") == \
        (TASK_MANAGER_ON, registry.REG_BINARY)
    # Someone else's entry is theirs: still off.
    assert reg_get(registry, STARTUP_APPROVED_KEY, NEIGHBOUR) == \
        (TASK_MANAGER_OFF, registry.REG_BINARY)
    assert no_handles_left(registry)


def test_windows_enable_leaves_task_manager_alone_when_it_recorded_nothing(
        registry: Any) -> None:
    """Windows adds the StartupApproved value itself; traycreds only undoes an "off"."""
    WindowsAutostart(registry, WINDOWED).enable()
    assert reg_get(registry, STARTUP_APPROVED_KEY, "traycreds") is None
    on_since = b"\x06" + bytes.fromhex("000000d40d438dc83bd901")  # on, Windows' own bytes
    reg_set(registry, STARTUP_APPROVED_KEY, "traycreds", on_since, registry.REG_BINARY)
    WindowsAutostart(registry, WINDOWED).enable()
    assert reg_get(registry, STARTUP_APPROVED_KEY, "traycreds") == \
        (on_since, registry.REG_BINARY)


@pytest.fixture
def sandbox(registry: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A key of its own under HKCU\\Software for tests that lock a key: RUN_KEY and
    STARTUP_APPROVED_KEY point into it (same last parts), so no real login item is locked."""
    root = rf"Software\traycreds-tests\{uuid.uuid4().hex}"
    monkeypatch.setattr(windows_autostart, "RUN_KEY", root + r"\CurrentVersion\Run")
    monkeypatch.setattr(windows_autostart, "STARTUP_APPROVED_KEY",
                        root + r"\Explorer\StartupApproved\Run")
    yield root
    if WINDOWS:
        for sub in (r"\CurrentVersion\Run", r"\CurrentVersion", r"\Explorer\StartupApproved\Run",
                    r"\Explorer\StartupApproved", r"\Explorer", ""):
            with contextlib.suppress(OSError):
                registry.DeleteKey(registry.HKEY_CURRENT_USER, root + sub)


def deny_values(api: Any, path: str) -> None:
    """Create ``path`` and let nobody read or write its values, as a locked-down profile (or
    a policy) would: a DACL denying KEY_QUERY_VALUE | KEY_SET_VALUE to Everyone."""
    handle = api.CreateKeyEx(api.HKEY_CURRENT_USER, path, 0, api.KEY_SET_VALUE)
    api.CloseKey(handle)
    if isinstance(api, WinRegistry):
        api.denied.add(api._norm(path))
        return
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]
    advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW.argtypes = [
        ctypes.c_wchar_p, ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
    advapi32.RegSetKeySecurity.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p]
    descriptor = ctypes.c_void_p()
    assert advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(
        "D:(D;;0x0003;;;WD)(A;;KA;;;WD)", 1, ctypes.byref(descriptor), None)
    write_dac = 0x40000
    handle = api.OpenKey(api.HKEY_CURRENT_USER, path, 0, write_dac)
    try:
        dacl_security_information = 4
        assert advapi32.RegSetKeySecurity(int(handle), dacl_security_information,
                                          descriptor) == 0
    finally:
        api.CloseKey(handle)


def test_windows_unreadable_task_manager_switch_is_an_error_that_says_where(
        registry: Any, sandbox: str) -> None:
    reg_set(registry, windows_autostart.RUN_KEY, "traycreds", f'"{APP}\\traycredsw.exe" tray')
    deny_values(registry, windows_autostart.STARTUP_APPROVED_KEY)
    with pytest.raises(TraycredsError) as caught:
        WindowsAutostart(registry, WINDOWED).status()
    assert "StartupApproved\\Run" in caught.value.message
    assert "denied" in caught.value.message.lower()


def test_windows_refused_access_is_an_error_that_says_where(registry: Any,
                                                           sandbox: str) -> None:
    deny_values(registry, windows_autostart.RUN_KEY)
    with pytest.raises(TraycredsError) as caught:
        WindowsAutostart(registry, WINDOWED).enable()
    assert "CurrentVersion\\Run" in caught.value.message
    assert "denied" in caught.value.message.lower()


def test_windows_command_line_quotes_the_program_always() -> None:
    assert windows_command_line([r"C:\p\traycredsw.exe", "tray"]) == r'"C:\p\traycredsw.exe" tray'
    assert windows_command_line([r"C:\Py 3\pythonw.exe", "-m", "traycreds", "tray"]) == \
        r'"C:\Py 3\pythonw.exe" -m traycreds tray'


@windows_only("the command line's autostart writes the Run key only on Windows")
def test_windows_autostart_command_line_undoes_task_managers_off(
        aws_env: AwsEnv, registry: Any) -> None:
    """The user switched traycreds off in Task Manager: `autostart status` says so, and
    `autostart on` really turns it back on (both values), in the real registry."""
    env = aws_env.env
    result = traycreds(env, "autostart", "status")
    assert result.returncode == 0 and "off" in result.stdout, result.stderr
    result = traycreds(env, "autostart", "on")
    assert result.returncode == 0, result.stderr
    line = reg_get(registry, RUN_KEY, "traycreds")
    assert line is not None and line[1] == registry.REG_SZ
    assert line[0].startswith(f'"{Path(sys.executable).with_name("pythonw.exe")}"'), line
    assert "on (" in traycreds(env, "autostart", "status").stdout

    reg_set(registry, STARTUP_APPROVED_KEY, "traycreds", TASK_MANAGER_OFF, registry.REG_BINARY)
    status = traycreds(env, "autostart", "status").stdout
    assert "off (disabled in Task Manager)" in status, status
    result = traycreds(env, "autostart", "on")
    assert result.returncode == 0, result.stderr
    assert reg_get(registry, STARTUP_APPROVED_KEY, "traycreds") == \
        (TASK_MANAGER_ON, registry.REG_BINARY)
    assert "on (" in traycreds(env, "autostart", "status").stdout

    assert traycreds(env, "autostart", "off").returncode == 0
    assert reg_get(registry, RUN_KEY, "traycreds") is None


# --- the installer's "start at login" task ---------------------------------------------------


def iss_registry_entries() -> list[dict[str, str]]:
    """The [Registry] entries of installer/traycreds.iss, each as {parameter: value} with Inno
    Setup's quoting undone ("" inside a quoted value is one ")."""
    script = (REPO_ROOT / "installer" / "traycreds.iss").read_text(encoding="utf-8")
    section = re.search(r"^\[Registry\]\n(.*?)(?=^\[)", script, re.M | re.S)
    assert section, "no [Registry] section"
    entries = []
    for line in section.group(1).splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        params = {}
        for name, quoted, bare in re.findall(r'\s*(\w+):\s*(?:"((?:[^"]|"")*)"|([^;]*))\s*(?:;|$)',
                                             line):
            params[name] = quoted.replace('""', '"') if quoted else bare.strip()
        entries.append(params)
    return entries


def test_installer_task_also_undoes_task_managers_off() -> None:
    """Choosing "Start traycreds when I log in" must start it, even if the user once switched
    it off in Task Manager: the task deletes traycreds' StartupApproved value (Windows then
    treats the Run value as on), and the uninstaller removes both values."""
    startup = [e for e in iss_registry_entries() if e.get("Tasks") == "startup"]
    by_key = {e["Subkey"]: e for e in startup}
    assert set(by_key) == {RUN_KEY, STARTUP_APPROVED_KEY}, by_key
    run, approved = by_key[RUN_KEY], by_key[STARTUP_APPROVED_KEY]
    for entry in (run, approved):
        assert entry["Root"] == "HKCU" and entry["ValueName"] == "traycreds"
        assert "uninsdeletevalue" in entry["Flags"].split()
    assert run["ValueType"] == "string"
    # ValueType none + deletevalue: Setup deletes the value and writes none (Inno Setup help,
    # [Registry] section, Flags: deletevalue).
    assert approved["ValueType"] == "none" and "deletevalue" in approved["Flags"].split()
    assert "ValueData" not in approved
    script = (REPO_ROOT / "installer" / "traycreds.iss").read_text(encoding="utf-8")
    # and the uninstaller removes both even when `traycreds autostart on` wrote them
    assert re.search(r"RegDeleteValue\(HKEY_CURRENT_USER, StartupApprovedKey, 'traycreds'\)",
                     script)
    assert f"StartupApprovedKey = '{STARTUP_APPROVED_KEY}';" in script


def test_windows_installer_writes_the_value_traycreds_reads(registry: Any) -> None:
    """The Inno Setup task and `traycreds autostart` agree, so status sees the task's value
    as current and `autostart off` removes it."""
    (run,) = [e for e in iss_registry_entries()
              if e.get("Tasks") == "startup" and e["Subkey"] == RUN_KEY]
    value = run["ValueData"].replace("{app}", APP)
    reg_set(registry, RUN_KEY, "traycreds", value)
    entry = WindowsAutostart(registry, WINDOWED)
    assert entry.status().current
    assert entry.disable() is True and reg_get(registry, RUN_KEY, "traycreds") is None
    # and the installer's Start menu shortcut starts the same program
    script = (REPO_ROOT / "installer" / "traycreds.iss").read_text(encoding="utf-8")
    assert re.search(r'Filename: "\{app\}\\traycredsw\.exe"; Parameters: "tray"', script)


def test_for_platform_picks_each_mechanism() -> None:
    assert isinstance(autostart.for_platform("linux"), LinuxAutostart)
    assert isinstance(autostart.for_platform("darwin"), MacAutostart)
    assert isinstance(autostart.for_platform("win32"), WindowsAutostart)


@pytest.mark.parametrize("module", ["windows", "macos", "linux"])
def test_a_platforms_module_loads_no_other_platform(module: str) -> None:
    """One module per platform: loading one (as for_platform does) loads none of the others,
    and only Linux's loads the desktop entry (its file format)."""
    code = (f"import json, sys; import traycreds.adapters.autostart.{module}; "
            "print(json.dumps([m for m in sys.modules "
            "if m.startswith(('traycreds.adapters.autostart.', 'traycreds.adapters.desktop_'))]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO_ROOT)
    loaded = set(json.loads(out.stdout.splitlines()[-1]))
    expected = {f"traycreds.adapters.autostart.{name}" for name in ("base", "launch", module)}
    if module == "linux":
        expected.add("traycreds.adapters.desktop_entry")
    assert loaded == expected


# --- uninstall-data: what the uninstaller runs when the user asks to remove everything ------


def test_uninstall_data_keeps_a_custom_settings_folder(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    from traycreds.cli import admin

    custom = tmp_path / "dotfiles" / "traycreds.toml"
    monkeypatch.setenv("TRAYCREDS_SETTINGS", str(custom))
    targets = admin._data_targets()
    assert custom in targets and custom.parent not in targets
    assert all(admin._owned_folder(p) for p in targets if p != custom)


@posix_only("XDG autostart entry, menu entry and folders: Linux's uninstall-data")
@pytest.mark.usefixtures("secret_service")
def test_linux_uninstall_data_removes_keys_settings_logs_and_login_items(
        aws_env: AwsEnv, secret_service: Any) -> None:
    env = aws_env.env
    for name in ("me", "work"):
        result = traycreds(env, "keys", "add", name, "--no-verify", stdin=f"{KEY_ID}\n{SECRET}\n")
        assert result.returncode == 0, result.stderr
    settings = aws_env.config_home / "traycreds" / "settings.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('[app]\ndefault_shell = "fish"\n')
    assert traycreds(env, "autostart", "on").returncode == 0
    assert traycreds(env, "install-desktop-entry").returncode == 0
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text("[profile dev]\ncredential_process = traycreds x\n")
    aws_env.aws_credentials.write_text("[dev]\naws_access_key_id = AKIAEXAMPLE\n")
    neighbour = aws_env.config_home / "other-app" / "keep.me"
    neighbour.parent.mkdir()
    neighbour.write_text("x")
    aws_before = (aws_env.aws_config.read_bytes(), aws_env.aws_credentials.read_bytes())
    assert (aws_env.state_home / "traycreds" / "log").is_dir()

    refused = traycreds(env, "uninstall-data")  # no terminal to confirm on, no --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert secret_service.get_password("traycreds", "me") is not None

    result = traycreds(env, "uninstall-data", "--yes")
    assert result.returncode == 0, result.stderr
    for name in ("me", "work"):
        assert secret_service.get_password("traycreds", name) is None
    for gone in (aws_env.config_home / "traycreds", aws_env.data_home / "traycreds",
                 aws_env.state_home / "traycreds",
                 aws_env.config_home / "autostart" / "traycreds.desktop",
                 aws_env.data_home / "applications" / "traycreds.desktop",
                 aws_env.data_home / "icons/hicolor/256x256/apps/traycreds.png"):
        assert not gone.exists(), gone
    assert neighbour.read_text() == "x"
    assert (aws_env.aws_config.read_bytes(), aws_env.aws_credentials.read_bytes()) == aws_before
    assert "were not changed" in result.stdout
