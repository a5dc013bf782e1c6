"""Opening files and folders with the desktop's own handler."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from traycreds.core.errors import TraycredsError


def open_path(path: Path) -> None:
    try:
        if sys.platform == "win32":
            os.startfile(path)
            return
        opener = "open" if sys.platform == "darwin" else "xdg-open"
        subprocess.Popen([opener, str(path)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    except OSError as exc:
        raise TraycredsError(f"Could not open {path} ({exc.strerror}). Open it yourself.",
                             title="Cannot open") from None
