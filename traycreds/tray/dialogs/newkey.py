"""The Add access key dialog: a key's name, id and secret, checked before they leave it.

The secret is masked, kept out of the X selection and out of every message.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from traycreds.core.errors import UsageError
from traycreds.core.keys import NewKey, check_key_pair, check_source_name
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

NEW_KEY_TITLE = "traycreds: Add access key"


def _first_bad_field(name: str, key_id: str, secret: str) -> int:
    """Which field (0 name, 1 key id, 2 secret) the first complaint is about."""
    try:
        check_source_name(name)
    except UsageError:
        return 0
    try:
        check_key_pair(key_id, "A" * 40)  # a well-formed stand-in: is the id itself wrong?
    except UsageError:
        return 1
    return 2


def _fields(body: ttk.Frame, row: int, source: str, typed: NewKey | None
            ) -> list[ttk.Entry]:
    """Name (prefilled), key id and the masked secret, one a row from ``row``; what was
    typed before (a key the check refused) comes back in them, so nothing is typed twice."""
    from tkinter import ttk

    fields: list[ttk.Entry] = []
    for offset, (text, value, masked) in enumerate((
        ("Key name", typed.source if typed else source or "default", False),
        ("Access key ID", typed.key_id if typed else "", False),
        ("Secret access key", typed.secret if typed else "", True),
    )):
        ttk.Label(body, text=text).grid(row=row + offset, column=0, sticky="w",
                                        padx=(0, 12), pady=3)
        entry = ttk.Entry(body, width=44)
        if masked:
            entry.configure(show="•", exportselection=False)
        entry.insert(0, value)
        entry.grid(row=row + offset, column=1, sticky="we", pady=3)
        fields.append(entry)
    return fields


def new_key_dialog(ui: Ui, future: Future[Any], problem: str | None, source: str,
                   typed: NewKey | None = None, offline: bool = False) -> None:
    """``typed``: the key the check refused, shown again; ``offline``: STS could not be
    reached, so "Save without checking" is offered too."""
    def cancel() -> None:
        finish(ui, future, shown, exception=cancelled("Adding an access key"))

    shown, body = window(ui, future, NEW_KEY_TITLE, cancel)
    label(body, "Add a long-term access key", 0, "Heading.TLabel")
    row = 1
    if problem:
        label(body, problem, row, "Error.TLabel", wrap=420)
        row += 1
    label(body, "It is stored in the system keyring, never in a file. Roles use it by its "
                "name (their source_profile).", row, "Note.TLabel", wrap=420)
    row += 1
    fields = _fields(body, row, source, typed)
    name_entry, id_entry, secret_entry = fields
    row += len(fields)
    error = error_label(body, row, wrap=420)

    def submit(verify: bool = True) -> None:
        name, key_id, secret = (field.get().strip() for field in fields)
        try:
            check_source_name(name)
            key_id, secret = check_key_pair(key_id, secret)
        except UsageError as exc:
            show_error(error, exc.message)  # messages never carry the secret
            bad = fields[_first_bad_field(name, key_id, secret)]
            bad.focus_set()
            bad.select_range(0, "end")
            return
        secret_entry.delete(0, "end")
        finish(ui, future, shown,
               result=NewKey(source=name, key_id=key_id, secret=secret, verify=verify))

    ok = buttons(body, row + 1, "Add key", submit, cancel)
    if offline:
        _unchecked_button(ok, lambda: submit(verify=False))
    bind_return(shown, submit)
    name_entry.select_range(0, "end")
    present(shown, id_entry if source or typed else name_entry)


def _unchecked_button(ok: ttk.Button, save: Callable[[], None]) -> None:
    """ "Save without checking" beside "Add key" (Alt+S): for when STS cannot be reached."""
    from tkinter import ttk

    ttk.Button(ok.master, text="Save without checking", command=save, underline=0).pack(
        side="right", padx=(0, 8))
    ok.winfo_toplevel().bind("<Alt-s>", lambda _event: save())
