"""What stands at the root of a role's chain: the credentials the first AssumeRole signs with.

Today that is a long-term access key in the OS keyring; IAM Identity Center's session is the
next kind. Each kind says how it fetches its credentials and how long the engine may keep
them: a stored key until it changes (``forget_source``), a session's credentials while they
have more than the refresh window left. aws-vault picks a provider per profile the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from traycreds.core.models import Credentials, Role, SsoTarget


class KeyPort(Protocol):
    def get(self, source: str) -> Credentials: ...


class Source(Protocol):
    name: str

    def fetch(self) -> Credentials:
        """The credentials now (may prompt, may call a service)."""
        ...

    def describe(self, creds: Credentials) -> str:
        """Who is calling, for messages ("access key AKIA... ('work')"): never a secret."""
        ...


class StoredKey:
    """A long-term access key kept in the OS keyring under ``name``."""

    def __init__(self, name: str, keys: KeyPort) -> None:
        self.name, self._keys = name, keys

    def fetch(self) -> Credentials:
        return self._keys.get(self.name)

    def describe(self, creds: Credentials) -> str:
        return f"access key {creds.access_key_id} ({self.name!r})"


# Which Source a chain's root names; the engine asks it once per source name.
SourceChooser = Callable[[str], Source]


def stored_keys(keys: KeyPort) -> SourceChooser:
    """Every root is a stored key (the one kind there is today)."""
    return lambda name: StoredKey(name, keys)


class SsoPort(Protocol):
    def role_credentials(self, target: SsoTarget) -> Credentials: ...


class SsoRole:
    """An IAM Identity Center role: GetRoleCredentials with the session's cached token.

    Its credentials are role credentials that expire; the engine holds them while they have
    more than the refresh window left, then fetches again (the token is refreshed as needed).
    """

    def __init__(self, name: str, target: SsoTarget, sso: SsoPort) -> None:
        self.name, self.target, self._sso = name, target, sso

    def fetch(self) -> Credentials:
        return self._sso.role_credentials(self.target)

    def describe(self, creds: Credentials) -> str:
        return (f"IAM Identity Center role {self.target.role_name} in "
                f"{self.target.account_id} ({self.name!r})")


def by_profile(roles: Mapping[str, Role], keys: KeyPort, sso: SsoPort) -> SourceChooser:
    """An SSO profile's root is its SsoRole; every other root is a stored key."""
    def choose(name: str) -> Source:
        role = roles.get(name)
        if role is not None and role.sso is not None:
            return SsoRole(name, role.sso, sso)
        return StoredKey(name, keys)
    return choose
