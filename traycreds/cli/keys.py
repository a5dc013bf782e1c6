"""'traycreds keys': long-term access keys in the OS keyring (add, import, list, remove)."""

from __future__ import annotations

import argparse
import sys

from traycreds.adapters import paths
from traycreds.app.context import Context
from traycreds.cli.common import local_engine, notes, out
from traycreds.core import text
from traycreds.core.errors import ConfigError, NotRunningError, UsageError
from traycreds.core.keys import check_key_pair, check_source_name
from traycreds.core.models import Credentials
from traycreds.core.roles import resolve_chain


def cmd_keys(args: argparse.Namespace, ctx: Context) -> int:
    if args.keys_command == "list":
        index = ctx.keys.index()
        users: dict[str, list[str]] = {}
        for name in ctx.catalog.roles:
            try:
                users.setdefault(resolve_chain(ctx.catalog, name).source_key, []).append(name)
            except ConfigError:
                continue
        if not index:
            out("No access keys stored. Add one with: traycreds keys add NAME\n")
        rows = [[name, entry.get("key_id", "?"), entry.get("added", "?"),
                 ", ".join(sorted(users.get(name, []))) or "-"]
                for name, entry in sorted(index.items())]
        if rows and not getattr(args, "no_age", True):
            from traycreds.cli.rotate import age_table

            out(age_table(ctx, users))
        elif rows:
            out(text.table(["NAME", "KEY ID", "ADDED", "USED BY"], rows))
        for name in sorted(set(users) - set(index)):
            sys.stderr.write(f"traycreds: note: roles {', '.join(sorted(users[name]))} use key "
                             f"{name!r}, which is not stored: traycreds keys add {name}\n")
        return 0
    if args.keys_command == "import":
        return _import_key(args, ctx)
    if args.keys_command == "rotate":
        from traycreds.cli.rotate import cmd_rotate

        return cmd_rotate(args, ctx, _tell_tray_key_changed)
    source = check_source_name(args.source)
    if args.keys_command == "remove":
        if not ctx.keys.remove(source):
            raise UsageError(f"No key named {source!r} is stored ('traycreds keys list').")
        _tell_tray_key_changed(source)
        out(f"Removed key {source!r} from the keyring. To use it without traycreds again, "
             f"put aws_access_key_id and aws_secret_access_key under [{source}] in "
             f"{paths.aws_credentials_file()} by hand.\n")
        return 0
    from traycreds.cli.prompts import ask

    key_id, secret = check_key_pair(ask("Access key id: "),
                                    ask("Secret access key: ", secret=True))
    creds = Credentials(key_id, secret)
    identity = None
    if not args.no_verify:
        identity = local_engine(ctx).source_identity(source, creds)
    ctx.keys.put(source, creds)
    _tell_tray_key_changed(source)
    who = f" ({identity.arn})" if identity else " (not verified)"
    out(f"Stored key {key_id} as {source!r}{who}.\n")
    return 0


def _tell_tray_key_changed(source: str) -> None:
    """Best effort: a running tray drops the old key of that name and all it obtained
    (MFA sessions, role credentials), so its next click uses the keyring's key. Told even
    with --no-tray: a tray left holding a replaced key fails until it is restarted."""
    from traycreds.channel import client
    from traycreds.core.errors import TraycredsError

    try:
        answer = client.request("keys-changed", {"source": source}, timeout=10.0)
    except client.UntrustedTrayError as error:
        client.warn_untrusted(error)
        return
    except NotRunningError:
        return
    except TraycredsError as error:  # a tray from an older traycreds, or one that is stuck
        sys.stderr.write(f"traycreds: warning: the running tray was not told that key "
                         f"{source!r} changed ({error.title}); quit it and start it again "
                         "so that it uses the new key.\n")
        return
    roles = answer.get("forgotten") if isinstance(answer, dict) else None
    shown = [r for r in roles if isinstance(r, str) and r.isprintable()] if isinstance(
        roles, list) else []
    if shown:
        notes((f"the running tray dropped the credentials it held for {', '.join(shown)} "
                f"(obtained with the old key {source!r}).",))


def _import_key(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.app import profiles

    source = check_source_name(args.source)
    found = profiles.read_plaintext_key(source)
    creds = found.credentials
    identity = None if args.no_verify else local_engine(ctx).source_identity(source, creds)
    ctx.keys.put(source, creds)
    if ctx.keys.get(source) != creds:  # never drop the plaintext copy on a doubtful write
        raise UsageError(f"The keyring did not return the key just stored for {source!r}; "
                         "the plaintext key was left in place.")
    _tell_tray_key_changed(source)
    line = profiles.point_config_at_keyring(source)
    saved = profiles.remove_plaintext_key(source)
    who = f" (verified: {identity.arn})" if identity else ""
    out(f"Moved key {creds.access_key_id} ({source!r}) into the keyring{who}.\n"
         f"Removed its plaintext lines from {paths.aws_credentials_file()}.\n"
         f"{paths.aws_config_file()} now serves it to the AWS CLI and SDKs:\n"
         f"  credential_process = {line}\n")
    if saved:
        out(f"A backup of the old file is at {saved}. It still holds the plaintext key: "
             "delete it once the AWS CLI works for this profile.\n")
    return 0

