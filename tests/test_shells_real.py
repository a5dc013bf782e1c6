"""The rendered lines, run by the real bash, zsh and fish (and dash for the ``sh`` alias).

Each test sources the lines from a file (or feeds them to an interactive shell on stdin,
as a paste would), then prints every variable NUL-separated twice: as the shell sees it
and as a child process sees it in its environment. Both must equal the UTF-8 bytes of
the values exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import posix_only, require_program
from traycreds.core.models import Credentials
from traycreds.core.shells import environment, render

# cmd.exe and PowerShell output is checked in test_shells.py; these run POSIX shells.
pytestmark = posix_only("runs bash, zsh, fish and dash")

EXPIRES = datetime(2026, 11, 28, 14, 32, tzinfo=timezone.utc)

# How each shell is started without user config, and how it reads a file.
SHELL_COMMANDS: dict[str, tuple[list[str], str]] = {
    "bash": (["bash", "--norc", "--noprofile"], "source"),
    "zsh": (["zsh", "-f"], "source"),
    "fish": (["fish", "--no-config"], "source"),
    "dash": (["dash"], "."),
}
REAL = ("bash", "zsh", "fish")

HOSTILE = [
    "'",
    '"',
    "'\"'",
    "''",
    "'\\''",
    "$HOME",
    "${HOME}",
    "$(id)",
    "`id`",
    "%PATH%",
    "%%",
    "!!",
    "!$",
    "!-1",
    "^",
    "&",
    "a & b | c < d > e ^ f; g",
    "\\",
    "\\\\",
    "\\'",
    "\\\\'",
    "trailing\\",
    "back\\slash\\n",
    "\u2018\u2019\u201a\u201b",
    "it\u2018s \u2018quoted\u2019 \u201alow\u201b",
    "  spaces  inside and around  ",
    "\t",
    "\U0001f511\U0001f5dd\ufe0f",
    "-x",
    "--erase",
    "--",
    "=",
    "a=b",
    "#not a comment",
    ";ls",
    "*",
    "?",
    "[a]",
    "~",
    "~root",
    "{a,b}",
    "(x)",
    "\x1b[31mred",
    "\x01\x7f",
    "\x85\u2028\u2029\x0b\x0c",
    "\uf600\uf6ff",
    "\ufdd0\ufdef\uffff",
    "\U0010ffff",
    "",
]


def _need(shell: str) -> list[str]:
    argv, _ = SHELL_COMMANDS[shell]
    require_program(argv[0], f"{shell}'s output run for real")
    return argv


_SHOW = (
    "import os, sys\n"
    "sys.stdout.buffer.write(b''.join(os.environb[n.encode()] + b'\\0' for n in sys.argv[1:]))\n"
)


def run_lines(
    shell: str,
    creds: Credentials,
    region: str | None,
    *,
    locale: str = "C.UTF-8",
    interactive: bool = False,
    prelude: str = "",
) -> tuple[bytes, bytes, bytes]:
    """Run the rendered lines in ``shell``; return (expected, shell's view, child's view)."""
    argv = _need(shell)
    text = render("bash" if shell == "dash" else shell, creds, region)
    env_pairs = environment(creds, region)
    names = " ".join(name for name, _ in env_pairs)
    expected = b"".join(value.encode() + b"\0" for _, value in env_pairs)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        lines = home / "lines.sh"
        lines.write_bytes(text.encode())
        (home / "show.py").write_text(_SHOW)
        vars_ = " ".join(f'"${name}"' for name, _ in env_pairs)
        show = (
            f"printf '%s\\0' {vars_} > \"$TC_OUT/shell\"\n"
            f'"$TC_PY" "$TC_OUT/show.py" {names} > "$TC_OUT/child"\n'
        )
        if interactive:
            script, stdin = None, prelude + text + show + "exit\n"
        else:
            script, stdin = prelude + f'{SHELL_COMMANDS[shell][1]} "$TC_OUT/lines.sh"\n' + show, ""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "LC_ALL": locale,
            "TC_PY": sys.executable,
            "TC_OUT": tmp,
        }
        cmd = [*argv, "-i"] if interactive else [*argv, "-c", script or ""]
        result = subprocess.run(
            cmd, input=stdin.encode(), env=env, capture_output=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        return expected, (home / "shell").read_bytes(), (home / "child").read_bytes()


def assert_round_trip(
    shell: str,
    creds: Credentials,
    region: str | None,
    *,
    locale: str = "C.UTF-8",
    interactive: bool = False,
    prelude: str = "",
) -> None:
    expected, seen, child = run_lines(
        shell, creds, region, locale=locale, interactive=interactive, prelude=prelude
    )
    assert seen == expected
    assert child == expected


def hostile_creds(value: str) -> tuple[Credentials, str]:
    """Put ``value`` in every variable, tagged so that a mix-up between them shows."""
    return Credentials("K" + value, "S" + value, "T" + value, EXPIRES), "R" + value


@pytest.mark.parametrize("shell", REAL)
@pytest.mark.parametrize("value", HOSTILE, ids=ascii)
def test_hostile_value_round_trips(shell: str, value: str) -> None:
    creds, region = hostile_creds(value)
    assert_round_trip(shell, creds, region)


@pytest.mark.parametrize("shell", REAL)
def test_bare_hostile_values_round_trip(shell: str) -> None:
    """Values that are exactly the hostile text, with nothing before them."""
    for key, secret, token, region in [
        ("'", "\\", "-x", "$(id)"),
        ("\\'", "trailing\\", "\u2019", "!!"),
        ("", "", "--", "%PATH%"),
    ]:
        assert_round_trip(shell, Credentials(key, secret, token, EXPIRES), region)


@pytest.mark.parametrize("shell", REAL)
@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
def test_all_hostile_values_at_once(shell: str, locale: str) -> None:
    everything = "".join(HOSTILE)
    creds = Credentials(everything, everything[::-1], "x" + everything, EXPIRES)
    assert_round_trip(shell, creds, everything + "y", locale=locale)


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_pasted_into_interactive_shell_with_history_expansion(shell: str) -> None:
    """An interactive bash/zsh reading the lines from stdin expands ``!!`` where it can."""
    value = "!! !$ !-1 ^x^y '!!' \"!!\" `id` $(id) \\"
    creds, region = hostile_creds(value)
    prelude = "set -o histexpand\necho warm-up\n" if shell == "bash" else "echo warm-up\n"
    assert_round_trip(shell, creds, region, interactive=True, prelude=prelude)


def test_history_expansion_is_really_on_in_the_interactive_test() -> None:
    """Guard for the test above: an unquoted ``!!`` does expand in that setup."""
    argv = _need("bash")
    out = subprocess.run(
        [*argv, "-i"],
        input=b'set -o histexpand\necho warm-up\necho "!!"\nexit\n',
        capture_output=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tempfile.gettempdir()},
        timeout=60,
        check=False,
    )
    assert b"echo warm-up" in out.stdout


@pytest.mark.parametrize("option", ["rc_quotes", "posix_builtins", "sh_word_split"])
def test_zsh_options_do_not_change_values(option: str) -> None:
    """With RC_QUOTES, '' inside single quotes means one quote; '\\'' never produces ''."""
    creds, region = hostile_creds("'' a''b ''' \\'' '")
    assert_round_trip("zsh", creds, region, prelude=f"setopt {option}\n")


def test_bash_posix_mode() -> None:
    creds, region = hostile_creds("'\\'' $x `y` !!")
    assert_round_trip("bash", creds, region, prelude="set -o posix\n")


def test_sh_alias_output_runs_in_dash() -> None:
    """``sh`` maps to the bash output; a plain POSIX shell must read it the same."""
    creds, region = hostile_creds("'\\'' $x `y` \\ \u2019 %P%")
    assert_round_trip("dash", creds, region)


carriable = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=40)


@settings(max_examples=50, deadline=None)
@given(carriable, carriable, carriable, carriable)
def test_random_values_round_trip_in_bash_zsh_fish(
    key: str, secret: str, token: str, region: str
) -> None:
    creds = Credentials(key, secret, token or None, EXPIRES)
    for shell in REAL:
        assert_round_trip(shell, creds, region or None)
