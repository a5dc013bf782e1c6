"""A yes-or-no question before something the person should mean (rotating an access key)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from traycreds.tray.dialogs.widgets import bind_return, buttons, finish, label, present, window

if TYPE_CHECKING:
    from traycreds.tray.dialogs.ui import Ui

CONFIRM_TITLE = "traycreds: Confirm"


def confirm_dialog(ui: Ui, future: Future[Any], heading: str, text: str, ok_text: str) -> None:
    """Settles ``future`` with True (the OK button or Return) or False (Cancel, Escape or
    closing the window): declining is an answer, not a failure."""

    def cancel() -> None:
        finish(ui, future, shown, result=False)

    def accept() -> None:
        finish(ui, future, shown, result=True)

    shown, body = window(ui, future, CONFIRM_TITLE, cancel)
    label(body, heading, 0, "Heading.TLabel")
    label(body, text, 1, wrap=440)
    ok = buttons(body, 2, ok_text, accept, cancel)
    bind_return(shown, accept)
    present(shown, ok)
