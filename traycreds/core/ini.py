"""A line-preserving reader for the AWS INI files.

Every line is kept verbatim, ending included, so that an editor built on this
can change one section and leave every other byte as it was. The grammar is
what botocore accepts through ``configparser.RawConfigParser``: ``[section]``
headers, ``key = value`` or ``key: value`` (keys case-insensitive), ``#`` and
``;`` comment lines, indented continuation lines. Unlike configparser, a bad
line does not sink the whole file: it becomes a problem with its line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+\Z")
_HEADER = re.compile(r"\[(?P<name>.+)\]")
_OPTION = re.compile(r"(?P<key>[^=:\s][^=:]*?)\s*[=:]\s*(?P<value>.*)\Z")


@dataclass
class Entry:
    key: str  # lower-cased, as configparser's optionxform does
    value: str
    line: int  # index into Document.lines
    end: int  # exclusive; covers continuation lines


@dataclass
class Section:
    name: str  # text between the brackets, stripped
    start: int  # index of the header line
    end: int  # exclusive: the next header, or the end of the file
    entries: list[Entry] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        found = None
        for entry in self.entries:
            if entry.key == key:
                found = entry.value
        return found

    def values(self) -> dict[str, str]:
        return {entry.key: entry.value for entry in self.entries}

    def line_of(self, key: str) -> int:
        for entry in self.entries:
            if entry.key == key:
                return entry.line
        return self.start


@dataclass
class Document:
    lines: list[str]
    sections: list[Section]
    problems: list[tuple[int, str]]  # (1-based line number, what is wrong)

    def text(self) -> str:
        return "".join(self.lines)

    def newline(self) -> str:
        """The line ending the file already uses (CRLF files stay CRLF)."""
        for line in self.lines:
            if line.endswith("\r\n"):
                return "\r\n"
            if line.endswith(("\n", "\r")):
                return line[-1]
        return "\n"


def split_lines(text: str) -> list[str]:
    return _LINE.findall(text)


def _content(line: str) -> str:
    return line.rstrip("\r\n")


def _is_blank_or_comment(stripped: str) -> bool:
    return not stripped or stripped[0] in "#;"


def parse(text: str) -> Document:
    lines = split_lines(text)
    sections: list[Section] = []
    problems: list[tuple[int, str]] = []
    current: Section | None = None
    last: Entry | None = None
    for index, raw in enumerate(lines):
        content = _content(raw)
        stripped = content.strip()
        if _is_blank_or_comment(stripped):
            # configparser keeps a value open across blank and comment lines: an indented
            # line after them still continues it.
            continue
        indented = content[:1] in (" ", "\t")
        if indented and last is not None:
            # A continuation line: part of the entry above (nested values included).
            last.value = f"{last.value}\n{stripped}" if last.value else stripped
            last.end = index + 1
            continue
        header = _HEADER.match(stripped)
        if header:
            if current is not None:
                current.end = index
            # The name as configparser (and so botocore) sees it: spaces inside the brackets
            # are part of it.
            current = Section(name=header.group("name"), start=index, end=len(lines))
            sections.append(current)
            last = None
            continue
        option = _OPTION.match(stripped)
        if option is None:
            problems.append((index + 1, "this line is not [section], key = value or a comment"))
            last = None
            continue
        if current is None:
            problems.append((index + 1, "a setting before the first [section] header"))
            last = None
            continue
        last = Entry(
            key=option.group("key").strip().lower(),
            value=option.group("value").strip(),
            line=index,
            end=index + 1,
        )
        current.entries.append(last)
    return Document(lines=lines, sections=sections, problems=problems)
