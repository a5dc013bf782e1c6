"""Small text helpers shared by the front ends: time left, tables."""

from __future__ import annotations

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
        return f"expired {_span(ago)} ago"
    return f"{_span(seconds)} left"


def _span(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
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
