"""The Windows installer, as a user and CI meet it: install, use, upgrade, uninstall, silently.

Runs on the Windows lane (Windows CPython under wine, scripts/test-windows.sh) against the
installers `bash installer/build-windows.sh` compiled from the real bundle:
``dist/traycreds-VERSION-setup.exe`` and, for the upgrade, the same bundle as an older
version (``build/windows-upgrade/traycreds-0.0.1-setup.exe``). Inno Setup's setup.exe is a
32-bit program: the lane's prefix has wine's 32-bit part for it.

Everything is read back from where Windows keeps it: the files under
``%LOCALAPPDATA%\\Programs\\traycreds`` (the known folder, whatever the environment says),
the Start menu shortcut, HKCU's Run value and Path, the keys in Credential Manager.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ARTIFACTS, REPO_ROOT, AwsEnv, not_tested, poll, under_wine, windows_only
from tests.support.windesk import Rect
from traycreds import __version__

pytestmark = windows_only("the Windows installer (Inno Setup), installed under wine")

SETUP = REPO_ROOT / "dist" / f"traycreds-{__version__}-setup.exe"
OLDER_VERSION = "0.0.1"
OLDER = REPO_ROOT / "build" / "windows-upgrade" / f"traycreds-{OLDER_VERSION}-setup.exe"
SETUP_TIMEOUT = 300.0  # wine unpacks ~30 MB of lzma2
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
SILENT = ["/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", "/CURRENTUSER"]


def known_folder(csidl: int) -> Path:
    """A shell folder as Inno Setup resolves it (SHGetFolderPathW), not from the environment
    (the tests point LOCALAPPDATA elsewhere for traycreds' own files)."""
    buffer = ctypes.create_unicode_buffer(260)
    result = ctypes.WinDLL("shell32").SHGetFolderPathW(None, csidl, None, 0, buffer)
    assert result == 0, f"SHGetFolderPathW({csidl:#x}) failed: {result:#x}"
    return Path(buffer.value)


def app_dir() -> Path:
    return known_folder(0x1C) / "Programs" / "traycreds"  # CSIDL_LOCAL_APPDATA


def start_menu_entry() -> Path:
    return known_folder(0x02) / "traycreds.lnk"  # CSIDL_PROGRAMS: {autoprograms}, per user


def hkcu_value(key: str, name: str) -> Any:
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
            return winreg.QueryValueEx(handle, name)[0]
    except FileNotFoundError:
        return None


def user_path_entries() -> list[str]:
    return [p.rstrip("\\").lower() for p in (hkcu_value("Environment", "Path") or "").split(";")]


def run(argv: list[str | Path], *, env: dict[str, str] | None = None, stdin: str | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], env=env, input=stdin, capture_output=True,
                          text=True, timeout=timeout, check=False)


@dataclass
class Installed:
    """What the installer put down, and the commands of the installed traycreds."""

    env: dict[str, str]
    logs: Path

    @property
    def folder(self) -> Path:
        return app_dir()

    def traycreds(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run([self.folder / "traycreds.exe", *args], env=self.env, stdin=stdin)

    def setup(self, installer: Path, *args: str) -> None:
        log = self.logs / f"setup-{uuid.uuid4().hex[:6]}.log"
        done = run([installer, *SILENT, f"/LOG={log}", *args], env=self.env,
                   timeout=SETUP_TIMEOUT)
        assert done.returncode == 0, f"{installer.name} {args} exited {done.returncode}:\n" \
            + log.read_text(errors="replace")[-3000:]

    def uninstall(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The uninstaller, silently; it copies itself to %TEMP% and the copy does the work,
        so wait until the folder is gone (or the copy gave up)."""
        log = self.logs / f"uninstall-{uuid.uuid4().hex[:6]}.log"
        done = run([self.folder / "unins000.exe", *SILENT[:3], f"/LOG={log}", *args],
                   env=self.env, timeout=SETUP_TIMEOUT)
        if done.returncode == 0:
            poll(lambda: not (self.folder / "unins000.exe").exists(), SETUP_TIMEOUT,
                 f"the uninstaller removes {self.folder}", 0.5)
        return done


@pytest.fixture
def installed(aws_env: AwsEnv, tmp_path: Path, runtime: Path) -> Iterator[Installed]:
    """A clean slate before and after: no traycreds installed, no Run value of ours."""
    for installer in (SETUP, OLDER):
        if not installer.is_file():
            if not under_wine():  # GitHub's Windows test job: its installer-check job has them
                pytest.skip(f"{installer.name} is not built here (the workflow's installer-check "
                            "job runs these tests)")
            not_tested("the Windows installer", f"{installer} is missing: run "
                       "`bash installer/build-windows.sh` first (.ci/run does)")
    logs = ARTIFACTS / "windows-installer"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TRAYCREDS_RUNTIME_DIR=str(runtime))
    app = Installed(env, logs)
    assert not app.folder.exists(), f"{app.folder} is left over from another test"
    try:
        yield app
    finally:
        if (app.folder / "unins000.exe").exists():
            app.uninstall()


def tray_answers(app: Installed) -> bool:
    """doctor's "tray running" line says yes: the tray answers on its channel."""
    for line in app.traycreds("doctor").stdout.splitlines():
        label, _, value = line.partition("  ")
        if label.strip() == "tray running":
            return value.strip().startswith("yes")
    raise AssertionError("doctor printed no 'tray running' line")


def add_key_and_role(app: Installed, moto: Any, aws_env: AwsEnv) -> tuple[str, Any]:
    user = moto.make_user()
    role_arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, role_arn)
    source = f"inst-{uuid.uuid4().hex[:6]}"
    app.env["AWS_ENDPOINT_URL_STS"] = moto.url
    added = app.traycreds("keys", "add", source, stdin=f"{user.key_id}\n{user.secret}\n")
    assert added.returncode == 0, added.stdout + added.stderr
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(f"[default]\nregion = us-east-1\n\n[profile dev]\n"
                                  f"role_arn = {role_arn}\nsource_profile = {source}\n")
    return source, user


def test_silent_install_then_use_then_uninstall_keeps_keys(
        installed: Installed, moto: Any, aws_env: AwsEnv) -> None:
    app = installed
    app.setup(SETUP, "/TASKS=startup,addtopath")

    # Where a user looks: the files, the Start menu, start at login, PATH.
    for name in ("traycreds.exe", "traycredsw.exe", "traycreds.ico", "unins000.exe"):
        assert (app.folder / name).is_file(), f"{name} missing from {app.folder}"
    assert start_menu_entry().is_file()
    assert hkcu_value(RUN_KEY, "traycreds") == f'"{app.folder}\\traycredsw.exe" tray'
    assert str(app.folder).rstrip("\\").lower() in user_path_entries()

    # The installed command line: version, doctor, a key, a role's cmd.exe lines.
    version = app.traycreds("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"traycreds {__version__}")
    source, user = add_key_and_role(app, moto, aws_env)
    exported = app.traycreds("export", "dev", "--shell", "cmd")
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert lines[0].startswith('set "AWS_ACCESS_KEY_ID=ASIA'), exported.stdout
    assert any(line.startswith('set "AWS_SESSION_TOKEN=') for line in lines)
    doctor = app.traycreds("doctor")
    assert doctor.returncode == 0, doctor.stderr
    assert user.secret not in doctor.stdout + doctor.stderr
    assert user.key_id not in doctor.stdout + doctor.stderr
    assert f"traycreds {__version__}" in doctor.stdout or __version__ in doctor.stdout

    # The tray from the installed files: its icon shows (under wine: docked in trayer, with a
    # screenshot), and while it runs the uninstaller refuses to remove its files (AppMutex).
    with contextlib.ExitStack() as stack:
        host = desk = None
        if under_wine():
            from tests.support.windesk import tray_host

            host, desk = stack.enter_context(tray_host())
        tray = subprocess.Popen([str(app.folder / "traycredsw.exe"), "tray"], env=app.env)
        try:
            if host is not None and desk is not None:
                icon = poll(host.docked, 120, "the installed tray's icon docks", 0.5)[0]
                desk.screenshot(ARTIFACTS / "screenshots" / "windows-installed-tray.png",
                                Rect(max(0, icon.left - 200), 0, icon.right + 2,
                                     icon.bottom + 120))
            poll(lambda: tray_answers(app), 120, "the installed tray answers on its channel",
                 0.5)
            refused = app.uninstall()
            assert refused.returncode != 0, "the uninstaller ran while the tray was running"
            assert (app.folder / "traycreds.exe").is_file()
            quit_ = app.traycreds("quit")
            assert quit_.returncode == 0, quit_.stderr
            tray.wait(timeout=60)
        finally:
            if tray.poll() is None:
                tray.kill()
                tray.wait(timeout=30)

    # Uninstall: our files, shortcut, Run value and PATH entry go; the key and settings stay.
    settings = Path(app.env["LOCALAPPDATA"]) / "traycreds"
    assert app.uninstall().returncode == 0
    left = sorted(str(p.relative_to(app.folder)) for p in app.folder.rglob("*")) \
        if app.folder.exists() else []
    assert left == [], f"left in {app.folder}: {left}"
    assert not start_menu_entry().exists()
    assert hkcu_value(RUN_KEY, "traycreds") is None
    assert str(app.folder).rstrip("\\").lower() not in user_path_entries()
    # The key is still in Credential Manager: this checkout's traycreds assumes the role with it.
    again = run([sys.executable, "-m", "traycreds", "export", "dev", "--shell", "cmd"],
                env=app.env)
    assert again.returncode == 0, f"the stored key {source} went with the uninstall: " \
        + again.stderr
    assert settings.is_dir(), "the uninstaller removed traycreds' settings folder"


def test_silent_uninstall_with_purge_removes_keys_and_settings(
        installed: Installed, moto: Any, aws_env: AwsEnv) -> None:
    app = installed
    app.setup(SETUP)
    source, _user = add_key_and_role(app, moto, aws_env)
    assert source in app.traycreds("keys", "list").stdout
    settings = Path(app.env["LOCALAPPDATA"]) / "traycreds"
    assert settings.is_dir()
    assert app.uninstall("/PURGE=yes").returncode == 0
    assert not app.folder.exists() or not any(app.folder.iterdir())
    listed = run([sys.executable, "-m", "traycreds", "keys", "list"], env=app.env)
    assert source not in listed.stdout
    again = run([sys.executable, "-m", "traycreds", "export", "dev", "--shell", "cmd"],
                env=app.env)
    assert again.returncode != 0, "the key is still in Credential Manager after /PURGE=yes"
    assert not (settings / "sources.json").exists()


@pytest.mark.parametrize("start_at_login", ["on", "off"])
def test_upgrade_keeps_keys_settings_and_the_start_at_login_choice(
        installed: Installed, moto: Any, aws_env: AwsEnv, start_at_login: str) -> None:
    app = installed
    app.setup(OLDER, "/TASKS=startup")
    assert app.traycreds("--version").returncode == 0
    source, _user = add_key_and_role(app, moto, aws_env)
    settings = Path(app.env["LOCALAPPDATA"]) / "traycreds" / "settings.toml"
    settings.write_text('[app]\ndefault_shell = "cmd"  # mine\n', encoding="utf-8")
    # The user's choice since the first install, made with traycreds itself.
    assert app.traycreds("autostart", start_at_login).returncode == 0
    before = hkcu_value(RUN_KEY, "traycreds")
    assert (before is not None) == (start_at_login == "on")

    time.sleep(1)  # Inno compares file times: a newer build replaces every file
    app.setup(SETUP)  # the previous install's tasks, as a silent upgrade has them
    version = app.traycreds("--version")
    assert version.stdout.strip() == f"traycreds {__version__}"
    assert hkcu_value(RUN_KEY, "traycreds") == before, "the upgrade changed start at login"
    assert settings.read_text(encoding="utf-8") == '[app]\ndefault_shell = "cmd"  # mine\n'
    assert source in app.traycreds("keys", "list").stdout
    assert app.traycreds("export", "dev", "--shell", "cmd").returncode == 0
