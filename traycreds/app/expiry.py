"""The expiry policy at work: tracks what the service issued and, on the scheduler's events,
warns, refreshes unattended or says the credentials have expired.

The decisions and the words are core's (traycreds.core.expiry); this module reads the
clock, the settings and the role catalog for them and carries them out on the service's
behalf, through the few service operations it is handed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from traycreds.app.ports import Notifier
from traycreds.app.scheduler import Scheduler
from traycreds.core import expiry
from traycreds.core.errors import ConfigError, TraycredsError
from traycreds.core.expiry import Event, ExpiryPlanner, Handover, Kind, Notice
from traycreds.core.menu import write_target
from traycreds.core.state import AppState

if TYPE_CHECKING:
    from traycreds.app.context import Context
    from traycreds.app.engine import Engine, Issued
    from traycreds.core.roles import Chain

log = logging.getLogger(__name__)


class ExpiryWatch:
    """``reissue(role)``: fresh credentials for a role, its state updated, without making it
    the active role. ``settled(role)``: the role's call is over (no longer working).
    ``guarded(job)``: runs a job, telling the user of a failure instead of raising.
    ``redraw()``: the front ends render the state again (a countdown moved)."""

    def __init__(self, notifier: Notifier, clock: Callable[[], datetime], *,
                 state: Callable[[], AppState], engine: Callable[[], Engine],
                 context: Callable[[], Context], reissue: Callable[[str], Issued],
                 settled: Callable[[str], None], guarded: Callable[[Callable[[], Any]], Any],
                 submit: Callable[[Callable[[], Any]], object],
                 redraw: Callable[[], None]) -> None:
        self._notifier = notifier
        self._clock = clock
        self._state = state
        self._engine = engine
        self._context = context
        self._reissue = reissue
        self._settled = settled
        self._guarded = guarded
        self._submit = submit
        self._redraw = redraw
        self.written: dict[str, str] = {}  # role -> credentials-file section we wrote
        self.scheduler = Scheduler(ExpiryPlanner(), clock, self._on_events, redraw)

    # -- what the service tells it ------------------------------------------------------------
    def track(self, role: str, expiration: datetime | None) -> None:
        """New credentials for ``role`` (or the same ones, now written somewhere)."""
        if expiration is not None:
            self.scheduler.track(role, expiration, auto_refresh=self.may_refresh_silently(role))

    def wrote(self, role: str, section: str, expiration: datetime | None) -> None:
        self.written[role] = section
        self.track(role, expiration)  # profile targets may refresh by themselves

    def may_refresh_silently(self, role: str) -> bool:
        chain = self._chain(role)
        if chain is None:
            return False
        return expiry.may_refresh_silently(
            chain, auto_refresh=self._context().settings.app.auto_refresh,
            written=role in self.written)

    def clean_expired(self) -> list[str]:
        """Remove the credentials-file sections we wrote whose own expiry has passed."""
        from traycreds.app import profiles

        cleaned = profiles.clean_expired(self._clock())
        if cleaned:
            log.info("removed expired profiles: %s", ", ".join(cleaned))
        return cleaned

    # -- the scheduler's events -----------------------------------------------------------------
    def _on_events(self, events: list[Event]) -> None:
        for event in events:
            role = self._state().role(event.role)
            if role is None:
                continue
            if event.kind is Kind.REFRESH:
                self._submit(partial(self._auto_refresh, event.role))
            elif event.kind is Kind.WARN:
                self._warn(event.role, role.display_name, event.minutes)
            else:
                self._expired(event.role, role.display_name)

    def _chain(self, role: str) -> Chain | None:
        from traycreds.core.roles import resolve_chain

        try:
            return resolve_chain(self._engine().catalog, role)
        except ConfigError:
            return None

    def _needs_mfa(self, role: str) -> bool:
        chain = self._chain(role)
        return chain is not None and chain.needs_mfa

    def _expiration(self, role: str) -> datetime | None:
        held = self._state().states.get(role)
        return held.expiration if held else None

    def _handover(self, name: str) -> Handover | None:
        """What Refresh now will hand over for ``name``, for the advice to say."""
        state = self._state()
        role = state.role(name)
        if role is None or name not in state.handovers:
            return None  # never handed over from the tray: Refresh now only refreshes
        return Handover(state.handover(name), write_target(state, role))

    def _tell(self, notice: Notice) -> None:
        self._notifier.notify(notice.title, notice.message)

    def _warn(self, name: str, display: str, minutes: float) -> None:
        expiration = self._expiration(name)
        seconds = expiry.warning_seconds(minutes, expiration, self._clock())
        refreshes = self.written.get(name) if self.may_refresh_silently(name) else None
        self._tell(expiry.warning(display, seconds, expiration,
                                  needs_mfa=self._needs_mfa(name), refreshes=refreshes,
                                  handover=self._handover(name)))

    def _expired(self, name: str, display: str) -> None:
        self._redraw()
        needs_mfa = self._needs_mfa(name)
        removed = None
        if self._context().settings.app.clean_expired:
            # Only sections whose own expiry has passed: another traycreds (the command line)
            # may have written fresh credentials into ours meanwhile.
            cleaned = self._guarded(self.clean_expired) or []
            section = self.written.get(name)
            if section in cleaned:
                del self.written[name]
                removed = section
        self._tell(expiry.expired(display, needs_mfa=needs_mfa, removed=removed,
                                  handover=self._handover(name)))

    def _auto_refresh(self, name: str) -> None:
        try:
            issued = self._reissue(name)
            if name in self.written:
                from traycreds.app import profiles

                profiles.write_profile(issued.role, issued.credentials,
                                       profile=self.written[name])
            log.info("refreshed %s automatically", name)
        except TraycredsError as error:
            log.warning("automatic refresh of %s failed: %s", name, error.title)
            self._settled(name)
            if self.scheduler.refresh_failed(name):
                role = self._state().role(name)
                self._tell(expiry.refresh_failed(
                    role.display_name if role else name, error,
                    section=self.written.get(name), expiration=self._expiration(name),
                    needs_mfa=self._needs_mfa(name), handover=self._handover(name)))
