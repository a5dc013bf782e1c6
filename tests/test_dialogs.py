"""The tray's dialogs for real: Tk on the test session's X display, driven by xdotool.

Each question is asked from a worker thread, as the app service does; the test then finds the
window by its title, types into it like a person and reads what the worker got back.
Screenshots of each dialog go to the artifacts folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.support import posix_only, require_module, screenshot
from traycreds.core.errors import CancelledError, UsageError
from traycreds.core.keys import NewKey
from traycreds.core.models import MfaRequest
from traycreds.core.settings import (
    AppSettings,
    format_minutes,
    parse_clear_seconds,
    parse_minutes,
)
from traycreds.core.shells import default_shell
from traycreds.tray.dialogs import (
    ABOUT_TITLE,
    MFA_TITLE,
    NEW_KEY_TITLE,
    SETTINGS_TITLE,
    DialogsUnavailableError,
    TkDialogs,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS docs' example id, built at run time
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ANSWER_TIMEOUT = 5.0


# --- driving X -------------------------------------------------------------------------------

def xdotool(*args: str, check: bool = True) -> str:
    out = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=10)
    if check and out.returncode != 0:
        raise AssertionError(f"xdotool {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout.strip()


def windows_named(title: str) -> list[str]:
    return xdotool("search", "--onlyvisible", "--name", f"^{title}$", check=False).split()


def wait_until(condition: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.03)


def wait_window(title: str) -> str:
    """The window titled ``title``, once it is shown and has the keyboard focus."""
    wait_until(lambda: windows_named(title), f"a window titled {title!r}")
    window = windows_named(title)[-1]
    wait_until(lambda: xdotool("getwindowfocus", check=False) == window,
               f"{title!r} to take the keyboard focus")
    return window


def wait_gone(title: str) -> None:
    wait_until(lambda: not windows_named(title), f"{title!r} to close")


def type_text(text: str) -> None:
    xdotool("type", "--delay", "10", text)


def press(*keys: str) -> None:
    xdotool("key", "--delay", "10", *keys)


def window_image(window: str, name: str) -> Image.Image:
    """A screenshot (kept in artifacts as ``name``) cropped to the window."""
    geometry = dict(line.split("=", 1) for line in
                    xdotool("getwindowgeometry", "--shell", window).splitlines())
    x, y = int(geometry["X"]), int(geometry["Y"])
    width, height = int(geometry["WIDTH"]), int(geometry["HEIGHT"])
    with Image.open(screenshot(name)) as shot:
        image: Image.Image = shot.convert("RGB").crop((x, y, x + width, y + height))
    return image


def red_pixels(image: Image.Image) -> int:
    """Pixels of the dialogs' error red (#b00020), anti-aliased edges included."""
    red, green, blue = image.split()
    data = zip(red.tobytes(), green.tobytes(), blue.tobytes(), strict=True)
    return sum(1 for r, g, b in data if r > 130 and g < 80 and b < 100 and r - g > 90)


def still_waiting(future: Future[Any], seconds: float = 0.3) -> bool:
    """True if ``future`` has no answer ``seconds`` after the last key went in."""
    time.sleep(seconds)
    return not future.done()


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def dialogs(desktop: None) -> Iterator[TkDialogs]:
    """A fresh UI thread per test: stopping it cancels whatever a failed test left open."""
    ui = TkDialogs()
    ui.start()
    yield ui
    ui.stop()


@pytest.fixture(scope="module")
def worker() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="test-worker")
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)  # a stuck question must not hang pytest


# --- MFA ---------------------------------------------------------------------------------------

def test_mfa_code_needs_six_digits(dialogs: TkDialogs, worker: ThreadPoolExecutor) -> None:
    request = MfaRequest(role="prod-admin", serial="arn:aws:iam::123456789012:mfa/alice",
                         problem="AWS did not accept that code. Wait for the next one.")
    answer = worker.submit(dialogs.ask_mfa, request)
    window = wait_window(MFA_TITLE)
    assert xdotool("getwindowname", window) == MFA_TITLE

    type_text("12345")
    press("Return")
    assert still_waiting(answer), "OK must stay disabled below six digits"
    image = window_image(window, "mfa-dialog")
    assert red_pixels(image) > 50, "the previous problem is shown in red"

    type_text("6")
    press("Return")
    assert answer.result(timeout=ANSWER_TIMEOUT) == "123456"
    wait_gone(MFA_TITLE)


def test_mfa_entry_takes_only_digits(dialogs: TkDialogs, worker: ThreadPoolExecutor) -> None:
    answer = worker.submit(dialogs.ask_mfa, MfaRequest(role="dev", serial="arn:mfa/bob"))
    wait_window(MFA_TITLE)
    type_text("1a2b3c 4-5.6x789")  # letters and punctuation refused, and at most six digits
    press("Return")
    assert answer.result(timeout=ANSWER_TIMEOUT) == "123456"
    wait_gone(MFA_TITLE)


def test_escape_cancels_mfa(dialogs: TkDialogs, worker: ThreadPoolExecutor) -> None:
    answer = worker.submit(dialogs.ask_mfa, MfaRequest(role="dev", serial="arn:mfa/bob"))
    wait_window(MFA_TITLE)
    type_text("123")
    press("Escape")
    with pytest.raises(CancelledError):
        answer.result(timeout=ANSWER_TIMEOUT)
    wait_gone(MFA_TITLE)


# --- Add access key ------------------------------------------------------------------------------

def test_new_key_shows_mistakes_inline_and_returns_the_key(
    dialogs: TkDialogs, worker: ThreadPoolExecutor
) -> None:
    answer = worker.submit(dialogs.ask_new_key)
    window = wait_window(NEW_KEY_TITLE)
    assert red_pixels(window_image(window, "add-key-dialog-empty")) == 0

    # The key name is prefilled ("default") and focused; Tab walks to the id, then the secret.
    press("Tab")
    type_text("akia-not-a-key")
    press("Tab")
    type_text(SECRET)
    if shutil.which("xclip"):
        press("ctrl+slash")  # select the whole secret: it must not reach the X selection
        primary = subprocess.run(["xclip", "-o", "-selection", "primary"],
                                 capture_output=True, text=True, timeout=5).stdout
        assert SECRET not in primary
    press("Return")

    wait_until(lambda: red_pixels(window_image(window, "add-key-dialog")) > 50,
               "the inline error about the key id")
    assert not answer.done(), "a bad key id keeps the dialog open"
    assert windows_named(NEW_KEY_TITLE) == [window]
    assert xdotool("getwindowname", window) == NEW_KEY_TITLE
    assert xdotool("search", "--name", "wJalr", check=False) == "", "the secret is in a title"

    # The faulty field has the focus, its text selected: typing replaces it.
    type_text(KEY_ID)
    press("Return")
    key = answer.result(timeout=ANSWER_TIMEOUT)
    assert key == NewKey(source="default", key_id=KEY_ID, secret=SECRET)
    assert SECRET not in repr(key)
    wait_gone(NEW_KEY_TITLE)


def test_new_key_prefills_the_source_and_cancels_to_none(
    dialogs: TkDialogs, worker: ThreadPoolExecutor
) -> None:
    answer = worker.submit(dialogs.ask_new_key, "AWS rejected the key: InvalidClientTokenId",
                           "work")
    window = wait_window(NEW_KEY_TITLE)
    assert red_pixels(window_image(window, "add-key-dialog-problem")) > 50
    # With a name given, the focus starts on the key id: type the pair and submit.
    type_text(KEY_ID)
    press("Tab")
    type_text(SECRET)
    press("Escape")
    assert answer.result(timeout=ANSWER_TIMEOUT) is None
    wait_gone(NEW_KEY_TITLE)

    answer = worker.submit(dialogs.ask_new_key, None, "work")
    wait_window(NEW_KEY_TITLE)
    type_text(KEY_ID)
    press("Tab")
    type_text(f"  {SECRET} ")  # what a paste brings along is stripped
    press("Return")
    assert answer.result(timeout=ANSWER_TIMEOUT) == NewKey("work", KEY_ID, SECRET)
    wait_gone(NEW_KEY_TITLE)


def test_new_key_reopened_keeps_what_was_typed_and_can_save_unchecked(
    dialogs: TkDialogs, worker: ThreadPoolExecutor
) -> None:
    typed = NewKey("work", KEY_ID, SECRET)
    # Reopened after a refused check: the name, id and (masked) secret are there again.
    answer = worker.submit(dialogs.ask_new_key, "Access key rejected: AWS does not recognise",
                           "work", typed=typed)
    window = wait_window(NEW_KEY_TITLE)
    press("alt+s")  # no "Save without checking" unless STS was out of reach
    time.sleep(0.5)
    assert not answer.done()
    assert xdotool("search", "--name", "wJalr", check=False) == "", "the secret is in a title"
    press("Return")
    assert answer.result(timeout=ANSWER_TIMEOUT) == typed  # verify=True: checked with AWS
    wait_gone(NEW_KEY_TITLE)

    # STS could not be reached: "Save without checking" (Alt+S) hands the key back unchecked.
    answer = worker.submit(dialogs.ask_new_key, "Network problem: no answer from STS", "work",
                           typed=typed, offline=True)
    window = wait_window(NEW_KEY_TITLE)
    window_image(window, "add-key-dialog-offline")
    press("alt+s")
    assert answer.result(timeout=ANSWER_TIMEOUT) == NewKey("work", KEY_ID, SECRET,
                                                           verify=False)
    wait_gone(NEW_KEY_TITLE)


# --- Settings ------------------------------------------------------------------------------------

def test_settings_round_trip(dialogs: TkDialogs, worker: ThreadPoolExecutor) -> None:
    current = AppSettings(default_shell=None, warn_before_minutes=(15, 5),
                          clipboard_clear_seconds=45, auto_refresh=True, clean_expired=False)
    answer = worker.submit(dialogs.ask_settings, current)
    window = wait_window(SETTINGS_TITLE)
    assert red_pixels(window_image(window, "settings-dialog")) == 0

    # The shell list has the focus and shows the platform's default (bash); Down opens it.
    press("Down")
    wait_until(lambda: xdotool("search", "--onlyvisible", "--class", "ComboboxPopdown",
                               check=False), "the list of shells")
    press("Down", "Down", "Return")  # bash -> zsh -> fish
    press("Tab")  # warnings: tabbing in selects the text, so typing replaces it
    type_text("15, soon")
    press("Return")
    wait_until(lambda: red_pixels(window_image(window, "settings-dialog-error")) > 50,
               "the inline error about the warnings")
    assert not answer.done()

    press("ctrl+slash")  # the faulty field has the focus: select all, retype
    type_text("30, 10 10")
    press("Tab")
    type_text("0")  # clipboard: never clear
    press("Tab", "space", "Tab", "space")  # auto refresh off, clean expired on
    press("Return")
    assert answer.result(timeout=ANSWER_TIMEOUT) == AppSettings(
        default_shell="fish",
        warn_before_minutes=(30, 10),
        clipboard_clear_seconds=0,
        auto_refresh=False,
        clean_expired=True,
    )
    wait_gone(SETTINGS_TITLE)


def test_settings_unchanged_keep_the_platform_default(
    dialogs: TkDialogs, worker: ThreadPoolExecutor
) -> None:
    current = AppSettings()
    answer = worker.submit(dialogs.ask_settings, current)
    wait_window(SETTINGS_TITLE)
    press("Return")
    assert answer.result(timeout=ANSWER_TIMEOUT) == current  # default_shell stays None
    assert default_shell(sys.platform) == ("cmd" if sys.platform == "win32" else "bash")

    answer = worker.submit(dialogs.ask_settings, current)
    wait_window(SETTINGS_TITLE)
    press("Escape")
    assert answer.result(timeout=ANSWER_TIMEOUT) is None
    wait_gone(SETTINGS_TITLE)


# --- About, and the life cycle -------------------------------------------------------------------

def test_about_does_not_block(dialogs: TkDialogs) -> None:
    started = time.monotonic()
    dialogs.show_about("traycreds 1.2.3\nSettings: ~/.config/traycreds/settings.toml")
    assert time.monotonic() - started < 1.0
    window = wait_window(ABOUT_TITLE)
    window_image(window, "about-dialog")
    dialogs.show_about("again")  # a second About replaces the first
    wait_until(lambda: windows_named(ABOUT_TITLE) not in ([], [window]), "the new About")
    assert len(windows_named(ABOUT_TITLE)) == 1
    wait_window(ABOUT_TITLE)
    press("Return")  # Close has the focus
    wait_gone(ABOUT_TITLE)


def test_stop_cancels_a_pending_question(desktop: None, worker: ThreadPoolExecutor) -> None:
    own = TkDialogs()
    try:
        answer = worker.submit(own.ask_mfa, MfaRequest(role="dev", serial="arn:mfa/bob"))
        wait_window(MFA_TITLE)
        own.stop()
        with pytest.raises(CancelledError):
            answer.result(timeout=ANSWER_TIMEOUT)
        wait_gone(MFA_TITLE)

        # Asking again starts a fresh UI thread.
        answer = worker.submit(own.ask_mfa, MfaRequest(role="dev", serial="arn:mfa/bob"))
        wait_window(MFA_TITLE)
        type_text("654321")
        press("Return")
        assert answer.result(timeout=ANSWER_TIMEOUT) == "654321"
    finally:
        own.stop()
    wait_gone(MFA_TITLE)


# --- Tk objects die on the UI thread -----------------------------------------------------------

# A failing dialog and a failing Tk callback, with a log handler that keeps its records (as
# pytest's does); the UI thread then ends and the main thread drops everything. A traceback that
# kept the UI thread's widgets alive would free the Tcl interpreter here, on the wrong thread,
# and abort the process ("Tcl_AsyncDelete: async handler deleted by the wrong thread").
_WRONG_THREAD_SCRIPT = """
import gc, logging, threading
from traycreds.tray.dialogs import TkDialogs
from traycreds.tray.dialogs.widgets import window as _window

records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record)
logging.getLogger().addHandler(Keep())

dialogs = TkDialogs()
called = threading.Event()

def failing_build(ui, future):
    _window(ui, future, "failing", lambda: None)
    raise ValueError("the build failed")

def build_with_failing_callback(ui, future):
    window, _body = _window(ui, None, "callback", lambda: None)
    def callback():
        called.set()
        raise ValueError("the callback failed")
    window.after(10, callback)
    future.set_result(None)

failed = dialogs._submit(failing_build)
try:
    failed.result(5)
except ValueError as exc:
    kept = exc
dialogs._submit(build_with_failing_callback).result(5)
assert called.wait(5)
dialogs.stop()
assert records, "the failures were logged"
records.clear()
kept = failed = None
gc.collect()
print("survived")
"""


def test_tk_objects_are_not_freed_by_other_threads(desktop: None) -> None:
    result = subprocess.run([sys.executable, "-c", _WRONG_THREAD_SCRIPT], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert "Tcl_AsyncDelete" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "survived"


# --- without a desktop -----------------------------------------------------------------------

@posix_only("an X display that is not there: a Windows session always has its desktop "
            "(DISPLAY means nothing), so Tk opens the window and the question waits")
def test_without_a_display_questions_fail_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, worker: ThreadPoolExecutor
) -> None:
    require_module("tkinter", "the dialogs without a display")
    monkeypatch.setenv("DISPLAY", ":4097")  # no such display
    broken = TkDialogs()
    try:
        answer = worker.submit(broken.ask_mfa, MfaRequest(role="dev", serial="arn:mfa/bob"))
        with pytest.raises(DialogsUnavailableError, match="cannot open a window"):
            answer.result(timeout=ANSWER_TIMEOUT)
    finally:
        broken.stop()


def test_importing_the_dialogs_does_not_import_tkinter() -> None:
    code = ("import sys, traycreds.tray.dialogs; "
            "print('tkinter' in sys.modules, '_tkinter' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": "."})
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_minutes_and_seconds_parse_like_the_settings_file() -> None:
    assert parse_minutes("15, 5") == (15, 5)
    assert parse_minutes("5 15;15.0") == (15, 5)
    assert parse_minutes("0.5, 2") == (2, 0.5)
    assert parse_minutes("  ") == ()
    assert format_minutes((15, 0.5)) == "15, 0.5"
    for bad in ("soon", "0", "-5", "1e3", ".5", "99999", "\uff11\uff15"):  # full-width 15
        with pytest.raises(UsageError):
            parse_minutes(bad)
    assert parse_clear_seconds(" 0 ") == 0
    assert parse_clear_seconds("3600") == 3600
    for bad in ("", "-1", "3601", "ten"):
        with pytest.raises(UsageError):
            parse_clear_seconds(bad)
