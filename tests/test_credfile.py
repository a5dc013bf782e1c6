"""The credentials-file editor: golden files of awkward real-world files, then unit tests.

Golden cases live in tests/golden/credentials/ (see the README there): ``NAME.in`` is a
credentials file as users have them, ``NAME.expected`` the exact bytes after the edit (or,
for ``refuse-*`` cases, the error the user sees, the file being left byte for byte).
Every edit goes through ``inifile.edit`` on a real file: lock, read, change, atomic write.
"""

from __future__ import annotations

import configparser
import os
import stat
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support import posix_only
from traycreds.adapters import inifile
from traycreds.app import profiles
from traycreds.core import credfile, ini
from traycreds.core.errors import FileError
from traycreds.core.models import Credentials, Role

GOLDEN = Path(__file__).parent / "golden" / "credentials"
REGENERATE = os.environ.get("TRAYCREDS_REGEN_GOLDEN") == "1"
BOM = b"\xef\xbb\xbf"

NAME = "traycreds-dev"
OWNER = "dev"
VALUES = [
    (credfile.KEY_ID_KEY, "GOLDENKEYID000000001"),
    (credfile.SECRET_KEY, "golden/Secret+Value="),
    (credfile.TOKEN_KEY, "goldenSessionToken//=="),
    (credfile.EXPIRATION_KEY, "2030-01-01T00:00:00Z"),
]
# Credentials without a session token or expiration: the stale ones must go.
LONG_TERM_VALUES = VALUES[:2]
VALUES_FOR = {"update-stale-token-and-repeated-key": LONG_TERM_VALUES}


def golden_cases() -> list[str]:
    return sorted(p.name[: -len(".in")] for p in GOLDEN.glob("*.in"))


def operation(case: str, path: str) -> Callable[[str], str]:
    kind = case.split("-", 1)[0]
    if kind in ("add", "update", "refuse"):
        values = VALUES_FOR.get(case, VALUES)
        return lambda text: credfile.upsert(text, path, NAME, values, owner=OWNER)
    if kind == "remove":
        return lambda text: credfile.remove_section(text, path, NAME)[0]
    raise AssertionError(f"golden case {case!r}: unknown kind {kind!r} (see the README)")


def split(raw: bytes) -> tuple[bytes, str]:
    bom = BOM if raw.startswith(BOM) else b""
    return bom, raw[len(bom):].decode("utf-8")


def entries_end(section: ini.Section) -> int:
    return section.entries[-1].end if section.entries else section.start + 1


def find(doc: ini.Document, name: str) -> ini.Section | None:
    found = [s for s in doc.sections if s.name == name]
    assert len(found) <= 1
    return found[0] if found else None


def configparser_view(text: str, *, strict: bool = True) -> dict[str, dict[str, str]]:
    """What botocore sees: it reads the credentials file with RawConfigParser (strict)."""
    parser = configparser.RawConfigParser(strict=strict)
    parser.read_string(text)
    return {name: dict(parser.items(name)) for name in parser.sections()}


def check_only_our_section_changed(kind: str, before: str, after: str, name: str) -> None:
    """Every byte outside our section is the same, whatever the golden file says."""
    old_doc, new_doc = ini.parse(before), ini.parse(after)
    old_lines, new_lines = old_doc.lines, new_doc.lines
    if kind == "add":
        assert find(old_doc, name) is None
        nl = new_doc.newline()
        kept = before if not old_lines or old_lines[-1].endswith(("\n", "\r")) else before + nl
        assert after.startswith(kept), "the file before our new section must be unchanged"
        rest = ini.split_lines(after[len(kept):])
        assert rest[0] == (nl if old_lines else f"[{name}]{nl}")
        assert all(line.strip() for line in rest[1:]), "nothing but our section is appended"
    elif kind == "update":
        old, new = find(old_doc, name), find(new_doc, name)
        assert old is not None and new is not None
        assert old_lines[: old.start] == new_lines[: new.start]
        assert old_lines[entries_end(old):] == new_lines[entries_end(new):]
    elif kind == "remove":
        old = find(old_doc, name)
        assert old is not None and find(new_doc, name) is None
        start, end = old.start, entries_end(old)
        candidates = [old_lines[:a] + old_lines[b:]
                      for a in (start, start - 1)
                      if a >= 0 and not "".join(old_lines[a:start]).strip()
                      for b in range(end, len(old_lines) + 1)
                      if not "".join(old_lines[end:b]).strip()]
        assert new_lines in candidates, "only our section and blank lines around it may go"


@pytest.mark.parametrize("case", golden_cases())
def test_golden(case: str, tmp_path: Path) -> None:
    source = GOLDEN / f"{case}.in"
    expected_file = GOLDEN / f"{case}.expected"
    original = source.read_bytes()
    target = tmp_path / "credentials"
    target.write_bytes(original)
    kind = case.split("-", 1)[0]
    change = operation(case, str(target))

    if kind == "refuse":
        with pytest.raises(FileError) as raised:
            inifile.edit(target, change)
        assert target.read_bytes() == original, "a refused edit must leave the file alone"
        assert sorted(p.name for p in tmp_path.iterdir()) == [".credentials.traycreds-lock",
                                                              "credentials"]
        message = str(raised.value).replace(str(target), "{path}") + "\n"
        if REGENERATE:
            expected_file.write_text(message, encoding="utf-8")
            pytest.skip("regenerated: inspect the .expected file before committing")
        assert message == expected_file.read_text(encoding="utf-8")
        return

    inifile.edit(target, change)
    result = target.read_bytes()
    if REGENERATE:
        expected_file.write_bytes(result)
        pytest.skip("regenerated: inspect the .expected file before committing")
    assert result == expected_file.read_bytes(), f"{case}: output differs from {expected_file}"

    old_bom, before = split(original)
    new_bom, after = split(result)
    assert new_bom == old_bom, "a byte-order mark is kept, never added"
    check_only_our_section_changed(kind, before, after, NAME)
    doc = credfile.parse_checked(after, str(target))
    view = configparser_view(after)
    ours = find(doc, NAME)
    if kind == "remove":
        assert ours is None and NAME not in view
    else:
        want = dict(VALUES_FOR.get(case, VALUES)) | {credfile.OWNER_KEY: OWNER}
        assert ours is not None
        if kind == "add":
            assert ours.values() == want
        else:  # keys someone added by hand to our section stay
            assert {k: v for k, v in ours.values().items() if k in want} == want
        assert {k: v for k, v in view[NAME].items() if k in want} == want
    # The foreign sections read exactly as before, for us and for botocore.
    old_view = configparser_view(before, strict=False)  # a repeated key: botocore refuses
    for name, values in old_view.items():
        if name != NAME:
            assert view[name] == values
    assert set(view) - {NAME} == set(old_view) - {NAME}


def test_every_golden_input_has_an_expected_output() -> None:
    cases = golden_cases()
    assert len(cases) >= 15
    for case in cases:
        assert (GOLDEN / f"{case}.expected").exists(), f"{case}.expected is missing"
    leftovers = {p.name.rsplit(".", 1)[0] for p in GOLDEN.glob("*.expected")} - set(cases)
    assert not leftovers, f".expected files without .in: {sorted(leftovers)}"


# --- upsert ---------------------------------------------------------------------------------

def test_upsert_creates_the_section_at_the_end_after_one_blank_line() -> None:
    text = "[default]\naws_access_key_id = AKIDEXAMPLE000000001\n"
    new = credfile.upsert(text, "f", "x y", [("k", "v")], owner="r")
    assert new == text + "\n[x y]\nk = v\ntraycreds_role = r\n"
    assert credfile.owned_sections(new)[0].name == "x y"


def test_upsert_updates_in_place_and_keeps_what_follows() -> None:
    text = "[x]\ntraycreds_role = r\nk = old\n# about y\n[y]\nk = y\n"
    new = credfile.upsert(text, "f", "x", [("k", "new"), ("n", "1")], owner="r")
    assert new == "[x]\ntraycreds_role = r\nk = new\nn = 1\n# about y\n[y]\nk = y\n"


def test_upsert_twice_with_the_same_values_changes_nothing() -> None:
    text = "[a]\nk = v\n"
    once = credfile.upsert(text, "f", "x", VALUES, owner="r")
    assert credfile.upsert(once, "f", "x", VALUES, owner="r") == once


def test_upsert_last_section_without_final_newline_keeps_lines_apart() -> None:
    """Regression: the new key was glued onto the continuation line of the last entry."""
    text = "[x]\ntraycreds_role = r\naws_access_key_id = OLD\n  continued"
    new = credfile.upsert(text, "f", "x", VALUES[:2], owner="r")
    assert new == ("[x]\ntraycreds_role = r\naws_access_key_id = GOLDENKEYID000000001\n"
                   "aws_secret_access_key = golden/Secret+Value=")
    assert find(ini.parse(new), "x").values() == dict(VALUES[:2]) | {"traycreds_role": "r"}


def test_upsert_drops_stale_credential_keys_of_our_section_only() -> None:
    text = ("[x]\ntraycreds_role = r\naws_session_token = T\n"
            "aws_credential_expiration = 2020-01-01T00:00:00Z\nregion = eu-west-1\n")
    new = credfile.upsert(text, "f", "x", VALUES[:2], owner="r")
    assert find(ini.parse(new), "x").values() == {
        "traycreds_role": "r", "region": "eu-west-1", **dict(VALUES[:2])}
    # Without an owner (credential_process in ~/.aws/config) nothing else is removed.
    config = "[profile p]\nregion = eu-west-1\n"
    assert credfile.upsert(config, "f", "p", [("k", "v")], match=lambda n: n == "profile p",
                           header="profile p") == config + "k = v\n"


def test_upsert_refuses_line_breaks_in_values_and_bad_names() -> None:
    for bad in ("a\nb", "a\rb", "a\0b"):
        with pytest.raises(FileError, match="line break"):
            credfile.upsert("", "f", "x", [("k", bad)], owner="r")
    for name in ("a]b", "[a", "a#b", "a;b", " a", "a ", "", "a\nb"):
        with pytest.raises(FileError, match="cannot be a profile name"):
            credfile.upsert("", "f", name, [("k", "v")], owner="r")


def test_section_not_ours_is_refused_and_take_over_is_explicit() -> None:
    text = "[x]\naws_access_key_id = AKIDEXAMPLE000000001\n"
    with pytest.raises(credfile.SectionNotOursError) as raised:
        credfile.upsert(text, "/home/u/.aws/credentials", "x", VALUES, owner="r")
    message = str(raised.value)
    assert "--profile" in message and "--take-over" in message and "line 1" in message
    taken = credfile.upsert(text, "f", "x", VALUES, owner="r", take_over=True)
    assert find(ini.parse(taken), "x").values() == dict(VALUES) | {"traycreds_role": "r"}
    with pytest.raises(credfile.SectionNotOursError):
        credfile.remove_section(text, "f", "x")


def test_duplicate_sections_are_refused_naming_the_lines() -> None:
    text = "[x]\ntraycreds_role = r\n[y]\n[x]\ntraycreds_role = r\n"
    for edit in (lambda: credfile.upsert(text, "f", "x", VALUES, owner="r"),
                 lambda: credfile.remove_section(text, "f", "x"),
                 lambda: credfile.remove_keys(text, "f", "x", ["traycreds_role"])):
        with pytest.raises(FileError, match=r"more than once \(lines 1 and 4\)"):
            edit()


def test_unparsable_text_names_the_line() -> None:
    with pytest.raises(FileError, match=r"f, line 3: this line is not"):
        credfile.upsert("[a]\nk = v\nnonsense\n", "f", "x", VALUES, owner="r")


# --- remove ---------------------------------------------------------------------------------

def test_remove_section_gives_back_the_original_file() -> None:
    for text in ("", "\n", "[a]\nk = v\n", "[a]\nk = v\n\n\n", "# c\r\n[a]\r\nk=v\r\n",
                 "[a]\nk = v", "   ", "; only a comment"):
        added = credfile.upsert(text, "f", "x", VALUES, owner="r")
        removed, found = credfile.remove_section(added, "f", "x")
        assert found
        nl = ini.parse(added).newline()
        assert removed in (text, text + nl), (text, added, removed)
        if text.endswith(("\n", "\r")) or not text:
            assert removed == text


def test_remove_section_that_is_missing_changes_nothing() -> None:
    assert credfile.remove_section("[a]\n", "f", "x") == ("[a]\n", False)


def test_remove_keys_leaves_the_rest_and_drops_an_emptied_section() -> None:
    text = "[me]\naws_access_key_id = A\nregion = r\naws_secret_access_key = S\n\n[o]\nk = v\n"
    keys = [credfile.KEY_ID_KEY, credfile.SECRET_KEY]
    assert credfile.remove_keys(text, "f", "me", keys) == "[me]\nregion = r\n\n[o]\nk = v\n"
    only = "[o]\nk = v\n\n[me]\naws_access_key_id = A\naws_secret_access_key = S\n"
    assert credfile.remove_keys(only, "f", "me", keys) == "[o]\nk = v\n"


# --- owned sections and clean_expired ------------------------------------------------------

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def test_owned_sections_reads_role_expiration_and_line() -> None:
    text = ("[a]\nk = v\n[x]\ntraycreds_role = dev\naws_credential_expiration = "
            "2026-06-01T13:00:00Z\n[y]\ntraycreds_role = ops\n")
    owned = credfile.owned_sections(text)
    assert owned == [
        credfile.OwnedSection("x", "dev", datetime(2026, 6, 1, 13, tzinfo=timezone.utc), 3),
        credfile.OwnedSection("y", "ops", None, 6),
    ]


def test_clean_expired_removes_only_expired_sections_of_ours(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    foreign = ("# mine\n[default]\naws_access_key_id = AKIDEXAMPLE000000001\n"
               "aws_secret_access_key = s\n"
               "aws_credential_expiration = 2000-01-01T00:00:00Z\n")  # expired, not ours
    sections = {
        "old": "2026-06-01T11:59:59Z",  # expired
        "edge": "2026-06-01T12:00:00Z",  # expires right now: gone
        "naive": "2026-06-01T11:00:00",  # no offset: UTC (this used to raise TypeError)
        "offset": "2026-06-01T13:30:00+02:00",  # 11:30 UTC: expired
        "fresh": "2026-06-01T12:00:01Z",
        "no-expiry": "",
        "garbled": "tomorrow",  # unreadable: kept, never guessed at
    }
    text = foreign
    for name, expiration in sections.items():
        values = [("aws_access_key_id", "ASIDEXAMPLE000000001")]
        if expiration:
            values.append(("aws_credential_expiration", expiration))
        text = credfile.upsert(text, str(path), name, values, owner="dev")
    path.write_text(text, encoding="utf-8")
    cleaned = profiles.clean_expired(NOW, path=path)
    assert sorted(cleaned) == ["edge", "naive", "offset", "old"]
    after = path.read_text(encoding="utf-8")
    assert after.startswith(foreign)
    assert [s.name for s in credfile.owned_sections(after)] == ["fresh", "no-expiry", "garbled"]
    # Nothing left to clean: the file is not rewritten.
    mtime = path.stat().st_mtime_ns
    assert profiles.clean_expired(NOW, path=path) == []
    assert path.stat().st_mtime_ns == mtime
    # Cleaning everything gives back the foreign part exactly.
    assert len(profiles.clean_expired(NOW + timedelta(days=1), path=path)) == 1
    assert profiles.clean_expired(NOW, path=tmp_path / "missing") == []


# --- profiles: write, take over, backups, modes ---------------------------------------------

# profile="dev": these tests are about the file, so the section keeps the role's own name.
ROLE = Role(name="dev", role_arn="arn:aws:iam::123456789012:role/dev", source="me", profile="dev",
            origin="test")


def creds(seed: str = "A") -> Credentials:
    key_id = "ASID" + seed * 16  # ASID: a made-up prefix, the shape AWS uses
    return Credentials(key_id, "secret/" + seed * 30, "token+" + seed * 40,
                       datetime(2030, 1, 1, tzinfo=timezone.utc))


@posix_only("file modes (0600)")
def test_new_credentials_file_is_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "aws" / "credentials"
    old_umask = os.umask(0o022)
    try:
        name, saved, note = profiles.write_profile(ROLE, creds(), path=path)
    finally:
        os.umask(old_umask)
    assert (name, saved, note) == ("dev", None, None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == (
        "[dev]\naws_access_key_id = ASIDAAAAAAAAAAAAAAAA\naws_secret_access_key = secret/"
        + "A" * 30 + "\naws_session_token = token+" + "A" * 40
        + "\naws_credential_expiration = 2030-01-01T00:00:00Z\ntraycreds_role = dev\n")
    # An existing file keeps the user's mode, unless others could read the secrets.
    path.chmod(0o700)
    profiles.write_profile(ROLE, creds("B"), path=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    path.chmod(0o640)
    assert profiles.write_profile(ROLE, creds("C"), path=path).note is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == [
        ".credentials.traycreds-lock", "credentials"]


@posix_only("file modes: the note names the mode (0644) it loosened")
def test_take_over_keeps_a_0600_backup_of_the_original_bytes(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    original = b"\xef\xbb\xbf# keys\r\n[dev]\r\naws_access_key_id = AKIDEXAMPLE000000001\r\n"
    path.write_bytes(original)
    path.chmod(0o644)
    with pytest.raises(credfile.SectionNotOursError):
        profiles.write_profile(ROLE, creds(), path=path)
    assert path.read_bytes() == original
    _, saved, note = profiles.write_profile(ROLE, creds(), path=path, take_over=True)
    assert saved is not None and saved.parent == tmp_path
    assert note is not None and "(mode 0644)" in note
    assert saved.name.startswith("credentials.traycreds-backup-")
    assert saved.read_bytes() == original
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds secrets now
    assert path.read_bytes().startswith(b"\xef\xbb\xbf# keys\r\n[dev]\r\n")
    # Now it is ours: no take-over, no backup needed.
    assert profiles.write_profile(ROLE, creds("B"), path=path) == ("dev", None, None)


def test_two_backups_in_the_same_second_do_not_overwrite_each_other(tmp_path: Path) -> None:
    """Regression: backups were named by the second, so a second one replaced the first."""
    path = tmp_path / "credentials"
    first = b"[dev]\nk = 1\n[ops]\nk = 2\n"
    path.write_bytes(first)
    one = profiles.write_profile(ROLE, creds(), path=path, take_over=True).backup
    second = path.read_bytes()
    ops = Role(name="ops", role_arn="arn:aws:iam::123456789012:role/ops", source="me",
               origin="test")
    two = profiles.write_profile(ops, creds("B"), path=path, take_over=True).backup
    assert one is not None and two is not None and one != two
    assert (one.read_bytes(), two.read_bytes()) == (first, second)


@posix_only("symlinked dotfiles: wine 8 does not read a symlink back as a link")
def test_writing_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    """Regression: os.replace swapped a symlinked file (dotfiles) for a plain copy."""
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "credentials"
    real.write_text("[default]\nk = v\n")
    link = tmp_path / "credentials"
    link.symlink_to(real)
    profiles.write_profile(ROLE, creds(), path=link)
    assert link.is_symlink()
    assert real.read_text().startswith("[default]\nk = v\n\n[dev]\n")
    assert profiles.remove_profile("dev", path=link)
    assert link.is_symlink() and real.read_text() == "[default]\nk = v\n"


def test_remove_profile_reports_whether_it_was_there(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[a]\nk = v\n")
    assert profiles.remove_profile("dev", path=path) is False
    profiles.write_profile(ROLE, creds(), path=path)
    assert profiles.remove_profile("dev", path=path) is True
    assert path.read_text() == "[a]\nk = v\n"
    with pytest.raises(credfile.SectionNotOursError):
        profiles.remove_profile("a", path=path)
