"""Credentials profiles and key import: the jobs shared by the command line and the tray."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from traycreds.adapters import atomic, inifile, paths
from traycreds.core import credfile
from traycreds.core.awsconfig import profile_name, read_profiles
from traycreds.core.errors import FileError, SourceKeyMissingError, TraycredsError, UsageError
from traycreds.core.keys import check_key_pair
from traycreds.core.models import Credentials, Role
from traycreds.core.shells import format_expiration

log = logging.getLogger(__name__)

# A config profile with one of these keys gets its credentials from there, never from
# ~/.aws/credentials: botocore's chain (and so the AWS CLI) tries them first, so keys written
# under that name would be ignored (role_arn + source_profile would even fail for a key kept
# in the keyring). sso_* keys are matched by prefix.
CONFIG_CREDENTIAL_KEYS = ("role_arn", "source_profile", "credential_process",
                          "web_identity_token_file")
TARGET_SUFFIX = "-traycreds"


def credentials_elsewhere(values: Mapping[str, str]) -> str | None:
    """The key that makes the AWS tools take this config profile's credentials from
    somewhere else than the credentials file, or None."""
    for key in values:
        name = key.lower()  # botocore lowercases option names, as configparser does
        if name in CONFIG_CREDENTIAL_KEYS or name.startswith("sso_"):
            return key
    return None


def shadowed_profiles(path: Path | None = None) -> dict[str, str]:
    """Config profiles whose keys the AWS tools would not read from ~/.aws/credentials:
    name -> the key responsible."""
    path = path or paths.aws_config_file()
    text, _ = inifile.read(path)
    profiles, _ = read_profiles(text, str(path))
    return {name: key for name, profile in profiles.items()
            if (key := credentials_elsewhere(profile.values)) is not None}


def default_target(role: Role, shadowed: Mapping[str, str]) -> str:
    """Where 'write' puts a role's credentials unless told: its 'profile' setting if the AWS
    tools would read keys there, else ROLE-traycreds (a config profile named like the role
    holds its role_arn, so the role's own name never works)."""
    if role.profile and role.profile not in shadowed:
        return role.profile
    return f"{role.name}{TARGET_SUFFIX}"


def write_targets(roles: Iterable[Role]) -> dict[str, str]:
    """Each role's 'Write to credentials profile' section, for the menu to name."""
    try:
        shadowed = shadowed_profiles()
    except TraycredsError as error:  # the menu falls back to the rule without the file
        log.warning("cannot read the AWS config for profile names: %s", error.title)
        return {}
    return {role.name: default_target(role, shadowed) for role in roles}


def _header(name: str) -> str:
    return "[default]" if name == "default" else f"[profile {name}]"


def check_target(role: Role, name: str, shadowed: Mapping[str, str]) -> str:
    """``name``, or an error when the AWS tools would never read the keys written there."""
    key = shadowed.get(credfile.check_section_name(name))
    if key is None:
        return name
    other = default_target(role, shadowed)
    suggestion = f"--profile {other}" if other not in shadowed else "--profile ANOTHER-NAME"
    raise FileError(
        f"{paths.aws_config_file()} has {_header(name)} with {key}, so the AWS CLI and SDKs "
        f"take that profile's credentials from there and would never read keys written to "
        f"[{name}] in {paths.aws_credentials_file()}. Nothing was written. Use {suggestion}, "
        f"or let the AWS tools ask traycreds: 'traycreds setup-profiles {role.name}', then "
        f"aws --profile {role.name}-tray ...", title="Profile would be ignored")


def profile_for(role: Role, override: str | None = None, *,
                shadowed: Mapping[str, str] | None = None) -> str:
    """The section 'write' uses: ``override`` (checked) or the default target."""
    shadowed = shadowed_profiles() if shadowed is None else shadowed
    return check_target(role, override or default_target(role, shadowed), shadowed)


def aws_command(name: str, region: str | None) -> str:
    """The AWS CLI line that reads the written section ('...' for the command)."""
    return f"aws --profile {name}" + (f" --region {region}" if region else "") + " ..."


def credential_values(creds: Credentials) -> list[tuple[str, str]]:
    """The lines of a profile; ``creds`` come from the engine, which checked their shapes."""
    values = [(credfile.KEY_ID_KEY, creds.access_key_id),
              (credfile.SECRET_KEY, creds.secret_access_key)]
    if creds.session_token:
        values.append((credfile.TOKEN_KEY, creds.session_token))
    if creds.expiration:
        values.append((credfile.EXPIRATION_KEY, format_expiration(creds.expiration)))
    return values


class WrittenProfile(NamedTuple):
    name: str  # the section written
    backup: Path | None  # the copy kept of a section taken over
    note: str | None  # a one-time notice for the user (the file was made private)


def _private_note(path: Path, mode: int | None) -> str | None:
    if mode is None:
        return None
    return (f"{path} was readable by other users (mode {mode & 0o777:04o}); traycreds made it "
            "0600 because it now holds credentials.")


def write_profile(role: Role, creds: Credentials, *, profile: str | None = None,
                  take_over: bool = False, path: Path | None = None) -> WrittenProfile:
    """Write the role's temporary credentials into its section."""
    path = path or paths.aws_credentials_file()
    name = profile_for(role, profile)
    values = credential_values(creds)
    edited = inifile.edit(path, lambda text: credfile.upsert(
        text, str(path), name, values, owner=role.name, take_over=take_over),
        keep_backup=take_over, private=True)
    return WrittenProfile(name, edited.backup, _private_note(path, edited.loosened_mode))


def earlier_default(role: Role, *, path: Path | None = None) -> str | None:
    """The section an earlier traycreds wrote for this role under its old default name
    ([ROLE] or the profile setting, which the AWS tools may ignore), if it is still there."""
    path = path or paths.aws_credentials_file()
    text, _ = inifile.read(path)
    old = role.profile or role.name
    found = any(s.name == old and s.role == role.name for s in credfile.owned_sections(text))
    return old if found else None


def remove_profile(name: str, *, path: Path | None = None) -> bool:
    path = path or paths.aws_credentials_file()
    removed: list[bool] = []

    def change(text: str) -> str:
        new, found = credfile.remove_section(text, str(path), name)
        removed.append(found)
        return new

    inifile.edit(path, change)
    return removed[-1]


def clean_expired(now: datetime, *, path: Path | None = None) -> list[str]:
    """Remove every section of ours whose credentials have expired; returns their names."""
    path = path or paths.aws_credentials_file()
    cleaned: list[str] = []

    def change(text: str) -> str:
        cleaned.clear()
        for section in credfile.owned_sections(text):
            if section.expiration is not None and section.expiration <= now:
                text, _ = credfile.remove_section(text, str(path), section.name)
                cleaned.append(section.name)
        return text

    inifile.edit(path, change)
    return list(cleaned)


def remove_stale_temp_files() -> int:
    """Temp files of traycreds' own files left by killed writers (``traycreds clean``)."""
    files = [paths.aws_credentials_file(), paths.aws_config_file(), paths.settings_file(),
             paths.data_dir() / paths.KEY_INDEX_NAME]
    # A symlinked file is written beside its target: look there too.
    targets = set(files) | {Path(os.path.realpath(f)) for f in files}
    return sum(atomic.remove_stale_temps(target) for target in sorted(targets))


def traycreds_command(executable: str | None = None, platform: str = sys.platform) -> str:
    """How other programs start this traycreds (for credential_process lines): the Windows
    bundle's own traycreds.exe, else the ``traycreds`` on PATH, else ``python -m traycreds``."""
    executable = sys.executable if executable is None else executable
    from traycreds.adapters.autostart import windows_bundle

    bundle = windows_bundle(Path(executable)) if platform == "win32" and executable else None
    found = str(bundle / "traycreds.exe") if bundle else shutil.which("traycreds")
    command = [found] if found else [executable, "-m", "traycreds"]
    return " ".join(f'"{part}"' if " " in part else part for part in command)


@dataclass(frozen=True)
class PlaintextKey:
    source: str
    credentials: Credentials


def read_plaintext_key(source: str, *, path: Path | None = None) -> PlaintextKey:
    path = path or paths.aws_credentials_file()
    text, _ = inifile.read(path)
    doc = credfile.parse_checked(text, str(path))
    section = next((s for s in doc.sections if s.name == source), None)
    if section is None or section.get(credfile.KEY_ID_KEY) is None:
        raise SourceKeyMissingError(f"{path} has no access key under [{source}]. "
                                    f"Add the key directly with 'traycreds keys add {source}'.",
                                    title="Nothing to import")
    if section.get(credfile.OWNER_KEY) is not None or section.get(credfile.TOKEN_KEY):
        raise UsageError(f"[{source}] in {path} holds temporary credentials; only long-term "
                         "keys (AKIA...) are worth keeping in the keyring.")
    key_id, secret = check_key_pair(section.get(credfile.KEY_ID_KEY) or "",
                                    section.get(credfile.SECRET_KEY) or "")
    return PlaintextKey(source, Credentials(key_id, secret))


def point_config_at_keyring(source: str, *, path: Path | None = None) -> str:
    """Add ``credential_process`` for ``source`` to ~/.aws/config; returns the line."""
    path = path or paths.aws_config_file()
    line = f"{traycreds_command()} credential-process --source {source}"
    header = "default" if source == "default" else f"profile {source}"

    def change(text: str) -> str:
        doc = credfile.parse_checked(text, str(path))
        current = next((s for s in doc.sections
                        if profile_name(s.name, config_file=True) == source), None)
        existing = current.get("credential_process") if current else None
        if existing and existing != line:
            raise FileError(f"[{header}] in {path} already has credential_process = "
                            f"{existing}. Remove it first if traycreds should serve this key.")
        return credfile.upsert(text, str(path), source, [("credential_process", line)],
                               match=lambda n: profile_name(n, config_file=True) == source,
                               header=header)

    inifile.edit(path, change, keep_backup=True)
    return line


def remove_plaintext_key(source: str, *, path: Path | None = None) -> Path | None:
    path = path or paths.aws_credentials_file()
    keys = (credfile.KEY_ID_KEY, credfile.SECRET_KEY)
    return inifile.edit(path, lambda text: credfile.remove_keys(text, str(path), source, keys),
                        keep_backup=True).backup


def tray_profile_name(role: Role, suffix: str) -> str:
    return credfile.check_section_name(f"{role.name}{suffix}")


def setup_tray_profile(role: Role, name: str, *, path: Path | None = None) -> str:
    """A ``[profile NAME]`` in ~/.aws/config whose credentials come from traycreds.

    The section is marked as ours like the credentials profiles, so a profile the
    user wrote is never overwritten; a backup of the config is kept.
    """
    path = path or paths.aws_config_file()
    line = f"{traycreds_command()} credential-process {role.name}"
    values = [("credential_process", line)]
    if role.region:
        values.append(("region", role.region))
    header = "default" if name == "default" else f"profile {name}"
    inifile.edit(path, lambda text: credfile.upsert(
        text, str(path), name, values, owner=role.name, header=header,
        match=lambda n: profile_name(n, config_file=True) == name), keep_backup=True)
    return line


def remove_tray_profile(name: str, *, path: Path | None = None) -> bool:
    path = path or paths.aws_config_file()
    removed: list[bool] = []

    def change(text: str) -> str:
        doc = credfile.parse_checked(text, str(path))
        section = next((s for s in doc.sections
                        if profile_name(s.name, config_file=True) == name), None)
        if section is None:
            removed.append(False)
            return text
        new, found = credfile.remove_section(text, str(path), section.name)
        removed.append(found)
        return new

    inifile.edit(path, change)
    return removed[-1]
