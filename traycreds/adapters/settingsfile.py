"""Saving app settings into the TOML file without losing the user's comments or layout."""

from __future__ import annotations

from pathlib import Path

from traycreds.adapters import inifile, paths
from traycreds.adapters.atomic import write_atomic
from traycreds.core.errors import ConfigError
from traycreds.core.settings import AppSettings


def save_app_settings(path: Path, settings: AppSettings, template: str = "") -> None:
    """Update the [app] table in place; every other line of the file stays as it was."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    with inifile.locked(path):
        text, bom = inifile.read(path, paths.SETTINGS_FILE_LIMIT)
        try:
            doc = tomlkit.parse(text or template)
        except ParseError as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}); fix it before saving "
                              "settings from the app. Nothing was changed.") from None
        app = doc.get("app")
        if app is None:
            app = tomlkit.table()
            doc["app"] = app
        if settings.default_shell is None:
            app.pop("default_shell", None)
        else:
            app["default_shell"] = settings.default_shell
        app["warn_before_minutes"] = list(settings.warn_before_minutes)
        app["clipboard_clear_seconds"] = settings.clipboard_clear_seconds
        app["auto_refresh"] = settings.auto_refresh
        app["clean_expired"] = settings.clean_expired
        write_atomic(path, bom + tomlkit.dumps(doc).encode("utf-8"))
