"""Handing a role's credentials over from the tray: copied for a shell or written to a
profile, remembered as the way to do it again, and said in a notification."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from traycreds.adapters import paths
from traycreds.core import shells
from traycreds.core.text import local_time

if TYPE_CHECKING:
    from traycreds.app.clipboard import TrayClipboard
    from traycreds.app.context import Context
    from traycreds.app.engine import Issued
    from traycreds.app.expiry import ExpiryWatch
    from traycreds.app.ports import Notifier
    from traycreds.app.remembered import Remembered
    from traycreds.core.state import AppState


class HandOver:
    def __init__(self, *, issue: Callable[..., Issued], state: Callable[[], AppState],
                 context: Callable[[], Context], notifier: Notifier, clipboard: TrayClipboard,
                 remembered: Remembered, expiry: ExpiryWatch) -> None:
        self._issue, self._state, self._context = issue, state, context
        self._notifier, self._clipboard = notifier, clipboard
        self._remembered, self._expiry = remembered, expiry

    def again(self, role: str, *, fresh: bool = False) -> None:
        """Hand ``role`` over the way it was last (else to the default shell)."""
        kind = self._state().handover(role)
        if kind == shells.WRITE:
            self.write(role, fresh=fresh)
        else:
            self.copy(role, kind, fresh=fresh)

    def copy(self, role: str, shell: str | None, *, fresh: bool = False) -> None:
        state = self._state()
        chosen = shells.normalize_shell(shell or state.handover(role))
        if chosen == shells.WRITE:  # a remembered write, reached through copy(role)
            chosen = shells.normalize_shell(state.default_shell)
        issued = self._issue(role, fresh=fresh)
        text = shells.render(chosen, issued.credentials, issued.region)
        self._clipboard.copy(role, text, self._context().settings.app.clipboard_clear_seconds)
        self._remembered.remember(role, chosen)
        done = "refreshed and copied again" if fresh else "copied"
        self._notifier.notify(
            f"{issued.role.display_name} {done} for {shells.SHELL_TITLES[chosen]}",
            f"Paste it into your shell. Expires {local_time(issued.credentials.expiration)}."
            + "".join(f" {note}" for note in issued.notes))

    def write(self, role: str, *, fresh: bool = False) -> None:
        from traycreds.app import profiles

        # The name first: one the AWS tools would ignore is refused before any STS call.
        name = profiles.profile_for(self._context().catalog.get(role))
        issued = self._issue(role, fresh=fresh)
        name, _, note = profiles.write_profile(issued.role, issued.credentials, profile=name)
        self._expiry.wrote(role, name, issued.credentials.expiration)
        self._remembered.remember(role, shells.WRITE)
        done = "refreshed and written again" if fresh else "written"
        self._notifier.notify(
            f"{issued.role.display_name} {done} to [{name}]",
            f"{paths.aws_credentials_file()} now holds it until "
            f"{local_time(issued.credentials.expiration)}. Use: "
            f"{profiles.aws_command(name, issued.role.region)}"
            + (f" {note}" if note else ""))
