"""The commands that hand out credentials: export, credential-process, whoami.

Each asks the command's provider (cli/providers.py: the running tray, else this process's
engine) and renders with core/shells.py: the same path the tray's "Copy for ..." takes.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from traycreds.app.context import Context
from traycreds.cli import providers
from traycreds.cli.common import notes, out
from traycreds.core import text
from traycreds.core.keys import check_source_name


def cmd_export(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.adapters.hardening import harden_process
    from traycreds.core import shells

    harden_process()  # this process is about to hold credentials
    rendered = providers.for_command(args, ctx).render(
        args.role, args.shell or ctx.settings.app.default_shell, fresh=args.fresh)
    notes(rendered.issued.notes)
    if not args.copy:
        out(rendered.text)
        return 0
    from traycreds.adapters.clipboard import fingerprint, get_clipboard, schedule_clear

    get_clipboard().copy(rendered.text)
    after = ctx.settings.app.clipboard_clear_seconds
    schedule_clear(fingerprint(rendered.text), after)
    expires = rendered.issued.credentials.expiration
    # Local time, as the tray's notifications say it (UTC is for files and programs).
    left = text.time_left((expires - datetime.now(timezone.utc)).total_seconds()) \
        if expires else ""
    until = f"; they expire at {text.local_time(expires)} ({left})" if expires else ""
    clears = f", cleared in {after} s if unchanged" if after else ""
    sys.stderr.write(f"traycreds: copied {args.role} for {shells.SHELL_TITLES[rendered.shell]} "
                     f"to the clipboard{clears}{until}.\n")
    return 0


def cmd_credential_process(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.adapters.hardening import harden_process
    from traycreds.core import shells

    harden_process()  # this process is about to hold credentials
    provider = providers.for_command(args, ctx)
    if args.source:
        issued = provider.source_key(check_source_name(args.source))
        out(shells.render("json", issued.credentials))
        return 0
    rendered = provider.render(args.role, "json")
    notes(rendered.issued.notes)
    out(rendered.text)
    return 0


def cmd_whoami(args: argparse.Namespace, ctx: Context) -> int:
    if args.source:  # the key itself: no tray holds an identity for it
        identity = providers.local(ctx).source_identity(check_source_name(args.source))
    else:
        identity = providers.for_command(args, ctx).identity(args.role)
    out(text.table(["ACCOUNT", "ARN", "USER ID"],
                   [[identity.account, identity.arn, identity.user_id]]))
    return 0
