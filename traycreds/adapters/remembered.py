"""What the tray remembers across restarts: how each role was last handed over.

A small JSON file in the data folder, ``{"handovers": {"prod-admin": "cmd"}}``. It is
convenience, never a reason to stop: a missing, oversized, unreadable or malformed file
(or one entry of it) is ignored with a log line, and the tray starts with the defaults.
Written atomically, so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

from traycreds.adapters import paths
from traycreds.adapters.atomic import write_atomic
from traycreds.core.errors import TraycredsError
from traycreds.core.shells import SHELL_TITLES, WRITE

log = logging.getLogger(__name__)

FILE_NAME = "tray-state.json"
LIMIT = 64 * 1024  # a few hundred roles' worth; anything bigger is not ours
_NAME_MAX = 200
KINDS = frozenset(SHELL_TITLES) | {WRITE}


def state_file() -> Path:
    return paths.data_dir() / FILE_NAME


def load_handovers(path: Path | None = None) -> dict[str, str]:
    """Role -> hand-over kind; {} when there is nothing usable."""
    path = path or state_file()
    try:
        raw = paths.read_bounded(path, LIMIT, TraycredsError)
        if raw is None:
            return {}
        data = json.loads(raw.decode("utf-8"))
    except (TraycredsError, UnicodeDecodeError, ValueError, RecursionError) as error:
        log.warning("ignoring the tray's state file %s: %s", path,
                    getattr(error, "title", type(error).__name__))
        return {}
    found = data.get("handovers") if isinstance(data, dict) else None
    if not isinstance(found, dict):
        log.warning("ignoring the tray's state file %s: no handovers table", path)
        return {}
    kept = {name: kind for name, kind in found.items()
            if isinstance(name, str) and 0 < len(name) <= _NAME_MAX and kind in KINDS}
    if len(kept) != len(found):
        log.warning("ignored %d unknown entries in %s", len(found) - len(kept), path)
    return kept


def save_handovers(handovers: Mapping[str, str], path: Path | None = None) -> None:
    """Raises TraycredsError's kin (OSError wrapped by the caller) only through write_atomic."""
    body = json.dumps({"handovers": dict(sorted(handovers.items()))}, indent=1)
    write_atomic(path or state_file(), body + "\n")
