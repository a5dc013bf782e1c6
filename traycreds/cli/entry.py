"""The console script (``traycreds = traycreds.cli.entry:run``) and ``python -m traycreds``.

Imports nothing but ``sys`` before the fast path (cli/fast.py) has tried the running tray:
argparse, logging, the command modules (cli/main.py) load only when it could not answer.
"""

from __future__ import annotations

import sys

# Commands that live on after their work (the tray, the demo) keep the collector.
_LONG_LIVED = {"demo", "tray"}


def run() -> None:
    argv = sys.argv[1:]
    from traycreds.cli.fast import try_fast

    code = try_fast(argv)
    if code is not None:
        _exit_now(code)
    sys.exit(_full(argv))


def _exit_now(code: int) -> None:
    """Exit after the fast path without the interpreter's teardown (about 2 ms of a 20 ms
    call): it registered no atexit handler and wrote only to stdout and stderr, flushed here."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the reader left: nothing more to tell it
            code = code or 1
    os._exit(code)


def _full(argv: list[str]) -> int:
    import gc

    # The first word that is not an option is the command; none means the tray.
    command = next((word for word in argv if not word.startswith("-")), None)
    one_shot = command is not None and command not in _LONG_LIVED
    if one_shot:
        # A one-shot command allocates a few MiB of botocore models and exits: the cyclic
        # collector's passes over them, during the run and at exit, cost about a third of a
        # cold export (bench/README.md). Reference counting still frees what it can.
        gc.disable()
    from traycreds.cli import fast
    from traycreds.cli.main import main
    from traycreds.tray.front import TrayFront

    code = main(argv, tray_absent=fast.tray_absent, front=TrayFront())
    if one_shot:
        gc.freeze()
    return code
