"""The fast path: when a tray runs, ``export`` and ``credential-process`` are one round trip.

Runs before argparse, logging, boto3 or the keyring are imported. It handles only
the plain forms (``export ROLE [--shell S]``, ``credential-process ROLE``); anything
else, or no tray, returns None and the full command line takes over.
"""

from __future__ import annotations

import os
import sys

_SHELL_FLAGS = ("--shell", "-s")
# Set when try_fast asked and no tray answered: the full command line then does not knock
# a second time (cli/entry.py passes it on).
tray_absent = False


def _parse(argv: list[str]) -> tuple[str, str | None] | None:
    """(role, shell) for the forms served here, else None."""
    if len(argv) < 2 or argv[0] not in ("export", "credential-process"):
        return None
    command, role, rest = argv[0], argv[1], argv[2:]
    if role.startswith("-"):
        return None
    if command == "credential-process":
        return (role, "json") if not rest else None
    if not rest:
        return role, None
    if len(rest) == 2 and rest[0] in _SHELL_FLAGS:
        return role, rest[1]
    if len(rest) == 1 and rest[0].startswith("--shell="):
        return role, rest[0].split("=", 1)[1]
    return None


def try_fast(argv: list[str]) -> int | None:
    """The exit code when the running tray answered (credentials or an error), else None.

    Goes through the tray provider (channel/remote.py), as the full command line does when a
    tray runs: it imports the channel client (json, _socket, the builtin SHA-256, the errors
    module), core/shells.py and core/document.py, nothing else. The tray sends a credentials
    document; the lines printed are rendered here, from the checked document.
    """
    parsed = _parse(argv)
    if parsed is None or os.environ.get("TRAYCREDS_NO_TRAY") == "1":
        return None
    role, shell = parsed
    from traycreds.adapters.hardening import disable_core_dumps

    disable_core_dumps()  # this process is about to hold credentials
    from traycreds.channel.remote import TrayProvider
    from traycreds.core.errors import NotRunningError, TraycredsError

    global tray_absent
    try:
        rendered = TrayProvider().render(role, shell)
    except NotRunningError:
        tray_absent = True
        return None
    except TraycredsError as error:
        return _report(error.title, error.message, int(error.exit_code))
    except KeyboardInterrupt:
        return _report("Cancelled", "Interrupted.", 1)
    try:
        for note in rendered.issued.notes:
            sys.stderr.write(f"traycreds: note: {note}\n")
        sys.stdout.write(rendered.text)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left (`| head -0`): no second error at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def _report(title: str, message: str, code: int) -> int:
    sys.stderr.write(f"traycreds: {title}\n  {message}\n")
    return code
