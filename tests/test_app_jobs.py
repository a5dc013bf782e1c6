"""Settings... end to end below the dialog: the TOML file keeps the user's comments, and
start at login is the OS's own entry, not a line in the file."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from traycreds.app.context import Context
from traycreds.app.jobs import AppJobs
from traycreds.core.settings import AppSettings


class ScriptedDialogs:
    """The Dialogs port answering from a script; the real Tk dialogs are driven with xdotool
    in test_dialogs.py and test_tray_e2e.py."""

    def __init__(self, change: dict[str, Any]) -> None:
        self.change = change
        self.shown: list[AppSettings] = []

    def ask_settings(self, current: AppSettings) -> AppSettings | None:
        self.shown.append(current)
        return replace(current, **self.change)


class Notes:
    def notify(self, title: str, message: str) -> None:
        raise AssertionError(f"unexpected notification {title}: {message}")


def run_value() -> str | None:
    """The traycreds value of HKCU\\...\\Run (Windows' start at login), read with winreg."""
    import winreg

    from traycreds.adapters.autostart.windows import RUN_KEY

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            return str(winreg.QueryValueEx(key, "traycreds")[0])
    except FileNotFoundError:
        return None


def test_settings_save_keeps_comments_and_toggles_start_at_login(
        aws_env: Any, user_settings: Path) -> None:
    settings = user_settings
    if sys.platform == "win32":  # the lane's registry is shared by its tests: start from off
        from traycreds.adapters.autostart.windows import WindowsAutostart

        WindowsAutostart().disable()
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('# my notes\n[app]\ndefault_shell = "bash"  # for WSL\n\n'
                        '[roles.x]  # keep me\nlabel = "X"\n')
    reloads: list[bool] = []
    dialogs = ScriptedDialogs({"default_shell": "fish", "warn_before_minutes": (10,),
                               "start_at_login": True})
    jobs = AppJobs(dialogs, Notes(), lambda: None, Context, lambda: reloads.append(True))  # type: ignore[arg-type]
    jobs.edit_settings()
    text = settings.read_text()
    assert text.startswith("# my notes\n[app]\n")
    assert 'default_shell = "fish"' in text and "warn_before_minutes = [10]" in text
    assert "[roles.x]  # keep me" in text and "start_at_login" not in text
    entry = aws_env.config_home / "autostart" / "traycreds.desktop"

    def started_at_login() -> bool:  # the OS's own entry: a desktop file, or the Run value
        return run_value() is not None if sys.platform == "win32" else entry.exists()

    assert started_at_login() and dialogs.shown[0].start_at_login is False
    assert reloads == [True]
    AppJobs(ScriptedDialogs({"start_at_login": False}), Notes(), lambda: None, Context,  # type: ignore[arg-type]
            lambda: None).edit_settings()
    assert not started_at_login()
