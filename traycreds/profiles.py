"""Credentials profiles and key import: the jobs shared by the command line and the tray."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from traycreds.adapters import atomic, inifile, paths
from traycreds.core import credfile
from traycreds.core.awsconfig import profile_name
from traycreds.core.errors import FileError, SourceKeyMissingError, UsageError
from traycreds.core.keys import check_key_pair
from traycreds.core.models import Credentials, Role
from traycreds.core.shells import check_shapes, format_expiration


def profile_for(role: Role, override: str | None = None) -> str:
    return credfile.check_section_name(override or role.profile or role.name)


def credential_values(creds: Credentials) -> list[tuple[str, str]]:
    check_shapes(creds)
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


def traycreds_command() -> str:
    """How other programs start this traycreds (for credential_process lines)."""
    found = shutil.which("traycreds")
    command = [found] if found else [sys.executable, "-m", "traycreds"]
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
