"""The commands that edit the AWS files: write, clean, setup-profiles."""

from __future__ import annotations

import argparse

from traycreds.adapters import paths
from traycreds.app.context import Context
from traycreds.cli.common import local_engine, notes, out
from traycreds.core import credfile
from traycreds.core.credfile import SectionNotOursError
from traycreds.core.errors import UsageError
from traycreds.core.models import Role


def cmd_write(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.app import profiles
    from traycreds.core.shells import format_expiration

    role = ctx.catalog.get(args.role)
    target = paths.aws_credentials_file()
    if args.remove:
        return _remove_written(role, args.profile)
    # Checked before assuming the role: a name the AWS tools would ignore is refused at once.
    name = profiles.profile_for(role, args.profile)
    issued = local_engine(ctx).issue(args.role, fresh=args.fresh)
    notes(issued.notes)
    name, saved, note = profiles.write_profile(role, issued.credentials, profile=name,
                                               take_over=args.take_over)
    if note:
        notes((note,))
    expires = issued.credentials.expiration
    until = f", expires {format_expiration(expires)}" if expires else ""
    out(f"Wrote {role.name}'s credentials to [{name}] in {target}{until}.\n"
         f"Use them with: {profiles.aws_command(name, role.region)} (programs started earlier "
         "keep the old credentials until they re-read the file)\n")
    if saved:
        out(f"The section it replaced is kept in {saved}.\n")
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
        out(f"{target} has no section [{names[0]}]; nothing to remove.\n")
        return 0
    out(f"Removed {', '.join(f'[{name}]' for name in removed)} from {target}.\n")
    return 0


def cmd_clean(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.app import profiles
    from traycreds.core.models import utc_now

    stale = profiles.remove_stale_temp_files()
    if stale:
        out(f"Removed {stale} stale temp file{'s' if stale > 1 else ''} left by interrupted "
             "writes (they may have held credentials).\n")
    cleaned = profiles.clean_expired(utc_now())
    target = paths.aws_credentials_file()
    if cleaned:
        out(f"Removed expired sections from {target}: {', '.join(cleaned)}.\n")
    else:
        out(f"No expired sections of traycreds' in {target}.\n")
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
            out(f"[profile {name}] {'removed' if gone else 'was not there'}.\n")
            continue
        try:
            line = profiles.setup_tray_profile(role, name)
        except SectionNotOursError:
            raise SectionNotOursError(
                f"{target} already has a [profile {name}] that traycreds did not write; it was "
                "not changed. Choose another name with --suffix.") from None
        out(f"[profile {name}] in {target}: credential_process = {line}\n")
    if not args.remove:
        out("Any AWS SDK or the AWS CLI now gets these roles' credentials from traycreds, "
             f"e.g.: aws --profile {profiles.tray_profile_name(roles[0], args.suffix)} "
             "sts get-caller-identity\n")
    return 0

