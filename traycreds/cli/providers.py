"""Where a command's credentials come from, decided once per command.

The running tray when there is one (its held roles, its MFA dialog, one socket round trip),
else the engine in this process; ``FallbackProvider`` makes the switch on the first call.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from traycreds.app.provider import FallbackProvider, LocalProvider, Provider
from traycreds.cli.common import tray_wanted

if TYPE_CHECKING:
    from traycreds.app.context import Context


def local(ctx: Context) -> LocalProvider:
    from traycreds.cli.prompts import mfa_from_terminal

    return LocalProvider(ctx, mfa_from_terminal)


def for_command(args: argparse.Namespace, ctx: Context) -> Provider:
    if not tray_wanted(args):
        return local(ctx)
    from traycreds.channel.remote import TrayProvider

    return FallbackProvider(TrayProvider(), lambda: local(ctx))
