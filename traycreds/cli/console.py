"""`traycreds console ROLE`: the AWS console in the browser, signed in as the role.

The provider (cli/providers.py: the running tray, else this process) gives the role's
credentials; the sign-in URL is built here and opened by adapters/console.py, which keeps
it off every command line. ``--print`` writes it to stdout (and warns: it is a secret).
"""

from __future__ import annotations

import argparse
import sys

from traycreds.app.context import Context
from traycreds.cli import providers
from traycreds.cli.common import out


def cmd_console(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.adapters import console as outside
    from traycreds.adapters.hardening import harden_process

    harden_process()  # this process is about to hold credentials
    url = providers.for_command(args, ctx).console_url(
        args.role, destination=args.destination, region=args.region, duration=args.duration)
    if args.print:
        sys.stderr.write("traycreds: warning: this URL signs anyone who opens it in to the AWS "
                         "console as the role for 15 minutes; do not share or log it.\n")
        out(url)
        return 0
    page = outside.open_in_browser(url)
    sys.stderr.write(f"traycreds: opened the AWS console as {args.role} in the browser.\n")
    outside.remove_later(page, detached=True)  # returns at once
    return 0
