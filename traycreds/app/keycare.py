"""The tray's care of the stored access keys: a rotation a crash left is finished or rolled
back at start; a minute after start and then daily each key's age is checked (IAM is asked,
so never on the start's path) and a key older than key_warn_age_days is warned about once;
the menu's "Rotate access key" asks before it rotates, because the old key stops working for
anything else that still uses it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from traycreds.app.ports import Dialogs, Notifier
from traycreds.app.rotationjobs import RotationJobs
from traycreds.core.errors import TraycredsError
from traycreds.core.state import AppState

if TYPE_CHECKING:
    from traycreds.app.context import Context

log = logging.getLogger(__name__)
FIRST_CHECK_S = 60.0
CHECK_EVERY_S = 24 * 3600.0


class KeyCare:
    def __init__(self, dialogs: Dialogs, notifier: Notifier, context: Callable[[], Context],
                 update: Callable[[Callable[[AppState], AppState]], None],
                 submit: Callable[[Callable[[], Any]], Future[Any]],
                 key_changed: Callable[[str], object] | None = None) -> None:
        self.jobs = RotationJobs(dialogs, notifier, context, key_changed=key_changed)
        self._dialogs, self._context, self._update, self._submit = (
            dialogs, context, update, submit)
        self._ages: dict[str, int | None] = {}  # the last check's, for the menu
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._stopped = False

    def start(self, first_check: float = FIRST_CHECK_S) -> None:
        self.relist()
        self._submit(self.jobs.recover)
        self._schedule(first_check)

    def relist(self) -> None:
        """The menu's keys from the keyring's index (a file: the keyring itself is not
        loaded), with the ages the last check found; again whenever a key changes."""
        try:
            names = self._context().keys.index()
        except TraycredsError as error:
            log.info("stored keys not listed: %s", error.title)
            return
        with self._lock:
            shown = {name: self._ages.get(name) for name in names}
        self._update(lambda state: replace(state, access_keys=shown))

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()

    def _schedule(self, delay: float) -> None:
        with self._lock:
            if self._stopped:
                return
            self._timer = threading.Timer(delay, lambda: self._submit(self.check))
            self._timer.daemon = True
            self._timer.start()

    def check(self, now: datetime | None = None) -> None:
        """Ask IAM each stored key's age; the menu offers every key, the old ones marked."""
        try:
            ages = self.jobs.check_ages(now)
            with self._lock:
                self._ages = ages
            self.relist()
        finally:
            self._schedule(CHECK_EVERY_S)

    def rotate(self, source: str) -> None:
        if not self._dialogs.confirm(
                f"Rotate access key {source}?",
                "traycreds makes a new access key, stores it in the keyring in place of this "
                "one once AWS accepts it, and deactivates the old key. Anything else that "
                "still uses the old key (another machine, a script) stops working; the old key "
                "is deleted after the grace period (rotation_grace_hours), and until then you "
                "can reactivate it in the IAM console.", "Rotate"):
            return
        self.jobs.rotate(source)
        with self._lock:
            self._ages.pop(source, None)  # a new key (or the old one, still to be checked)
        self.relist()
