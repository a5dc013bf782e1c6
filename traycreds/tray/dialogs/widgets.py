"""What every dialog is built from: a window, its labels, buttons and inline error, and the
way a window ends its question. UI thread only (see the package's notes); tkinter is imported
inside each function, so importing this module costs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from traycreds.core.errors import CancelledError

if TYPE_CHECKING:
    import tkinter as tk
    from tkinter import ttk

    from traycreds.tray.dialogs.ui import Ui

log = logging.getLogger(__name__)

ERROR_COLOUR = "#b00020"


def settle(future: Future[Any], result: Any = None,
           exception: BaseException | None = None) -> None:
    """Answer ``future`` unless it has its answer already."""
    if future.done():
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


def cancelled(what: str) -> CancelledError:
    return CancelledError(f"{what} was cancelled.")


def window_icon(root: tk.Tk) -> tk.PhotoImage | None:
    """Give every window the tray's icon (Tk 8.6 reads PNG); without it, windows still work."""
    import base64
    import io
    import tkinter as tk

    try:
        from traycreds.core.state import Status
        from traycreds.tray.icon import draw_icon

        buffer = io.BytesIO()
        draw_icon(Status.FRESH, 64).save(buffer, format="PNG")
        icon = tk.PhotoImage(master=root, data=base64.b64encode(buffer.getvalue()))
        root.iconphoto(True, icon)
        return icon
    except Exception as exc:
        log.debug("no window icon: %s", exc)
        return None


def on_return(submit: Callable[[], None]) -> Callable[[Any], None]:
    """Enter presses the focused button, else the default one."""
    from tkinter import ttk

    def handler(event: Any) -> None:
        if isinstance(event.widget, ttk.Button):
            event.widget.invoke()
        else:
            submit()

    return handler


def bind_return(window: tk.Toplevel, submit: Callable[[], None]) -> None:
    """Enter, on either key, as ``on_return``."""
    window.bind("<Return>", on_return(submit))
    window.bind("<KP_Enter>", on_return(submit))


def window(ui: Ui, future: Future[Any] | None, title: str, on_cancel: Callable[[], None],
           ) -> tuple[tk.Toplevel, ttk.Frame]:
    """A dialog window with a padded body; closing it or Escape calls ``on_cancel``."""
    import tkinter as tk
    from tkinter import ttk

    made = tk.Toplevel(ui.root, class_="TraycredsDialog")
    made.withdraw()  # placed and shown by present once its size is known
    made.title(title)
    made.resizable(False, False)
    if ui.x11:
        made.attributes("-type", "dialog")
    made.protocol("WM_DELETE_WINDOW", on_cancel)
    made.bind("<Escape>", lambda _event: on_cancel())
    body = ttk.Frame(made, padding=(20, 16, 20, 14))
    body.pack(fill="both", expand=True)
    if future is not None:
        ui.open[future] = made
    return made, body


def present(shown: tk.Toplevel, focus: tk.Widget) -> None:
    """Centre the window on the screen, show it in front and give ``focus`` the keyboard.

    A tray app has no window of its own in front, so the dialog must take focus itself:
    focus_force, not focus_set (which waits for the window manager to focus us; with no
    window manager, as under Xvfb, that never happens and typing goes nowhere). Later
    attempts restore the widget last focused in this window, never the first one, so a
    person who already tabbed on keeps their place.
    """
    shown.update_idletasks()
    width, height = shown.winfo_reqwidth(), shown.winfo_reqheight()
    x = max(0, (shown.winfo_screenwidth() - width) // 2)
    y = max(0, (shown.winfo_screenheight() - height) // 3)
    shown.geometry(f"+{x}+{y}")

    def take_focus() -> None:
        if not shown.winfo_exists() or shown.focus_get() is not None:
            return  # gone, or this app has the keyboard already
        last = shown.focus_lastfor()
        (focus if last is None or last is shown else last).focus_force()

    shown.bind("<Map>", lambda event: take_focus() if event.widget is shown else None,
               add="+")
    shown.deiconify()
    shown.lift()
    shown.attributes("-topmost", True)
    # A window manager may map us before the binding or refuse the first request.
    shown.after(200, take_focus)


def finish(ui: Ui, future: Future[Any], done: tk.Toplevel, result: Any = None,
           exception: BaseException | None = None) -> None:
    """Close the question's window and give its asker the answer (or the exception)."""
    ui.open.pop(future, None)
    done.destroy()
    settle(future, result, exception)


def buttons(body: ttk.Frame, row: int, ok_text: str, on_ok: Callable[[], None],
            on_cancel: Callable[[], None]) -> ttk.Button:
    from tkinter import ttk

    bar = ttk.Frame(body)
    bar.grid(row=row, column=0, columnspan=2, sticky="e", pady=(14, 0))
    ttk.Button(bar, text="Cancel", command=on_cancel).pack(side="right")
    ok = ttk.Button(bar, text=ok_text, command=on_ok, default="active")
    ok.pack(side="right", padx=(0, 8))
    return ok


def label(body: ttk.Frame, text: str, row: int, style: str = "TLabel",
          wrap: int = 380) -> ttk.Label:
    from tkinter import ttk

    made = ttk.Label(body, text=text, style=style, wraplength=wrap, justify="left")
    made.grid(row=row, column=0, columnspan=2, sticky="w", pady=(0, 6))
    return made


def error_label(body: ttk.Frame, row: int, wrap: int) -> ttk.Label:
    """The inline error of a form: takes no room until there is something to say."""
    from tkinter import ttk

    made = ttk.Label(body, text="", style="Error.TLabel", wraplength=wrap, justify="left")
    made.grid(row=row, column=0, columnspan=2, sticky="w", pady=(8, 0))
    made.grid_remove()
    return made


def show_error(shown_in: ttk.Label, message: str) -> None:
    shown_in.configure(text=message)
    shown_in.grid()
    shown_in.bell()
