"""Version, help on every command, and the settings-file commands."""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

import pytest

from traycreds import __version__
from traycreds.cli.main import build_parser


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "traycreds", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def _commands(parser: argparse.ArgumentParser | None = None,
              prefix: tuple[str, ...] = ()) -> list[list[str]]:
    """Every command and sub-command the parser knows, found by walking it."""
    parser = parser or build_parser()
    found = [list(prefix)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*prefix, name))
    return found


def test_version(aws_env: Any) -> None:
    result = run(aws_env.env, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"traycreds {__version__}"


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "top")
def test_help_on_every_command(aws_env: Any, command: list[str]) -> None:
    result = run(aws_env.env, *command, "--help")
    assert result.returncode == 0 and "usage: traycreds" in result.stdout


def test_config_path_and_edit_create_a_commented_template(aws_env: Any) -> None:
    path = run(aws_env.env, "config", "path").stdout.strip()
    assert path == str(aws_env.config_home / "traycreds" / "settings.toml")
    env = dict(aws_env.env, EDITOR="cat")
    result = run(env, "config", "edit")
    assert result.returncode == 0 and "[roles.sandbox]" in result.stdout
    override = aws_env.home / "elsewhere.toml"
    assert run(dict(env, TRAYCREDS_SETTINGS=str(override)), "config", "path").stdout.strip() \
        == str(override)


def test_config_check_reports_settings_problems(aws_env: Any) -> None:
    settings = aws_env.config_home / "traycreds" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text('[app]\ndefault_shell = bash\n')
    result = run(aws_env.env, "config", "check")
    assert result.returncode == 3
    assert f"{settings}, line 2" in result.stdout


def test_no_roles_explains_where_to_add_them(aws_env: Any) -> None:
    result = run(aws_env.env, "roles")
    assert result.returncode == 0 and "No roles yet" in result.stdout
