"""Clearing the clipboard later, but only while it still holds what traycreds copied.

Only a fingerprint (SHA-256) of the copied text is kept. The command line exits right after
copying, so it hands the fingerprint to a detached ``python -m traycreds.clipclear`` on its
stdin (process arguments are visible to other users); the tray uses ClearTimer in-process.
"""

from __future__ import annotations

import hmac
import logging
import re
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from traycreds.adapters.clipboard.base import Clipboard, ClipboardError
from traycreds.adapters.clipboard.base import fingerprint as fingerprint_of

log = logging.getLogger(__name__)

FINGERPRINT = re.compile(r"[0-9a-f]{64}")
# The folder holding the traycreds package: the clearer runs from it, so ``-m`` finds the
# same traycreds as ours (``-m`` puts the working directory first on sys.path).
PACKAGE_ROOT = Path(__file__).resolve().parents[3]


def clear_if_unchanged(clipboard: Clipboard, fingerprint: str) -> bool:
    """Empty the clipboard if it holds exactly the text whose fingerprint is given.

    Returns whether it cleared. Something else on the clipboard (the user copied since) is
    left alone.
    """
    current = clipboard.paste()
    if current is None or not hmac.compare_digest(fingerprint_of(current), fingerprint):
        return False
    clipboard.copy("")
    return True


def schedule_clear(
    fingerprint: str, after_seconds: int, *, env: Mapping[str, str] | None = None
) -> None:
    """Clear the clipboard in ``after_seconds`` if it still holds the fingerprinted text,
    from a detached process that outlives the caller. 0 (or less) means never.

    ``env``: the clearer's environment (default: ours); it must reach the same display.
    """
    if after_seconds <= 0:
        return
    if not FINGERPRINT.fullmatch(fingerprint):
        raise ValueError("schedule_clear wants a fingerprint (64 lowercase hex digits)")
    if not sys.executable:
        raise ClipboardError(
            "The clipboard cannot be cleared later: no Python interpreter to run the clearer. "
            "Clear the clipboard yourself when done.",
            title="Clipboard not cleared",
        )
    detach: dict[str, Any] = {"start_new_session": True}
    if sys.platform == "win32":
        detach = {
            "creationflags": subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
        }
    argv = [sys.executable, "-m", "traycreds.clipclear", "--after", str(after_seconds)]
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=PACKAGE_ROOT,
            env=None if env is None else dict(env),
            **detach,
        )
        assert process.stdin is not None
        with process.stdin:
            process.stdin.write(f"{fingerprint}\n".encode("ascii"))
    except OSError as exc:
        raise ClipboardError(
            f"The clipboard cannot be cleared later: the clearer did not start "
            f"({exc.strerror or type(exc).__name__}). Clear the clipboard yourself when done.",
            title="Clipboard not cleared",
        ) from None
    # Reap it if we live longer than it does (the tray); a CLI simply exits without waiting.
    threading.Thread(target=process.wait, name="traycreds-clipclear-reaper", daemon=True).start()


class ClearTimer:
    """The tray's clearer: one pending clear, for the text copied last."""

    def __init__(self, clipboard: Clipboard) -> None:
        self.clipboard = clipboard
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._fingerprint: str | None = None
        self._state: object = None

    def copied(self, text: str, after_seconds: int) -> None:
        """Call right after ``clipboard.copy(text)``: clear it in ``after_seconds`` if nothing
        else has been copied by then. 0 never clears on a timer; clear_now still does."""
        with self._lock:
            self._cancel()
            self._fingerprint = fingerprint_of(text)
            self._state = self.clipboard.state()
            if after_seconds > 0:
                timer = threading.Timer(after_seconds, self._expired)
                timer.name = "traycreds-clipboard-clear"
                timer.daemon = True
                self._timer = timer
                timer.start()

    def clear_now(self) -> bool:
        """Clear now if the clipboard still holds what was copied last (on quit, on Forget);
        cancels the timer. Returns whether it cleared."""
        with self._lock:
            self._cancel()
            return self._clear()

    def _expired(self) -> None:
        with self._lock:
            if self._timer is None or threading.current_thread() is not self._timer:
                return  # re-armed or cancelled meanwhile
            self._timer = None
            try:
                self._clear()
            except ClipboardError as exc:
                log.warning("Could not clear the clipboard: %s", exc.message)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _clear(self) -> bool:
        fingerprint, state = self._fingerprint, self._state
        self._fingerprint, self._state = None, None
        if fingerprint is None or self.clipboard.state() != state:
            return False
        return clear_if_unchanged(self.clipboard, fingerprint)
