"""The role catalog: AWS config profiles and traycreds settings merged, checked, chained."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from traycreds.core.awsconfig import Profile
from traycreds.core.credfile import unsafe_name_message
from traycreds.core.errors import ConfigError, UnknownRoleError
from traycreds.core.models import Problem, Role
from traycreds.core.settings import ROLE_KEYS, RoleEntry, Settings
from traycreds.core.sso import SsoSession, is_sso_profile, sso_target

MIN_DURATION = 900
MAX_DURATION = 43200
CHAINED_MAX_DURATION = 3600
DEFAULT_DURATION = 3600

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_MFA_SERIAL = re.compile(
    r"^(arn:aws[a-z-]*:iam::\d{12}:(mfa|u2f)/[\w+=,.@/-]+|[\w+=/:,.@-]{9,256})$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d+$")


@dataclass(frozen=True)
class Catalog:
    roles: dict[str, Role]
    broken: dict[str, Problem] = field(default_factory=dict)  # roles that cannot be used
    problems: list[Problem] = field(default_factory=list)  # everything worth telling
    sessions: dict[str, SsoSession] = field(default_factory=dict)  # [sso-session NAME]

    def get(self, name: str) -> Role:
        if name in self.roles:
            return self.roles[name]
        if name in self.broken:
            raise ConfigError(self.broken[name].describe(), title=f"Role {name!r} is misconfigured")
        close = difflib.get_close_matches(name, [*self.roles, *self.broken], n=1, cutoff=0.6)
        if close:
            raise UnknownRoleError(f"Unknown role {name!r}. Did you mean {close[0]!r}? "
                                   "'traycreds roles' lists them.")
        known = ", ".join(sorted(self.roles)) or "none yet"
        raise UnknownRoleError(
            f"There is no role named {name!r}. Known roles: {known}. "
            "Add it to ~/.aws/config (a profile with role_arn) or to traycreds' settings "
            "(traycreds config edit)."
        )


@dataclass(frozen=True)
class Hop:
    role: Role
    duration: int
    note: str | None = None  # why the duration differs from what was asked


@dataclass(frozen=True)
class Chain:
    """How to reach a role: a source key, then one AssumeRole per hop."""

    source_key: str
    hops: tuple[Hop, ...]
    root: Role | None = None  # an IAM Identity Center role: the source itself, not a hop

    @property
    def role(self) -> Role:
        if self.hops:
            return self.hops[-1].role
        assert self.root is not None
        return self.root

    @property
    def chained(self) -> bool:
        """AWS's role chaining: a role assumed with another role's credentials (a second hop,
        or a first hop from an IAM Identity Center role). Such sessions last at most an hour,
        console sessions made from them too."""
        return len(self.hops) > 1 or (self.root is not None and bool(self.hops))

    @property
    def needs_mfa(self) -> bool:
        """Any hop asks for an MFA code (a later hop's serial counts too): such a role is
        never refreshed without the person at the keyboard."""
        return any(hop.role.mfa_serial for hop in self.hops)


def _as_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _validate(fields: Mapping[str, Any], name: str, profile: str | None = None) -> str | None:
    """What is wrong with a role's fields, or None."""
    # The role's name (or its profile setting) becomes a section in ~/.aws/credentials.
    for section in (name, profile):
        if section is not None and (unsafe := unsafe_name_message(section)) is not None:
            return unsafe
    arn = fields.get("role_arn")
    if not arn or not _ROLE_ARN.match(str(arn)):
        return (f"role_arn {arn!r} is not an IAM role ARN "
                "(arn:aws:iam::123456789012:role/NAME).")
    if fields.get("credential_source"):
        return ("credential_source is not supported by traycreds; use source_profile naming "
                "a key stored with 'traycreds keys add NAME'.")
    if not fields.get("source_profile"):
        return "source_profile is missing: name the access key (or role) this role is assumed with."
    serial = fields.get("mfa_serial")
    if serial and not _MFA_SERIAL.match(str(serial)):
        return f"mfa_serial {serial!r} is not an MFA device ARN or serial number."
    session = fields.get("role_session_name")
    if session and not _SESSION_NAME.match(str(session)):
        return ("role_session_name must be 2-64 characters of letters, digits and =,.@_- "
                f"(got {session!r}).")
    external = fields.get("external_id")
    if external and not _EXTERNAL_ID.match(str(external)):
        return "external_id must be 2-1224 characters of letters, digits and +=,.@:/_-."
    duration = fields.get("duration_seconds")
    if duration is not None:
        try:
            seconds = int(str(duration))
        except ValueError:
            return f"duration_seconds {duration!r} is not a whole number of seconds."
        if not MIN_DURATION <= seconds <= MAX_DURATION:
            return f"duration_seconds must be {MIN_DURATION}..{MAX_DURATION} (got {seconds})."
    region = fields.get("region")
    if region is not None and not _REGION.match(str(region)):
        return (f"region {region!r} is not an AWS region name (such as us-east-1, eu-west-2 "
                "or us-gov-west-1).")
    regional = fields.get("sts_regional_endpoints")
    if regional and regional not in ("legacy", "regional"):
        return f"sts_regional_endpoints must be 'legacy' or 'regional' (got {regional!r})."
    return None


def _role(name: str, fields: Mapping[str, Any], origin: str, extra: RoleEntry | None) -> Role:
    look = extra.values if extra else {}
    duration = fields.get("duration_seconds")
    order = look.get("order")
    return Role(
        name=name,
        role_arn=str(fields["role_arn"]),
        source=str(fields["source_profile"]),
        origin=origin,
        mfa_serial=_as_str(fields.get("mfa_serial")),
        external_id=_as_str(fields.get("external_id")),
        session_name=_as_str(fields.get("role_session_name")),
        duration_seconds=int(str(duration)) if duration is not None else None,
        region=_as_str(fields.get("region")),
        sts_regional_endpoints=_as_str(fields.get("sts_regional_endpoints")),
        endpoint_url=_as_str(fields.get("endpoint_url")),
        label=_as_str(look.get("label")),
        group=_as_str(look.get("group")),
        colour=_as_str(look.get("colour")),
        order=order if isinstance(order, int) else None,
        favourite=bool(look.get("favourite", False)),
        profile=_as_str(look.get("profile")),
        auto_refresh=look["auto_refresh"] if isinstance(look.get("auto_refresh"), bool) else None,
    )


def _conflicts(profile: Profile, entry: RoleEntry) -> list[str]:
    found = []
    for key in ROLE_KEYS:
        if key in entry.values and key in profile.values:
            ours, theirs = str(entry.values[key]), profile.values[key]
            if ours != theirs:
                found.append(
                    f"{key} is {theirs!r} in {profile.path} (line {profile.line_of(key)}) "
                    f"but {ours!r} in the settings (line {entry.line_of(key)})"
                )
    return found


def _place(error: str, profile: Profile | None, entry: RoleEntry | None, settings_path: str,
           default: tuple[str, int | None]) -> tuple[str, int | None]:
    """The file and line of the field an error names (its first word, as _validate writes
    them: "region 'x' is not..."), so the user is sent to that line, not the header."""
    key = error.split(" ", 1)[0]
    if entry is not None and key in entry.values and key in ROLE_KEYS:
        return settings_path, entry.line_of(key) or None
    if profile is not None and key in profile.lines:
        return profile.path, profile.lines[key]
    return default


def _sso_roles(profiles: Mapping[str, Profile], settings: Settings,
               sessions: Mapping[str, SsoSession], broken: dict[str, Problem],
               found: list[Problem]) -> dict[str, Role]:
    """IAM Identity Center profiles: roots whose credentials come from GetRoleCredentials."""
    roles: dict[str, Role] = {}
    for name, profile in profiles.items():
        if not is_sso_profile(profile.values):
            continue
        if profile.problem is not None:
            broken[name] = profile.problem
            continue
        target = unsafe_name_message(name) or sso_target(name, profile.values, sessions)
        if isinstance(target, str):
            key = target.split(" ", 1)[0]
            problem = Problem(profile.path, profile.lines.get(key, profile.line),
                              f"role {name!r}: {target}",
                              "Fix it there; the other roles still load.", role=name)
            broken[name] = problem
            found.append(problem)
            continue
        fields = {"role_arn": f"arn:aws:iam::{target.account_id}:role/{target.role_name}",
                  "source_profile": name, **{k: v for k, v in profile.values.items()
                                             if k in ("region", "endpoint_url",
                                                      "sts_regional_endpoints")}}
        roles[name] = replace(_role(name, fields, profile.path, settings.roles.get(name)),
                              sso=target)
    return roles


def build_catalog(profiles: Mapping[str, Profile], settings: Settings,
                  problems: list[Problem] | None = None,
                  sessions: Mapping[str, SsoSession] | None = None) -> Catalog:
    """Merge both files. Conflicts are reported and make the role unusable, never resolved."""
    broken: dict[str, Problem] = {}
    found = list(problems or [])
    roles = _sso_roles(profiles, settings, sessions or {}, broken, found)
    names = [n for n, p in profiles.items() if "role_arn" in p.values]
    names += [n for n, e in settings.roles.items()
              if n not in profiles and "role_arn" in e.values]
    for name in names:
        profile = profiles.get(name)
        entry = settings.roles.get(name)
        if profile is not None and profile.problem is not None:
            # A bad line in its section: what it meant is unknown, so the role is not used.
            broken[name] = profile.problem  # read_profiles already listed it
            continue
        if profile is not None and entry is not None and (clash := _conflicts(profile, entry)):
            problem = Problem(settings.path, entry.line or None,
                              f"role {name!r} is defined differently in two files: "
                              + "; ".join(clash) + ".",
                              "Keep the role fields in one file (presentation keys such as "
                              "label and group may stay in the settings).", role=name)
            broken[name] = problem
            found.append(problem)
            continue
        fields: dict[str, Any] = dict(profile.values) if profile else {}
        if entry is not None:
            fields.update({k: v for k, v in entry.values.items() if k in ROLE_KEYS})
        where = profile.path if profile else settings.path
        line = profile.line if profile else (entry.line if entry else None)
        profile_setting = _as_str(entry.values.get("profile")) if entry is not None else None
        if (error := _validate(fields, name, profile_setting)) is not None:
            where, line = _place(error, profile, entry, settings.path, (where, line))
            problem = Problem(where, line, f"role {name!r}: {error}",
                              "Fix it there; the other roles still load.", role=name)
            broken[name] = problem
            found.append(problem)
            continue
        roles[name] = _role(name, fields, where, entry)
    for name, entry in settings.roles.items():
        if name not in roles and name not in broken and name not in profiles:
            found.append(Problem(settings.path, entry.line or None,
                                 f"[roles.{name}] has no role_arn and no profile of that name "
                                 "exists in the AWS config.",
                                 "Add role_arn and source_profile, or fix the name.", role=name))
    return Catalog(roles=roles, broken=broken, problems=found, sessions=dict(sessions or {}))


def resolve_chain(catalog: Catalog, name: str) -> Chain:
    """The source key and hops that lead to ``name``, with durations capped and explained."""
    path: list[Role] = []
    seen: set[str] = set()
    current = catalog.get(name)
    while True:
        if current.name in seen:
            loop = " -> ".join([r.name for r in reversed(path)] + [current.name])
            raise ConfigError(f"source_profile forms a loop: {loop}. Point one of them at a key.",
                              title=f"Role {name!r} is misconfigured")
        seen.add(current.name)
        path.append(current)
        source = current.source
        if source == current.name or (source not in catalog.roles and source not in catalog.broken):
            break
        current = catalog.get(source)
    path.reverse()
    # An IAM Identity Center role is the root itself: its credentials are role credentials,
    # so every AssumeRole after it is role chaining.
    root = path.pop(0) if path[0].sso is not None else None
    hops: list[Hop] = []
    for index, role in enumerate(path):
        wanted = role.duration_seconds or DEFAULT_DURATION
        before = path[index - 1] if index > 0 else root
        if before is not None and wanted > CHAINED_MAX_DURATION:
            note = (f"{role.name}: duration capped at {CHAINED_MAX_DURATION} s (asked "
                    f"{wanted} s) because it is assumed with {before.name}'s role "
                    "credentials, and AWS limits role chaining to one hour.")
            hops.append(Hop(role, CHAINED_MAX_DURATION, note))
        else:
            hops.append(Hop(role, wanted))
    source = root.name if root is not None else path[0].source
    return Chain(source_key=source, hops=tuple(hops), root=root)
