"""Run traycreds, killing itself right after a rotation step (a crash there).

``python -m tests.support.rotkill STEP traycreds-arguments...``: sets app/rotation.py's
CHECKPOINT hook, which production code leaves a no-op, then runs the command line as the
console script does. kill -9 runs no handler, flushes nothing and removes nothing, as a
power cut or the task manager would; on Windows os.kill is TerminateProcess, as abrupt,
and the exit code is the signal's number (KILLED).
"""

from __future__ import annotations

import os
import signal
import sys

from traycreds.app import rotation
from traycreds.cli.entry import run

KILL = getattr(signal, "SIGKILL", signal.SIGTERM)
KILLED = -KILL if sys.platform != "win32" else KILL  # what subprocess reports


def _kill_after(wanted: str) -> None:
    def checkpoint(step: str) -> None:
        if step == wanted:
            os.kill(os.getpid(), KILL)

    rotation.CHECKPOINT = checkpoint


if __name__ == "__main__":
    _kill_after(sys.argv[1])
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    run()
