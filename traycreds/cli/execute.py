"""``traycreds exec ROLE -- COMMAND ARGS...``: run a command as a role (aws-vault's twin).

With a running tray the child gets the tray's credentials endpoint (a URI and a token bound
to the role, core/childenv.py): every SDK in it fetches fresh credentials there, for as long
as it runs. Without one (or with --no-tray) it gets static variables from this process's
engine, which end at AWS_CREDENTIAL_EXPIRATION. Credentials travel only in the child's
environment, never on a command line. The child's exit status is ours.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from traycreds.app.context import Context
from traycreds.cli import providers
from traycreds.cli.common import tray_wanted
from traycreds.core import childenv
from traycreds.core.errors import FileError, NotRunningError, UsageError


def command_of(args: argparse.Namespace) -> list[str]:
    command = list(args.argv)
    if command[:1] == ["--"]:  # argparse keeps the separator in a REMAINDER on some versions
        command = command[1:]
    if not command:
        raise UsageError(f"Name the command to run as {args.role}: "
                         f"traycreds exec {args.role} -- COMMAND [ARGS...]")
    return command


def default_key_file() -> Path | None:
    """The AWS file whose [default] profile holds an access key, if one does: botocore takes
    it before the container provider, so the endpoint would never be asked."""
    from traycreds.adapters import inifile, paths
    from traycreds.core import ini

    for path in (paths.aws_credentials_file(), paths.aws_config_file()):
        try:
            text, _ = inifile.read(path)
        except FileError:
            continue  # unreadable: the child's SDK will say so itself
        if any(section.name == "default" and section.get("aws_access_key_id")
               for section in ini.parse(text).sections):
            return path
    return None


def child_environment(args: argparse.Namespace, ctx: Context) -> dict[str, str]:
    shadowed = default_key_file()
    if shadowed is not None:
        sys.stderr.write(f"traycreds: the [default] profile in {shadowed} holds an access key, "
                         "which the SDKs would take before the tray's endpoint; the command "
                         "gets static credentials instead (they end at "
                         "AWS_CREDENTIAL_EXPIRATION). 'traycreds keys import default' moves "
                         "the key into the keyring.\n")
    if shadowed is None and tray_wanted(args) and not args.exec_no_tray:
        from traycreds.channel.remote import TrayProvider

        try:
            endpoint = TrayProvider().endpoint(args.role)
        except NotRunningError:
            pass
        else:
            return childenv.with_endpoint(os.environ, args.role, endpoint)
    issued = providers.local(ctx).issue(args.role)
    return childenv.with_static(os.environ, args.role, issued)


def cmd_exec(args: argparse.Namespace, ctx: Context) -> int:
    command = command_of(args)  # before any credential: a usage error costs nothing
    env = child_environment(args, ctx)
    try:
        # The list as given: no shell in between (cmd /c, powershell -Command and bash -c
        # are the command itself), so nothing is quoted twice.
        child = subprocess.Popen(command, env=env)
    except FileNotFoundError:
        sys.stderr.write(f"traycreds: {command[0]}: command not found\n")
        return 127
    except PermissionError:
        sys.stderr.write(f"traycreds: {command[0]}: permission denied\n")
        return 126
    return _wait(child)


def _wait(child: subprocess.Popen[bytes]) -> int:
    """The child's status; Ctrl-C reaches it (same console) and we wait for it to end."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    return 128 - code if code < 0 else code  # killed by signal n: 128+n, as shells say
