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
import unicodedata
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


def unsafe_name_character(name: str) -> str | None:
    """The first character that a profile name must not hold, shown for a message, or None.

    ``$``, backticks and control characters: no AWS tool needs them, and a file a shell
    might source (a credentials file reached through a link) must never get them.
    """
    for char in name:
        if char in "$`":
            return repr(char)
        if unicodedata.category(char) == "Cc":
            return f"U+{ord(char):04X} (a control character)"
    return None


def unsafe_name_message(name: str) -> str | None:
    char = unsafe_name_character(name)
    if char is None:
        return None
    return (f"{name!r} cannot be a profile name: it holds {char}, which traycreds never writes "
            "into the AWS files (no AWS tool needs it, and a shell might run it). Rename the "
            "profile to letters, digits and -_.@+.")


def check_section_name(name: str) -> str:
    if (message := unsafe_name_message(name)) is not None:
        raise FileError(message, title="Invalid profile name")
    if not _SECTION_NAME.match(name) or name != name.strip():
        raise FileError(f"{name!r} cannot be a profile name: avoid brackets, #, ; and line "
                        "breaks, and leading or trailing spaces.", title="Invalid profile name")
    return name


def _first_problem(problems: list[tuple[int, str]], path: str) -> None:
    if problems:
        line, message = problems[0]
        raise FileError(f"{path}, line {line}: {message}. Fix that line; traycreds changed "
                        "nothing in the file.", title="Cannot read the file")


def parse_checked(text: str, path: str) -> ini.Document:
    """The document, or an error naming the first bad line; the file is then left alone."""
    doc = ini.parse(text)
    _first_problem(doc.problems, path)
    return doc


def _outline_checked(text: str, path: str) -> ini.Outline:
    """As parse_checked, for the edits: linear in the file's size, whatever its shape."""
    outline = ini.outline(text, first_problem_only=True)
    _first_problem(outline.problems, path)
    return outline


def _find(outline: ini.Outline, path: str, match: Callable[[str], bool]) -> ini.Header | None:
    found = [h for h in outline.headers if match(h.name)]
    if len(found) > 1:
        lines = " and ".join(str(outline.line_number(h.start)) for h in found)
        raise FileError(f"{path}: the section [{found[0].name}] appears more than once (lines "
                        f"{lines}). Merge them by hand; traycreds changed nothing.",
                        title="Duplicate section")
    return found[0] if found else None


def _splice(outline: ini.Outline, header: ini.Header, lines: Sequence[str],
            cut_from: int | None = None) -> str:
    """The text with the section's span replaced by ``lines``; every other byte as it was."""
    text = outline.text
    return "".join((text[:header.start if cut_from is None else cut_from], *lines,
                    text[header.end:]))


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


_OWNER_MARK = re.compile(re.escape(OWNER_KEY), re.IGNORECASE)


def owned_sections(text: str) -> list[OwnedSection]:
    outline = ini.outline(text)
    found = []
    for header in outline.headers:
        # Only a section whose text holds the key can carry it (keys are matched
        # case-insensitively); the others need no parsing at all.
        if not _OWNER_MARK.search(text, header.start, header.end):
            continue
        _, section = outline.section(header)
        if section.get(OWNER_KEY) is not None:
            found.append(OwnedSection(section.name, section.get(OWNER_KEY) or "",
                                      _parse_time(section.get(EXPIRATION_KEY)),
                                      outline.line_number(header.start)))
    return found


def _set_values(doc: ini.Document, section: ini.Section, values: Sequence[tuple[str, str]],
                nl: str, drop: Sequence[str] = ()) -> list[str]:
    """The section's lines (``doc`` is the section alone) with ``values`` set."""
    lines = list(doc.lines)
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
    outline = _outline_checked(text, path)
    header_found = _find(outline, path, match or (lambda n: n == name))
    values = list(values) + ([(OWNER_KEY, owner)] if owner is not None else [])
    for key, value in values:
        if any(c in value for c in "\r\n\0"):
            raise FileError(f"The value for {key} contains a line break; nothing was written.")
    nl = outline.newline()
    if header_found is None:
        pieces = [text]
        if text:
            if not text.endswith(("\n", "\r")):
                pieces.append(nl)
            # Always one blank line before the new section, even after a blank line, so
            # that remove_section (which takes exactly one) gives the file back as it was.
            pieces.append(nl)
        pieces.append(f"[{header or check_section_name(name)}]{nl}")
        pieces += [f"{key} = {value}{nl}" for key, value in values]
        return "".join(pieces)
    doc, section = outline.section(header_found)
    if owner is not None and section.get(OWNER_KEY) is None and not take_over:
        raise SectionNotOursError(
            f"{path} already has a section [{section.name}] (line "
            f"{outline.line_number(header_found.start)}) that traycreds did not write, perhaps "
            "your long-term keys. It was not changed. Write to another profile (--profile "
            "NAME), or replace it with --take-over (a backup is kept).")
    # Our section holds one set of credentials: a key the new set lacks (a session token,
    # an expiration) must not stay behind from the last one.
    given = {key for key, _ in values}
    stale = [key for key in _CREDENTIAL_KEYS if key not in given] if owner is not None else []
    return _splice(outline, header_found, _set_values(doc, section, values, nl, stale))


def _line_before(text: str, offset: int) -> int:
    """Where the line that ends at ``offset`` starts."""
    content_end = offset - (2 if text.endswith("\r\n", 0, offset) else 1)
    return max(text.rfind("\n", 0, content_end), text.rfind("\r", 0, content_end)) + 1


def _drop(outline: ini.Outline, header: ini.Header, lines: list[str], end: int) -> str:
    """The text without the section's lines up to ``end`` and the blank lines after them."""
    while end < len(lines) and not lines[end].strip():
        end += 1
    text = outline.text
    cut_from = header.start
    if end == len(lines) and header.end == len(text) and header.start > 0:
        before = _line_before(text, header.start)
        if not text[before:header.start].strip():
            cut_from = before  # the section ended the file: drop the blank line upsert put
    return _splice(outline, header, lines[end:], cut_from)


def remove_section(text: str, path: str, name: str) -> tuple[str, bool]:
    """Remove our section ``name``; returns (text, whether it was there). Others refused."""
    outline = _outline_checked(text, path)
    header = _find(outline, path, lambda n: n == name)
    if header is None:
        return text, False
    doc, section = outline.section(header)
    if section.get(OWNER_KEY) is None:
        raise SectionNotOursError(f"[{name}] in {path} was not written by traycreds; it was "
                                  "left as it is.")
    last = section.entries[-1].end if section.entries else section.start + 1
    return _drop(outline, header, list(doc.lines), last), True


def remove_keys(text: str, path: str, name: str, keys: Sequence[str]) -> str:
    """Delete ``keys`` from section ``name``; a section left with no keys goes too."""
    outline = _outline_checked(text, path)
    header = _find(outline, path, lambda n: n == name)
    if header is None:
        return text
    doc, section = outline.section(header)
    lines = list(doc.lines)
    remaining = [e for e in section.entries if e.key not in keys]
    if not remaining:
        return _drop(outline, header, lines, section.entries[-1].end if section.entries
                     else section.start + 1)
    for entry in sorted((e for e in section.entries if e.key in keys), key=lambda e: -e.line):
        del lines[entry.line:entry.end]
    return _splice(outline, header, lines)
