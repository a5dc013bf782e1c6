"""The app-level menu items: add a key, edit settings, open files, about."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from traycreds import __version__
from traycreds.adapters import paths
from traycreds.app.ports import Dialogs, Notifier
from traycreds.core.errors import NetworkError, TraycredsError
from traycreds.core.keys import NewKey
from traycreds.core.models import Credentials, Identity
from traycreds.core.settings import SETTINGS_TEMPLATE

if TYPE_CHECKING:
    from traycreds.app.context import Context
    from traycreds.app.engine import Engine


class AppJobs:
    def __init__(self, dialogs: Dialogs, notifier: Notifier, engine: Callable[[], Engine],
                 context: Callable[[], Context], reload: Callable[[], None], *,
                 key_changed: Callable[[str], object] | None = None) -> None:
        self._dialogs = dialogs
        self._key_changed = key_changed  # drops what the old key of that name obtained
        self._notifier = notifier
        self._engine = engine
        self._context = context
        self._reload = reload

    def add_key(self, source: str = "") -> None:
        """Ask until the key checks out with GetCallerIdentity, then keep it in the keyring.

        A refused key comes back into the dialog as typed, with the reason; when STS cannot
        be reached the dialog also offers to save it unchecked (the CLI's --no-verify).
        ``source``: the name to propose (the source profile a failing role needs)."""
        problem: str | None = None
        typed: NewKey | None = None
        offline = False
        while True:
            new = self._dialogs.ask_new_key(problem, source, typed=typed, offline=offline)
            if new is None:
                return
            creds = Credentials(new.key_id, new.secret)
            identity = None
            if new.verify:
                try:
                    identity = self._engine().source_identity(new.source, creds)
                except TraycredsError as error:
                    problem, typed, source = f"{error.title}: {error.message}", new, new.source
                    offline = isinstance(error, NetworkError)
                    continue
            self._store(new, creds, identity)
            return

    def _store(self, new: NewKey, creds: Credentials, identity: Identity | None) -> None:
        self._context().keys.put(new.source, creds)
        if self._key_changed is not None:
            self._key_changed(new.source)
        who = (f"{new.key_id} is {identity.arn}." if identity is not None else
               f"{new.key_id} was saved without checking it with AWS.")
        self._notifier.notify(f"Key {new.source!r} stored", f"{who} It lives in the keyring.")

    def edit_settings(self) -> None:
        from dataclasses import replace

        from traycreds.adapters.autostart import for_platform
        from traycreds.adapters.settingsfile import save_app_settings

        autostart = for_platform()
        current = replace(self._context().settings.app,
                          start_at_login=autostart.status().enabled)
        edited = self._dialogs.ask_settings(current)
        if edited is None:
            return
        save_app_settings(paths.settings_file(), edited, SETTINGS_TEMPLATE)
        if edited.start_at_login != current.start_at_login:
            if edited.start_at_login:
                autostart.enable()
            else:
                autostart.disable()
        self._reload()

    def open_settings(self) -> None:
        from traycreds.adapters.atomic import write_atomic
        from traycreds.adapters.desktop import open_path

        path = paths.settings_file()
        if not path.exists():
            write_atomic(path, SETTINGS_TEMPLATE)
        open_path(path)

    def open_logs(self) -> None:
        from traycreds.adapters.desktop import open_path

        folder = paths.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        open_path(folder)

    def about_text(self) -> str:
        return (f"traycreds {__version__}\nAWS roles from the system tray.\n\n"
                f"Settings: {paths.settings_file()}\nAWS config: {paths.aws_config_file()}\n"
                f"Logs: {paths.log_dir()}")
