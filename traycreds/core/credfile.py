"""Editing the AWS INI files one section at a time, every other byte kept.

Leapp emptied a 35-profile credentials file (Leapp #228), awsume dropped a
profile (awsume #72), configparser drops every comment (bpo-41963). Here the
file is a list of verbatim lines; an edit replaces, inserts or deletes lines of
one section and nothing else. Sections traycreds writes carry ``traycreds_role``,
a key the AWS tools ignore; a section without it is never overwritten unless the
caller explicitly takes it over.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from traycreds.core import ini
from traycreds.core.errors import FileError

OWNER_KEY = "traycreds_role"
EXPIRATION_KEY = "aws_credential_expiration"
KEY_ID_KEY = "aws_access_key_id"
SECRET_KEY = "aws_secret_access_key"
TOKEN_KEY = "aws_session_token"
_CREDENTIAL_KEYS = (KEY_ID_KEY, SECRET_KEY, TOKEN_KEY, EXPIRATION_KEY)
_SECTION_NAME = re.compile(r"^[^\[\]\r\n#;]+$")


class SectionNotOursError(FileError):
    title = "Profile belongs to someone else"


@dataclass(frozen=True)
class OwnedSection:
    name: str
    role: str
    expiration: datetime | None
    line: int  # 1-based


def check_section_name(name: str) -> str:
    if not _SECTION_NAME.match(name) or name != name.strip():
        raise FileError(f"{name!r} cannot be a profile name: avoid brackets, #, ; and line "
                        "breaks, and leading or trailing spaces.", title="Invalid profile name")
    return name


def parse_checked(text: str, path: str) -> ini.Document:
    """The document, or an error naming the first bad line; the file is then left alone."""
    doc = ini.parse(text)
    if doc.problems:
        line, message = doc.problems[0]
        raise FileError(f"{path}, line {line}: {message}. Fix that line; traycreds changed "
                        "nothing in the file.", title="Cannot read the file")
    return doc


def _find(doc: ini.Document, path: str, match: Callable[[str], bool]) -> ini.Section | None:
    found = [s for s in doc.sections if match(s.name)]
    if len(found) > 1:
        lines = " and ".join(str(s.start + 1) for s in found)
        raise FileError(f"{path}: the section [{found[0].name}] appears more than once (lines "
                        f"{lines}). Merge them by hand; traycreds changed nothing.",
                        title="Duplicate section")
    return found[0] if found else None


def _ending(line: str, default: str) -> str:
    for end in ("\r\n", "\n", "\r"):
        if line.endswith(end):
            return end
    return default


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Without an offset the time is UTC (as botocore reads it); a naive datetime could
    # not be compared with an aware "now".
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def owned_sections(text: str) -> list[OwnedSection]:
    doc = ini.parse(text)
    return [OwnedSection(s.name, s.get(OWNER_KEY) or "", _parse_time(s.get(EXPIRATION_KEY)),
                         s.start + 1)
            for s in doc.sections if s.get(OWNER_KEY) is not None]


def _set_values(doc: ini.Document, section: ini.Section, values: Sequence[tuple[str, str]],
                drop: Sequence[str] = ()) -> list[str]:
    lines = list(doc.lines)
    nl = doc.newline()
    last = section.entries[-1].end if section.entries else section.start + 1
    # A section that ends the file without a final newline: edit as if the newline were
    # there, then take it off the new last line, so that no two lines run together.
    unterminated = not _ending(lines[last - 1], "")
    if unterminated:
        lines[last - 1] += nl
    inserts: list[str] = []
    edits: list[tuple[int, int, str]] = []
    for key, value in values:
        entries = [e for e in section.entries if e.key == key]
        if entries:
            first = entries[0]
            tail = _ending(lines[first.end - 1], nl)
            edits.append((first.line, first.end, f"{key} = {value}{tail}"))
            edits += [(e.line, e.end, "") for e in entries[1:]]  # a repeated key: keep one
        else:
            inserts.append(f"{key} = {value}{nl}")
    edits += [(e.line, e.end, "") for e in section.entries if e.key in drop]
    lines[last:last] = inserts  # after every edited line, so the edits' indexes still hold
    for start, end, text in sorted(edits, reverse=True):
        lines[start:end] = [text] if text else []
    if unterminated:
        lines[-1] = lines[-1].rstrip("\r\n")
    return lines


def upsert(text: str, path: str, name: str, values: Sequence[tuple[str, str]], *,
           owner: str | None = None, take_over: bool = False,
           match: Callable[[str], bool] | None = None, header: str | None = None) -> str:
    """Set ``values`` in section ``name`` (created at the end when missing).

    With ``owner`` the section is ours: an existing section that does not carry our
    mark is refused unless ``take_over``. Without ``owner`` keys are only added to or
    updated in the user's section (``credential_process`` in ~/.aws/config).
    """
    doc = parse_checked(text, path)
    section = _find(doc, path, match or (lambda n: n == name))
    values = list(values) + ([(OWNER_KEY, owner)] if owner is not None else [])
    for key, value in values:
        if any(c in value for c in "\r\n\0"):
            raise FileError(f"The value for {key} contains a line break; nothing was written.")
    if section is None:
        lines = list(doc.lines)
        nl = doc.newline()
        if lines:
            if not _ending(lines[-1], ""):
                lines[-1] += nl
            # Always one blank line before the new section, even after a blank line, so
            # that remove_section (which takes exactly one) gives the file back as it was.
            lines.append(nl)
        lines.append(f"[{header or check_section_name(name)}]{nl}")
        lines += [f"{key} = {value}{nl}" for key, value in values]
        return "".join(lines)
    if owner is not None and section.get(OWNER_KEY) is None and not take_over:
        raise SectionNotOursError(
            f"{path} already has a section [{section.name}] (line {section.start + 1}) that "
            "traycreds did not write, perhaps your long-term keys. It was not changed. Write "
            "to another profile (--profile NAME), or replace it with --take-over (a backup "
            "is kept).")
    # Our section holds one set of credentials: a key the new set lacks (a session token,
    # an expiration) must not stay behind from the last one.
    given = {key for key, _ in values}
    stale = [key for key in _CREDENTIAL_KEYS if key not in given] if owner is not None else []
    return "".join(_set_values(doc, section, values, stale))


def _drop(lines: list[str], start: int, end: int) -> None:
    while end < len(lines) and not lines[end].strip():
        end += 1
    if end == len(lines) and start > 0 and not lines[start - 1].strip():
        start -= 1  # the section ended the file: drop the one blank line upsert put before it
    del lines[start:end]


def remove_section(text: str, path: str, name: str) -> tuple[str, bool]:
    """Remove our section ``name``; returns (text, whether it was there). Others refused."""
    doc = parse_checked(text, path)
    section = _find(doc, path, lambda n: n == name)
    if section is None:
        return text, False
    if section.get(OWNER_KEY) is None:
        raise SectionNotOursError(f"[{name}] in {path} was not written by traycreds; it was "
                                  "left as it is.")
    lines = list(doc.lines)
    last = section.entries[-1].end if section.entries else section.start + 1
    _drop(lines, section.start, last)
    return "".join(lines), True


def remove_keys(text: str, path: str, name: str, keys: Sequence[str]) -> str:
    """Delete ``keys`` from section ``name``; a section left with no keys goes too."""
    doc = parse_checked(text, path)
    section = _find(doc, path, lambda n: n == name)
    if section is None:
        return text
    lines = list(doc.lines)
    remaining = [e for e in section.entries if e.key not in keys]
    if not remaining:
        _drop(lines, section.start, section.entries[-1].end if section.entries
              else section.start + 1)
        return "".join(lines)
    for entry in sorted((e for e in section.entries if e.key in keys), key=lambda e: -e.line):
        del lines[entry.line:entry.end]
    return "".join(lines)
