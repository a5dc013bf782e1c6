"""The IAM Identity Center sign-in window: the code to compare with the browser's page.

Unlike the other dialogs it asks nothing: it is shown while a worker polls CreateToken
(app/ssotray.py) and closed by that worker through its ``SignInHandle`` when the sign-in
ends, or by the person with Cancel (which tells the worker to stop polling).
"""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from traycreds.tray.dialogs.widgets import (
    bind_return,
    buttons,
    finish,
    label,
    present,
    settle,
    window,
)

if TYPE_CHECKING:
    from traycreds.app.sso import SignInPrompt
    from traycreds.tray.dialogs.ui import Ui

SIGN_IN_TITLE = "traycreds: Sign in to IAM Identity Center"
WATCH_MS = 150


class SignInHandle:
    """What the worker holds: ``close()`` from any thread; the UI thread sees it soon."""

    def __init__(self) -> None:
        self._closed = threading.Event()

    def close(self) -> None:
        self._closed.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()


def _printable(text: str, limit: int) -> str:
    """Text from the service (hostile until checked): printable, bounded."""
    return "".join(c for c in text if c.isprintable())[:limit]


def _open(url: str) -> None:
    # Off the UI thread: a browser command may take its time to start.
    threading.Thread(target=webbrowser.open, args=(url,), kwargs={"new": 2},
                     name="traycreds-browser", daemon=True).start()


def sign_in_window(ui: Ui, future: Future[Any], prompt: SignInPrompt,
                   on_cancel: Callable[[], None], handle: SignInHandle) -> None:
    from tkinter import ttk

    if handle.closed:  # the sign-in ended before the UI thread got here
        settle(future)
        return

    def cancel() -> None:
        on_cancel()
        finish(ui, future, shown)

    shown, body = window(ui, future, SIGN_IN_TITLE, cancel)
    label(body, f"Sign in to IAM Identity Center: {_printable(prompt.session, 64)}", 0,
          "Heading.TLabel")
    label(body, "Your browser opens the sign-in page. Check that it shows this code, then "
                "approve it there. This window closes by itself when you have.", 1)
    code = ttk.Label(body, text=_printable(prompt.user_code, 20), font=ui.code)
    code.grid(row=2, column=0, columnspan=2, pady=(6, 10))
    label(body, _printable(prompt.verification_uri, 200), 3, "Note.TLabel")
    minutes = max(1, prompt.expires_in // 60)
    label(body, f"The code is valid for {minutes} minute(s).", 4, "Note.TLabel")
    url = prompt.verification_uri_complete or prompt.verification_uri
    again = buttons(body, 5, "Open the page again", lambda: _open(url), cancel)
    bind_return(shown, lambda: _open(url))

    def watch() -> None:
        if not shown.winfo_exists():
            return
        if handle.closed:
            finish(ui, future, shown)
            return
        shown.after(WATCH_MS, watch)

    shown.after(WATCH_MS, watch)
    present(shown, again)
