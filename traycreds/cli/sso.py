"""'traycreds login', 'logout' and 'sso-roles': IAM Identity Center sessions on the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from traycreds.app.context import Context
from traycreds.app.sso import IdentityCenter, SignInPrompt, sign_in, sign_out, target_for
from traycreds.cli.common import out, printable
from traycreds.core import text
from traycreds.core.errors import SsoBadAnswerError


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("login", help="sign in to an IAM Identity Center session (the device "
                                     "flow; the token is shared with the AWS CLI)")
    p.add_argument("session", metavar="SESSION",
                   help="an [sso-session NAME] of ~/.aws/config, or an SSO profile")
    p.add_argument("--no-browser", action="store_true",
                   help="print the URL and code only; open them on any device")
    p = sub.add_parser("logout", help="forget an IAM Identity Center session's token here "
                                      "and for the AWS CLI")
    p.add_argument("session", metavar="SESSION")
    p = sub.add_parser("sso-roles", help="list the accounts and roles an IAM Identity Center "
                                         "session may use")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--refresh", action="store_true",
                   help="ask IAM Identity Center again instead of using the cached list")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _show(prompt: SignInPrompt) -> None:
    if not all(printable(v) for v in (prompt.user_code, prompt.verification_uri,
                                       prompt.verification_uri_complete)):
        raise SsoBadAnswerError("IAM Identity Center's sign-in answer holds unprintable text.")
    # stderr: stdout stays clean for scripts; the code is not a secret (it is compared,
    # and approving still needs the person's own sign-in).
    sys.stderr.write(
        f"Signing in to IAM Identity Center {prompt.session!r}.\n"
        f"Open {prompt.verification_uri_complete}\n"
        f"or go to {prompt.verification_uri} and enter the code: {prompt.user_code}\n"
        f"(the code expires in {text.span(prompt.expires_in)}). Waiting for approval...\n")
    sys.stderr.flush()


def cmd_login(args: argparse.Namespace, ctx: Context) -> int:
    target = target_for(ctx.catalog, args.session)
    token = sign_in(target, _show, open_browser=not args.no_browser)
    out(f"Signed in to {target.login_name}; the sign-in lasts until "
        f"{token.expires_at:%Y-%m-%d %H:%M} UTC.\n")
    return 0


def cmd_logout(args: argparse.Namespace, ctx: Context) -> int:
    target = target_for(ctx.catalog, args.session)
    removed = sign_out(target)
    out(f"Signed out of {target.login_name}.\n" if removed
        else f"Not signed in to {target.login_name}.\n")
    return 0


def cmd_sso_roles(args: argparse.Namespace, ctx: Context) -> int:
    target = target_for(ctx.catalog, args.session)
    accounts = IdentityCenter().accounts(target, refresh=args.refresh)
    if args.json:
        out(json.dumps([{"account_id": a.account_id, "account_name": a.name,
                         "email": a.email, "roles": list(a.roles)} for a in accounts],
                       indent=2) + "\n")
        return 0
    rows = [[_safe(a.account_id), _safe(a.name), _safe(role)]
            for a in accounts for role in a.roles or ("-",)]
    out(text.table(["ACCOUNT", "NAME", "ROLE"], rows) if rows
        else "This session may use no accounts.\n")
    return 0


def _safe(value: str) -> str:
    """The portal's names go to a terminal, which acts on escape codes: shown as repr."""
    return value if printable(value) else repr(value)


COMMANDS: dict[str, Callable[[argparse.Namespace, Context], int]] = {
    "login": cmd_login,
    "logout": cmd_logout,
    "sso-roles": cmd_sso_roles,
}
