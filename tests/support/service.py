"""Stand-ins for the person at the keyboard when a test drives the tray's AppService directly:
the Dialogs port (nobody answers unless a subclass scripts it) and the Notifier port
(recorded). The real Tk dialogs are driven with xdotool in test_dialogs.py and
test_tray_e2e.py; real notifications are read over D-Bus (tests/support NotificationLog)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from traycreds.core.keys import NewKey
from traycreds.core.models import MfaRequest
from traycreds.core.settings import AppSettings

if TYPE_CHECKING:
    from traycreds.app.sso import SignInPrompt


class ClosedWindow:
    """The sign-in window a QuietDialogs shows: it records being closed."""

    closed = False

    def close(self) -> None:
        self.closed = True


class QuietDialogs:
    """Every question cancelled; an MFA prompt fails the test (subclasses script answers)."""

    def ask_mfa(self, request: MfaRequest) -> str:
        raise AssertionError(f"unexpected MFA prompt for {request.role}")

    def ask_new_key(self, problem: str | None = None, source: str = "", *,
                    typed: NewKey | None = None, offline: bool = False) -> NewKey | None:
        return None

    def ask_settings(self, current: AppSettings) -> AppSettings | None:
        return None

    agree = False  # the answer to confirm(); a subclass or a test sets it
    confirmed: list[str] | None = None  # the headings asked, once a test wants them kept

    def confirm(self, heading: str, text: str, ok_text: str) -> bool:
        if self.confirmed is not None:
            self.confirmed.append(heading)
        return self.agree

    def show_about(self, text: str) -> None:
        pass

    def show_sign_in(self, prompt: SignInPrompt, on_cancel: Callable[[], None]
                     ) -> ClosedWindow:
        """Nobody looks; a subclass approves, denies or cancels."""
        return ClosedWindow()


class RecordedNotes:
    """The Notifier port, keeping (title, message) of each notification in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def notify(self, title: str, message: str) -> None:
        self.sent.append((title, message))
