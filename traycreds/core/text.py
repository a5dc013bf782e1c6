"""Small text helpers shared by the front ends: time left, tables, Win32 length limits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime


def local_time(moment: datetime | None) -> str:
    """A moment as the clock on the wall shows it ('14:05'), as the tray writes expiry."""
    return moment.astimezone().strftime("%H:%M") if moment else "never"


def time_left(seconds: float) -> str:
    """Rounded the way a person reads a countdown: '42 min left', 'expired 5 min ago'."""
    if seconds <= 0:
        ago = -seconds
        if ago < 60:
            return "expired just now"
        return f"expired {span(ago)} ago"
    return f"{span(seconds)} left"


def span(seconds: float, *, exact_below: float = 0) -> str:
    """'42 min', '2 h 05 min', '40 s': a length of time in whole units, rounded down.

    The one rounding for the menu's countdown, the command line and the expiry warnings, so
    they never disagree for the same time left: down, as a countdown reads (the menu is
    redrawn as each minute passes), never promising time that is not there. Under
    ``exact_below`` seconds the seconds are added ('4 min 30 s'): a warning shows exactly
    what is left, a label redrawn once a minute cannot.
    """
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if rest and whole < exact_below:
        return f"{minutes} min {rest} s"
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in [headers, *rows]]
    return "\n".join(lines) + "\n"


# --- fitting text into Win32's fixed-size fields ----------------------------------------------

# NOTIFYICONDATAW's fields, in UTF-16 code units less the terminating NUL: pystray raises
# ValueError for anything longer, and the notification or tooltip is lost.
NOTIFY_TITLE_MAX = 63  # szInfoTitle[64]
NOTIFY_MESSAGE_MAX = 255  # szInfo[256]
TOOLTIP_MAX = 127  # szTip[128]
ELLIPSIS = "…"
_SHORT_TOKEN = 16  # a word is shortened down to this many units, no further
_SPACE = re.compile(r"(\s+)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def utf16_units(text: str) -> int:
    """The length Windows counts: characters beyond the BMP take two UTF-16 code units."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def _prefix(text: str, units: int) -> str:
    """The longest start of ``text`` of at most ``units`` UTF-16 code units."""
    taken = 0
    for index, char in enumerate(text):
        taken += utf16_units(char)
        if taken > units:
            return text[:index]
    return text


def _suffix(text: str, units: int) -> str:
    return _prefix(text[::-1], units)[::-1]


def _shorten_token(token: str, units: int) -> str:
    """``token`` in ``units`` code units: its start and end around an ellipsis."""
    room = units - 1
    head = _prefix(token, (room + 1) // 2)
    return head + ELLIPSIS + _suffix(token, room - utf16_units(head))


def _shorten_long_tokens(text: str, limit: int) -> str:
    """Shorten the longest words (role names, ARNs, paths) in their middle, one at a time,
    until the text fits or no word is longer than _SHORT_TOKEN."""
    parts = _SPACE.split(text)
    excess = utf16_units(text) - limit
    while excess > 0:
        words = [i for i, part in enumerate(parts)
                 if not part.isspace() and utf16_units(part) > _SHORT_TOKEN]
        if not words:
            break
        longest = max(words, key=lambda i: utf16_units(parts[i]))
        size = utf16_units(parts[longest])
        target = max(_SHORT_TOKEN, size - excess)
        parts[longest] = _shorten_token(parts[longest], target)
        excess -= size - utf16_units(parts[longest])
    return "".join(parts)


def _cut(text: str, limit: int) -> str:
    """The start of ``text`` in ``limit`` units, ending with an ellipsis, cut after a whole
    word when one ends in the second half."""
    if utf16_units(text) <= limit:
        return text
    if limit < 1:
        return ""
    head = _prefix(text, limit - 1)
    boundary = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    if text[len(head)].isspace():
        boundary = len(head)  # the next character ends a word: nothing to drop
    if boundary > len(head) // 2:
        head = head[:boundary]
    return head.rstrip() + ELLIPSIS


def fit_text(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` UTF-16 code units, its meaning kept as far as possible.

    Unchanged when it fits. Else long words lose their middle ("arn:aws:iam::1…ole/Admin");
    then, if the last sentence (the advice: what to do) is short enough, the part before it is
    cut after a word and the advice kept whole; else the text is cut after a word. Cuts are
    marked with an ellipsis.
    """
    if utf16_units(text) <= limit:
        return text
    shorter = _shorten_long_tokens(text, limit)
    if utf16_units(shorter) <= limit:
        return shorter
    sentences = _SENTENCE_END.split(shorter)
    advice = sentences[-1]
    if len(sentences) > 1 and utf16_units(advice) <= limit // 2:
        before = shorter[: len(shorter) - len(advice)].rstrip()
        return _cut(before, limit - utf16_units(advice) - 1) + " " + advice
    return _cut(shorter, limit)


def fit_notification(title: str, message: str, title_max: int = NOTIFY_TITLE_MAX,
                     message_max: int = NOTIFY_MESSAGE_MAX) -> tuple[str, str]:
    """A notification's title and message fitted to Windows' balloon fields."""
    return fit_text(title, title_max), fit_text(message, message_max)
