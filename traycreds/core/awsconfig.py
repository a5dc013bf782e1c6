"""Profiles from the AWS shared config and credentials files, as botocore names them."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace

from traycreds.core import ini
from traycreds.core.models import Problem


@dataclass(frozen=True)
class Profile:
    name: str
    values: dict[str, str]
    path: str
    line: int  # 1-based line of the section header
    lines: dict[str, int]  # key -> 1-based line
    # A bad line inside the section (or its header): the profile is not used as a role,
    # since what that line meant (a duration, a name) is unknown.
    problem: Problem | None = None

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


def profile_name(section: str, *, config_file: bool) -> str | None:
    """The profile a section header defines, or None for other sections.

    In the config file profiles are ``[profile NAME]`` (quotes allowed, as
    botocore splits the header with shlex) and ``[default]``; sections such as
    ``[sso-session x]`` or ``[services x]`` are not profiles. In the
    credentials file every section is a profile.
    """
    if not config_file:
        return section
    if section == "default":
        return "default"
    if not section.startswith("profile"):
        return None
    try:
        parts = shlex.split(section)
    except ValueError:
        return None
    if len(parts) != 2 or parts[0] != "profile":
        return None
    return parts[1]


_FIX = "Fix or remove that line; the other profiles still load."
_FIX_HEADER = "Close the header with ']' (as in [profile NAME]); the other profiles still load."


def _line_problem(path: str, number: int, message: str, text: str, *, show: bool) -> Problem:
    """``show``: quote the line (never for the credentials file: it may hold a secret)."""
    if not show:
        return Problem(path, number, f"{message}.", _FIX)
    if _is_broken_header(text):
        return Problem(path, number, f"the section header {text!r} has no closing ']'.",
                       _FIX_HEADER)
    words = text.split()
    if len(words) == 2 and words[0].replace("_", "").isalnum():
        # "duration_seconds 3600": a setting missing its '='.
        return Problem(path, number, f"{message}: {text!r}.",
                       f"Write it as '{words[0]} = {words[1]}'. " + _FIX)
    return Problem(path, number, f"{message}: {text!r}.", _FIX)


def _is_broken_header(text: str) -> bool:
    """``[profile stage``: a header missing its ']' (a lone '[' names nothing)."""
    return text.startswith("[") and "]" not in text and bool(text[1:].strip())


def _closed(line: str) -> str:
    content = line.rstrip("\r\n")
    return content.rstrip() + "]" + line[len(content):]


def _parse_with_headers_closed(text: str, path: str, *, config_file: bool
                               ) -> tuple[ini.Document, list[Problem]]:
    """The file parsed as if each header missing its ']' had it, and every bad line.

    Without this, ini.parse gives the lines under ``[profile stage`` to the section above,
    which would then borrow stage's role_arn or duration; this way they stay stage's, and
    stage is reported (and not used) for its header. Line numbers do not change.
    """
    doc = ini.parse(text)
    broken = {number for number, _ in doc.problems
              if _is_broken_header(doc.lines[number - 1].strip())}
    if broken:
        doc = ini.parse("".join(_closed(line) if index + 1 in broken else line
                                for index, line in enumerate(doc.lines)))
    original = ini.split_lines(text) if broken else doc.lines
    found = sorted([*doc.problems, *((number, "") for number in broken)])
    return doc, [_line_problem(path, number, message, original[number - 1].strip(),
                               show=config_file) for number, message in found]


def read_profiles(
    text: str, path: str, *, config_file: bool = True
) -> tuple[dict[str, Profile], list[Problem]]:
    doc, found = _parse_with_headers_closed(text, path, config_file=config_file)
    # A bad line inside a section (its header included) belongs to that section's profile.
    problems = [p for p in found if not any(s.start < (p.line or 0) <= s.end
                                            for s in doc.sections)]
    profiles: dict[str, Profile] = {}
    for section in doc.sections:
        name = profile_name(section.name, config_file=config_file)
        damage = [replace(p, role=name) for p in found
                  if section.start < (p.line or 0) <= section.end]
        problems += damage
        if name is None:
            continue
        if name in profiles:
            problems.append(
                Problem(
                    path,
                    section.start + 1,
                    f"profile {name!r} is defined twice (first on line {profiles[name].line}).",
                    "Merge the two sections; the AWS CLI refuses a file with duplicates.",
                    role=name,
                )
            )
            continue
        profiles[name] = Profile(
            name=name,
            values=section.values(),
            path=path,
            line=section.start + 1,
            lines={entry.key: entry.line + 1 for entry in section.entries},
            problem=damage[0] if damage else None,
        )
    problems.sort(key=lambda p: p.line or 0)
    return profiles, problems
