"""How each role was last handed over from the tray, kept in the app state and on disk.

The service tells it each hand-over; the state's ``handovers`` feeds the menu ("Copy again
for cmd.exe") and the icon's left click. The file (adapters/remembered) is read once at
start-up and written, off the caller's thread, when a role's way changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from traycreds.core.state import AppState

log = logging.getLogger(__name__)


class Remembered:
    def __init__(self, update: Callable[[Callable[[AppState], AppState]], None],
                 submit: Callable[..., Any]) -> None:
        self._update = update
        self._submit = submit
        self._lock = threading.Lock()
        self._handovers: dict[str, str] = {}

    def load(self) -> None:
        from traycreds.adapters.remembered import load_handovers

        found = load_handovers()
        with self._lock:
            self._handovers = {**found, **self._handovers}  # a click during start-up wins
            current = dict(self._handovers)
        self._update(lambda state: replace(state, handovers=current))

    def remember(self, role: str, kind: str) -> None:
        with self._lock:
            if self._handovers.get(role) == kind:
                return
            self._handovers[role] = kind
            current = dict(self._handovers)
        self._update(lambda state: replace(state, handovers=current))
        self._submit(self._save)

    def _save(self) -> None:
        from traycreds.adapters.remembered import save_handovers

        with self._lock:  # one writer at a time, each with the latest table
            try:
                save_handovers(self._handovers)
            except Exception as error:  # remembering is a convenience, never fatal
                log.warning("could not save the tray's state: %s", type(error).__name__)
