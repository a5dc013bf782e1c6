"""Where traycreds and the AWS tools keep their files."""

from __future__ import annotations

import os
from pathlib import Path

APP = "traycreds"


def aws_config_file() -> Path:
    return Path(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config").expanduser()


def aws_credentials_file() -> Path:
    return Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials").expanduser()


def settings_file() -> Path:
    """``TRAYCREDS_SETTINGS`` if set (as AWS_CONFIG_FILE is for the AWS tools), else per user."""
    override = os.environ.get("TRAYCREDS_SETTINGS")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "settings.toml"


def data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def log_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir(APP, appauthor=False))


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist. Decoding errors are the caller's."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
