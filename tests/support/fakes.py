"""The only fakes in the suite: stand-ins for Windows APIs that cannot run on Linux.

Each records the calls made to it, so tests check what traycreds asks of the real API.
"""

from __future__ import annotations

from typing import Any


class WinVaultKeyring:
    """Shaped like keyring.backends.Windows.WinVaultKeyring: a ``persist`` setting and
    Credential Manager's blob limit (2560 bytes, the value stored as UTF-16)."""

    persist: Any = "enterprise"  # keyring's default: roams with the user's profile

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.store: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append(("set_password", service, username, str(self.persist)))
        if len(password.encode("utf-16-le")) > 2560:
            raise OSError(1783, "The stub received bad data.")
        self.store[(service, username)] = password

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append(("get_password", service, username))
        return self.store.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append(("delete_password", service, username))
        self.store.pop((service, username))
