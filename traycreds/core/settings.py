"""traycreds' own settings file (TOML): app settings, extra roles, role presentation.

Example::

    [app]
    default_shell = "cmd"            # cmd, powershell, bash, zsh, fish, dotenv, json
    warn_before_minutes = [15, 5]    # expiry warnings
    clipboard_clear_seconds = 45     # 0 = never clear
    sts_timeout_seconds = 30         # give up on one STS call (retries included) after this

    [roles.prod-admin]               # presentation for a role from ~/.aws/config
    label = "Production admin"
    group = "Production"
    colour = "#c62828"
    favourite = true

    [roles.sandbox]                  # a role that exists only here
    role_arn = "arn:aws:iam::123456789012:role/Sandbox"
    source_profile = "me"
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any

from traycreds.core.models import Problem
from traycreds.core.shells import SHELLS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# Role keys shared with ~/.aws/config (botocore's names).
ROLE_KEYS = (
    "role_arn",
    "source_profile",
    "credential_source",
    "mfa_serial",
    "external_id",
    "role_session_name",
    "duration_seconds",
    "region",
    "sts_regional_endpoints",
    "endpoint_url",
)
PRESENTATION_KEYS = ("label", "group", "colour", "order", "favourite", "profile",
                     "auto_refresh")
_ALIASES = {"color": "colour", "favorite": "favourite"}
# One STS call, its retries included, ends by this deadline whatever the server does.
STS_TIMEOUT_RANGE = (5, 120)  # 120: under the 180 s a CLI waits for the tray's answer

# What 'config edit' and 'Open settings file' create when there is no settings file yet.
SETTINGS_TEMPLATE = '''# traycreds settings. Roles come from ~/.aws/config (profiles with role_arn);
# this file adds presentation to them, or defines roles of its own.

[app]
# default_shell = "bash"          # cmd, powershell, bash, zsh, fish, dotenv, json
# warn_before_minutes = [15, 5]
# clipboard_clear_seconds = 45    # 0 = never clear
# sts_timeout_seconds = 30        # give up on an STS call after this (5 to 120)

# [roles.prod-admin]              # presentation for a role in ~/.aws/config
# label = "Production admin"
# group = "Production"
# colour = "#c62828"
# favourite = true

# [roles.sandbox]                 # a role that exists only here
# role_arn = "arn:aws:iam::123456789012:role/Sandbox"
# source_profile = "me"           # the key stored with: traycreds keys add me
# mfa_serial = "arn:aws:iam::123456789012:mfa/me"
# region = "eu-west-1"
'''


@dataclass(frozen=True)
class AppSettings:
    default_shell: str | None = None  # None: cmd on Windows, bash elsewhere
    warn_before_minutes: tuple[float, ...] = (15, 5)
    clipboard_clear_seconds: int = 45
    auto_refresh: bool = True
    clean_expired: bool = False
    sts_timeout_seconds: float = 30
    # Not in the file: the OS decides (autostart entry, Run key, LaunchAgent). Settings...
    # shows and changes it alongside the rest.
    start_at_login: bool = False


@dataclass(frozen=True)
class RoleEntry:
    name: str
    values: dict[str, Any]
    line: int
    lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


@dataclass(frozen=True)
class Settings:
    path: str
    app: AppSettings = field(default_factory=AppSettings)
    roles: dict[str, RoleEntry] = field(default_factory=dict)


_TOML_LINE = re.compile(r"at line (\d+)")


def _header_line(lines: list[str], name: str) -> int:
    wanted = {f"[roles.{name}]", f'[roles."{name}"]', f"[roles.'{name}']"}
    for number, line in enumerate(lines, 1):
        if line.strip().replace(" ", "") in wanted:
            return number
    return 0


def _key_lines(lines: list[str], start: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for number in range(start + 1, len(lines) + 1):
        stripped = lines[number - 1].strip()
        if stripped.startswith("["):
            break
        key, sep, _ = stripped.partition("=")
        if sep:
            found.setdefault(_ALIASES.get(key.strip(), key.strip()), number)
    return found


def _sts_timeout(raw: dict[str, Any], base: AppSettings, path: str,
                 problems: list[Problem]) -> float:
    value = raw.get("sts_timeout_seconds", base.sts_timeout_seconds)
    low, high = STS_TIMEOUT_RANGE
    if isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high:
        return value
    problems.append(
        Problem(path, None, f"[app] sts_timeout_seconds must be a number of seconds from {low} "
                f"to {high}.", "For example: sts_timeout_seconds = 30 (the default).")
    )
    return base.sts_timeout_seconds


def _app(raw: Any, path: str, problems: list[Problem]) -> AppSettings:
    if not isinstance(raw, dict):
        return AppSettings()
    base = AppSettings()
    shell = raw.get("default_shell", base.default_shell)
    if shell is not None and shell not in SHELLS:
        problems.append(
            Problem(path, None, f"[app] default_shell = {shell!r} is not a known shell.",
                    f"Use one of: {', '.join(SHELLS)}.")
        )
        shell = None
    warn = raw.get("warn_before_minutes", list(base.warn_before_minutes))
    if not (isinstance(warn, list) and all(isinstance(m, (int, float)) and not
                                           isinstance(m, bool) and m > 0 for m in warn)):
        problems.append(
            Problem(path, None, "[app] warn_before_minutes must be a list of minutes > 0.",
                    "For example: warn_before_minutes = [15, 5]")
        )
        warn = list(base.warn_before_minutes)
    clear = raw.get("clipboard_clear_seconds", base.clipboard_clear_seconds)
    if not isinstance(clear, int) or clear < 0:
        problems.append(
            Problem(path, None, "[app] clipboard_clear_seconds must be a whole number >= 0.",
                    "For example: clipboard_clear_seconds = 45 (0 never clears).")
        )
        clear = base.clipboard_clear_seconds
    sts_timeout = _sts_timeout(raw, base, path, problems)
    flags = {}
    for key in ("auto_refresh", "clean_expired"):
        value = raw.get(key, getattr(base, key))
        if not isinstance(value, bool):
            problems.append(Problem(path, None, f"[app] {key} must be true or false.", ""))
            value = getattr(base, key)
        flags[key] = value
    return AppSettings(
        default_shell=shell,
        warn_before_minutes=tuple(sorted(set(warn), reverse=True)),
        clipboard_clear_seconds=clear,
        sts_timeout_seconds=sts_timeout,
        **flags,
    )


def parse_settings(text: str, path: str) -> tuple[Settings, list[Problem]]:
    """Parse the settings; a malformed file yields defaults plus a problem naming the line."""
    problems: list[Problem] = []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        problems.append(
            Problem(path, int(match.group(1)) if match else None,
                    f"not valid TOML ({exc}).",
                    "Fix that line (strings need quotes, tables look like [roles.name]); "
                    "until then traycreds uses only ~/.aws/config and default settings.")
        )
        return Settings(path=path), problems
    lines = text.splitlines()
    roles: dict[str, RoleEntry] = {}
    raw_roles = data.get("roles", {})
    if not isinstance(raw_roles, dict):
        problems.append(Problem(path, None, "'roles' must be a table.", "Use [roles.NAME] tables."))
        raw_roles = {}
    known = set(ROLE_KEYS) | set(PRESENTATION_KEYS) | set(_ALIASES)
    for name, raw in raw_roles.items():
        line = _header_line(lines, name)
        if not isinstance(raw, dict):
            problems.append(Problem(path, line or None, f"roles.{name} must be a table.",
                                    f"Write it as [roles.{name}] with keys below.", role=name))
            continue
        key_lines = _key_lines(lines, line) if line else {}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in known:
                problems.append(
                    Problem(path, key_lines.get(key) or line or None,
                            f"unknown key {key!r} in [roles.{name}].",
                            f"Known keys: {', '.join(ROLE_KEYS + PRESENTATION_KEYS)}.", role=name)
                )
                continue
            values[_ALIASES.get(str(key), str(key))] = value
        roles[name] = RoleEntry(name=name, values=values, line=line, lines=key_lines)
    app = _app(data.get("app", {}), path, problems)
    return Settings(path=path, app=app, roles=roles), problems
