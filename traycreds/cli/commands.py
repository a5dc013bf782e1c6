"""Which module carries out each command; main.py only parses and reports."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from traycreds.app.context import Context
from traycreds.cli import (
    admin,
    config,
    console,
    credentials,
    execute,
    files,
    keys,
    roles,
    sso,
    traycontrol,
)

Command = Callable[[argparse.Namespace, Context], int]

COMMANDS: dict[str, Command] = {
    "export": credentials.cmd_export,
    "credential-process": credentials.cmd_credential_process,
    "whoami": credentials.cmd_whoami,
    "console": console.cmd_console,
    "exec": execute.cmd_exec,
    "roles": roles.cmd_roles,
    "keys": keys.cmd_keys,
    "config": config.cmd_config,
    "write": files.cmd_write,
    "clean": files.cmd_clean,
    "setup-profiles": files.cmd_setup_profiles,
    "demo": traycontrol.cmd_demo,
    "tray": traycontrol.cmd_tray,
    "forget": traycontrol.cmd_forget,
    "reload": traycontrol.cmd_reload,
    "quit": traycontrol.cmd_quit,
    **admin.COMMANDS,
    **sso.COMMANDS,
}


def dispatch(args: argparse.Namespace) -> int:
    return COMMANDS[args.command](args, Context())
