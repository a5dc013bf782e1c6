"""What each command does; main.py only parses and reports."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from traycreds.adapters import paths
from traycreds.app.context import Context, default_shell
from traycreds.core import credfile, text
from traycreds.core.credfile import SectionNotOursError
from traycreds.core.errors import ConfigError, ExitCode, NotRunningError, UsageError
from traycreds.core.keys import check_key_pair, check_source_name
from traycreds.core.models import Credentials, Role
from traycreds.core.roles import resolve_chain
from traycreds.core.settings import SETTINGS_TEMPLATE


def _out(value: str) -> None:
    sys.stdout.write(value)
    sys.stdout.flush()


def _engine(ctx: Context):  # type: ignore[no-untyped-def]
    from traycreds.cli.prompts import mfa_from_terminal

    return ctx.engine(mfa_from_terminal)


# A request may wait for the person to type an MFA code into the tray's dialog.
TRAY_TIMEOUT = 180.0


def _via_tray(args: argparse.Namespace, op: str, request: dict[str, object],
              timeout: float = TRAY_TIMEOUT) -> Any:
    """The running tray's answer, or None when no tray runs (then the work is done here).

    A tray that fails the client's checks (another user's folder, key file or process) is
    named in a one-line warning and then treated as no tray. This path imports neither boto3
    nor the keyring: a held role costs a round trip.
    """
    if getattr(args, "no_tray", False) or os.environ.get("TRAYCREDS_NO_TRAY") == "1":
        return None
    from traycreds.channel import client

    try:
        return client.request(op, request, timeout=timeout)
    except client.UntrustedTrayError as error:
        client.warn_untrusted(error)
        return None
    except NotRunningError:
        return None


def _issued(args: argparse.Namespace, ctx: Context, role: str, fresh: bool = False
            ) -> tuple[Credentials, str | None, tuple[str, ...]]:
    document = _via_tray(args, "credentials", {"role": role, "fresh": fresh})
    if document is None:
        issued = _engine(ctx).issue(role, fresh=fresh)
        return issued.credentials, issued.region, issued.notes
    from traycreds.channel.protocol import read_credentials

    answer = read_credentials(document)  # checked: never printed as the tray sent it
    return answer.credentials, answer.region, answer.notes


def _notes(notes: tuple[str, ...]) -> None:
    for note in notes:
        sys.stderr.write(f"traycreds: note: {note}\n")


def cmd_export(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.adapters.hardening import harden_process
    from traycreds.core import shells

    harden_process()  # this process is about to hold credentials

    shell = shells.normalize_shell(args.shell) if args.shell else default_shell(ctx.settings)
    creds, region, notes = _issued(args, ctx, args.role, args.fresh)
    shells.check_shapes(creds)
    rendered = shells.render(shell, creds, region)
    _notes(notes)
    if not args.copy:
        _out(rendered)
        return 0
    from traycreds.adapters.clipboard import fingerprint, get_clipboard, schedule_clear

    get_clipboard().copy(rendered)
    after = ctx.settings.app.clipboard_clear_seconds
    schedule_clear(fingerprint(rendered), after)
    expires = creds.expiration
    # Local time, as the tray's notifications say it (UTC is for files and programs).
    left = text.time_left((expires - datetime.now(timezone.utc)).total_seconds()) \
        if expires else ""
    until = f"; they expire at {text.local_time(expires)} ({left})" if expires else ""
    clears = f", cleared in {after} s if unchanged" if after else ""
    sys.stderr.write(f"traycreds: copied {args.role} for {shells.SHELL_TITLES[shell]} to the "
                     f"clipboard{clears}{until}.\n")
    return 0


def cmd_credential_process(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.adapters.hardening import harden_process
    from traycreds.core import shells

    harden_process()  # this process is about to hold credentials
    if args.source:
        source = check_source_name(args.source)
        document = _via_tray(args, "source-credentials", {"source": source})
        if document is None:
            creds = ctx.keys.get(source)
        else:
            from traycreds.channel.protocol import read_credentials

            creds = read_credentials(document, temporary=False).credentials
    else:
        creds, _, notes = _issued(args, ctx, args.role)
        _notes(notes)
    shells.check_shapes(creds)
    _out(shells.credential_process_json(creds))
    return 0


def cmd_whoami(args: argparse.Namespace, ctx: Context) -> int:
    answer = None if args.source else _via_tray(args, "whoami", {"role": args.role})
    if answer is not None:
        row = _identity_row(answer)
    else:
        engine = _engine(ctx)
        identity = (engine.source_identity(check_source_name(args.source)) if args.source
                    else engine.identity(args.role))
        row = [identity.account, identity.arn, identity.user_id]
    _out(text.table(["ACCOUNT", "ARN", "USER ID"], [row]))
    return 0


def _identity_row(answer: Any) -> list[str]:
    """The tray's whoami answer as a table row, checked: three texts, no control characters
    (a terminal would act on escape sequences)."""
    fields = ("account", "arn", "user_id")
    values = [answer.get(name) if isinstance(answer, dict) else None for name in fields]
    if not all(isinstance(value, str) and value.isprintable() for value in values):
        from traycreds.channel.protocol import ProtocolError

        raise ProtocolError("The tray's answer to 'whoami' is not an identity (account, arn, "
                            "user_id), so nothing was printed. Quit the tray and start it "
                            "again.")
    return [str(value) for value in values]


def _printable(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and value.isprintable()


@dataclass(frozen=True)
class _TrayView:
    """What the running tray says it serves, checked (a terminal acts on escape codes)."""

    held: dict[str, Any]  # role -> status and expiration, for roles it has worked on
    names: tuple[str, ...]  # every role it serves (empty from a tray before this field)
    files: tuple[str, str] | None  # its settings file and AWS config file


def _held_states(args: argparse.Namespace) -> _TrayView:
    """What the running tray holds and serves (nothing when no tray runs)."""
    answer = _via_tray(args, "state", {}, timeout=5.0)
    if not isinstance(answer, dict):
        return _TrayView({}, (), None)
    held = answer.get("roles")
    names = answer.get("names")
    files = answer.get("files")
    where = (files.get("settings"), files.get("aws_config")) if isinstance(files, dict) \
        else (None, None)
    return _TrayView(
        {k: v for k, v in held.items() if _printable(k) and isinstance(v, dict)}
        if isinstance(held, dict) else {},
        tuple(n for n in names if _printable(n)) if isinstance(names, list) else (),
        (str(where[0]), str(where[1])) if all(_printable(w) for w in where) else None)


def _state_text(held: dict[str, Any] | None) -> str | None:
    if not held or not isinstance(held.get("expiration"), str):
        return None
    try:
        expiration = datetime.fromisoformat(held["expiration"].replace("Z", "+00:00"))
        left = text.time_left((expiration - datetime.now(timezone.utc)).total_seconds())
    except (ValueError, TypeError):
        return None
    status = held.get("status")
    return f"{status if _printable(status) else 'held'}, {left}"


def _role_rows(ctx: Context, tray: _TrayView) -> list[dict[str, str]]:
    catalog = ctx.catalog
    stored = ctx.keys.index()
    held = tray.held
    rows = []
    for name in sorted(catalog.roles, key=str.lower):
        role = catalog.roles[name]
        try:
            chain = resolve_chain(catalog, name)
            hops = [hop.role.name for hop in chain.hops[:-1]]
            source = chain.source_key + "".join(f" > {hop}" for hop in hops)
            state = _state_text(held.get(name)) or (
                "-" if chain.source_key in stored else f"key {chain.source_key!r} not stored")
            mfa = any(hop.role.mfa_serial for hop in chain.hops)
        except ConfigError as error:
            source, state, mfa = role.source, f"error: {error.message}", bool(role.mfa_serial)
        rows.append({"name": name, "account": role.account, "role": role.role_name,
                     "source": source, "mfa": "yes" if mfa else "no",
                     "region": role.region or "-", "state": state})
    for name, problem in sorted(catalog.broken.items()):
        rows.append({"name": name, "account": "", "role": "", "source": "", "mfa": "",
                     "region": "", "state": f"error: {problem.describe()}"})
    return rows


def _tray_only_rows(ctx: Context, tray: _TrayView) -> list[dict[str, str]]:
    """Roles the running tray serves that this process' files do not define: it was started
    with other files (the demo's, or another TRAYCREDS_SETTINGS / AWS_CONFIG_FILE)."""
    known = set(ctx.catalog.roles) | set(ctx.catalog.broken)
    return [{"name": name, "account": "", "role": "", "source": "", "mfa": "", "region": "",
             "state": _state_text(tray.held.get(name)) or "served by the running tray"}
            for name in sorted(tray.names, key=str.lower) if name not in known]


def _other_files_note(tray: _TrayView, names: list[str]) -> str:
    here = f"settings {paths.settings_file()}, AWS config {paths.aws_config_file()}"
    theirs = (f"settings {tray.files[0]}, AWS config {tray.files[1]}" if tray.files
              else "other files")
    return (f"traycreds: note: the running tray serves {', '.join(names)} from {theirs}; this "
            f"command read {here}. Rows without details come from the tray; to see them in "
            "full, run traycreds with the tray's files (TRAYCREDS_SETTINGS, AWS_CONFIG_FILE) "
            "or quit that tray and start it with yours.\n")


def cmd_roles(args: argparse.Namespace, ctx: Context) -> int:
    tray = _held_states(args)
    extra = _tray_only_rows(ctx, tray)
    rows = _role_rows(ctx, tray) + extra
    if extra:
        sys.stderr.write(_other_files_note(tray, [row["name"] for row in extra]))
    if args.json:
        _out(json.dumps(rows, indent=2) + "\n")
        return 0
    if not rows:
        _out("No roles yet. Add a profile with role_arn and source_profile to "
             f"{paths.aws_config_file()}, or a [roles.NAME] table to {paths.settings_file()} "
             "('traycreds config edit').\n")
        return 0
    headers = ["NAME", "ACCOUNT", "ROLE", "SOURCE", "MFA", "REGION", "STATE"]
    _out(text.table(headers, [[r[k.lower()] for k in headers] for r in rows]))
    for problem in ctx.catalog.problems:
        if problem.role is None:
            sys.stderr.write(f"traycreds: warning: {problem.describe()}\n")
    return 0


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
            _out("No access keys stored. Add one with: traycreds keys add NAME\n")
        rows = [[name, entry.get("key_id", "?"), entry.get("added", "?"),
                 ", ".join(sorted(users.get(name, []))) or "-"]
                for name, entry in sorted(index.items())]
        if rows:
            _out(text.table(["NAME", "KEY ID", "ADDED", "USED BY"], rows))
        for name in sorted(set(users) - set(index)):
            sys.stderr.write(f"traycreds: note: roles {', '.join(sorted(users[name]))} use key "
                             f"{name!r}, which is not stored: traycreds keys add {name}\n")
        return 0
    if args.keys_command == "import":
        return _import_key(args, ctx)
    source = check_source_name(args.source)
    if args.keys_command == "remove":
        if not ctx.keys.remove(source):
            raise UsageError(f"No key named {source!r} is stored ('traycreds keys list').")
        _tell_tray_key_changed(source)
        _out(f"Removed key {source!r} from the keyring. To use it without traycreds again, "
             f"put aws_access_key_id and aws_secret_access_key under [{source}] in "
             f"{paths.aws_credentials_file()} by hand.\n")
        return 0
    from traycreds.cli.prompts import ask

    key_id, secret = check_key_pair(ask("Access key id: "),
                                    ask("Secret access key: ", secret=True))
    creds = Credentials(key_id, secret)
    identity = None
    if not args.no_verify:
        identity = _engine(ctx).source_identity(source, creds)
    ctx.keys.put(source, creds)
    _tell_tray_key_changed(source)
    who = f" ({identity.arn})" if identity else " (not verified)"
    _out(f"Stored key {key_id} as {source!r}{who}.\n")
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
        _notes((f"the running tray dropped the credentials it held for {', '.join(shown)} "
                f"(obtained with the old key {source!r}).",))


def cmd_write(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.app import profiles
    from traycreds.core.shells import format_expiration

    role = ctx.catalog.get(args.role)
    target = paths.aws_credentials_file()
    if args.remove:
        return _remove_written(role, args.profile)
    # Checked before assuming the role: a name the AWS tools would ignore is refused at once.
    name = profiles.profile_for(role, args.profile)
    issued = _engine(ctx).issue(args.role, fresh=args.fresh)
    _notes(issued.notes)
    name, saved, note = profiles.write_profile(role, issued.credentials, profile=name,
                                               take_over=args.take_over)
    if note:
        _notes((note,))
    expires = issued.credentials.expiration
    until = f", expires {format_expiration(expires)}" if expires else ""
    _out(f"Wrote {role.name}'s credentials to [{name}] in {target}{until}.\n"
         f"Use them with: {profiles.aws_command(name, role.region)} (programs started earlier "
         "keep the old credentials until they re-read the file)\n")
    if saved:
        _out(f"The section it replaced is kept in {saved}.\n")
    return 0


def _remove_written(role: Role, override: str | None) -> int:
    """Remove the role's section; without --profile also the one an earlier traycreds wrote
    under the old default name ([ROLE]), which the AWS tools ignored anyway."""
    from traycreds.app import profiles

    target = paths.aws_credentials_file()
    if override:
        names = [credfile.check_section_name(override)]
    else:
        names = [profiles.default_target(role, profiles.shadowed_profiles())]
        earlier = profiles.earlier_default(role)
        if earlier is not None and earlier not in names:
            names.append(earlier)
    removed = [name for name in names if profiles.remove_profile(name)]
    if not removed:
        _out(f"{target} has no section [{names[0]}]; nothing to remove.\n")
        return 0
    _out(f"Removed {', '.join(f'[{name}]' for name in removed)} from {target}.\n")
    return 0


def cmd_clean(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.app import profiles
    from traycreds.core.models import utc_now

    stale = profiles.remove_stale_temp_files()
    if stale:
        _out(f"Removed {stale} stale temp file{'s' if stale > 1 else ''} left by interrupted "
             "writes (they may have held credentials).\n")
    cleaned = profiles.clean_expired(utc_now())
    target = paths.aws_credentials_file()
    if cleaned:
        _out(f"Removed expired sections from {target}: {', '.join(cleaned)}.\n")
    else:
        _out(f"No expired sections of traycreds' in {target}.\n")
    return 0


def cmd_setup_profiles(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.app import profiles

    names = sorted(ctx.catalog.roles) if args.all else args.roles
    if not names:
        raise UsageError("Name the roles to set up, or use --all.")
    roles = [ctx.catalog.get(name) for name in names]
    target = paths.aws_config_file()
    for role in roles:
        name = profiles.tray_profile_name(role, args.suffix)
        if args.remove:
            gone = profiles.remove_tray_profile(name)
            _out(f"[profile {name}] {'removed' if gone else 'was not there'}.\n")
            continue
        try:
            line = profiles.setup_tray_profile(role, name)
        except SectionNotOursError:
            raise SectionNotOursError(
                f"{target} already has a [profile {name}] that traycreds did not write; it was "
                "not changed. Choose another name with --suffix.") from None
        _out(f"[profile {name}] in {target}: credential_process = {line}\n")
    if not args.remove:
        _out("Any AWS SDK or the AWS CLI now gets these roles' credentials from traycreds, "
             f"e.g.: aws --profile {profiles.tray_profile_name(roles[0], args.suffix)} "
             "sts get-caller-identity\n")
    return 0


def _import_key(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.app import profiles

    source = check_source_name(args.source)
    found = profiles.read_plaintext_key(source)
    creds = found.credentials
    identity = None if args.no_verify else _engine(ctx).source_identity(source, creds)
    ctx.keys.put(source, creds)
    if ctx.keys.get(source) != creds:  # never drop the plaintext copy on a doubtful write
        raise UsageError(f"The keyring did not return the key just stored for {source!r}; "
                         "the plaintext key was left in place.")
    _tell_tray_key_changed(source)
    line = profiles.point_config_at_keyring(source)
    saved = profiles.remove_plaintext_key(source)
    who = f" (verified: {identity.arn})" if identity else ""
    _out(f"Moved key {creds.access_key_id} ({source!r}) into the keyring{who}.\n"
         f"Removed its plaintext lines from {paths.aws_credentials_file()}.\n"
         f"{paths.aws_config_file()} now serves it to the AWS CLI and SDKs:\n"
         f"  credential_process = {line}\n")
    if saved:
        _out(f"A backup of the old file is at {saved}. It still holds the plaintext key: "
             "delete it once the AWS CLI works for this profile.\n")
    return 0


def cmd_config(args: argparse.Namespace, ctx: Context) -> int:
    path = paths.settings_file()
    if args.config_command == "path":
        _out(f"{path}\n")
        return 0
    if args.config_command == "check":
        problems = ctx.catalog.problems
        for problem in problems:
            _out(f"{problem.describe()}\n")
        if not problems:
            _out(f"No problems in {paths.aws_config_file()} or {path}.\n")
        return int(ExitCode.CONFIG) if problems else 0
    if not path.exists():
        from traycreds.adapters.atomic import write_atomic

        write_atomic(path, SETTINGS_TEMPLATE)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if editor:
        try:
            return subprocess.call(editor_command(editor, str(path)))
        except (FileNotFoundError, ValueError) as error:
            name = "VISUAL" if os.environ.get("VISUAL") else "EDITOR"
            raise UsageError(f"Cannot start the editor in ${name} ({editor}): {error}. Fix "
                             f"${name}, or open {path} yourself.") from None
    opener = {"win32": ["notepad"], "darwin": ["open", "-t"]}.get(sys.platform, ["xdg-open"])
    try:
        return subprocess.call([*opener, str(path)])
    except FileNotFoundError:
        raise UsageError(f"No editor found. Set $EDITOR, or open {path} yourself.") from None


def editor_command(editor: str, path: str, platform: str = sys.platform) -> list[str] | str:
    """How to run $EDITOR on ``path``. A value that names a program file as a whole is that
    program (``C:\\Program Files\\Notepad++\\notepad++.exe``, spaces and all). Otherwise it
    is a command prefix: on Windows a command line as CreateProcess reads it (backslashes
    are path separators, quotes group), so the path is appended in Windows' quoting; on
    POSIX it is split as a shell would (``code --wait``)."""
    if os.path.isfile(editor):
        return [editor, path]
    if platform == "win32":
        return f"{editor} {subprocess.list2cmdline([path])}"
    return [*shlex.split(editor), path]


def cmd_demo(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.cli import demo

    return demo.run(tray=not args.no_tray)


def _tray_only(args: argparse.Namespace, op: str, request: dict[str, object]) -> Any:
    from traycreds.channel import client

    return client.request(op, request, timeout=30.0)


def cmd_forget(args: argparse.Namespace, ctx: Context) -> int:
    answer = _tray_only(args, "forget", {"role": args.role} if args.role else {})
    _out(f"The tray dropped the credentials of: {', '.join(answer['forgotten']) or 'none'}.\n")
    return 0


def cmd_reload(args: argparse.Namespace, ctx: Context) -> int:
    answer = _tray_only(args, "reload", {})
    _out(f"The tray re-read its files: {answer['roles']} roles, {answer['problems']} with "
         "problems ('traycreds config check' lists them).\n")
    return 0


def cmd_quit(args: argparse.Namespace, ctx: Context) -> int:
    _tray_only(args, "quit", {})
    _out("The tray is quitting; it cleared its credentials and its clipboard content.\n")
    return 0


def cmd_tray(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.tray.main import run_tray

    return run_tray()


COMMANDS: dict[str, Callable[[argparse.Namespace, Context], int]] = {
    "export": cmd_export,
    "credential-process": cmd_credential_process,
    "whoami": cmd_whoami,
    "roles": cmd_roles,
    "keys": cmd_keys,
    "config": cmd_config,
    "write": cmd_write,
    "clean": cmd_clean,
    "setup-profiles": cmd_setup_profiles,
    "demo": cmd_demo,
    "tray": cmd_tray,
    "forget": cmd_forget,
    "reload": cmd_reload,
    "quit": cmd_quit,
}


def dispatch(args: argparse.Namespace) -> int:
    from traycreds.cli import admin

    return {**COMMANDS, **admin.COMMANDS}[args.command](args, Context())

