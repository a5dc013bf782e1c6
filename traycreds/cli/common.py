"""What the command modules share: output, notes, the local engine, asking the running tray."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from traycreds.core.errors import NotRunningError, UsageError

if TYPE_CHECKING:
    from traycreds.app.context import Context
    from traycreds.app.engine import Engine


def out(value: str) -> None:
    sys.stdout.write(value)
    sys.stdout.flush()


def notes(lines: tuple[str, ...]) -> None:
    for note in lines:
        sys.stderr.write(f"traycreds: note: {note}\n")


def printable(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and value.isprintable()


def local_engine(ctx: Context) -> Engine:
    """The engine in this process, asking MFA codes on the terminal."""
    from traycreds.cli.prompts import mfa_from_terminal

    return ctx.engine(mfa_from_terminal)


def tray_wanted(args: argparse.Namespace) -> bool:
    """False with --no-tray, TRAYCREDS_NO_TRAY=1, or when the fast path found no tray."""
    return not (getattr(args, "no_tray", False) or getattr(args, "tray_absent", False)
                or os.environ.get("TRAYCREDS_NO_TRAY") == "1")


def tray_request(args: argparse.Namespace, op: str, request: dict[str, object],
                 timeout: float = 5.0) -> Any:
    """The running tray's answer to a question about its state, or None when no tray runs.

    A tray that fails the client's checks (another user's folder, key file or process) is
    named in a one-line warning and then treated as no tray.
    """
    if not tray_wanted(args):
        return None
    from traycreds.channel import client

    try:
        return client.request(op, request, timeout=timeout)
    except client.UntrustedTrayError as error:
        client.warn_untrusted(error)
        return None
    except NotRunningError:
        return None


def tray_only(op: str, request: dict[str, object]) -> Any:
    """An order only the running tray can carry out (forget, reload, quit)."""
    from traycreds.channel import client

    return client.request(op, request, timeout=30.0)


class TrayFront(Protocol):
    """What the command line needs of the tray front end, which it never imports: the
    console script (cli/entry.py) hands one in (tray/front.py)."""

    def run(self) -> int:
        """Start the tray; returns when it quits."""
        ...

    def write_icon_png(self, path: Path) -> None:
        """traycreds' application icon, 256 px, for the desktop entry."""
        ...


def tray_front(args: argparse.Namespace) -> TrayFront:
    front: TrayFront | None = getattr(args, "front", None)
    if front is None:
        raise UsageError("This command needs the tray, which this way of running traycreds "
                         "does not include: run the 'traycreds' command (or python -m "
                         "traycreds) instead.")
    return front
