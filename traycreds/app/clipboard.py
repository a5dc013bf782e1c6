"""The tray's clipboard: what it copied, for which role, and clearing it when that is over.

Opened on the first copy (the backend may start a helper process); cleared after the
settings' clipboard_clear_seconds if still unchanged, at once when the role it holds is
forgotten, and on quit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from traycreds.adapters.clipboard import ClearTimer, Clipboard


class TrayClipboard:
    def __init__(self, factory: Callable[[], Clipboard] | None = None) -> None:
        self._factory = factory
        self._opened: tuple[Clipboard, ClearTimer] | None = None
        self._role: str | None = None
        self._lock = threading.Lock()

    def copy(self, role: str, text: str, clear_after: int) -> None:
        from traycreds.adapters.clipboard import ClearTimer, get_clipboard

        with self._lock:
            if self._opened is None:
                board = (self._factory or get_clipboard)()
                self._opened = (board, ClearTimer(board))
            board, timer = self._opened
        board.copy(text)
        timer.copied(text, clear_after)
        self._role = role

    def clear_if(self, role: str | None = None) -> bool:
        """Clear what we copied (for ``role`` only, when given) if it is still there; raises
        the backend's TraycredsError. False when there was nothing of ours to clear."""
        with self._lock:
            if self._opened is None or (role is not None and self._role != role):
                return False
            self._role = None
            timer = self._opened[1]
        timer.clear_now()
        return True
