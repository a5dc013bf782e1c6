"""What the app knows about each role, as plain data the front ends render."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum

from traycreds.core.expiry import warn_points
from traycreds.core.models import Problem, Role


class Status(str, Enum):
    IDLE = "idle"  # nothing held
    WORKING = "working"  # a call is in flight
    FRESH = "fresh"
    EXPIRING = "expiring"  # inside the first warning threshold
    EXPIRED = "expired"
    ERROR = "error"  # the last attempt failed


@dataclass(frozen=True)
class Failure:
    title: str
    message: str
    needs_key: bool = False  # the chain's source key is missing: the menu offers to add it


@dataclass(frozen=True)
class RoleState:
    working: bool = False
    expiration: datetime | None = None
    held: bool = False
    error: Failure | None = None
    auto_refresh: bool = False  # set by the service for roles it may refresh silently
    issued: datetime | None = None  # when these credentials were obtained: their life

    @property
    def life_seconds(self) -> float | None:
        if self.issued is None or self.expiration is None:
            return None
        return (self.expiration - self.issued).total_seconds()

    def started(self) -> RoleState:
        return replace(self, working=True)

    def succeeded(self, expiration: datetime | None,
                  issued: datetime | None = None) -> RoleState:
        """The same credentials handed out again keep the time they were obtained."""
        if self.held and expiration == self.expiration and self.issued is not None:
            issued = self.issued
        return replace(self, working=False, held=True, expiration=expiration, error=None,
                       issued=issued)

    def failed(self, failure: Failure) -> RoleState:
        return replace(self, working=False, error=failure)

    def forgotten(self) -> RoleState:
        return RoleState()


def status_of(state: RoleState | None, now: datetime,
              warn_before_minutes: tuple[float, ...]) -> Status:
    """Expiring from the role's first warning on (core/expiry.warn_points: never more than
    half its credentials' life), so a short session is not amber from its first second."""
    if state is None:
        return Status.IDLE
    if state.working:
        return Status.WORKING
    if state.error is not None:
        return Status.ERROR
    if not state.held:
        return Status.IDLE
    if state.expiration is None:
        return Status.FRESH
    left = (state.expiration - now).total_seconds()
    if left <= 0:
        return Status.EXPIRED
    first = max(warn_points(warn_before_minutes, state.life_seconds), default=0)
    if left <= 60.0 * first:
        return Status.EXPIRING
    return Status.FRESH


@dataclass(frozen=True)
class AppState:
    roles: tuple[Role, ...] = ()
    broken: tuple[Problem, ...] = ()  # roles that cannot be used, with why
    problems: tuple[Problem, ...] = ()  # everything else worth telling
    states: Mapping[str, RoleState] = field(default_factory=dict)
    active: str | None = None  # the last role used
    default_shell: str = "bash"
    warn_before_minutes: tuple[float, ...] = (15, 5)
    settings_path: str = ""
    loading: bool = False  # roles still being read at start-up
    # role -> the credentials-file section 'Write to credentials profile' uses
    write_targets: Mapping[str, str] = field(default_factory=dict)
    # role -> how it was last handed over from the tray: a shell's name, or WRITE
    handovers: Mapping[str, str] = field(default_factory=dict)
    # stored access key -> its age in days when older than key_warn_age_days, else None
    # (known once the tray has asked IAM: app/keycare.py)
    access_keys: Mapping[str, int | None] = field(default_factory=dict)
    # [sso-session NAME] -> when its cached IAM Identity Center token expires, None when
    # there is none (app/ssotray.py reads the cache at each reload and sign-in)
    sso_sessions: Mapping[str, datetime | None] = field(default_factory=dict)

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)

    def status(self, name: str, now: datetime) -> Status:
        return status_of(self.states.get(name), now, self.warn_before_minutes)

    def handover(self, name: str) -> str:
        """How ``name`` is handed over at a click on the icon or Refresh now: the way it was
        last (a shell's name, or WRITE), else the default shell."""
        return self.handovers.get(name) or self.default_shell
