"""Profiles from the AWS shared config and credentials files, as botocore names them."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from traycreds.core import ini
from traycreds.core.models import Problem


@dataclass(frozen=True)
class Profile:
    name: str
    values: dict[str, str]
    path: str
    line: int  # 1-based line of the section header
    lines: dict[str, int]  # key -> 1-based line

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


def read_profiles(
    text: str, path: str, *, config_file: bool = True
) -> tuple[dict[str, Profile], list[Problem]]:
    doc = ini.parse(text)
    problems = [
        Problem(path, line, message, "Fix or remove that line; the other profiles still load.")
        for line, message in doc.problems
    ]
    profiles: dict[str, Profile] = {}
    for section in doc.sections:
        name = profile_name(section.name, config_file=config_file)
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
        )
    return profiles, problems
