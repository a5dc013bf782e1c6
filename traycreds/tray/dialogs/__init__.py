"""The tray's dialogs (the Dialogs port): tkinter windows asked for from worker threads.

Tk is not thread-safe, so one UI thread owns it (``ui``): it creates ``tkinter.Tk()``
(withdrawn, never shown), polls a queue every 50 ms and builds each requested window. A worker
posts a request and blocks on a Future until the person answers. ``stop()`` ends the UI
thread; every question still open or queued then raises CancelledError in its caller. Each
dialog has its module (``mfa``, ``newkey``, ``settings``, ``confirm``, ``about``), built
from ``widgets``.

tkinter is imported only inside the UI thread, so importing this package costs nothing and a
Python without Tk fails only when a dialog is asked for.

Every Tk object is made, used and freed on the UI thread. Freeing the Tcl interpreter (with the
last widget, font or image that refers to it) on another thread aborts the whole process
("Tcl_AsyncDelete: async handler deleted by the wrong thread"). So the windows use no tkinter
Variable objects (those run Tcl calls from ``__del__``), and no exception leaves the UI thread
with its traceback: a traceback keeps the frames, and so the widgets, alive in whichever thread
(or log record) holds it. Errors are logged as text and handed on with their tracebacks cleared
(``ui._detach``).
"""

from traycreds.tray.dialogs.about import ABOUT_TITLE
from traycreds.tray.dialogs.confirm import CONFIRM_TITLE
from traycreds.tray.dialogs.mfa import MFA_TITLE
from traycreds.tray.dialogs.newkey import NEW_KEY_TITLE
from traycreds.tray.dialogs.settings import SETTINGS_TITLE
from traycreds.tray.dialogs.signin import SIGN_IN_TITLE
from traycreds.tray.dialogs.ui import IDLE_EXIT_S, DialogsUnavailableError, TkDialogs

__all__ = [
    "ABOUT_TITLE",
    "CONFIRM_TITLE",
    "IDLE_EXIT_S",
    "MFA_TITLE",
    "NEW_KEY_TITLE",
    "SETTINGS_TITLE",
    "SIGN_IN_TITLE",
    "DialogsUnavailableError",
    "TkDialogs",
]
