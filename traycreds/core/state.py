"""What the app knows about each role, as plain data the front ends render."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum

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

    def started(self) -> RoleState:
        return replace(self, working=True)

    def succeeded(self, expiration: datetime | None) -> RoleState:
        return replace(self, working=False, held=True, expiration=expiration, error=None)

    def failed(self, failure: Failure) -> RoleState:
        return replace(self, working=False, error=failure)

    def forgotten(self) -> RoleState:
        return RoleState()


def status_of(state: RoleState | None, now: datetime, warn_seconds: float) -> Status:
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
    if left <= warn_seconds:
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

    @property
    def warn_seconds(self) -> float:
        return 60.0 * max(self.warn_before_minutes, default=0)

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)

    def status(self, name: str, now: datetime) -> Status:
        return status_of(self.states.get(name), now, self.warn_seconds)
