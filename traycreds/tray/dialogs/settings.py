"""The Settings dialog: the [app] settings a person changes often, and start at login.

What each field accepts is core/settings' rule, the same the settings file follows: the
dialog shows whatever the file holds and saves only what the file reads back.
"""

from __future__ import annotations

import dataclasses
import sys
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from traycreds.core.errors import UsageError
from traycreds.core.settings import (
    MAX_CLEAR_SECONDS,
    AppSettings,
    format_minutes,
    parse_clear_seconds,
    parse_minutes,
)
from traycreds.core.shells import SHELLS, default_shell
from traycreds.tray.dialogs.widgets import (
    bind_return,
    buttons,
    cancelled,
    error_label,
    finish,
    label,
    present,
    show_error,
    window,
)

if TYPE_CHECKING:
    from tkinter import ttk

    from traycreds.tray.dialogs.ui import Ui

SETTINGS_TITLE = "traycreds: Settings"


def _row_label(body: ttk.Frame, text: str, row: int) -> None:
    from tkinter import ttk

    ttk.Label(body, text=text).grid(row=row, column=0, sticky="w", padx=(0, 12), pady=4)


def _with_note(field: ttk.Entry, note: str) -> None:
    """``field`` (made in a frame from ``_field_row``) with a grey note on its right."""
    from tkinter import ttk

    field.pack(side="left")
    ttk.Label(field.master, text=note, style="Note.TLabel").pack(side="left", padx=(8, 0))


def _field_row(body: ttk.Frame, row: int) -> ttk.Frame:
    from tkinter import ttk

    frame = ttk.Frame(body)
    frame.grid(row=row, column=1, sticky="w", pady=4)
    return frame


def _check(body: ttk.Frame, text: str, selected: bool, row: int,
           pady: tuple[int, int]) -> ttk.Checkbutton:
    """A ttk checkbutton keeps its state without a tkinter Variable (see the package notes)."""
    from tkinter import ttk

    button = ttk.Checkbutton(body, text=text)
    button.state(["!alternate", "selected" if selected else "!selected"])
    button.grid(row=row, column=0, columnspan=2, sticky="w", pady=pady)
    return button


def settings_dialog(ui: Ui, future: Future[Any], current: AppSettings) -> None:
    from tkinter import ttk

    def cancel() -> None:
        finish(ui, future, shown, exception=cancelled("Editing the settings"))

    shown, body = window(ui, future, SETTINGS_TITLE, cancel)
    label(body, "Settings", 0, "Heading.TLabel")

    shown_default = default_shell(sys.platform)
    _row_label(body, "Default shell", 1)
    shell = ttk.Combobox(body, values=SHELLS, state="readonly", width=14)
    shell.set(current.default_shell or shown_default)
    shell.grid(row=1, column=1, sticky="w", pady=4)

    _row_label(body, "Warn before expiry", 2)
    warn = ttk.Entry(_field_row(body, 2), width=12)
    warn.insert(0, format_minutes(current.warn_before_minutes))
    _with_note(warn, "minutes, e.g. 15, 5")

    _row_label(body, "Clear the clipboard after", 3)
    clear = ttk.Spinbox(_field_row(body, 3), from_=0, to=MAX_CLEAR_SECONDS, increment=5,
                        width=8)
    clear.set(str(current.clipboard_clear_seconds))
    _with_note(clear, "seconds (0 never)")

    auto = _check(body, "Refresh credentials before they expire", current.auto_refresh, 4,
                  (8, 2))
    clean = _check(body, "Remove expired profiles from ~/.aws/credentials",
                   current.clean_expired, 5, (2, 2))
    login = _check(body, "Start traycreds when I log in", current.start_at_login, 6, (2, 2))
    error = error_label(body, 7, wrap=400)

    def submit() -> None:
        try:
            warn_minutes = parse_minutes(warn.get())
        except UsageError as exc:
            show_error(error, exc.message)
            warn.focus_set()
            return
        try:
            clear_seconds = parse_clear_seconds(clear.get())
        except UsageError as exc:
            show_error(error, exc.message)
            clear.focus_set()
            return
        chosen = shell.get()
        # Unchanged platform default stays None, so the settings file stays portable.
        shell_setting = None if current.default_shell is None and chosen == shown_default \
            else chosen
        finish(ui, future, shown, result=dataclasses.replace(
            current,
            default_shell=shell_setting,
            warn_before_minutes=warn_minutes,
            clipboard_clear_seconds=clear_seconds,
            auto_refresh=auto.instate(["selected"]),
            clean_expired=clean.instate(["selected"]),
            start_at_login=login.instate(["selected"]),
        ))

    buttons(body, 8, "Save", submit, cancel)
    bind_return(shown, submit)
    present(shown, shell)
