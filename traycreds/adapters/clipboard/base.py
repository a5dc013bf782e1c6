"""What every clipboard backend offers, and the error they raise."""

from __future__ import annotations

import hashlib
from typing import Protocol

from traycreds.core.errors import TraycredsError


class ClipboardError(TraycredsError):
    """The clipboard could not be used. The message names the tool and what to do about it;
    it never contains the text being copied."""

    title = "Copy failed"


class Clipboard(Protocol):
    """A system clipboard. ``copy("")`` empties it."""

    name: str  # "xclip", "xsel", "wl-copy", "pbcopy" or "win32"

    def copy(self, text: str) -> None:
        """Put ``text`` on the clipboard; raises ClipboardError when that fails."""
        ...

    def paste(self) -> str | None:
        """The clipboard's text; None when it is empty or holds no text."""
        ...

    def state(self) -> object:
        """A cheap token that changes whenever the clipboard's content changes."""
        ...


def fingerprint(text: str) -> str:
    """SHA-256 of the UTF-8 text, hex: what we remember instead of the text.

    CRLF counts as LF: the Windows clipboard holds our text with CRLF line ends (see
    win32.py), and the text read back must match the fingerprint of the text we were given.
    """
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()
