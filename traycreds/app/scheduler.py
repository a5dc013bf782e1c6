"""One thread that sleeps until the next expiry event, then hands the due events over.

It never polls: it waits on a condition until the planner's next wake-up (at most
once a minute while a countdown is shown, not at all when nothing is held) or until
poked because something changed. Waits are capped at a minute while anything is
held, so a suspend, which stops the monotonic clock the wait uses, delays a warning
by at most that; the planner then fires what was missed once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from traycreds.core.expiry import Event, ExpiryPlanner

log = logging.getLogger(__name__)
MAX_WAIT = 60.0


class Scheduler:
    def __init__(self, planner: ExpiryPlanner, clock: Callable[[], datetime],
                 on_events: Callable[[list[Event]], None], on_tick: Callable[[], None]) -> None:
        self.planner = planner
        self._clock = clock
        self._on_events = on_events
        self._on_tick = on_tick
        self._cond = threading.Condition()
        self._stopped = False
        self._poked = False
        self._thread: threading.Thread | None = None
        self.wakeups = 0  # for the idle benchmark and tests

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="traycreds-scheduler",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def track(self, role: str, expiration: datetime, *, auto_refresh: bool) -> None:
        with self._cond:
            self.planner.track(role, expiration, self._clock(), auto_refresh=auto_refresh)
        self.poke()

    def forget(self, role: str | None = None) -> None:
        with self._cond:
            for name in [role] if role else list(self.planner.tracked):
                self.planner.forget(name)
        self.poke()

    def refresh_failed(self, role: str) -> bool:
        with self._cond:
            worth_warning = self.planner.refresh_failed(role, self._clock())
        self.poke()
        return worth_warning

    def set_thresholds(self, minutes: tuple[float, ...]) -> None:
        with self._cond:
            self.planner.thresholds = minutes
        self.poke()

    def poke(self) -> None:
        """Plans changed (credentials issued, forgotten, settings): recompute now."""
        with self._cond:
            self._poked = True
            self._cond.notify_all()

    def _timeout(self, now: datetime) -> float | None:
        wake = self.planner.next_wake(now, countdown=True)
        if wake is None:
            return None
        return min(MAX_WAIT, max(0.0, (wake - now).total_seconds()))

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                now = self._clock()
                events = self.planner.due(now)
                timeout = self._timeout(now)
            if events:
                try:
                    self._on_events(events)
                except Exception:
                    log.exception("expiry handler failed")
            try:
                self._on_tick()
            except Exception:
                log.exception("countdown redraw failed")
            with self._cond:
                if not self._stopped and not self._poked:
                    self._cond.wait(timeout)
                self._poked = False
                self.wakeups += 1
