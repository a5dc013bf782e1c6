"""Asking the person at the terminal, without echo for secrets and without hanging.

When standard input is not a terminal (a script, or ``credential_process``),
answers come from stdin; an MFA prompt with no terminal at all fails at once
with advice instead of waiting forever (aws-vault #1015).
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import IO

from traycreds.core.errors import CancelledError, MfaError
from traycreds.core.models import MfaRequest


def _tty() -> tuple[IO[str], IO[str]] | None:
    if sys.stdin.isatty():
        return sys.stdin, sys.stderr
    try:
        handle = open("/dev/tty", "r+", encoding="utf-8")  # noqa: SIM115 - kept open for the prompt
    except OSError:
        return None
    return handle, handle


def ask(prompt: str, *, secret: bool = False) -> str:
    """One answer: from the terminal (hidden when secret) or a line of stdin."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CancelledError(f"Expected {prompt.strip(': ').lower()} on standard input.")
        return line.rstrip("\r\n")
    try:
        if secret:
            return getpass.getpass(prompt, stream=sys.stderr)
        sys.stderr.write(prompt)
        sys.stderr.flush()
        return sys.stdin.readline().rstrip("\r\n")
    except (EOFError, KeyboardInterrupt):
        raise CancelledError("Cancelled at the prompt.") from None


def mfa_from_terminal(request: MfaRequest) -> str:
    if not sys.stdin.isatty() and os.environ.get("TRAYCREDS_MFA_FROM_STDIN") != "0":
        line = sys.stdin.readline()
        if line:
            if request.problem:
                raise MfaError(request.problem)
            return line.strip()
    streams = _tty()
    if streams is None and request.problem:  # the code came on stdin; say why it failed
        raise MfaError(f"{request.problem} There is no terminal to ask for another code on: "
                       "run the command again with a fresh code.")
    if streams is None:
        raise MfaError(
            f"Role {request.role} needs an MFA code from {request.serial}, but there is no "
            "terminal to ask on. Run 'traycreds export' in a terminal first, use the tray "
            "(it asks on the desktop), or pipe the code on standard input.",
            title="MFA code needed")
    reader, writer = streams
    if request.problem:
        writer.write(f"{request.problem}\n")
    writer.write(f"MFA code for {request.role} ({request.serial}): ")
    writer.flush()
    try:
        line = reader.readline()
    except KeyboardInterrupt:
        raise CancelledError("Cancelled at the MFA prompt.") from None
    if not line:
        raise CancelledError("No MFA code entered.")
    return line.strip()
