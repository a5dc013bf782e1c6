"""'traycreds keys rotate NAME' and the age columns of 'traycreds keys list'."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from traycreds.app.context import Context
from traycreds.cli.common import out
from traycreds.core import text
from traycreds.core.keys import check_source_name
from traycreds.core.models import utc_now
from traycreds.core.rotation import describe_age, describe_last_use


def _say(line: str) -> None:
    out(line + "\n")


def cmd_rotate(args: argparse.Namespace, ctx: Context,
               tell_tray: Callable[[str], None]) -> int:
    """``tell_tray``: cli/keys' telling a running tray that a stored key changed."""
    from traycreds.app import keyrotation
    from traycreds.cli.prompts import mfa_from_terminal

    source = check_source_name(args.source)
    # A running tray is told as soon as the stored key is switched, even if a later step
    # fails: it would otherwise hold the old key, soon inactive.
    keyrotation.rotate(ctx, source, _say, mfa_from_terminal, delete_now=args.delete_now,
                       finish_only=args.finish, on_switch=tell_tray)
    return 0


def age_table(ctx: Context, used_by: dict[str, list[str]]) -> str:
    """The stored keys with their age and last use as IAM says; a key IAM could not be asked
    about says why in its row, and the others still show."""
    from traycreds.app import keyrotation

    now = utc_now()
    warn_days = ctx.settings.app.key_warn_age_days
    rows = []
    for age in keyrotation.key_ages(ctx, now):
        added = ctx.keys.index().get(age.source, {}).get("added", "?")
        if age.problem:
            old, last = "?", f"IAM not asked: {age.problem}"
        else:
            old, last = describe_age(age.created, now), describe_last_use(age.last_used, now)
            if age.created is not None and (now - age.created).days >= warn_days:
                old += " (rotate: traycreds keys rotate " + age.source + ")"
        rows.append([age.source, age.key_id, added, old, last,
                     ", ".join(sorted(used_by.get(age.source, []))) or "-"])
    if any(age_row[4].startswith("IAM not asked") for age_row in rows):
        sys.stderr.write("traycreds: note: some keys' age is unknown: IAM could not be asked "
                         "(see LAST USED); 'traycreds keys list --no-age' skips IAM.\n")
    return text.table(["NAME", "KEY ID", "ADDED", "AGE", "LAST USED", "USED BY"], rows)
