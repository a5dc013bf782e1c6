"""``traycreds`` command line: parse, dispatch, turn errors into two lines and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from traycreds import __version__
from traycreds.core.errors import ExitCode, TraycredsError
from traycreds.core.shells import SHELLS

if TYPE_CHECKING:
    from traycreds.cli.common import TrayFront

log = logging.getLogger("traycreds.cli")

EPILOG = """exit codes: 0 ok, 2 usage, 3 configuration, 4 unknown role, 5 keyring,
6 value unsafe for the shell, 7 cancelled, 8 file, 10 key rejected, 11 wrong secret
or clock, 12 access denied, 13 MFA, 14 session expired, 15 region disabled,
16 throttled, 17 network, 18 no tray running, 19 not an STS answer, 1 other."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="traycreds",
        description="Assume AWS roles with access keys kept in the OS keyring, and hand the "
                    "temporary credentials to shells, SDKs and the AWS CLI.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"traycreds {__version__}")
    parser.add_argument("--no-tray", action="store_true",
                        help="do the work in this process even if a tray is running "
                             "(also TRAYCREDS_NO_TRAY=1)")
    parser.add_argument("--debug", action="store_true",
                        help="log at DEBUG to stderr and the log file (secrets are never logged)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("roles", help="list roles with their source key, MFA and state")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("export", help="print lines that set the role's credentials in a shell")
    p.add_argument("role")
    p.add_argument("--shell", "-s", help=f"{', '.join(SHELLS[:-1])} or {SHELLS[-1]} "
                                         "(default: the settings' default_shell)")
    p.add_argument("--fresh", action="store_true", help="assume the role again even if held")
    p.add_argument("--copy", action="store_true",
                   help="copy the lines to the clipboard instead of printing them (cleared "
                        "after the settings' clipboard_clear_seconds if still unchanged)")

    p = sub.add_parser("exec", help="run a command as a role: its SDKs fetch fresh "
                                    "credentials from the tray (static ones without it)")
    p.add_argument("role")
    p.add_argument("--no-tray", dest="exec_no_tray", action="store_true",
                   help="static variables from this process, even if a tray is running")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND ...",
                   help="the command and its arguments, after '--'")

    p = sub.add_parser("credential-process",
                       help="print credential_process JSON (for ~/.aws/config)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("role", nargs="?")
    who.add_argument("--source", help="serve the stored long-term key itself (no STS call)")

    p = sub.add_parser("whoami", help="GetCallerIdentity with a role's (or a key's) credentials")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("role", nargs="?")
    who.add_argument("--source", help="check a stored access key instead of a role")

    p = sub.add_parser("console", help="open the AWS console in the browser, signed in as a role")
    p.add_argument("role")
    p.add_argument("--print", action="store_true",
                   help="print the sign-in URL instead (a secret: it signs its opener in)")
    p.add_argument("--destination", metavar="URL", help="the console page to open (https)")
    p.add_argument("--region", help="open this region's console")
    p.add_argument("--duration", type=int, metavar="SECONDS",
                   help="console session length, 900 to 43200 (AWS's default when omitted)")

    p = sub.add_parser("write", help="write a role's credentials into a profile of "
                                     "~/.aws/credentials (only sections traycreds owns)")
    p.add_argument("role")
    p.add_argument("--profile", help="the section to write (default: the role's 'profile' "
                                     "setting, else ROLE-traycreds; never a profile whose "
                                     "config has role_arn or another credential source)")
    p.add_argument("--take-over", action="store_true",
                   help="replace a section traycreds did not write (a backup is kept)")
    p.add_argument("--remove", action="store_true", help="remove the role's section instead")
    p.add_argument("--fresh", action="store_true", help="assume the role again even if held")

    sub.add_parser("clean", help="remove expired sections traycreds wrote to ~/.aws/credentials")

    p = sub.add_parser("setup-profiles",
                       help="add [profile ROLE-tray] sections to ~/.aws/config whose "
                            "credential_process asks traycreds (no secrets in files)")
    p.add_argument("roles", nargs="*", metavar="ROLE", help="roles to set up")
    p.add_argument("--all", action="store_true", help="every role traycreds knows")
    p.add_argument("--suffix", default="-tray",
                   help="appended to the role name to name the profile (default: -tray)")
    p.add_argument("--remove", action="store_true", help="remove those profiles instead")

    keys = sub.add_parser("keys", help="manage long-term access keys in the OS keyring")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    p = ksub.add_parser("add", help="store an access key (prompted, or two lines on stdin)")
    p.add_argument("source", help="the name roles use as source_profile")
    p.add_argument("--no-verify", action="store_true",
                   help="do not check the key with GetCallerIdentity")
    p = ksub.add_parser("import", help="move a plaintext key from ~/.aws/credentials into "
                                       "the keyring (verified; backup kept)")
    p.add_argument("source", help="the section of ~/.aws/credentials holding the key")
    p.add_argument("--no-verify", action="store_true",
                   help="do not check the key with GetCallerIdentity first")
    p = ksub.add_parser("list", help="show stored keys (names and key ids, never secrets)")
    p.add_argument("--no-age", action="store_true",
                   help="do not ask IAM for each key's age and last use")
    p = ksub.add_parser("rotate", help="replace a stored key with a new one from IAM "
                                       "(crash-safe; the old key is deactivated, then deleted)")
    p.add_argument("source", help="the stored key's name")
    p.add_argument("--delete-now", action="store_true",
                   help="delete the old key at once instead of after rotation_grace_hours")
    p.add_argument("--finish", action="store_true",
                   help="only finish a rotation under way: delete its inactive old key now")
    p = ksub.add_parser("remove", help="delete a stored key from the keyring")
    p.add_argument("source")

    config = sub.add_parser("config", help="traycreds' settings file")
    csub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    csub.add_parser("path", help="print the settings file's path")
    csub.add_parser("edit", help="open the settings file in $VISUAL/$EDITOR (created if missing)")
    csub.add_parser("check", help="report problems in ~/.aws/config and the settings")

    sub.add_parser("tray", help="start the tray (the default with no command)")
    from traycreds.cli import admin

    admin.add_parsers(sub)
    from traycreds.cli import sso

    sso.add_parsers(sub)
    p = sub.add_parser("forget", help="make the running tray drop held credentials (and clear "
                                      "its clipboard content if unchanged)")
    p.add_argument("role", nargs="?", help="one role (default: all)")
    sub.add_parser("reload", help="make the running tray re-read ~/.aws/config and settings")
    sub.add_parser("quit", help="quit the running tray")
    p = sub.add_parser("demo", help="run traycreds against a local demo STS (no AWS account)")
    p.add_argument("--no-tray", action="store_true",
                   help="print what roles, export and whoami give instead of starting the tray")
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """Each subcommand's --help starts with the line its parent's list shows for it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                if child.description is None and helps.get(name):
                    text = str(helps[name])
                    child.description = text[:1].upper() + text[1:].rstrip(".") + "."
                _describe(child)


def _report(error: TraycredsError) -> int:
    sys.stderr.write(f"traycreds: {error.title}\n  {error.message}\n")
    return int(error.exit_code)


def main(argv: Sequence[str] | None = None, *, tray_absent: bool = False,
         front: TrayFront | None = None) -> int:
    """Run one command. ``tray_absent``: the fast path already knocked and no tray answered,
    so the command does not knock again. ``front``: the tray front end, for the commands that
    start it or draw its icon (the console script passes it; cli never imports tray/)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.tray_absent, args.front = tray_absent, front
    # The demo's walkthrough runs commands as the console script would, reports and all.
    args.run_command_line = lambda more: main(more, tray_absent=tray_absent, front=front)
    from traycreds.adapters import logs, paths

    debug = args.debug or os.environ.get("TRAYCREDS_LOG", "").lower() == "debug"
    logs.setup(None if os.environ.get("TRAYCREDS_NO_LOG_FILE") else paths.log_dir(),
               debug=debug, stderr=debug)
    if args.command is None:
        args.command = "tray"
    from traycreds.cli import commands

    try:
        return commands.dispatch(args)
    except TraycredsError as error:
        log.info("%s failed: %s", args.command, error.title)
        return _report(error)
    except KeyboardInterrupt:
        return _report(TraycredsError("Interrupted.", title="Cancelled"))
    except BrokenPipeError:
        return int(ExitCode.FAILURE)
    except Exception as exc:  # the last resort: one line, details in the (scrubbed) log
        log.exception("unexpected failure in %s", args.command)
        return _report(TraycredsError(
            f"An unexpected {type(exc).__name__} occurred. Details are in the log folder "
            f"({paths.log_dir()}); please include them in a bug report.",
            title="Internal error"))

