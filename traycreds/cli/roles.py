"""'traycreds roles': every role with its source key, MFA and state, and the tray's view."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from traycreds.adapters import paths
from traycreds.app.context import Context
from traycreds.cli.common import out, printable, tray_request
from traycreds.core import text
from traycreds.core.errors import ConfigError
from traycreds.core.roles import resolve_chain


@dataclass(frozen=True)
class _TrayView:
    """What the running tray says it serves, checked (a terminal acts on escape codes)."""

    held: dict[str, Any]  # role -> status and expiration, for roles it has worked on
    names: tuple[str, ...]  # every role it serves (empty from a tray before this field)
    files: tuple[str, str] | None  # its settings file and AWS config file


def _held_states(args: argparse.Namespace) -> _TrayView:
    """What the running tray holds and serves (nothing when no tray runs)."""
    answer = tray_request(args, "state", {}, timeout=5.0)
    if not isinstance(answer, dict):
        return _TrayView({}, (), None)
    held = answer.get("roles")
    names = answer.get("names")
    files = answer.get("files")
    where = (files.get("settings"), files.get("aws_config")) if isinstance(files, dict) \
        else (None, None)
    return _TrayView(
        {k: v for k, v in held.items() if printable(k) and isinstance(v, dict)}
        if isinstance(held, dict) else {},
        tuple(n for n in names if printable(n)) if isinstance(names, list) else (),
        (str(where[0]), str(where[1])) if all(printable(w) for w in where) else None)


def _state_text(held: dict[str, Any] | None) -> str | None:
    if not held or not isinstance(held.get("expiration"), str):
        return None
    try:
        expiration = datetime.fromisoformat(held["expiration"].replace("Z", "+00:00"))
        left = text.time_left((expiration - datetime.now(timezone.utc)).total_seconds())
    except (ValueError, TypeError):
        return None
    status = held.get("status")
    return f"{status if printable(status) else 'held'}, {left}"


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
                "-" if chain.source_key in stored or chain.root is not None
                else f"key {chain.source_key!r} not stored")
            if chain.root is not None and chain.root.sso is not None:
                # An IAM Identity Center role: its own source, signed in with 'login'.
                source = f"sso:{chain.root.sso.login_name}" + (
                    f" > {chain.root.name}" if chain.hops else "") + "".join(
                    f" > {hop}" for hop in hops)
            mfa = chain.needs_mfa
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
        out(json.dumps(rows, indent=2) + "\n")
        return 0
    if not rows:
        out("No roles yet. Add a profile with role_arn and source_profile to "
             f"{paths.aws_config_file()}, or a [roles.NAME] table to {paths.settings_file()} "
             "('traycreds config edit').\n")
        return 0
    headers = ["NAME", "ACCOUNT", "ROLE", "SOURCE", "MFA", "REGION", "STATE"]
    out(text.table(headers, [[r[k.lower()] for k in headers] for r in rows]))
    for problem in ctx.catalog.problems:
        if problem.role is None:
            sys.stderr.write(f"traycreds: warning: {problem.describe()}\n")
    return 0

