"""The AWS config reader and traycreds' settings: tolerant, line-accurate, lossless."""

from __future__ import annotations

import string
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traycreds.core import ini
from traycreds.core.awsconfig import read_profiles
from traycreds.core.errors import UsageError
from traycreds.core.settings import (
    format_minutes,
    parse_clear_seconds,
    parse_minutes,
    parse_settings,
)

CONFIG = """\
# my AWS config
[default]
region = eu-west-1

[profile prod-admin]
role_arn = arn:aws:iam::111122223333:role/Admin
source_profile=me
mfa_serial: arn:aws:iam::111122223333:mfa/me
s3 =
  max_concurrent_requests = 10

[profile "with space"]
role_arn = arn:aws:iam::111122223333:role/Spaced
source_profile = me
[sso-session corp]
sso_region = eu-west-1
[services local]
sts =
  endpoint_url = http://localhost
"""


def test_profiles_as_botocore_names_them() -> None:
    profiles, problems = read_profiles(CONFIG, "/c")
    assert problems == []
    assert sorted(profiles) == ["default", "prod-admin", "with space"]
    admin = profiles["prod-admin"]
    assert admin.values["source_profile"] == "me"
    assert admin.values["mfa_serial"] == "arn:aws:iam::111122223333:mfa/me"
    assert admin.values["s3"] == "max_concurrent_requests = 10"
    assert admin.line == 5 and admin.line_of("mfa_serial") == 8


def test_credentials_file_sections_are_profiles() -> None:
    profiles, _ = read_profiles("[me]\naws_access_key_id = X\n[profile x]\na = b\n", "/k",
                                config_file=False)
    assert sorted(profiles) == ["me", "profile x"]


def test_bad_lines_are_problems_with_line_numbers_and_the_rest_loads() -> None:
    text = "[profile a]\nrole_arn = x\nthis is junk\n[profile b]\nsource_profile = a\n"
    profiles, problems = read_profiles(text, "/c")
    assert sorted(profiles) == ["a", "b"]
    assert [(p.line, p.path) for p in problems] == [(3, "/c")]
    assert "Fix or remove that line" in problems[0].describe()


def test_a_setting_without_equals_is_reported_with_the_fix_and_marks_its_profile() -> None:
    text = "[profile a]\nrole_arn = x\nduration_seconds 3600\n[profile b]\nregion = y\n"
    profiles, problems = read_profiles(text, "/c")
    assert [p.line for p in problems] == [3]
    assert "Write it as 'duration_seconds = 3600'" in problems[0].fix
    assert problems[0].role == "a" and profiles["a"].problem == problems[0]
    assert profiles["b"].problem is None


def test_lines_under_a_header_missing_its_bracket_stay_out_of_the_profile_above() -> None:
    text = "[profile a]\nregion = x\n[profile stage\nregion = y\nrole_arn = z\n"
    profiles, problems = read_profiles(text, "/c")
    assert profiles["a"].values == {"region": "x"} and profiles["a"].problem is None
    assert profiles["stage"].values == {"region": "y", "role_arn": "z"}
    assert profiles["stage"].line == 3 and profiles["stage"].line_of("role_arn") == 5
    assert [(p.line, p.role) for p in problems] == [(3, "stage")]
    assert "no closing ']'" in problems[0].message


def test_a_bad_line_of_the_credentials_file_is_not_quoted() -> None:
    _, problems = read_profiles("[me]\naws_secret_access_key SECRETVALUE\n", "/k",
                                config_file=False)
    assert problems[0].line == 2 and "SECRETVALUE" not in problems[0].describe()


def test_duplicate_profile_is_reported_and_first_wins() -> None:
    text = "[profile a]\nregion = x\n[profile a]\nregion = y\n"
    profiles, problems = read_profiles(text, "/c")
    assert profiles["a"].values["region"] == "x"
    assert problems[0].line == 3 and "twice" in problems[0].message


def test_key_before_any_section_is_a_problem() -> None:
    _, problems = read_profiles("region = x\n[default]\n", "/c")
    assert problems[0].line == 1


def test_document_keeps_every_byte_including_crlf_and_no_final_newline() -> None:
    text = "[a]\r\nk = v\r\n\r\n# c\r\n[b]\nx=1"
    doc = ini.parse(text)
    assert doc.text() == text
    assert doc.newline() == "\r\n"
    assert [s.name for s in doc.sections] == ["a", "b"]
    assert doc.sections[0].end == 4 and doc.sections[1].get("x") == "1"


_name = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=12)
_value = st.text(alphabet=string.ascii_letters + string.digits + "-_:/.@ =", max_size=30).map(
    str.strip)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_name, st.dictionaries(_name.map(str.lower), _value, max_size=5),
                       max_size=6),
       st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_parse_round_trips_generated_files(profiles: dict[str, dict[str, str]], newline: str,
                                           final_newline: bool) -> None:
    lines = []
    for name, values in profiles.items():
        lines.append(f"[profile {name}]")
        lines += [f"{k} = {v}" for k, v in values.items()]
        lines.append("# a comment")
    text = newline.join(lines) + (newline if final_newline else "")
    doc = ini.parse(text)
    assert doc.text() == text
    parsed, problems = read_profiles(text, "/c")
    assert problems == []
    assert {n: p.values for n, p in parsed.items()} == profiles


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_parser_never_crashes_and_never_loses_text(text: str) -> None:
    assert ini.parse(text).text() == text
    read_profiles(text, "/c")
    parse_settings(text, "/s")


SETTINGS = """\
[app]
default_shell = "powershell"
warn_before_minutes = [5, 15]

[roles.prod-admin]
label = "Prod"
color = "#ff0000"
favorite = true

[roles."sandbox"]
role_arn = "arn:aws:iam::111122223333:role/Sandbox"
source_profile = "me"
duration_seconds = 7200
"""


def test_settings_parse_with_aliases() -> None:
    parsed, problems = parse_settings(SETTINGS, "/s")
    assert problems == []
    assert parsed.app.default_shell == "powershell"
    assert parsed.app.warn_before_minutes == (15, 5)
    assert parsed.roles["prod-admin"].values == {"label": "Prod", "colour": "#ff0000",
                                                 "favourite": True}
    sandbox = parsed.roles["sandbox"]
    assert sandbox.line == 10 and sandbox.line_of("duration_seconds") == 13


def test_malformed_settings_name_the_line_and_fall_back_to_defaults() -> None:
    parsed, problems = parse_settings('[app]\ndefault_shell = bash\n', "/s")
    assert parsed.roles == {} and parsed.app.default_shell is None
    assert problems[0].line == 2
    assert "strings need quotes" in problems[0].fix


def test_unknown_keys_and_bad_app_values_are_reported() -> None:
    text = '[app]\ndefault_shell = "tcsh"\nclipboard_clear_seconds = -1\n[roles.x]\nlabell = "y"\n'
    parsed, problems = parse_settings(text, "/s")
    messages = " ".join(p.message for p in problems)
    assert "tcsh" in messages and "clipboard_clear_seconds" in messages
    assert any(p.line == 5 and "labell" in p.message for p in problems)
    assert parsed.app.clipboard_clear_seconds == 45


def test_a_first_header_missing_its_bracket_still_names_its_profile() -> None:
    text = "[profile stage\nregion = y\n# two bad lines in one profile:\nregion y\nzz\n"
    profiles, problems = read_profiles(text, "/c")
    assert profiles["stage"].values == {"region": "y"}
    assert [(p.line, p.role) for p in problems] == [(1, "stage"), (4, "stage"), (5, "stage")]
    assert profiles["stage"].problem == problems[0]


# The Settings dialog and the settings file take the same values: a file the dialog shows can be
# saved unchanged, and the dialog writes nothing the file then refuses. (text, accepted)
WARN_BOUNDARIES = [("0", False), ("-5", False), ("0.001", True), ("0.5", True),
                   ("14.9667", True), ("1440", True), ("1440.001", False), ("1441", False),
                   ("99999", False)]
CLEAR_BOUNDARIES = [("-1", False), ("0", True), ("1", True), ("3600", True), ("3601", False),
                    ("86400", False)]


def _dialog_takes(parse: Callable[[str], object], text: str) -> object:
    try:
        return parse(text)
    except UsageError:
        return None


@pytest.mark.parametrize(("text", "accepted"), WARN_BOUNDARIES)
def test_dialog_and_file_take_the_same_warnings(text: str, accepted: bool) -> None:
    parsed, problems = parse_settings(f"[app]\nwarn_before_minutes = [{text}]\n", "/s")
    from_dialog = _dialog_takes(parse_minutes, text)
    assert (problems == [], from_dialog is not None) == (accepted, accepted)
    if accepted:
        assert from_dialog == parsed.app.warn_before_minutes


@pytest.mark.parametrize(("text", "accepted"), CLEAR_BOUNDARIES)
def test_dialog_and_file_take_the_same_clear_seconds(text: str, accepted: bool) -> None:
    parsed, problems = parse_settings(f"[app]\nclipboard_clear_seconds = {text}\n", "/s")
    from_dialog = _dialog_takes(parse_clear_seconds, text)
    assert (problems == [], from_dialog is not None) == (accepted, accepted)
    if accepted:
        assert from_dialog == parsed.app.clipboard_clear_seconds


@given(st.lists(st.floats(min_value=0, max_value=1500, allow_nan=False) | st.integers(0, 1500),
                max_size=4))
def test_warnings_from_the_file_show_in_the_dialog_as_they_are(minutes: list[float]) -> None:
    parsed, problems = parse_settings(
        f"[app]\nwarn_before_minutes = [{', '.join(map(repr, minutes))}]\n", "/s")
    shown = format_minutes(parsed.app.warn_before_minutes)
    if problems:  # refused by the file: then by the dialog too
        with pytest.raises(UsageError):
            parse_minutes(", ".join(format(Decimal(repr(m)), "f") for m in minutes))
    else:
        assert parse_minutes(shown) == parsed.app.warn_before_minutes
