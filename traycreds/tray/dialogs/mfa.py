"""The MFA code dialog: six digits, typed or pasted, for one role's MFA device."""

from __future__ import annotations

import re
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from traycreds.core.models import MfaRequest
from traycreds.tray.dialogs.widgets import (
    bind_return,
    buttons,
    cancelled,
    finish,
    label,
    present,
    window,
)

if TYPE_CHECKING:
    from traycreds.tray.dialogs.ui import Ui

MFA_TITLE = "traycreds: MFA code"
_CODE = re.compile(r"[0-9]{0,6}")


def mfa_dialog(ui: Ui, future: Future[Any], request: MfaRequest) -> None:
    from tkinter import ttk

    def cancel() -> None:
        finish(ui, future, shown, exception=cancelled("Entering the MFA code"))

    shown, body = window(ui, future, MFA_TITLE, cancel)
    label(body, f"MFA code for {request.role}", 0, "Heading.TLabel")
    label(body, "Type the 6-digit code your authenticator app shows.", 1)
    label(body, f"Device: {request.serial}", 2, "Note.TLabel")
    row = 3
    if request.problem:
        label(body, request.problem, row, "Error.TLabel")
        row += 1

    def allowed(proposed: str) -> bool:
        ok.state(["!disabled"] if len(proposed) == 6 else ["disabled"])
        return True

    def check(proposed: str) -> bool:
        if _CODE.fullmatch(proposed) is None:
            shown.bell()
            return False
        return allowed(proposed)

    entry = ttk.Entry(body, width=10, justify="center", font=ui.code,
                      validate="key",
                      validatecommand=(shown.register(check), "%P"))
    entry.grid(row=row, column=0, columnspan=2, pady=(6, 0))

    def paste(_event: Any) -> str:
        # Authenticators copy "123 456": keep the digits.
        try:
            pasted = shown.clipboard_get()
        except Exception:
            return "break"
        digits = "".join(c for c in pasted if c.isascii() and c.isdigit())
        entry.delete(0, "end")
        entry.insert(0, digits[:6])
        return "break"

    def submit() -> None:
        code = entry.get()
        if len(code) == 6:
            finish(ui, future, shown, result=code)

    entry.bind("<<Paste>>", paste)
    ok = buttons(body, row + 1, "OK", submit, cancel)
    ok.state(["disabled"])
    bind_return(shown, submit)
    present(shown, entry)
