"""The expiry policy: when to warn, refresh and redraw, whether a refresh may run unattended,
and what the person is told.

A pure planner over absolute UTC expiry times: the scheduler asks ``due(now)`` for what to
do and ``next_wake(now)`` for when to ask again; nothing here sleeps or reads a clock.
Because every event is an absolute time, a suspend/resume or a clock jump is handled by
asking again: what was missed fires once (only the latest event per role), never once per
minute. traycreds.app.expiry carries the decisions out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from math import ceil
from typing import TYPE_CHECKING

from traycreds.core.shells import SHELL_TITLES, WRITE
from traycreds.core.text import local_time, span

if TYPE_CHECKING:  # types only: the engine imports ADVISORY and needs nothing more loaded
    from traycreds.core.errors import TraycredsError
    from traycreds.core.roles import Chain

# botocore's advisory refresh window: held credentials with less left are refreshed (the
# scheduler's automatic refresh) and never handed out again (the engine's reuse).
ADVISORY = timedelta(minutes=15)
MANDATORY = timedelta(minutes=10)  # after this a failed refresh is worth a warning
_BACKOFF = (timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4),
            timedelta(minutes=8))


def warn_points(thresholds: tuple[float, ...], life_seconds: float | None) -> tuple[float, ...]:
    """The warnings (minutes before expiry) a role whose credentials live ``life_seconds``
    gets: each threshold, but never more than half the credentials' life.

    A 15-minute session with warnings at 15 and 5 minutes is warned at 7.5 and 5 minutes,
    not from its first second (and is not amber before then); a one-hour role keeps 15
    and 5. Thresholds that meet at the cap are one warning. ``None``: life unknown, the
    thresholds as set.
    """
    positive = [m for m in thresholds if m > 0]
    if life_seconds is None:
        return tuple(sorted(set(positive), reverse=True))
    cap = max(life_seconds, 0.0) / 120.0  # half the life, in minutes
    return tuple(sorted({min(m, cap) for m in positive if cap > 0}, reverse=True))


class Kind(str, Enum):
    WARN = "warn"  # a threshold before expiry
    EXPIRED = "expired"
    REFRESH = "refresh"  # an automatic refresh attempt


@dataclass(frozen=True)
class Event:
    at: datetime
    role: str
    kind: Kind
    minutes: float = 0  # the threshold, for warnings (the refresh attempt number for refreshes)

    def key(self, expiration: datetime) -> tuple[str, datetime, Kind, float]:
        return (self.role, expiration, self.kind, self.minutes)


@dataclass
class Tracked:
    expiration: datetime
    issued: datetime
    auto_refresh: bool
    failures: int = 0
    retry_at: datetime | None = None
    warned_failure: bool = False  # a failed refresh was worth a warning once already

    @property
    def refresh_at(self) -> datetime:
        """The advisory window, but never in the first half of a session's life: a session
        shorter than the window (900 s) would otherwise be refreshed again at once, forever."""
        if self.retry_at is not None:
            return self.retry_at
        halfway = self.issued + (self.expiration - self.issued) / 2
        return max(self.expiration - ADVISORY, halfway)


@dataclass
class ExpiryPlanner:
    thresholds: tuple[float, ...] = (15, 5)  # minutes before expiry
    tracked: dict[str, Tracked] = field(default_factory=dict)
    fired: set[tuple[str, datetime, Kind, float]] = field(default_factory=set)

    def track(self, role: str, expiration: datetime, now: datetime, *,
              auto_refresh: bool) -> None:
        """New credentials for ``role``: plan afresh, skipping thresholds already behind us.

        The same credentials tracked again (written to a profile after a copy, say) keep
        their plan: a refresh already tried and backed off from is not forgotten.
        """
        current = self.tracked.get(role)
        if current is not None and current.expiration == expiration:
            current.auto_refresh = auto_refresh
            return
        self.tracked[role] = Tracked(expiration, now, auto_refresh)
        for event in self._events(role):
            if event.kind is Kind.WARN and event.at <= now:
                self.fired.add(event.key(expiration))

    def forget(self, role: str) -> None:
        self.tracked.pop(role, None)

    def refresh_failed(self, role: str, now: datetime) -> bool:
        """Back off; returns whether the failure is now worth a warning: the first one inside
        the mandatory window (once per set of credentials, not once per retry)."""
        item = self.tracked.get(role)
        if item is None:
            return False
        delay = _BACKOFF[min(item.failures, len(_BACKOFF) - 1)]
        item.failures += 1
        item.retry_at = now + delay
        if item.expiration - now > MANDATORY or item.warned_failure:
            return False
        item.warned_failure = True
        return True

    def _events(self, role: str) -> list[Event]:
        item = self.tracked[role]
        life = (item.expiration - item.issued).total_seconds()
        events = [Event(item.expiration - timedelta(minutes=m), role, Kind.WARN, m)
                  for m in warn_points(self.thresholds, life)]
        events.append(Event(item.expiration, role, Kind.EXPIRED))
        if item.auto_refresh:
            events.append(Event(item.refresh_at, role, Kind.REFRESH, item.failures))
        return events

    def due(self, now: datetime) -> list[Event]:
        """What to do now: per role, the latest missed warning or expiry, and any refresh."""
        found: list[Event] = []
        for role, item in list(self.tracked.items()):
            missed = [e for e in self._events(role)
                      if e.at <= now and e.key(item.expiration) not in self.fired]
            for event in missed:
                self.fired.add(event.key(item.expiration))
            notices = [e for e in missed if e.kind is not Kind.REFRESH]
            if notices:
                found.append(max(notices, key=lambda e: (e.at, e.kind is Kind.EXPIRED)))
            if item.expiration > now:
                found += [e for e in missed if e.kind is Kind.REFRESH]
        return sorted(found, key=lambda e: e.at)

    def next_wake(self, now: datetime, *, countdown: bool) -> datetime | None:
        """The next event, or the next minute of a shown countdown; None: nothing to wait for."""
        times = [e.at for role, item in self.tracked.items() for e in self._events(role)
                 if e.at > now and e.key(item.expiration) not in self.fired]
        if countdown:
            # Labels show whole minutes left. One redraw a minute in all, when the number of
            # the role expiring soonest changes (other roles' labels may lag by under a
            # minute), not one per role: ten roles must not mean ten wake-ups a minute.
            left = [(item.expiration - now).total_seconds() for item in self.tracked.values()]
            soonest = min((s for s in left if s > 0), default=None)
            if soonest is not None:
                times.append(now + timedelta(seconds=(soonest % 60) or 60))
        return min(times, default=None)


# -- whether the person is needed, and what they are told --------------------------------------

EXACT_BELOW = 600  # a warning under 10 minutes gives the seconds too: '4 min 30 s'


@dataclass(frozen=True)
class Notice:
    title: str
    message: str


def may_refresh_silently(chain: Chain, *, auto_refresh: bool, written: bool) -> bool:
    """Never behind MFA; else the role's own setting, else profile targets if enabled
    (``auto_refresh``, the app setting): only a written profile is read again by itself."""
    if chain.needs_mfa:
        return False
    if chain.role.auto_refresh is not None:
        return chain.role.auto_refresh
    return auto_refresh and written


def warning_seconds(threshold: float, expiration: datetime | None, now: datetime) -> int:
    """The time a warning at ``threshold`` minutes names: the time really left (after a
    suspend the threshold's own number would be wrong), up to the whole second, because the
    scheduler fires a moment after the mark and the 15-minute warning must not say 14."""
    seconds = threshold * 60
    if expiration is not None:
        seconds = min(seconds, (expiration - now).total_seconds())
    return ceil(seconds)


@dataclass(frozen=True)
class Handover:
    """What Refresh now does after refreshing: the role's remembered hand-over (a shell's
    name, or WRITE with the ``section`` it writes). None where it is asked for: the role
    was never handed over from the tray, and Refresh now only refreshes it."""

    kind: str = "bash"
    section: str | None = None


def advice(display: str, *, needs_mfa: bool, handover: Handover | None = None) -> str:
    """What to click, and exactly what that click does."""
    # An MFA session still held (8 h) spares the code; "may" is the honest word.
    ask = " (it may ask for an MFA code)" if needs_mfa else ""
    if handover is not None and handover.kind == WRITE:
        return (f"Click {display} > Refresh now{ask}: it writes the new credentials to "
                f"[{handover.section}] again; shells that already pasted keep the old ones.")
    if handover is None:  # never handed over from the tray: Refresh now only refreshes
        return (f"Click {display} > Refresh now{ask} for new credentials, then copy or write "
                "them again; shells that already pasted keep the old ones.")
    title = SHELL_TITLES.get(handover.kind, handover.kind)
    return (f"Click {display} > Refresh now{ask}, then paste the new lines: it copies them "
            f"for {title} again; shells that already pasted keep the old ones.")


def warning(display: str, seconds: float, expiration: datetime | None, *, needs_mfa: bool,
            refreshes: str | None, handover: Handover | None = None) -> Notice:
    """``refreshes``: the credentials profile traycreds keeps fresh by itself, if any."""
    extra = f" traycreds refreshes [{refreshes}] by itself." if refreshes else ""
    return Notice(f"{display} expires in {span(seconds, exact_below=EXACT_BELOW)}",
                  f"At {local_time(expiration)}. "
                  f"{advice(display, needs_mfa=needs_mfa, handover=handover)}{extra}")


def expired(display: str, *, needs_mfa: bool, removed: str | None,
            handover: Handover | None = None) -> Notice:
    """``removed``: the credentials profile cleaned away with the credentials, if any."""
    message = ("Its credentials stopped working. "
               f"{advice(display, needs_mfa=needs_mfa, handover=handover)}")
    if removed is not None:
        message += f" Its credentials profile [{removed}] was removed."
    return Notice(f"{display} has expired", message)


def refresh_failed(display: str, error: TraycredsError, *, section: str | None,
                   expiration: datetime | None, needs_mfa: bool,
                   handover: Handover | None = None) -> Notice:
    """An automatic refresh failed inside the mandatory window; ``section``: the profile
    that keeps the old credentials."""
    where = f"[{section}] keeps" if section is not None else "It keeps"
    return Notice(f"Could not refresh {display}",
                  f"{error.title}: {error.message} {where} the current credentials until "
                  f"{local_time(expiration)}; traycreds tries again. "
                  f"{advice(display, needs_mfa=needs_mfa, handover=handover)}")
