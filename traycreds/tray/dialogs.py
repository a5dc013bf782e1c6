"""The tray's dialogs (the Dialogs port): tkinter windows asked for from worker threads.

Tk is not thread-safe, so one UI thread owns it: it creates ``tkinter.Tk()`` (withdrawn, never
shown), polls a queue every 50 ms and builds each requested window. A worker posts a request
and blocks on a Future until the person answers. ``stop()`` ends the UI thread; every question
still open or queued then raises CancelledError in its caller.

tkinter is imported only inside the UI thread, so importing this module costs nothing and a
Python without Tk fails only when a dialog is asked for.

Every Tk object is made, used and freed on the UI thread. Freeing the Tcl interpreter (with the
last widget, font or image that refers to it) on another thread aborts the whole process
("Tcl_AsyncDelete: async handler deleted by the wrong thread"). So the windows use no tkinter
Variable objects (those run Tcl calls from ``__del__``), and no exception leaves the UI thread
with its traceback: a traceback keeps the frames, and so the widgets, alive in whichever thread
(or log record) holds it. Errors are logged as text and handed on with their tracebacks cleared
(``_detach``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import queue
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from traycreds.core.errors import CancelledError, TraycredsError, UsageError
from traycreds.core.keys import NewKey, check_key_pair, check_source_name
from traycreds.core.models import MfaRequest
from traycreds.core.settings import AppSettings
from traycreds.core.shells import SHELLS

if TYPE_CHECKING:
    import tkinter as tk
    from tkinter import ttk

    from traycreds.app.ports import Dialogs

log = logging.getLogger(__name__)

T = TypeVar("T")
POLL_MS = 50
# With no window open for this long the UI thread ends (Tk and its 50 ms poll with it), so
# an idle tray does not wake 20 times a second; the next question starts a fresh one.
IDLE_EXIT_S = 10.0
MFA_TITLE = "traycreds: MFA code"
NEW_KEY_TITLE = "traycreds: Add access key"
SETTINGS_TITLE = "traycreds: Settings"
ABOUT_TITLE = "traycreds: About"
ERROR_COLOUR = "#b00020"
_CODE = re.compile(r"[0-9]{0,6}")
_SEPARATORS = re.compile(r"[\s,;]+")
_NUMBER = re.compile(r"[0-9]{1,5}(\.[0-9]{1,3})?")
_MAX_WARN_MINUTES = 24 * 60
_MAX_CLEAR_SECONDS = 3600


class DialogsUnavailableError(TraycredsError):
    title = "Cannot open a window"


def platform_shell() -> str:
    """The shell a ``default_shell`` of None stands for."""
    return "cmd" if sys.platform == "win32" else "bash"


def parse_minutes(text: str) -> tuple[float, ...]:
    """'15, 5' -> (15, 5): minutes above 0 (0.5 is fine), largest first, no duplicates.

    The same rule as warn_before_minutes in the settings file; '' means no warnings.
    """
    values: set[float] = set()
    for part in _SEPARATORS.split(text.strip()):
        if not part:
            continue
        if _NUMBER.fullmatch(part) is None or not 0 < float(part) <= _MAX_WARN_MINUTES:
            raise UsageError(f"Warnings: {part!r} is not a number of minutes above 0 (at most "
                             f"{_MAX_WARN_MINUTES}). Write them like: 15, 5")
        minutes = float(part)
        values.add(int(minutes) if minutes.is_integer() else minutes)
    return tuple(sorted(values, reverse=True))


def format_minutes(minutes: tuple[float, ...]) -> str:
    return ", ".join(f"{m:g}" for m in minutes)


def parse_clear_seconds(text: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > _MAX_CLEAR_SECONDS:
        raise UsageError(f"Clear the clipboard after: use whole seconds from 0 to "
                         f"{_MAX_CLEAR_SECONDS} (0 never clears).")
    return int(text)


# --- the UI thread ---------------------------------------------------------------------------

Build = Callable[["_Ui", "Future[Any]"], None]


@dataclass
class _Request:
    build: Build
    future: Future[Any]


class _Session:
    """One UI thread's life: its queue, and whether it still takes requests."""

    def __init__(self) -> None:
        self.requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self.closed = False  # set, under TkDialogs._lock, once the thread takes no more requests
        self.ready = threading.Event()
        self.thread: threading.Thread | None = None
        self.idle_since: float | None = None  # monotonic time the last window closed


class _Ui:
    """What the UI thread holds; only that thread touches it (Tcl objects die with it)."""

    def __init__(self) -> None:
        import tkinter as tk

        self.root = tk.Tk(className="traycreds")
        try:
            self._set_up()
        except BaseException:
            with contextlib.suppress(Exception):  # freed here, not by whoever drops it last
                self.root.destroy()
            raise

    def _set_up(self) -> None:
        from tkinter import font, ttk

        self.root.withdraw()
        self.root.report_callback_exception = _log_callback_error
        self.x11 = self.root.tk.call("tk", "windowingsystem") == "x11"
        style = ttk.Style(self.root)
        if self.x11 and "clam" in style.theme_names():
            style.theme_use("clam")  # X11's "default" theme looks dated
        base = font.nametofont("TkDefaultFont", self.root)
        size = int(base.cget("size"))
        if self.x11 and abs(size) < 10:  # Tk's X11 default (9 pt) is small for a dialog
            size = 10 if size > 0 else -13
            for name in ("TkDefaultFont", "TkTextFont", "TkMenuFont"):
                font.nametofont(name, self.root).configure(size=size)
        # Fonts made here are deleted when their Python object is: keep them on self.
        self.heading = base.copy()
        self.heading.configure(weight="bold", size=size + (1 if size > 0 else -2))
        self.code = font.nametofont("TkFixedFont", self.root).copy()
        self.code.configure(size=16 if size > 0 else -21)
        style.configure("Heading.TLabel", font=self.heading)
        style.configure("Error.TLabel", foreground=ERROR_COLOUR)
        style.configure("Note.TLabel", foreground="#555555")
        self.open: dict[Future[Any], tk.Toplevel] = {}  # windows someone waits for
        self.about: tk.Toplevel | None = None
        self.icon: tk.PhotoImage | None = _window_icon(self.root)

    def close(self) -> None:
        for future in list(self.open):
            _settle(future, exception=_cancelled("The question"))
        self.open.clear()
        self.about = None
        with contextlib.suppress(Exception):  # already gone
            self.root.destroy()


def _log_callback_error(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    # As text: a record holding exc_info would keep this thread's widgets alive (see above).
    text = "".join(traceback.format_exception(kind, value, tb)).rstrip()
    _detach(value)
    log.error("error in a dialog\n%s", text)


def _detach(exc: BaseException) -> BaseException:
    """Clear the tracebacks of ``exc`` and its chain, on the UI thread, so that no frame of
    that thread (nor the Tk objects in it) is released elsewhere; returns ``exc``."""
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)  # a running frame is left alone
            current.__traceback__ = None
        pending += [current.__cause__, current.__context__]
    return exc


def _cancelled(what: str) -> CancelledError:
    return CancelledError(f"{what} was cancelled.")


class TkDialogs:
    """Dialogs for the tray: call from any thread except the UI thread; each call blocks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: _Session | None = None

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the UI thread (done on first use); waits until Tk is up or failed."""
        with self._lock:
            session = self._live_session()
        session.ready.wait()

    def stop(self, timeout: float = 5.0) -> None:
        """Close every window, cancel every open question and end the UI thread."""
        with self._lock:
            session, self._session = self._session, None
        if session is None:
            return
        session.stopping.set()
        if session.thread is not None and session.thread is not threading.current_thread():
            session.thread.join(timeout)

    def _live_session(self) -> _Session:
        # Caller holds self._lock.
        session = self._session
        if session is None or session.closed:
            session = _Session()
            session.thread = threading.Thread(target=self._run, args=(session,),
                                              name="traycreds-dialogs", daemon=True)
            self._session = session
            session.thread.start()
        return session

    def _submit(self, build: Build) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            session = self._live_session()
            if session.thread is threading.current_thread():
                raise RuntimeError("TkDialogs are asked from worker threads, not the UI thread")
            session.requests.put(_Request(build, future))
        return future

    def _ask(self, build: Build) -> Any:
        return self._submit(build).result()

    def _run(self, session: _Session) -> None:
        try:
            ui = _Ui()
        except Exception as exc:  # no display, no Tk: every request gets the reason
            reason = str(_detach(exc))  # a half-made Tk is freed here, on this thread
            log.warning("cannot start Tk: %s", reason)
            self._close(session, DialogsUnavailableError(
                f"traycreds cannot open a window ({reason}). Is a desktop session running?"))
            return
        finally:
            session.ready.set()
        try:
            ui.root.after(POLL_MS, self._poll, session, ui)
            ui.root.mainloop()
        finally:
            ui.close()
            self._close(session, _cancelled("The question"))
            # Tcl objects must be freed by the thread that made them, so collect them here.
            del ui
            gc.collect()

    def _close(self, session: _Session, failure: TraycredsError) -> None:
        with self._lock:
            session.closed = True
            if self._session is session:
                self._session = None
        while True:
            try:
                request = session.requests.get_nowait()
            except queue.Empty:
                return
            _settle(request.future, exception=failure)

    def _poll(self, session: _Session, ui: _Ui) -> None:
        if session.stopping.is_set():
            ui.root.quit()
            return
        while True:
            try:
                request = session.requests.get_nowait()
            except queue.Empty:
                break
            try:
                request.build(ui, request.future)
            except Exception as exc:
                text = "".join(traceback.format_exception(exc)).rstrip()
                log.error("dialog failed\n%s", text)
                _settle(request.future, exception=_detach(exc))
        if self._idle_long_enough(session, ui):
            ui.root.quit()
            return
        ui.root.after(POLL_MS, self._poll, session, ui)

    def _idle_long_enough(self, session: _Session, ui: _Ui) -> bool:
        """True once no window has been open for IDLE_EXIT_S; the session then takes no
        more requests (decided under the lock, so none can slip into a dying queue)."""
        about_open = ui.about is not None and bool(ui.about.winfo_exists())
        if ui.open or about_open:
            session.idle_since = None
            return False
        now = time.monotonic()
        if session.idle_since is None:
            session.idle_since = now
            return False
        if now - session.idle_since < IDLE_EXIT_S:
            return False
        with self._lock:
            if not session.requests.empty():
                return False
            session.closed = True
            if self._session is session:
                self._session = None
        log.debug("dialogs idle for %.0f s: ending the UI thread", IDLE_EXIT_S)
        return True

    # -- the Dialogs port ----------------------------------------------------------------------
    def ask_mfa(self, request: MfaRequest) -> str:
        """Six digits, or raises CancelledError."""
        return str(self._ask(lambda ui, future: _mfa_dialog(ui, future, request)))

    def ask_new_key(self, problem: str | None = None, source: str = "") -> NewKey | None:
        """The key to add (shapes checked), or None when cancelled."""
        try:
            key = self._ask(lambda ui, future: _new_key_dialog(ui, future, problem, source))
        except CancelledError:
            return None
        assert isinstance(key, NewKey)
        return key

    def ask_settings(self, current: AppSettings) -> AppSettings | None:
        """Edited settings, or None when cancelled."""
        try:
            settings = self._ask(lambda ui, future: _settings_dialog(ui, future, current))
        except CancelledError:
            return None
        assert isinstance(settings, AppSettings)
        return settings

    def show_about(self, text: str) -> None:
        """Open (or raise) the About window; returns at once."""
        self._submit(lambda ui, future: _about_window(ui, future, text))


if TYPE_CHECKING:  # mypy checks that TkDialogs is what the app service asks for

    def _implements_the_port(dialogs: TkDialogs) -> Dialogs:
        return dialogs


def _settle(future: Future[Any], result: Any = None,
            exception: BaseException | None = None) -> None:
    if future.done():
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


# --- Tk helpers (UI thread only) -------------------------------------------------------------

def _window_icon(root: tk.Tk) -> tk.PhotoImage | None:
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


def _on_return(submit: Callable[[], None]) -> Callable[[Any], None]:
    """Enter presses the focused button, else the default one."""
    from tkinter import ttk

    def handler(event: Any) -> None:
        if isinstance(event.widget, ttk.Button):
            event.widget.invoke()
        else:
            submit()

    return handler


def _window(ui: _Ui, future: Future[Any] | None, title: str, on_cancel: Callable[[], None],
            ) -> tuple[tk.Toplevel, ttk.Frame]:
    """A dialog window with a padded body; closing it or Escape calls ``on_cancel``."""
    import tkinter as tk
    from tkinter import ttk

    window = tk.Toplevel(ui.root, class_="TraycredsDialog")
    window.withdraw()  # placed and shown by _present once its size is known
    window.title(title)
    window.resizable(False, False)
    if ui.x11:
        window.attributes("-type", "dialog")
    window.protocol("WM_DELETE_WINDOW", on_cancel)
    window.bind("<Escape>", lambda _event: on_cancel())
    body = ttk.Frame(window, padding=(20, 16, 20, 14))
    body.pack(fill="both", expand=True)
    if future is not None:
        ui.open[future] = window
    return window, body


def _present(window: tk.Toplevel, focus: tk.Widget) -> None:
    """Centre the window on the screen, show it in front and give ``focus`` the keyboard.

    A tray app has no window of its own in front, so the dialog must take focus itself:
    focus_force, not focus_set (which waits for the window manager to focus us; with no
    window manager, as under Xvfb, that never happens and typing goes nowhere). Later
    attempts restore the widget last focused in this window, never the first one, so a
    person who already tabbed on keeps their place.
    """
    window.update_idletasks()
    width, height = window.winfo_reqwidth(), window.winfo_reqheight()
    x = max(0, (window.winfo_screenwidth() - width) // 2)
    y = max(0, (window.winfo_screenheight() - height) // 3)
    window.geometry(f"+{x}+{y}")

    def take_focus() -> None:
        if not window.winfo_exists() or window.focus_get() is not None:
            return  # gone, or this app has the keyboard already
        last = window.focus_lastfor()
        (focus if last is None or last is window else last).focus_force()

    window.bind("<Map>", lambda event: take_focus() if event.widget is window else None,
                add="+")
    window.deiconify()
    window.lift()
    window.attributes("-topmost", True)
    # A window manager may map us before the binding or refuse the first request.
    window.after(200, take_focus)


def _finish(ui: _Ui, future: Future[Any], window: tk.Toplevel, result: Any = None,
            exception: BaseException | None = None) -> None:
    ui.open.pop(future, None)
    window.destroy()
    _settle(future, result, exception)


def _buttons(body: ttk.Frame, row: int, ok_text: str, on_ok: Callable[[], None],
             on_cancel: Callable[[], None]) -> ttk.Button:
    from tkinter import ttk

    bar = ttk.Frame(body)
    bar.grid(row=row, column=0, columnspan=2, sticky="e", pady=(14, 0))
    ttk.Button(bar, text="Cancel", command=on_cancel).pack(side="right")
    ok = ttk.Button(bar, text=ok_text, command=on_ok, default="active")
    ok.pack(side="right", padx=(0, 8))
    return ok


def _label(body: ttk.Frame, text: str, row: int, style: str = "TLabel",
           wrap: int = 380) -> ttk.Label:
    from tkinter import ttk

    label = ttk.Label(body, text=text, style=style, wraplength=wrap, justify="left")
    label.grid(row=row, column=0, columnspan=2, sticky="w", pady=(0, 6))
    return label


def _error_label(body: ttk.Frame, row: int, wrap: int) -> ttk.Label:
    """The inline error of a form: takes no room until there is something to say."""
    from tkinter import ttk

    label = ttk.Label(body, text="", style="Error.TLabel", wraplength=wrap, justify="left")
    label.grid(row=row, column=0, columnspan=2, sticky="w", pady=(8, 0))
    label.grid_remove()
    return label


def _show_error(label: ttk.Label, message: str) -> None:
    label.configure(text=message)
    label.grid()
    label.bell()


# --- the dialogs -----------------------------------------------------------------------------

def _mfa_dialog(ui: _Ui, future: Future[Any], request: MfaRequest) -> None:
    from tkinter import ttk

    def cancel() -> None:
        _finish(ui, future, window, exception=_cancelled("Entering the MFA code"))

    window, body = _window(ui, future, MFA_TITLE, cancel)
    _label(body, f"MFA code for {request.role}", 0, "Heading.TLabel")
    _label(body, "Type the 6-digit code your authenticator app shows.", 1)
    _label(body, f"Device: {request.serial}", 2, "Note.TLabel")
    row = 3
    if request.problem:
        _label(body, request.problem, row, "Error.TLabel")
        row += 1

    def allowed(proposed: str) -> bool:
        ok.state(["!disabled"] if len(proposed) == 6 else ["disabled"])
        return True

    def check(proposed: str) -> bool:
        if _CODE.fullmatch(proposed) is None:
            window.bell()
            return False
        return allowed(proposed)

    entry = ttk.Entry(body, width=10, justify="center", font=ui.code,
                      validate="key",
                      validatecommand=(window.register(check), "%P"))
    entry.grid(row=row, column=0, columnspan=2, pady=(6, 0))

    def paste(_event: Any) -> str:
        # Authenticators copy "123 456": keep the digits.
        try:
            pasted = window.clipboard_get()
        except Exception:
            return "break"
        digits = "".join(c for c in pasted if c.isascii() and c.isdigit())
        entry.delete(0, "end")
        entry.insert(0, digits[:6])
        return "break"

    def submit() -> None:
        code = entry.get()
        if len(code) == 6:
            _finish(ui, future, window, result=code)

    entry.bind("<<Paste>>", paste)
    ok = _buttons(body, row + 1, "OK", submit, cancel)
    ok.state(["disabled"])
    window.bind("<Return>", _on_return(submit))
    window.bind("<KP_Enter>", _on_return(submit))
    _present(window, entry)


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


def _new_key_dialog(ui: _Ui, future: Future[Any], problem: str | None, source: str) -> None:
    from tkinter import ttk

    def cancel() -> None:
        _finish(ui, future, window, exception=_cancelled("Adding an access key"))

    window, body = _window(ui, future, NEW_KEY_TITLE, cancel)
    _label(body, "Add a long-term access key", 0, "Heading.TLabel")
    row = 1
    if problem:
        _label(body, problem, row, "Error.TLabel", wrap=420)
        row += 1
    _label(body, "It is stored in the system keyring, never in a file. Roles use it by its "
                 "name (their source_profile).", row, "Note.TLabel", wrap=420)
    row += 1
    fields: list[ttk.Entry] = []
    for offset, (text, value, masked) in enumerate((
        ("Key name", source or "default", False),
        ("Access key ID", "", False),
        ("Secret access key", "", True),
    )):
        ttk.Label(body, text=text).grid(row=row + offset, column=0, sticky="w",
                                        padx=(0, 12), pady=3)
        entry = ttk.Entry(body, width=44)
        if masked:
            entry.configure(show="•", exportselection=False)
        entry.insert(0, value)
        entry.grid(row=row + offset, column=1, sticky="we", pady=3)
        fields.append(entry)
    name_entry, id_entry, secret_entry = fields
    row += len(fields)
    error = _error_label(body, row, wrap=420)

    def submit() -> None:
        name, key_id, secret = (field.get().strip() for field in fields)
        try:
            check_source_name(name)
            key_id, secret = check_key_pair(key_id, secret)
        except UsageError as exc:
            _show_error(error, exc.message)  # messages never carry the secret
            bad = fields[_first_bad_field(name, key_id, secret)]
            bad.focus_set()
            bad.select_range(0, "end")
            return
        secret_entry.delete(0, "end")
        _finish(ui, future, window, result=NewKey(source=name, key_id=key_id, secret=secret))

    _buttons(body, row + 1, "Add key", submit, cancel)
    window.bind("<Return>", _on_return(submit))
    window.bind("<KP_Enter>", _on_return(submit))
    name_entry.select_range(0, "end")
    _present(window, id_entry if source else name_entry)


def _settings_dialog(ui: _Ui, future: Future[Any], current: AppSettings) -> None:
    from tkinter import ttk

    def cancel() -> None:
        _finish(ui, future, window, exception=_cancelled("Editing the settings"))

    window, body = _window(ui, future, SETTINGS_TITLE, cancel)
    _label(body, "Settings", 0, "Heading.TLabel")

    def row_label(text: str, row: int) -> None:
        ttk.Label(body, text=text).grid(row=row, column=0, sticky="w", padx=(0, 12), pady=4)

    shown_default = platform_shell()
    row_label("Default shell", 1)
    shell = ttk.Combobox(body, values=SHELLS, state="readonly", width=14)
    shell.set(current.default_shell or shown_default)
    shell.grid(row=1, column=1, sticky="w", pady=4)

    row_label("Warn before expiry", 2)
    warn_row = ttk.Frame(body)
    warn_row.grid(row=2, column=1, sticky="w", pady=4)
    warn = ttk.Entry(warn_row, width=12)
    warn.insert(0, format_minutes(current.warn_before_minutes))
    warn.pack(side="left")
    ttk.Label(warn_row, text="minutes, e.g. 15, 5", style="Note.TLabel").pack(side="left",
                                                                               padx=(8, 0))

    row_label("Clear the clipboard after", 3)
    clear_row = ttk.Frame(body)
    clear_row.grid(row=3, column=1, sticky="w", pady=4)
    clear = ttk.Spinbox(clear_row, from_=0, to=_MAX_CLEAR_SECONDS, increment=5, width=8)
    clear.set(str(current.clipboard_clear_seconds))
    clear.pack(side="left")
    ttk.Label(clear_row, text="seconds (0 never)", style="Note.TLabel").pack(side="left",
                                                                             padx=(8, 0))

    # ttk checkbuttons keep their state without a tkinter Variable (see the module notes).
    auto = ttk.Checkbutton(body, text="Refresh credentials before they expire")
    auto.state(["!alternate", "selected" if current.auto_refresh else "!selected"])
    auto.grid(row=4, column=0, columnspan=2, sticky="w", pady=(8, 2))
    clean = ttk.Checkbutton(body, text="Remove expired profiles from ~/.aws/credentials")
    clean.state(["!alternate", "selected" if current.clean_expired else "!selected"])
    clean.grid(row=5, column=0, columnspan=2, sticky="w", pady=2)
    login = ttk.Checkbutton(body, text="Start traycreds when I log in")
    login.state(["!alternate", "selected" if current.start_at_login else "!selected"])
    login.grid(row=6, column=0, columnspan=2, sticky="w", pady=2)

    error = _error_label(body, 7, wrap=400)

    def submit() -> None:
        try:
            warn_minutes = parse_minutes(warn.get())
        except UsageError as exc:
            _show_error(error, exc.message)
            warn.focus_set()
            return
        try:
            clear_seconds = parse_clear_seconds(clear.get())
        except UsageError as exc:
            _show_error(error, exc.message)
            clear.focus_set()
            return
        chosen = shell.get()
        # Unchanged platform default stays None, so the settings file stays portable.
        default_shell = None if current.default_shell is None and chosen == shown_default \
            else chosen
        _finish(ui, future, window, result=dataclasses.replace(
            current,
            default_shell=default_shell,
            warn_before_minutes=warn_minutes,
            clipboard_clear_seconds=clear_seconds,
            auto_refresh=auto.instate(["selected"]),
            clean_expired=clean.instate(["selected"]),
            start_at_login=login.instate(["selected"]),
        ))

    _buttons(body, 8, "Save", submit, cancel)
    window.bind("<Return>", _on_return(submit))
    window.bind("<KP_Enter>", _on_return(submit))
    _present(window, shell)


def _about_window(ui: _Ui, future: Future[Any], text: str) -> None:
    from tkinter import ttk

    _settle(future, None)  # nobody waits for About
    if ui.about is not None and ui.about.winfo_exists():
        ui.about.destroy()

    def close() -> None:
        ui.about = None
        window.destroy()

    window, body = _window(ui, None, ABOUT_TITLE, close)
    ui.about = window
    _label(body, "traycreds", 0, "Heading.TLabel")
    _label(body, text, 1, wrap=440)
    close_button = ttk.Button(body, text="Close", command=close, default="active")
    close_button.grid(row=2, column=0, columnspan=2, sticky="e", pady=(12, 0))
    window.bind("<Return>", lambda _event: close())
    _present(window, close_button)
