"""The app-level menu items: add a key, edit settings, open files, about."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from traycreds import __version__
from traycreds.adapters import paths
from traycreds.app.ports import Dialogs, Notifier
from traycreds.core.errors import TraycredsError
from traycreds.core.models import Credentials
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

    def add_key(self) -> None:
        """Ask until the key checks out with GetCallerIdentity, then keep it in the keyring."""
        problem, source = None, ""
        while True:
            new = self._dialogs.ask_new_key(problem, source)
            if new is None:
                return
            creds = Credentials(new.key_id, new.secret)
            try:
                identity = self._engine().source_identity(new.source, creds)
            except TraycredsError as error:
                problem, source = f"{error.title}: {error.message}", new.source
                continue
            self._context().keys.put(new.source, creds)
            if self._key_changed is not None:
                self._key_changed(new.source)
            self._notifier.notify(f"Key {new.source!r} stored",
                                  f"{new.key_id} is {identity.arn}. It lives in the keyring.")
            return

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
