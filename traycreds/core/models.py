"""The things traycreds talks about, in the user's words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone


@dataclass(frozen=True)
class Credentials:
    """An AWS key pair, temporary when it has a session token and an expiration.

    Secrets are kept out of ``repr`` so that a stray log line or traceback
    cannot print them.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None

    def __post_init__(self) -> None:
        if self.expiration is not None and self.expiration.tzinfo is None:
            raise ValueError("Credentials.expiration must be timezone-aware (UTC)")

    def seconds_left(self, now: datetime) -> float | None:
        if self.expiration is None:
            return None
        return (self.expiration - now).total_seconds()


@dataclass(frozen=True)
class SsoTarget:
    """An IAM Identity Center role: which session (or legacy start URL) and which role."""

    session: str | None  # the [sso-session NAME]; None for a legacy sso_start_url profile
    start_url: str
    region: str  # sso_region: where the OIDC and portal endpoints are
    account_id: str
    role_name: str
    scopes: tuple[str, ...] = ()

    @property
    def login_name(self) -> str:
        """What ``traycreds login`` takes for it."""
        return self.session or self.start_url


@dataclass(frozen=True)
class Role:
    """An IAM role the user can assume, from ~/.aws/config or traycreds' settings.

    ``source`` names either another role (role chaining) or a source key: a
    long-term access key pair kept in the OS keyring under that name.
    """

    name: str
    role_arn: str
    source: str
    origin: str
    mfa_serial: str | None = None
    external_id: str | None = None
    session_name: str | None = None
    duration_seconds: int | None = None
    region: str | None = None
    sts_regional_endpoints: str | None = None
    endpoint_url: str | None = None
    # Presentation, from traycreds' settings only.
    label: str | None = None
    group: str | None = None
    colour: str | None = None
    order: int | None = None
    favourite: bool = False
    # Where traycreds writes this role's credentials (credentials-file section).
    profile: str | None = None
    # Refresh before expiry without asking (None: the app's rule; never behind MFA).
    auto_refresh: bool | None = None
    # IAM Identity Center: the role comes from GetRoleCredentials, not AssumeRole (a root).
    sso: SsoTarget | None = None

    @property
    def account(self) -> str:
        parts = self.role_arn.split(":")
        return parts[4] if len(parts) > 5 else ""

    @property
    def role_name(self) -> str:
        _, _, resource = self.role_arn.partition(":role/")
        return resource.rsplit("/", 1)[-1] if resource else self.role_arn

    @property
    def display_name(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Identity:
    """What GetCallerIdentity says about a set of credentials."""

    account: str
    arn: str
    user_id: str


@dataclass(frozen=True)
class Problem:
    """Something wrong in a file, with where it is and how to fix it."""

    path: str
    line: int | None
    message: str
    fix: str
    role: str | None = None

    def describe(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line else self.path
        return f"{where}: {self.message} {self.fix}".strip()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class MfaRequest:
    """The engine asks a front end for a code: the tray's dialog or the terminal."""

    role: str  # the role the user asked for
    serial: str  # the MFA device
    problem: str | None = None  # why the previous code was not taken
