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
    """The exit code when the running tray answered (credentials or an error), else None.

    Imports only the channel client (json, _socket, the builtin SHA-256, the errors module)
    and core/shells.py: the console script (cli/entry.py) calls it before anything else. The
    tray sends a credentials document; the lines printed are rendered here, from the checked
    document, never taken from the answer.
    """
    parsed = _parse(argv)
    if parsed is None or os.environ.get("TRAYCREDS_NO_TRAY") == "1":
        return None
    role, shell = parsed
    from traycreds.adapters.hardening import disable_core_dumps

    disable_core_dumps()  # this process is about to hold credentials
    from traycreds.channel import client
    from traycreds.channel.protocol import read_credentials
    from traycreds.core import shells
    from traycreds.core.errors import NotRunningError, TraycredsError

    try:
        chosen = shells.normalize_shell(shell) if shell else None
        issued = read_credentials(client.request("credentials", {"role": role},
                                                 timeout=180.0))
        chosen = chosen or shells.normalize_shell(
            shells.default_shell(sys.platform, issued.default_shell))
        creds = issued.credentials
        text = (shells.credential_process_json(creds) if chosen == "json"
                else shells.render(chosen, creds, issued.region))
    except client.UntrustedTrayError as error:
        client.warn_untrusted(error)
        return None
    except NotRunningError:
        return None
    except TraycredsError as error:
        return _report(error.title, error.message, int(error.exit_code))
    except KeyboardInterrupt:
        return _report("Cancelled", "Interrupted.", 1)
    try:
        for note in issued.notes:
            sys.stderr.write(f"traycreds: note: {note}\n")
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left (`| head -0`): no second error at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def _report(title: str, message: str, code: int) -> int:
    sys.stderr.write(f"traycreds: {title}\n  {message}\n")
    return code
