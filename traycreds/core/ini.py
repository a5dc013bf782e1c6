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


# What one line is, given whether an entry is open above it (see parse).
_SKIP, _CONTINUATION, _HEADER_LINE, _OPTION_LINE, _JUNK = range(5)


def _classify(content: str, entry_open: bool) -> tuple[int, str, re.Match[str] | None]:
    stripped = content.strip()
    if _is_blank_or_comment(stripped):
        # configparser keeps a value open across blank and comment lines: an indented
        # line after them still continues it.
        return _SKIP, stripped, None
    if entry_open and content[:1] in (" ", "\t"):
        # A continuation line: part of the entry above (nested values included).
        return _CONTINUATION, stripped, None
    header = _HEADER.match(stripped)
    if header:
        return _HEADER_LINE, stripped, header
    option = _OPTION.match(stripped)
    return (_JUNK, stripped, None) if option is None else (_OPTION_LINE, stripped, option)


_JUNK_PROBLEM = "this line is not [section], key = value or a comment"
_ORPHAN_PROBLEM = "a setting before the first [section] header"


def parse(text: str) -> Document:
    lines = split_lines(text)
    sections: list[Section] = []
    problems: list[tuple[int, str]] = []
    current: Section | None = None
    last: Entry | None = None
    for index, raw in enumerate(lines):
        kind, stripped, match = _classify(_content(raw), last is not None)
        if kind == _SKIP:
            continue
        if kind == _CONTINUATION:
            assert last is not None
            last.value = f"{last.value}\n{stripped}" if last.value else stripped
            last.end = index + 1
            continue
        if kind == _HEADER_LINE:
            assert match is not None
            if current is not None:
                current.end = index
            # The name as configparser (and so botocore) sees it: spaces inside the brackets
            # are part of it.
            current = Section(name=match.group("name"), start=index, end=len(lines))
            sections.append(current)
            last = None
            continue
        if kind == _JUNK or current is None:
            problems.append((index + 1, _JUNK_PROBLEM if kind == _JUNK else _ORPHAN_PROBLEM))
            last = None
            continue
        assert match is not None
        last = Entry(
            key=match.group("key").strip().lower(),
            value=match.group("value").strip(),
            line=index,
            end=index + 1,
        )
        current.entries.append(last)
    return Document(lines=lines, sections=sections, problems=problems)


# --- the outline: a large file's section headers without a Python object per line ---------

# The start of a line that needs a careful look even inside a section with an open entry
# (every other line there is a comment, a blank, a key = value line or a continuation):
# a header or anything starting with "[", "=" or ":", a line starting with whitespace other
# than space and tab, and a line with no "=" or ":" at all (not a setting).
_SPECIAL = re.compile(r"\n(?=\[|[=:]|[^\S \t\r\n]|[^\s#;\[=:][^\n=:]*(?:\n|\Z))")


@dataclass(frozen=True, slots=True)  # slots: a file of headers only holds millions
class Header:
    name: str  # as Section.name
    start: int  # offset of the header line in the text
    end: int  # offset where the section ends: the next header line, or the end of the text


@dataclass(frozen=True)
class Outline:
    """The sections of a text by offset, and its problems; what parse() finds, in one pass
    that builds objects only for headers and problems (linear in time and memory)."""

    text: str
    headers: list[Header]
    problems: list[tuple[int, str]]  # (1-based line number, what is wrong), as parse()

    def line_number(self, offset: int) -> int:
        """The 1-based line at ``offset`` (outline() falls back to parse() for lone CRs)."""
        return self.text.count("\n", 0, offset) + 1 if _endings_are_lf(self.text) \
            else len(split_lines(self.text[:offset])) + 1

    def newline(self) -> str:
        """The line ending the file already uses, as Document.newline()."""
        found = re.search(r"\r\n|\n|\r", self.text)
        return found.group() if found else "\n"

    def section(self, header: Header) -> tuple[Document, Section]:
        """The section in full, parsed alone: a header line resets all parsing state, so
        its lines read the same as in the whole file. Line indexes are relative to it."""
        doc = parse(self.text[header.start:header.end])
        return doc, doc.sections[0]


def _endings_are_lf(text: str) -> bool:
    """Every line ends in LF or CRLF (no lone CR): lines are then found by LF alone."""
    return text.count("\r") == text.count("\r\n")


def outline(text: str, *, first_problem_only: bool = False) -> Outline:
    """The text's outline. With ``first_problem_only`` the scan stops at the first problem
    (an edit refuses the file then, so the rest would only be work)."""
    if not _endings_are_lf(text):
        return _outline_by_parse(text)
    headers: list[tuple[str, int]] = []
    problems: list[tuple[int, str]] = []
    entry_open = in_section = False
    pos, number, size = 0, 1, len(text)
    while pos < size:
        if entry_open:
            # Inside a section with an open entry: skip ahead to the next line that needs
            # a look, counting lines on the way (both at C speed).
            found = _SPECIAL.search(text, pos - 1)
            nxt = found.start() + 1 if found else size
            number += text.count("\n", pos, nxt)
            pos = nxt
            if pos >= size:
                break
        end = text.find("\n", pos)
        end = size if end < 0 else end + 1
        kind, _, match = _classify(text[pos:end].rstrip("\r\n"), entry_open)
        if kind == _HEADER_LINE:
            assert match is not None
            headers.append((match.group("name"), pos))
            in_section, entry_open = True, False
        elif kind == _JUNK or (kind == _OPTION_LINE and not in_section):
            problems.append((number, _JUNK_PROBLEM if kind == _JUNK else _ORPHAN_PROBLEM))
            entry_open = False
            if first_problem_only:
                break
        elif kind in (_OPTION_LINE, _CONTINUATION):
            entry_open = True
        pos, number = end, number + 1
    ends = [start for _, start in headers[1:]] + [size] * bool(headers)
    return Outline(text, [Header(name, start, end)
                          for (name, start), end in zip(headers, ends, strict=True)], problems)


def _outline_by_parse(text: str) -> Outline:
    """Lone CR line endings (old Mac files): the slow, exact way."""
    doc = parse(text)
    offsets = [0]
    for line in doc.lines:
        offsets.append(offsets[-1] + len(line))
    headers = [Header(s.name, offsets[s.start], offsets[s.end]) for s in doc.sections]
    return Outline(text, headers, doc.problems)
