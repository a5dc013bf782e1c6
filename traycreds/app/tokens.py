"""Tokens for the tray's credentials endpoint: one per window or ``exec``, bound to one role.

Kept only in memory, and only as SHA-256 digests: a lookup by digest takes the same time
whatever the guess, and a memory dump of the registry holds nothing a client could send.
Forgetting a role (the menu's Forget, ``traycreds forget``) drops its tokens; quitting drops
them all, so a window left open gets a refusal instead of credentials.
"""

from __future__ import annotations

import hashlib
import secrets
import threading

from traycreds.core.errors import TraycredsError

MAX_TOKENS = 512  # live windows and exec children; a runaway loop stops here


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


class TokenRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._roles: dict[bytes, str] = {}

    def issue(self, role: str) -> str:
        """A new random token that answers for ``role`` only."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            if len(self._roles) >= MAX_TOKENS:
                raise TraycredsError(
                    f"The tray already serves {MAX_TOKENS} windows or exec commands. Forget "
                    "roles you no longer use (or quit the tray) to end their tokens.",
                    title="Too many credential tokens")
            self._roles[_digest(token)] = role
        return token

    def role_for(self, token: str) -> str | None:
        """The role ``token`` was issued for, or None (unknown, forgotten)."""
        with self._lock:
            return self._roles.get(_digest(token))

    def revoke(self, token: str) -> None:
        """End one token (a window that never opened)."""
        with self._lock:
            self._roles.pop(_digest(token), None)

    def forget(self, role: str) -> int:
        with self._lock:
            dropped = [key for key, bound in self._roles.items() if bound == role]
            for key in dropped:
                del self._roles[key]
        return len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._roles.clear()
