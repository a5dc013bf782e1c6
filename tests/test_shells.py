"""Pure tests of traycreds.core.shells: exact output, refusals and round trips.

The round-trip properties use small parsers written from each shell's documented
quoting rules, so they check the rendering against the rules, not against itself.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import require_module
from traycreds.core.errors import UnsafeValueError, UsageError
from traycreds.core.models import Credentials
from traycreds.core.shells import (
    SHELL_TITLES,
    SHELLS,
    check_shapes,
    credential_process_json,
    environment,
    format_expiration,
    normalize_shell,
    render,
)

KEY_ID = "AKIDEXAMPLE00000001"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY="
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE+TOKEN/abc=="
EXPIRES = datetime(2026, 11, 28, 14, 32, tzinfo=timezone.utc)
CREDS = Credentials(KEY_ID, SECRET, TOKEN, EXPIRES)
REGION = "eu-west-1"

PS_QUOTES = "'\u2018\u2019\u201a\u201b"
NEVER = ("\r", "\n", "\x00")
FIELDS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION")

NAMES_VALUES = [
    ("AWS_ACCESS_KEY_ID", KEY_ID),
    ("AWS_SECRET_ACCESS_KEY", SECRET),
    ("AWS_SESSION_TOKEN", TOKEN),
    ("AWS_CREDENTIAL_EXPIRATION", "2026-11-28T14:32:00Z"),
    ("AWS_REGION", REGION),
    ("AWS_DEFAULT_REGION", REGION),
]


def _lines(template: str) -> str:
    return "".join(template.format(n, v) + "\n" for n, v in NAMES_VALUES)


EXPECTED = {
    "cmd": _lines('set "{}={}"'),
    "powershell": _lines("$env:{} = '{}'"),
    "bash": _lines("export {}='{}'"),
    "zsh": _lines("export {}='{}'"),
    "fish": _lines("set -gx {} '{}'"),
    "dotenv": _lines("{}={}"),
    "json": (
        "{\n"
        '  "Version": 1,\n'
        f'  "AccessKeyId": "{KEY_ID}",\n'
        f'  "SecretAccessKey": "{SECRET}",\n'
        f'  "SessionToken": "{TOKEN}",\n'
        '  "Expiration": "2026-11-28T14:32:00Z"\n'
        "}\n"
    ),
}


def creds_with(field: str, value: str) -> tuple[Credentials, str]:
    """CREDS and REGION with one variable replaced by ``value``."""
    if field == "AWS_REGION":
        return CREDS, value
    if field == "AWS_ACCESS_KEY_ID":
        return dataclasses.replace(CREDS, access_key_id=value), REGION
    if field == "AWS_SECRET_ACCESS_KEY":
        return dataclasses.replace(CREDS, secret_access_key=value), REGION
    assert field == "AWS_SESSION_TOKEN"
    return dataclasses.replace(CREDS, session_token=value), REGION


# --- parsers written from the documented quoting rules ---------------------------------


def parse_powershell(line: str) -> tuple[str, str]:
    """``$env:NAME = '...'``: in a single-quoted string, any of the five quote characters
    ends the string unless the next character is also one; then the pair stands for the
    second character. Nothing else is special."""
    assert line.startswith("$env:") and line.endswith("\n")
    name, sep, rest = line[5:-1].partition(" = ")
    assert sep and rest[0] == "'"
    out, i = [], 1
    while True:
        c = rest[i]
        if c in PS_QUOTES:
            if i + 1 < len(rest) and rest[i + 1] in PS_QUOTES:
                out.append(rest[i + 1])
                i += 2
                continue
            assert i == len(rest) - 1, "string closed before the end of the line"
            return name, "".join(out)
        out.append(c)
        i += 1


def parse_cmd(line: str) -> tuple[str, str]:
    """``set "NAME=value"`` at an interactive prompt: % expands and ! expands (delayed
    expansion) anywhere, even in quotes; a " toggles quoting, and & | < > ^ are literal only
    while quoted; set drops the outer quotes and splits at the first =."""
    assert line.startswith('set "') and line.endswith('"\n')
    inner = line[5:-2]
    assert '"' not in inner, "an inner quote would unquote & | < > ^"
    assert "%" not in inner and "!" not in inner, "would expand"
    name, sep, value = inner.partition("=")
    assert sep
    return name, value


def parse_posix(line: str) -> tuple[str, str]:
    """``export NAME=word``: in single quotes everything is literal up to the next ';
    outside quotes a backslash quotes the next character."""
    assert line.startswith("export ") and line.endswith("\n")
    word = line[7:-1]
    name, sep, rest = word.partition("=")
    assert sep
    out, i = [], 0
    while i < len(rest):
        c = rest[i]
        if c == "'":
            end = rest.index("'", i + 1)
            out.append(rest[i + 1 : end])
            i = end + 1
        elif c == "\\":
            out.append(rest[i + 1])
            i += 2
        else:
            raise AssertionError(f"unquoted character {c!r}")
    return name, "".join(out)


def parse_fish(line: str) -> tuple[str, str]:
    """``set -gx NAME '...'``: inside single quotes only \\\\ and \\' are escapes."""
    assert line.startswith("set -gx ") and line.endswith("\n")
    name, _, rest = line[8:-1].partition(" ")
    assert rest[0] == "'"
    out, i = [], 1
    while True:
        c = rest[i]
        if c == "\\" and i + 1 < len(rest) and rest[i + 1] in "\\'":
            out.append(rest[i + 1])
            i += 2
        elif c == "'":
            assert i == len(rest) - 1, "string closed before the end of the line"
            return name, "".join(out)
        else:
            out.append(c)
            i += 1


PARSERS = {
    "powershell": parse_powershell,
    "cmd": parse_cmd,
    "bash": parse_posix,
    "zsh": parse_posix,
    "fish": parse_fish,
}

# --- exact output ----------------------------------------------------------------------


def test_shell_names_and_titles() -> None:
    assert SHELLS == ("cmd", "powershell", "bash", "zsh", "fish", "dotenv", "json")
    assert SHELL_TITLES == {
        "cmd": "cmd.exe",
        "powershell": "PowerShell",
        "bash": "bash",
        "zsh": "zsh",
        "fish": "fish",
        "dotenv": ".env file",
        "json": "JSON (credential_process)",
    }


@pytest.mark.parametrize("shell", SHELLS)
def test_render_exact(shell: str) -> None:
    assert render(shell, CREDS, REGION) == EXPECTED[shell]


@pytest.mark.parametrize("shell", SHELLS)
def test_render_minimal_credentials(shell: str) -> None:
    out = render(shell, Credentials(KEY_ID, SECRET))
    if shell == "json":
        assert json.loads(out) == {"Version": 1, "AccessKeyId": KEY_ID, "SecretAccessKey": SECRET}
        return
    assert out.count("\n") == 2
    assert "AWS_SESSION_TOKEN" not in out and "EXPIRATION" not in out and "REGION" not in out


@pytest.mark.parametrize("shell", SHELLS)
def test_every_line_ends_with_newline_and_no_cr(shell: str) -> None:
    out = render(shell, CREDS, REGION)
    assert out.endswith("\n") and "\r" not in out
    assert all(line.endswith("\n") for line in out.splitlines(keepends=True))


def test_render_accepts_aliases_and_rejects_unknown() -> None:
    assert render("PWSH", CREDS, REGION) == EXPECTED["powershell"]
    assert render("windows-cmd", CREDS, REGION) == EXPECTED["cmd"]
    with pytest.raises(UsageError):
        render("tcsh", CREDS)


def test_environment_order_and_optional_parts() -> None:
    assert environment(CREDS, REGION) == NAMES_VALUES
    assert environment(Credentials(KEY_ID, SECRET)) == [
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ]
    no_token = Credentials(KEY_ID, SECRET, None, EXPIRES)
    assert [n for n, _ in environment(no_token)] == [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_CREDENTIAL_EXPIRATION",
    ]


def test_credential_process_json() -> None:
    assert credential_process_json(CREDS) == EXPECTED["json"]
    plain = credential_process_json(Credentials(KEY_ID, SECRET))
    assert plain.endswith("}\n")
    assert list(json.loads(plain)) == ["Version", "AccessKeyId", "SecretAccessKey"]


# --- expiration -----------------------------------------------------------------------


def test_format_expiration_converts_to_utc_and_drops_fractions() -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    dt = datetime(2026, 11, 28, 20, 2, 0, 987654, tzinfo=india)
    assert format_expiration(dt) == "2026-11-28T14:32:00Z"
    west = timezone(timedelta(hours=-8))
    assert format_expiration(datetime(2026, 12, 31, 20, 0, tzinfo=west)) == "2027-01-01T04:00:00Z"


def test_format_expiration_rejects_naive() -> None:
    with pytest.raises(ValueError):
        format_expiration(datetime(2026, 11, 28, 14, 32))


def test_non_utc_expiration_is_rendered_in_utc() -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    creds = Credentials(KEY_ID, SECRET, TOKEN, datetime(2026, 11, 28, 20, 2, tzinfo=india))
    assert "AWS_CREDENTIAL_EXPIRATION='2026-11-28T14:32:00Z'\n" in render("bash", creds)
    assert json.loads(render("json", creds))["Expiration"] == "2026-11-28T14:32:00Z"


# --- shell names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "shell"),
    [
        ("pwsh", "powershell"),
        ("PowerShell", "powershell"),
        ("pwsh.exe", "powershell"),
        ("sh", "bash"),
        ("env", "bash"),
        ("/bin/bash", "bash"),
        ("/usr/bin/zsh", "zsh"),
        ("FISH", "fish"),
        ("windows-cmd", "cmd"),
        ("cmd.exe", "cmd"),
        ("C:\\Windows\\System32\\cmd.exe", "cmd"),
        (" bash ", "bash"),
        (".env", "dotenv"),
        ("process", "json"),
        ("credential_process", "json"),
        ("JSON (credential_process)", "json"),
    ],
)
def test_normalize_shell_aliases(alias: str, shell: str) -> None:
    assert normalize_shell(alias) == shell


@pytest.mark.parametrize("shell", SHELLS)
def test_normalize_shell_canonical(shell: str) -> None:
    assert normalize_shell(shell) == shell
    assert normalize_shell(shell.upper()) == shell


@pytest.mark.parametrize("name", ["tcsh", "", "nushell", "cmd;rm"])
def test_normalize_shell_unknown_lists_valid_names(name: str) -> None:
    with pytest.raises(UsageError) as info:
        normalize_shell(name)
    assert all(shell in info.value.message for shell in SHELLS)


# --- refusals --------------------------------------------------------------------------


def assert_refused(shell: str, field: str, value: str) -> UnsafeValueError:
    creds, region = creds_with(field, value)
    with pytest.raises(UnsafeValueError) as info:
        render(shell, creds, region)
    message = str(info.value)
    assert value not in message
    assert field in message
    assert SHELL_TITLES[shell] in message
    return info.value


@pytest.mark.parametrize("char", ["%", "!", '"'])
@pytest.mark.parametrize("field", FIELDS)
def test_cmd_refuses_percent_bang_quote(char: str, field: str) -> None:
    error = assert_refused("cmd", field, f"Sec{char}PATH{char}ret")
    assert "PowerShell" in error.message


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("char", NEVER)
@pytest.mark.parametrize("field", FIELDS)
def test_every_shell_refuses_cr_lf_nul(shell: str, char: str, field: str) -> None:
    assert_refused(shell, field, f"first{char}second")


@pytest.mark.parametrize("shell", SHELLS)
def test_every_shell_refuses_lone_surrogate(shell: str) -> None:
    assert_refused(shell, "AWS_SECRET_ACCESS_KEY", "abc\ud800def")


@pytest.mark.parametrize(
    "value",
    [
        "Sec ret",
        "Sec\tret",
        "'Secret'",
        '"Secret"',
        "Sec#ret",
        "#Secret",
        "Sec$ret",
        "${HOME}",
        "Sec\\ret",
        "Sec`id`ret",
        "Sec\u00a0ret",
        "Sec\x1bret",
    ],
)
def test_dotenv_refuses_values_needing_quotes(value: str) -> None:
    error = assert_refused("dotenv", "AWS_SECRET_ACCESS_KEY", value)
    assert "bash" in error.message


def test_dotenv_keeps_equals_and_base64() -> None:
    creds = Credentials(KEY_ID, "a=b+c/d==", "t=\u00e9")
    assert render("dotenv", creds) == (
        f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY=a=b+c/d==\nAWS_SESSION_TOKEN=t=\u00e9\n"
    )


def test_powershell_doubles_all_five_single_quotes() -> None:
    creds = Credentials(KEY_ID, "a'b\u2018c\u2019d\u201ae\u201bf", "\u2019")
    assert render("powershell", creds) == (
        f"$env:AWS_ACCESS_KEY_ID = '{KEY_ID}'\n"
        "$env:AWS_SECRET_ACCESS_KEY = 'a''b\u2018\u2018c\u2019\u2019d\u201a\u201ae\u201b\u201bf'\n"
        "$env:AWS_SESSION_TOKEN = '\u2019\u2019'\n"
    )
    # Double quotes and $ are verbatim in single-quoted strings.
    assert render("powershell", Credentials('"$x"', "`$(y)")).startswith(
        "$env:AWS_ACCESS_KEY_ID = '\"$x\"'\n$env:AWS_SECRET_ACCESS_KEY = '`$(y)'\n"
    )


def test_posix_and_fish_escaping() -> None:
    creds = Credentials("it's", "back\\slash\\", "\\'")
    assert render("bash", creds) == (
        "export AWS_ACCESS_KEY_ID='it'\\''s'\n"
        "export AWS_SECRET_ACCESS_KEY='back\\slash\\'\n"
        "export AWS_SESSION_TOKEN='\\'\\'''\n"
    )
    assert render("fish", creds) == (
        "set -gx AWS_ACCESS_KEY_ID 'it\\'s'\n"
        "set -gx AWS_SECRET_ACCESS_KEY 'back\\\\slash\\\\'\n"
        "set -gx AWS_SESSION_TOKEN '\\\\\\''\n"
    )


def test_cmd_keeps_metacharacters_inside_quotes() -> None:
    creds = Credentials("a&b|c", "<x>^y", "(z)")
    assert render("cmd", creds) == (
        'set "AWS_ACCESS_KEY_ID=a&b|c"\nset "AWS_SECRET_ACCESS_KEY=<x>^y"\n'
        'set "AWS_SESSION_TOKEN=(z)"\n'
    )


def test_render_does_not_check_shapes() -> None:
    hostile = Credentials("x'; rm -rf ~ #", "not base64 at all", "$(id)")
    with pytest.raises(UnsafeValueError):
        check_shapes(hostile)
    assert "export AWS_ACCESS_KEY_ID='x'\\''; rm -rf ~ #'\n" in render("bash", hostile)


# --- check_shapes ----------------------------------------------------------------------


def test_check_shapes_accepts_aws_values() -> None:
    check_shapes(CREDS)
    check_shapes(Credentials(KEY_ID, SECRET))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("AWS_ACCESS_KEY_ID", "akidexample00000001"),
        ("AWS_ACCESS_KEY_ID", "AKIDSHORT"),
        ("AWS_ACCESS_KEY_ID", "A" * 129),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE0000001\n"),
        ("AWS_SECRET_ACCESS_KEY", "secret with spaces"),
        ("AWS_SECRET_ACCESS_KEY", ""),
        ("AWS_SESSION_TOKEN", "tok'en"),
        ("AWS_SESSION_TOKEN", "tok-en_"),
    ],
)
def test_check_shapes_rejects(field: str, value: str) -> None:
    creds, _ = creds_with(field, value)
    with pytest.raises(UnsafeValueError) as info:
        check_shapes(creds)
    assert field in info.value.message
    if value:
        assert value not in str(info.value)


# --- properties ------------------------------------------------------------------------

# Any text the shells can carry at all: UTF-8 (no lone surrogates), no CR, LF or NUL.
carriable = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"))
cmd_safe = st.text(st.characters(codec="utf-8", exclude_characters='\r\n\x00%!"'))
dotenv_safe = st.text(
    st.characters(
        exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
        exclude_characters="'\"`#$\\",
    )
)


def _roundtrip(shell: str, key: str, secret: str, token: str, region: str) -> None:
    creds = Credentials(key, secret, token or None, EXPIRES)
    out = render(shell, creds, region or None)
    assert out.endswith("\n")
    # Split on LF only: values may hold characters str.splitlines() treats as breaks.
    lines = [line + "\n" for line in out.split("\n")[:-1]]
    parsed = [PARSERS[shell](line) for line in lines]
    assert parsed == environment(creds, region or None)


@given(carriable, carriable, carriable, carriable)
def test_powershell_parser_recovers_values(key: str, secret: str, token: str, reg: str) -> None:
    _roundtrip("powershell", key, secret, token, reg)


@given(cmd_safe, cmd_safe, cmd_safe, cmd_safe)
def test_cmd_parser_recovers_values(key: str, secret: str, token: str, reg: str) -> None:
    _roundtrip("cmd", key, secret, token, reg)


@given(carriable, carriable, carriable, carriable)
def test_posix_and_fish_parsers_recover_values(key: str, secret: str, token: str, reg: str) -> None:
    for shell in ("bash", "zsh", "fish"):
        _roundtrip(shell, key, secret, token, reg)


@given(carriable, carriable, carriable)
def test_json_recovers_values(key: str, secret: str, token: str) -> None:
    creds = Credentials(key, secret, token or None, EXPIRES)
    doc = json.loads(render("json", creds))
    assert (doc["AccessKeyId"], doc["SecretAccessKey"], doc.get("SessionToken")) == (
        key,
        secret,
        token or None,
    )


@given(dotenv_safe, dotenv_safe, dotenv_safe)
def test_python_dotenv_recovers_values(key: str, secret: str, reg: str) -> None:
    dotenv: Any = require_module("dotenv", "python-dotenv reads the dotenv output")
    creds = Credentials(key, secret, None, EXPIRES)
    out = render("dotenv", creds, reg or None)
    assert dict(dotenv.dotenv_values(stream=io.StringIO(out))) == dict(
        environment(creds, reg or None)
    )


@given(st.text(), st.sampled_from(SHELLS), st.sampled_from(FIELDS))
def test_refusal_message_never_depends_on_the_value(value: str, shell: str, field: str) -> None:
    """The message is a function of shell, variable and kind of problem only."""
    creds, region = creds_with(field, value)
    try:
        render(shell, creds, region)
    except UnsafeValueError as error:
        message = error.message
    else:
        return
    references = ["\n", "%", " "]
    expected = set()
    for ref in references:
        creds2, region2 = creds_with(field, ref)
        try:
            render(shell, creds2, region2)
        except UnsafeValueError as error:
            expected.add(error.message)
    assert message in expected


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF,
                                      blacklist_categories=()),
               max_size=30))
def test_what_no_format_carries_is_exactly_the_old_character_class(value: str) -> None:
    """_never_carried replaced a compiled class (half a millisecond of the fast path)."""
    import re

    from traycreds.core.shells import _never_carried

    assert _never_carried(value) == bool(re.search("[\r\n\x00\ud800-\udfff]", value))
    for odd in ("\ud800", "\udfff", "a\udc80b", "\r", "x\n", "\x00"):
        assert _never_carried(value + odd) and _never_carried(odd + value)
