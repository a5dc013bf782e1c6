"""The key rotation journal: ``rotation.json`` in the data folder, next to the tray's state.

Key ids, step names and times only (core/rotation.py); the pending key's secret lives in
the keyring. Written atomically (0600), so a crash leaves the previous step or the next,
never a part. A file that is not ours is refused loudly rather than ignored: it is what
says whether a key is half rotated.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from traycreds.adapters import paths
from traycreds.adapters.atomic import write_atomic
from traycreds.core.errors import FileError
from traycreds.core.rotation import Rotation, journal_json, parse_journal

FILE_NAME = "rotation.json"
LIMIT = 64 * 1024
_lock = threading.Lock()  # the tray's jobs and its start may touch it at once


def journal_file() -> Path:
    return paths.data_dir() / FILE_NAME


def load(path: Path | None = None) -> dict[str, Rotation]:
    path = path or journal_file()
    raw = paths.read_bounded(path, LIMIT, FileError)
    if raw is None:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        data = None
    rotations, bad = parse_journal(data)
    if data is None or bad:
        raise FileError(f"{path} is not a key rotation journal traycreds wrote. Look at it: "
                        "it names the access key ids of rotations under way. Move it away "
                        "once you have checked those keys in the IAM console.",
                        title="Rotation journal unreadable")
    return rotations


def record(rotation: Rotation, path: Path | None = None) -> None:
    """Write ``rotation``'s step (its source's entry replaced)."""
    path = path or journal_file()
    with _lock:
        rotations = load(path)
        rotations[rotation.source] = rotation
        write_atomic(path, json.dumps(journal_json(rotations), indent=1) + "\n")


def forget(source: str, path: Path | None = None) -> None:
    path = path or journal_file()
    with _lock:
        rotations = load(path)
        if rotations.pop(source, None) is None:
            return
        if rotations:
            write_atomic(path, json.dumps(journal_json(rotations), indent=1) + "\n")
        else:
            path.unlink(missing_ok=True)


# Which key of each source the tray last warned about for its age (core/rotation.py's
# keys_to_warn): remembered so a key is warned about once, across restarts.
WARNED_FILE = "key-age-warnings.json"


def load_warned(path: Path | None = None) -> dict[str, str]:
    """Source -> key id warned about; {} when missing or not ours (a warning repeats then)."""
    path = path or paths.data_dir() / WARNED_FILE
    try:
        raw = paths.read_bounded(path, LIMIT, FileError)
        data = json.loads(raw.decode("utf-8")) if raw is not None else {}
    except (FileError, UnicodeDecodeError, ValueError, RecursionError):
        return {}
    warned = data.get("warned") if isinstance(data, dict) else None
    if not isinstance(warned, dict):
        return {}
    return {k: v for k, v in warned.items() if isinstance(k, str) and isinstance(v, str)}


def save_warned(warned: dict[str, str], path: Path | None = None) -> None:
    path = path or paths.data_dir() / WARNED_FILE
    write_atomic(path, json.dumps({"warned": dict(sorted(warned.items()))}, indent=1) + "\n")
