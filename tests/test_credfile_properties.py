"""Property tests of the credentials-file editor: random files, random edits.

Files: sections with random names and entries in every spacing style, continuation lines,
``#`` and ``;`` comments (non-ASCII too), blank and whitespace-only lines, LF or CRLF, with
or without a final newline, and sometimes a section of ours already in them. Edits: upsert
of our section with random credentials, and removal. Properties:

- parse, edit, parse gives the edit: our section holds exactly our values (for us and for
  botocore's strict RawConfigParser), every other section reads as before;
- every line outside our section is byte for byte what it was;
- upsert then remove gives the original back, except a newline added to a last line that
  lacked one (a new header must start on its own line);
- writing the same values twice changes nothing; writing new values over old ones is the
  same as writing the new ones at once.

Derandomized (same examples on every run) and without an example database, so the suite is
deterministic and leaves nothing behind.
"""

from __future__ import annotations

import configparser
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from traycreds.adapters import inifile
from traycreds.core import credfile, ini
from traycreds.core.shells import format_expiration

TARGET = "traycreds target"
SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=200,
                    suppress_health_check=[HealthCheck.too_slow])
CREDENTIAL_KEYS = [credfile.KEY_ID_KEY, credfile.SECRET_KEY, credfile.TOKEN_KEY,
                   credfile.EXPIRATION_KEY]

# Text on one line: any printable character, nothing that ends a line.
line_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"),
    max_size=20)
section_names = st.text("abcdefghijklmnop-_.0123456789 \"'", min_size=1, max_size=12).filter(
    lambda n: n == n.strip() and n != TARGET)
keys = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
values_text = line_text.map(str.strip)
ENTRY_FORMS = ["{k} = {v}", "{k}={v}", "{k} :{v}", "{k}: {v}", "{k}\t=\t{v}", "{k}   =   {v}"]
HEADER_TAILS = ["", "  ", " ; a note", " # a note", "\t"]


@st.composite
def comment(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(["#", ";", "  #", "\t;", "# ", "; "])) + draw(line_text)


@st.composite
def blank(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(["", "   ", "\t"]))


@st.composite
def entry(draw: st.DrawFn, key: str, value: str | None = None) -> list[str]:
    value = draw(values_text) if value is None else value
    lines = [draw(st.sampled_from(ENTRY_FORMS)).format(k=key, v=value)]
    # Continuation lines directly under the entry (where configparser agrees they are).
    for _ in range(draw(st.integers(0, 2))):
        text = draw(line_text.filter(lambda t: t.strip() != ""))
        lines.append(draw(st.sampled_from(["  ", "\t", "    "])) + text.strip())
    return lines


@st.composite
def filler(draw: st.DrawFn) -> list[str]:
    return draw(st.lists(st.one_of(comment(), blank()), max_size=3))


@st.composite
def section(draw: st.DrawFn, name: str) -> list[str]:
    lines = [f"[{name}]" + draw(st.sampled_from(HEADER_TAILS))]
    for key in draw(st.lists(keys, unique=True, max_size=4)):
        lines += draw(filler()) if draw(st.booleans()) else []
        lines += draw(entry(key))
    return lines + draw(filler())


@st.composite
def our_section(draw: st.DrawFn) -> list[str]:
    """A section traycreds wrote earlier (maybe hand-edited since): our keys only."""
    present = draw(st.lists(st.sampled_from(CREDENTIAL_KEYS), unique=True))
    order = draw(st.permutations([*present, credfile.OWNER_KEY]))
    lines = [f"[{TARGET}]"]
    for key in order:
        value = "old-role" if key == credfile.OWNER_KEY else draw(values_text)
        lines += draw(entry(key, value))
    return lines + draw(filler())


@dataclass
class File:
    text: str
    nl: str
    has_target: bool


@st.composite
def files(draw: st.DrawFn, target: bool | None = None) -> File:
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    chunks = [draw(filler())]
    chunks += [draw(section(n)) for n in draw(st.lists(section_names, unique=True, max_size=4))]
    has_target = draw(st.booleans()) if target is None else target
    if has_target:
        chunks.insert(draw(st.integers(1, len(chunks))), draw(our_section()))
    lines = [line for chunk in chunks for line in chunk]
    text = "".join(line + nl for line in lines)
    if text and not draw(st.booleans()):  # no final newline
        text = text[: -len(nl)]
    return File(text, nl, has_target)


@st.composite
def credentials(draw: st.DrawFn) -> list[tuple[str, str]]:
    base64ish = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
                        min_size=1, max_size=60)
    values = [(credfile.KEY_ID_KEY, draw(st.from_regex(r"[A-Z0-9]{16,32}", fullmatch=True))),
              (credfile.SECRET_KEY, draw(base64ish))]
    if draw(st.booleans()):
        values.append((credfile.TOKEN_KEY, draw(base64ish)))
    if draw(st.booleans()):
        moment = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(
            seconds=draw(st.integers(-10**8, 10**8)))
        values.append((credfile.EXPIRATION_KEY, format_expiration(moment)))
    return values


roles = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


# --- helpers --------------------------------------------------------------------------------

def botocore_view(text: str, *, strict: bool = True) -> dict[str, dict[str, str]]:
    parser = configparser.RawConfigParser(strict=strict)
    parser.read_string(text)
    return {name: dict(parser.items(name)) for name in parser.sections()}


def target_of(doc: ini.Document) -> ini.Section | None:
    found = [s for s in doc.sections if s.name == TARGET]
    assert len(found) <= 1
    return found[0] if found else None


def entries_end(section: ini.Section) -> int:
    return section.entries[-1].end if section.entries else section.start + 1


def foreign_blocks(doc: ini.Document) -> dict[str, list[str]]:
    """Each other section's lines, header to its last entry."""
    return {s.name: doc.lines[s.start:entries_end(s)] for s in doc.sections if s.name != TARGET}


def with_final_newline(text: str) -> str:
    nl = ini.parse(text).newline()  # a one-line file has no ending to copy: LF
    return text if not text or text.endswith(("\n", "\r")) else text + nl


# --- properties -----------------------------------------------------------------------------

@SETTINGS
@given(files(), credentials(), roles)
def test_upsert_writes_exactly_our_values_and_nothing_else(
        file: File, values: list[tuple[str, str]], role: str) -> None:
    before = credfile.parse_checked(file.text, "f")
    new_text = credfile.upsert(file.text, "f", TARGET, values, owner=role)
    after = credfile.parse_checked(new_text, "f")  # parses, no problem lines

    want = dict(values) | {credfile.OWNER_KEY: role}
    ours = target_of(after)
    assert ours is not None and ours.values() == want
    assert [e.key for e in ours.entries].count(credfile.OWNER_KEY) == 1
    view, old_view = botocore_view(new_text), botocore_view(file.text)
    assert view[TARGET] == want
    assert {n: v for n, v in view.items() if n != TARGET} == \
        {n: v for n, v in old_view.items() if n != TARGET}
    assert [o.role for o in credfile.owned_sections(new_text) if o.name == TARGET] == [role]

    # Every other section's lines are byte-identical...
    nl = before.newline()
    new_blocks = foreign_blocks(after)
    assert new_blocks.keys() == foreign_blocks(before).keys()
    for s in before.sections:
        if s.name == TARGET:
            continue
        lines = before.lines[s.start:entries_end(s)]
        if (target_of(before) is None and entries_end(s) == len(before.lines)
                and not lines[-1].endswith(("\n", "\r"))):
            lines = [*lines[:-1], lines[-1] + nl]  # the one accepted change: a new section
        assert new_blocks[s.name] == lines, s.name
    # ...and so is everything before and after our section.
    old = target_of(before)
    if old is None:
        kept = with_final_newline(file.text)
        assert new_text.startswith(kept)
        added = ini.split_lines(new_text[len(kept):])
        assert added[0] == (nl if kept else f"[{TARGET}]{nl}")
        assert len(added) == (1 if kept else 0) + 1 + len(want)
    else:
        assert after.lines[: ours.start] == before.lines[: old.start]
        assert after.lines[entries_end(ours):] == before.lines[entries_end(old):]
        if not file.text.endswith(("\n", "\r")) and entries_end(old) == len(before.lines):
            assert not new_text.endswith(("\n", "\r")), "the missing final newline stays missing"


@SETTINGS
@given(files(target=False), credentials(), roles)
def test_upsert_then_remove_gives_back_the_original(
        file: File, values: list[tuple[str, str]], role: str) -> None:
    added = credfile.upsert(file.text, "f", TARGET, values, owner=role)
    removed, found = credfile.remove_section(added, "f", TARGET)
    assert found
    assert removed == with_final_newline(file.text)


@SETTINGS
@given(files(target=True))
def test_remove_takes_only_our_section_and_blank_lines_next_to_it(file: File) -> None:
    before = credfile.parse_checked(file.text, "f")
    old = target_of(before)
    assert old is not None
    new_text, found = credfile.remove_section(file.text, "f", TARGET)
    assert found
    after = credfile.parse_checked(new_text, "f")
    assert target_of(after) is None
    assert foreign_blocks(after) == foreign_blocks(before)
    # The result is the original without [start, end): our header and entries, plus only
    # blank lines on either side.
    lines = before.lines
    start, end = old.start, entries_end(old)
    cut = len(lines) - len(after.lines)
    matches = [a for a in range(start + 1) if lines[:a] + lines[a + cut:] == after.lines
               and a <= start and a + cut >= end]
    assert matches, "only our section and blank lines around it may go"
    a = matches[0]
    assert not "".join(lines[a:start] + lines[end:a + cut]).strip()
    assert botocore_view(new_text) == {n: v for n, v in botocore_view(file.text).items()
                                       if n != TARGET}


@SETTINGS
@given(files(), credentials(), credentials(), roles)
def test_writing_twice_is_writing_the_last_values(
        file: File, first: list[tuple[str, str]], second: list[tuple[str, str]],
        role: str) -> None:
    once = credfile.upsert(file.text, "f", TARGET, second, owner=role)
    assert credfile.upsert(once, "f", TARGET, second, owner=role) == once
    twice = credfile.upsert(credfile.upsert(file.text, "f", TARGET, first, owner=role),
                            "f", TARGET, second, owner=role)
    doc = credfile.parse_checked(twice, "f")
    ours = target_of(doc)
    assert ours is not None and ours.values() == dict(second) | {credfile.OWNER_KEY: role}
    if [k for k, _ in first] == [k for k, _ in second]:
        assert twice == once


@SETTINGS
@given(files(target=False))
def test_a_section_without_our_mark_is_refused(file: File) -> None:
    text = with_final_newline(file.text) + f"[{TARGET}]{file.nl}k = v{file.nl}"
    with pytest.raises(credfile.SectionNotOursError):
        credfile.upsert(text, "f", TARGET, [("k", "w")], owner="r")
    with pytest.raises(credfile.SectionNotOursError):
        credfile.remove_section(text, "f", TARGET)


@settings(SETTINGS, max_examples=40)
@given(files(), credentials(), st.booleans())
def test_through_the_file_the_bytes_are_the_same(
        file: File, values: list[tuple[str, str]], bom: bool) -> None:
    """The same edit through inifile.edit on a real file: BOM kept, bytes as the pure edit."""
    prefix = b"\xef\xbb\xbf" if bom else b""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "credentials"
        path.write_bytes(prefix + file.text.encode("utf-8"))
        inifile.edit(path, lambda text: credfile.upsert(text, str(path), TARGET, values,
                                                         owner="r"))
        expected = credfile.upsert(file.text, "f", TARGET, values, owner="r")
        assert path.read_bytes() == prefix + expected.encode("utf-8")
        inifile.edit(path, lambda text: credfile.remove_section(text, str(path), TARGET)[0])
        if not file.has_target:
            assert path.read_bytes() == prefix + with_final_newline(
                file.text).encode("utf-8")


# --- the outline (the edits' linear scan) reads every text as parse() does ---------------

# Lines made of the characters the grammar turns on, odd whitespace included.
tricky_line = st.lists(st.sampled_from(
    ["[", "]", "=", ":", "#", ";", " ", "\t", "\x0c", "\x0b", "\xa0", "\x85", "a", "key",
     "[s]", "é", "x = 1", "\r"]), max_size=6).map("".join)


@st.composite
def tricky_texts(draw: st.DrawFn) -> str:
    ends = draw(st.sampled_from([["\n"], ["\r\n"], ["\n", "\r\n"], ["\n", "\r"]]))
    lines = draw(st.lists(tricky_line, max_size=12))
    return "".join(line + draw(st.sampled_from(ends)) for line in lines) + draw(tricky_line)


def assert_outline_is_parse(text: str) -> None:
    doc = ini.parse(text)
    outline = ini.outline(text)
    assert outline.problems == doc.problems
    assert [(h.name, outline.line_number(h.start)) for h in outline.headers] == [
        (s.name, s.start + 1) for s in doc.sections]
    for header, section in zip(outline.headers, doc.sections, strict=True):
        assert text[header.start:header.end] == "".join(doc.lines[section.start:section.end])
        _, alone = outline.section(header)
        assert [(e.key, e.value) for e in alone.entries] == [
            (e.key, e.value) for e in section.entries]


@SETTINGS
@given(tricky_texts())
def test_the_outline_reads_odd_texts_as_parse_does(text: str) -> None:
    assert_outline_is_parse(text)


@SETTINGS
@given(files())
def test_the_outline_reads_credentials_files_as_parse_does(file: File) -> None:
    assert_outline_is_parse(file.text)
