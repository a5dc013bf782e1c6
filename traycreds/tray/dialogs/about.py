"""The About window: nobody waits for it, and a second one replaces the first."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from traycreds.tray.dialogs.widgets import label, present, settle, window

if TYPE_CHECKING:
    from traycreds.tray.dialogs.ui import Ui

ABOUT_TITLE = "traycreds: About"


def about_window(ui: Ui, future: Future[Any], text: str) -> None:
    from tkinter import ttk

    settle(future, None)  # nobody waits for About
    if ui.about is not None and ui.about.winfo_exists():
        ui.about.destroy()

    def close() -> None:
        ui.about = None
        shown.destroy()

    shown, body = window(ui, None, ABOUT_TITLE, close)
    ui.about = shown
    label(body, "traycreds", 0, "Heading.TLabel")
    label(body, text, 1, wrap=440)
    close_button = ttk.Button(body, text="Close", command=close, default="active")
    close_button.grid(row=2, column=0, columnspan=2, sticky="e", pady=(12, 0))
    shown.bind("<Return>", lambda _event: close())
    present(shown, close_button)
