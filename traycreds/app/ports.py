"""What the app service needs from a front end, as small interfaces."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from traycreds.core.keys import NewKey
from traycreds.core.models import MfaRequest
from traycreds.core.settings import AppSettings

if TYPE_CHECKING:
    from traycreds.app.sso import SignInPrompt


class SignInWindow(Protocol):
    def close(self) -> None:
        """Close the sign-in window if it is still open (any thread; returns at once)."""
        ...


class Dialogs(Protocol):
    """Blocking questions, asked from worker threads; the UI runs them on its own thread."""

    def ask_mfa(self, request: MfaRequest) -> str:
        """Six digits, or raises CancelledError."""
        ...

    def ask_new_key(self, problem: str | None = None, source: str = "", *,
                    typed: NewKey | None = None, offline: bool = False) -> NewKey | None:
        """The key to add (shapes checked), or None when cancelled. ``typed``: what the
        check refused, to show again; ``offline``: also offer to save it unchecked."""
        ...

    def ask_settings(self, current: AppSettings) -> AppSettings | None:
        """Edited settings, or None when cancelled."""
        ...

    def confirm(self, heading: str, text: str, ok_text: str) -> bool:
        """True when the person agrees (the ``ok_text`` button); False when they decline."""
        ...

    def show_about(self, text: str) -> None: ...

    def show_sign_in(self, prompt: SignInPrompt, on_cancel: Callable[[], None]
                     ) -> SignInWindow:
        """Show the IAM Identity Center code while the device flow polls; returns at once.
        ``on_cancel`` is called (on the UI thread) when the person cancels."""
        ...


class Notifier(Protocol):
    def notify(self, title: str, message: str) -> None: ...
