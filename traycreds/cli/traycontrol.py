"""The commands that start the tray or give the running one an order."""

from __future__ import annotations

import argparse

from traycreds.app.context import Context
from traycreds.cli.common import out, tray_front, tray_only


def cmd_demo(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.cli import demo

    return demo.run(args.run_command_line, tray_front(args) if not args.no_tray else None)


def cmd_forget(args: argparse.Namespace, ctx: Context) -> int:
    answer = tray_only("forget", {"role": args.role} if args.role else {})
    out(f"The tray dropped the credentials of: {', '.join(answer['forgotten']) or 'none'}.\n")
    return 0


def cmd_reload(args: argparse.Namespace, ctx: Context) -> int:
    answer = tray_only("reload", {})
    out(f"The tray re-read its files: {answer['roles']} roles, {answer['problems']} with "
         "problems ('traycreds config check' lists them).\n")
    return 0


def cmd_quit(args: argparse.Namespace, ctx: Context) -> int:
    tray_only("quit", {})
    out("The tray is quitting; it cleared its credentials and its clipboard content.\n")
    return 0


def cmd_tray(args: argparse.Namespace, ctx: Context) -> int:
    return tray_front(args).run()

