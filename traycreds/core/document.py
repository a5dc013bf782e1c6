"""The one typed credentials document every front end receives, from whichever provider.

A role's (or a source key's) credentials with what rendering them needs: the region, notes
for the person (a shortened duration, say) and the default shell of the settings in force
where they were issued. The channel carries it as JSON (channel/protocol.py encodes and
decodes it); the engine's provider builds it in-process (app/provider.py).

Plain slotted classes, no dataclasses: the fast path (cli/fast.py) imports this module and
``dataclasses`` alone costs it several milliseconds.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's import costs the fast path; mypy treats this name as true
if TYPE_CHECKING:
    from traycreds.core.models import Credentials


class IssuedCredentials:
    """Checked credentials (core/shells.check_shapes held) and how to present them."""

    __slots__ = ("chained", "credentials", "default_shell", "notes", "region")

    def __init__(self, credentials: Credentials, region: str | None = None,
                 notes: tuple[str, ...] = (), default_shell: str | None = None,
                 chained: bool = False) -> None:
        self.credentials, self.region = credentials, region
        self.notes, self.default_shell = notes, default_shell
        # A role reached through another role: AWS caps its sessions (console too) at 1 hour.
        self.chained = chained

    def __repr__(self) -> str:  # the credentials' own repr keeps secrets out
        return (f"IssuedCredentials({self.credentials!r}, region={self.region!r}, "
                f"notes={self.notes!r}, default_shell={self.default_shell!r}, "
                f"chained={self.chained!r})")


class Rendered:
    """Credentials turned into output for one shell (or credential_process JSON)."""

    __slots__ = ("issued", "shell", "text")

    def __init__(self, text: str, shell: str, issued: IssuedCredentials) -> None:
        self.text, self.shell, self.issued = text, shell, issued

