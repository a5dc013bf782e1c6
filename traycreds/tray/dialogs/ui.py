"""The UI thread that owns Tk, and TkDialogs, the Dialogs port over it.

See the package's notes for why every Tk object lives and dies on this one thread.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from traycreds.core.errors import CancelledError, TraycredsError
from traycreds.core.keys import NewKey
from traycreds.core.models import MfaRequest
from traycreds.core.settings import AppSettings
from traycreds.tray.dialogs.about import about_window
from traycreds.tray.dialogs.confirm import confirm_dialog
from traycreds.tray.dialogs.mfa import mfa_dialog
from traycreds.tray.dialogs.newkey import new_key_dialog
from traycreds.tray.dialogs.settings import settings_dialog
from traycreds.tray.dialogs.signin import SignInHandle, sign_in_window
from traycreds.tray.dialogs.widgets import ERROR_COLOUR, cancelled, settle, window_icon

if TYPE_CHECKING:
    import tkinter as tk

    from traycreds.app.ports import Dialogs
    from traycreds.app.sso import SignInPrompt

log = logging.getLogger(__name__)

POLL_MS = 50
# With no window open for this long the UI thread ends (Tk and its 50 ms poll with it), so
# an idle tray does not wake 20 times a second; the next question starts a fresh one.
IDLE_EXIT_S = 10.0


class DialogsUnavailableError(TraycredsError):
    title = "Cannot open a window"


Build = Callable[["Ui", "Future[Any]"], None]


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


class Ui:
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
        self.icon: tk.PhotoImage | None = window_icon(self.root)

    def close(self) -> None:
        for future in list(self.open):
            settle(future, exception=cancelled("The question"))
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
            ui = Ui()
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
            self._close(session, cancelled("The question"))
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
            settle(request.future, exception=failure)

    def _poll(self, session: _Session, ui: Ui) -> None:
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
                settle(request.future, exception=_detach(exc))
        if self._idle_long_enough(session, ui):
            ui.root.quit()
            return
        ui.root.after(POLL_MS, self._poll, session, ui)

    def _idle_long_enough(self, session: _Session, ui: Ui) -> bool:
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
        return str(self._ask(lambda ui, future: mfa_dialog(ui, future, request)))

    def ask_new_key(self, problem: str | None = None, source: str = "", *,
                    typed: NewKey | None = None, offline: bool = False) -> NewKey | None:
        """The key to add (shapes checked), or None when cancelled."""
        try:
            key = self._ask(lambda ui, future: new_key_dialog(ui, future, problem, source,
                                                              typed, offline))
        except CancelledError:
            return None
        assert isinstance(key, NewKey)
        return key

    def ask_settings(self, current: AppSettings) -> AppSettings | None:
        """Edited settings, or None when cancelled."""
        try:
            settings = self._ask(lambda ui, future: settings_dialog(ui, future, current))
        except CancelledError:
            return None
        assert isinstance(settings, AppSettings)
        return settings

    def confirm(self, heading: str, text: str, ok_text: str) -> bool:
        """True when the person presses ``ok_text``; False when they decline."""
        try:
            return bool(self._ask(lambda ui, future: confirm_dialog(ui, future, heading, text,
                                                                    ok_text)))
        except CancelledError:
            return False

    def show_about(self, text: str) -> None:
        """Open (or raise) the About window; returns at once."""
        self._submit(lambda ui, future: about_window(ui, future, text))


    def show_sign_in(self, prompt: SignInPrompt, on_cancel: Callable[[], None]
                     ) -> SignInHandle:
        """The IAM Identity Center code while the worker polls; returns at once."""
        handle = SignInHandle()
        self._submit(lambda ui, future: sign_in_window(ui, future, prompt, on_cancel, handle))
        return handle

if TYPE_CHECKING:  # mypy checks that TkDialogs is what the app service asks for

    def _implements_the_port(dialogs: TkDialogs) -> Dialogs:
        return dialogs
