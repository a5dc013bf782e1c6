"""Wiring shared by every front end: files -> catalog -> keystore + STS -> engine."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from traycreds.adapters import paths
from traycreds.core import shells
from traycreds.core.awsconfig import read_profiles
from traycreds.core.errors import ConfigError
from traycreds.core.models import Problem
from traycreds.core.roles import Catalog, build_catalog
from traycreds.core.settings import Settings, parse_settings
from traycreds.core.sso import read_sso_sessions

if TYPE_CHECKING:
    from traycreds.adapters.keystore import KeyStore
    from traycreds.app.engine import Engine, MfaPrompt
    from traycreds.app.sources import SourceChooser
    from traycreds.app.sso import IdentityCenter

log = logging.getLogger(__name__)


def _read(path: Path, limit: int) -> str | None:
    """A config file's text: a FIFO, a device or an oversized file is a ConfigError (exit 3)."""
    try:
        return paths.read_text(path, limit, ConfigError)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start}). Save it as UTF-8.") \
            from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None


def load_settings(path: Path | None = None) -> tuple[Settings, list[Problem]]:
    path = path or paths.settings_file()
    text = _read(path, paths.SETTINGS_FILE_LIMIT)
    if text is None:
        return Settings(path=str(path)), []
    return parse_settings(text, str(path))


def load_catalog(settings: Settings, problems: list[Problem]) -> Catalog:
    config_path = paths.aws_config_file()
    text = _read(config_path, paths.AWS_FILE_LIMIT)
    profiles, found = read_profiles(text or "", str(config_path))
    sessions, bad_sessions = read_sso_sessions(text or "", str(config_path))
    catalog = build_catalog(profiles, settings, problems + found + bad_sessions, sessions)
    if catalog.sessions:  # the roles each session's cached listing allows (app/ssolisted.py)
        from traycreds.app.ssolisted import with_listed_roles

        catalog = with_listed_roles(catalog)
    for problem in catalog.problems:
        log.warning("config problem: %s", problem.describe())
    return catalog


def default_shell(settings: Settings) -> str:
    return shells.default_shell(sys.platform, settings.app.default_shell)


@dataclass
class Context:
    """Loaded lazily: ``traycreds config path`` must not import boto3 or keyring."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    _settings: tuple[Settings, list[Problem]] | None = None
    _catalog: Catalog | None = None
    _keys: KeyStore | None = None
    _sso: IdentityCenter | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings[0]

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            settings = self.settings
            assert self._settings is not None
            self._catalog = load_catalog(settings, self._settings[1])
        return self._catalog

    @property
    def keys(self) -> KeyStore:
        if self._keys is None:
            from traycreds.adapters.keystore import KeyStore

            self._keys = KeyStore(paths.data_dir() / "sources.json")
        return self._keys

    def engine(self, prompt_mfa: MfaPrompt, *,
               sts_deadline: Callable[[], float] | None = None) -> Engine:
        """``sts_deadline``: read at each STS call (the tray passes its current setting)."""
        from traycreds.adapters.sts import BotoSts
        from traycreds.app.engine import Engine

        deadline = sts_deadline or (lambda: self.settings.app.sts_timeout_seconds)
        return Engine(self.catalog, self.keys, BotoSts(deadline=deadline), prompt_mfa,
                      env=self.env, sources=self.sources())

    def sources(self) -> SourceChooser:
        """Each chain's root by its profile: an IAM Identity Center role or a stored key."""
        from traycreds.app.sources import by_profile
        from traycreds.app.sso import IdentityCenter

        if self._sso is None:
            self._sso = IdentityCenter()
        return by_profile(self.catalog.roles, self.keys, self._sso)
