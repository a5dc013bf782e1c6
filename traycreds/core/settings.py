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

from traycreds.core.errors import UsageError
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
# What the settings file and the Settings dialog both accept: one definition for both, so a
# file the dialog shows can always be saved again and the dialog writes nothing the file refuses.
MAX_WARN_MINUTES = 24 * 60  # a warning earlier than a day before expiry says nothing
MAX_CLEAR_SECONDS = 3600
# Access keys (core/rotation.py): warn about a key this many days old; keep the old key
# inactive this many hours after a rotation before deleting it (0: delete at once).
KEY_WARN_AGE_RANGE = (1, 3650)
ROTATION_GRACE_RANGE = (0, 720)
_SEPARATORS = re.compile(r"[\s,;]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")  # ASCII digits: no '1e3', no full-width digits

# What 'config edit' and 'Open settings file' create when there is no settings file yet.
SETTINGS_TEMPLATE = f'''\
# traycreds settings. Roles come from ~/.aws/config (profiles with role_arn);
# this file adds presentation to them, or defines roles of its own.

[app]
# default_shell = "bash"          # cmd, powershell, bash, zsh, fish, dotenv, json
# warn_before_minutes = [15, 5]   # minutes before expiry, each at most {MAX_WARN_MINUTES}
# clipboard_clear_seconds = 45    # 0 = never clear; at most {MAX_CLEAR_SECONDS}
# sts_timeout_seconds = 30        # give up on an STS call after this (5 to 120)
# window_static_keys = false      # windows opened from the tray also get static keys
# key_warn_age_days = 90          # warn about access keys this old (1 to 3650)
# rotation_grace_hours = 24       # after a rotation, delete the old key this late (0 to 720)

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
    # Windows opened from the tray also get static AWS_ACCESS_KEY_ID/...: for tools that read
    # only those. Off by default: static variables win over the endpoint in the SDKs, and
    # they stop working at AWS_CREDENTIAL_EXPIRATION while the endpoint's never do.
    window_static_keys: bool = False
    # Not in the file: the OS decides (autostart entry, Run key, LaunchAgent). Settings...
    # shows and changes it alongside the rest.
    start_at_login: bool = False
    key_warn_age_days: int = 90
    rotation_grace_hours: int = 24


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


def _whole_number(raw: dict[str, Any], key: str, limits: tuple[int, int], default: int,
                  path: str, problems: list[Problem]) -> int:
    value = raw.get(key, default)
    low, high = limits
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    problems.append(Problem(path, None, f"[app] {key} must be a whole number from {low} to "
                            f"{high}.", f"For example: {key} = {default} (the default)."))
    return default


def warn_minutes_ok(value: object) -> bool:
    """One warn_before_minutes entry: minutes above 0 (0.5 is fine), at most a day."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and 0 < value <= MAX_WARN_MINUTES)


def clear_seconds_ok(value: object) -> bool:
    """clipboard_clear_seconds: whole seconds from 0 (never clear) to an hour."""
    return (isinstance(value, int) and not isinstance(value, bool)
            and 0 <= value <= MAX_CLEAR_SECONDS)


def _warnings(values: list[Any] | tuple[Any, ...]) -> tuple[float, ...]:
    """Largest first, no duplicates; 15.0 is 15."""
    unique = {int(m) if float(m).is_integer() else m for m in values}
    return tuple(sorted(unique, reverse=True))


def parse_minutes(text: str) -> tuple[float, ...]:
    """The Settings dialog's warnings: '15, 5' -> (15, 5); '' means no warnings.

    The same values warn_before_minutes accepts in the file (``warn_minutes_ok``).
    """
    values: list[float] = []
    for part in _SEPARATORS.split(text.strip()):
        if not part:
            continue
        minutes = float(part) if _DECIMAL.fullmatch(part) else None
        if minutes is None or not warn_minutes_ok(minutes):
            raise UsageError(f"Warnings: {part!r} is not a number of minutes above 0 (at most "
                             f"{MAX_WARN_MINUTES}). Write them like: 15, 5")
        values.append(minutes)
    return _warnings(values)


def format_minutes(minutes: tuple[float, ...]) -> str:
    """The text ``parse_minutes`` reads back as the same values (no rounding, no exponent)."""
    from decimal import Decimal  # only the dialog needs it: kept off the CLI's imports

    def one(value: float) -> str:
        if float(value).is_integer():
            return str(int(value))
        return format(Decimal(repr(float(value))), "f")

    return ", ".join(one(m) for m in minutes)


def parse_clear_seconds(text: str) -> int:
    """The Settings dialog's clipboard_clear_seconds (``clear_seconds_ok``)."""
    text = text.strip()
    try:
        seconds = int(text) if text.isascii() and text.isdigit() else None
    except ValueError:  # more digits than int() reads (4300): far past the limit anyway
        seconds = None
    if seconds is None or not clear_seconds_ok(seconds):
        raise UsageError(f"Clear the clipboard after: use whole seconds from 0 to "
                         f"{MAX_CLEAR_SECONDS} (0 never clears).")
    return seconds


def _warn_minutes(raw: dict[str, Any], base: AppSettings, path: str,
                  problems: list[Problem]) -> tuple[float, ...]:
    warn = raw.get("warn_before_minutes", list(base.warn_before_minutes))
    if isinstance(warn, list) and all(warn_minutes_ok(m) for m in warn):
        return _warnings(warn)
    problems.append(
        Problem(path, None, f"[app] warn_before_minutes must be a list of minutes above 0, "
                f"each at most {MAX_WARN_MINUTES}.", "For example: warn_before_minutes = [15, 5]")
    )
    return base.warn_before_minutes


def _clear_seconds(raw: dict[str, Any], base: AppSettings, path: str,
                   problems: list[Problem]) -> int:
    clear = raw.get("clipboard_clear_seconds", base.clipboard_clear_seconds)
    if clear_seconds_ok(clear):
        return int(clear)
    problems.append(
        Problem(path, None, f"[app] clipboard_clear_seconds must be a whole number of seconds "
                f"from 0 to {MAX_CLEAR_SECONDS}.",
                "For example: clipboard_clear_seconds = 45 (0 never clears).")
    )
    return base.clipboard_clear_seconds


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
    warn = _warn_minutes(raw, base, path, problems)
    clear = _clear_seconds(raw, base, path, problems)
    sts_timeout = _sts_timeout(raw, base, path, problems)
    flags = {}
    for key in ("auto_refresh", "clean_expired", "window_static_keys"):
        value = raw.get(key, getattr(base, key))
        if not isinstance(value, bool):
            problems.append(Problem(path, None, f"[app] {key} must be true or false.", ""))
            value = getattr(base, key)
        flags[key] = value
    return AppSettings(
        default_shell=shell,
        warn_before_minutes=warn,
        clipboard_clear_seconds=clear,
        sts_timeout_seconds=sts_timeout,
        key_warn_age_days=_whole_number(raw, "key_warn_age_days", KEY_WARN_AGE_RANGE,
                                        base.key_warn_age_days, path, problems),
        rotation_grace_hours=_whole_number(raw, "rotation_grace_hours", ROTATION_GRACE_RANGE,
                                           base.rotation_grace_hours, path, problems),
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
