"""The fast path: when a tray runs, ``export`` and ``credential-process`` are one round trip.

Runs before argparse, logging, boto3 or the keyring are imported. It handles only
the plain forms (``export ROLE [--shell S]``, ``credential-process ROLE``); anything
else, or no tray, returns None and the full command line takes over.
"""

from __future__ import annotations

import os
import sys

_SHELL_FLAGS = ("--shell", "-s")


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
    parsed = _parse(argv)
    if parsed is None or os.environ.get("TRAYCREDS_NO_TRAY") == "1":
        return None
    role, shell = parsed
    from traycreds.channel import client
    from traycreds.core.errors import NotRunningError, TraycredsError

    try:
        answer = client.request("render", {"role": role, "shell": shell}, timeout=180.0)
    except NotRunningError:
        return None
    except TraycredsError as error:
        sys.stderr.write(f"traycreds: {error.title}\n  {error.message}\n")
        return int(error.exit_code)
    for note in answer.get("notes", ()):
        sys.stderr.write(f"traycreds: note: {note}\n")
    sys.stdout.write(answer["text"])
    sys.stdout.flush()
    return 0
