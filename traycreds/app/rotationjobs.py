"""The tray's key rotation jobs: recovery at start, the old-key warning, the menu's
"Rotate access key NAME". Run off the tray's thread like every job; results are notified.

In the tray the old key is deactivated, not deleted: the next start deletes it once the
grace period (rotation_grace_hours) is over, or 'traycreds keys rotate NAME --finish' does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from traycreds.app import keyrotation
from traycreds.app.ports import Dialogs, Notifier
from traycreds.core.errors import TraycredsError
from traycreds.core.models import utc_now
from traycreds.core.rotation import KeyAge, age_days

if TYPE_CHECKING:
    from traycreds.app.context import Context

log = logging.getLogger(__name__)


class RotationJobs:
    def __init__(self, dialogs: Dialogs, notifier: Notifier, context: Callable[[], Context],
                 key_changed: Callable[[str], object] | None = None) -> None:
        self._dialogs, self._notifier, self._context = dialogs, notifier, context
        self._key_changed = key_changed  # the engine drops what the old key obtained

    def _switched(self, source: str) -> None:
        if self._key_changed is not None:
            self._key_changed(source)

    def recover(self) -> None:
        """At the tray's start: finish or roll back what a crash left, and say so."""
        said: list[str] = []
        try:
            changed = keyrotation.recover_all(self._context(), said.append,
                                              self._dialogs.ask_mfa)
        except TraycredsError as error:  # the journal itself is unreadable
            self._notifier.notify(error.title, error.message)
            return
        for source in changed:
            self._switched(source)
        if said:
            self._notifier.notify("Access key rotation", "\n".join(said))

    def warn_old_keys(self, now: datetime | None = None) -> list[str]:
        """Notify once per key older than key_warn_age_days; returns the sources warned
        about now."""
        now = now or utc_now()
        try:
            due = keyrotation.due_warnings(self._context(), now)
        except TraycredsError as error:
            log.info("key ages not checked: %s", error.title)
            return []
        self._notify(due, now)
        return [age.source for age in due]

    def check_ages(self, now: datetime | None = None) -> dict[str, int | None]:
        """Every stored key, with its age in days when it is older than key_warn_age_days
        (else None); the old ones not warned about before are notified, once."""
        now = now or utc_now()
        try:
            ctx = self._context()
            ages = keyrotation.key_ages(ctx, now)
            due = keyrotation.due_warnings(ctx, now, ages)
        except TraycredsError as error:
            log.info("key ages not checked: %s", error.title)
            return {}
        self._notify(due, now)
        limit = ctx.settings.app.key_warn_age_days
        return {age.source: (days if age.created is not None
                             and (days := age_days(age.created, now)) >= limit else None)
                for age in ages}

    def _notify(self, due: list[KeyAge], now: datetime) -> None:
        for age in due:
            assert age.created is not None
            self._notifier.notify(
                f"Access key {age.source} is {age_days(age.created, now)} days old",
                f"Rotate it: 'Rotate access key' > {age.source} in the menu, or "
                f"traycreds keys rotate {age.source}")

    def rotate(self, source: str) -> None:
        said: list[str] = []
        try:
            keyrotation.rotate(self._context(), source, said.append, self._dialogs.ask_mfa,
                               on_switch=self._switched)
        except TraycredsError as error:
            self._notifier.notify(error.title, "\n".join([*said, error.message]))
            return
        self._notifier.notify(f"Access key {source} rotated", "\n".join(said))
