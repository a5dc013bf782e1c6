"""'Open terminal as ROLE' through the real tray: ``python -m traycreds tray`` docked in trayer,
its menu walked with xdotool, $TERMINAL a real xterm, the window's $SHELL a Python with
botocore's default chain. The role's submenu and the opened terminal, titled after the role,
are kept as screenshots (tray-window-submenu.png, tray-window-terminal.png)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import poll, require_program
from tests.test_tray_e2e import MENU_TIMEOUT, Desk, Tray, assumable_role, desk, key, shot, unique
from tests.test_window_open import WINDOW

pytestmark = [pytest.mark.usefixtures("desktop", "secret_service"),
              pytest.mark.skipif(sys.platform != "linux", reason="X terminals")]
__all__ = ["desk"]  # the fixture, used by name


def scripts(tmp: Path, out: Path) -> dict[str, str]:
    """$TERMINAL: Debian's xterm, the terminal x-terminal-emulator's interface is defined by;
    $SHELL: what the window runs, which writes what it sees and keeps the window open a
    moment for the screenshot."""
    (tmp / "window.py").write_text(WINDOW)
    shell = tmp / "login-shell"
    shell.write_text(f"#!/bin/sh\n'{sys.executable}' '{tmp / 'window.py'}' > '{out}.part' "
                     f"2>&1 && mv '{out}.part' '{out}'\n'{sys.executable}' -c \"import json; "
                     f"s = json.load(open('{out}')); print('window of', "
                     f"s['env']['TRAYCREDS_ROLE'], 'runs as', s['arn'], 'via', s['method'])\"\n"
                     "sleep 8\n")
    shell.chmod(0o755)
    return {"TERMINAL": require_program("xterm", "a real terminal for 'Open terminal as'"),
            "SHELL": str(shell)}


def test_open_terminal_from_the_role_submenu_runs_as_the_role(
        desk: Desk, moto: Any, tmp_path: Path) -> None:
    user, role_arn = assumable_role(moto)
    source = unique("e2e-win")
    desk.add_key(source, user.key_id, user.secret, moto.url)
    desk.write_config({"dev": {"role_arn": role_arn, "source_profile": source,
                               "region": "eu-west-1"}})
    out = tmp_path / "window.json"
    env = dict(desk.env(moto.url), **scripts(tmp_path, out))
    tray = Tray(env, desk.runtime, desk.output_dir / f"{desk.name}.log")
    desk.trays.append(tray)

    tray.open_submenu(1)  # "No active role yet" (disabled), dev >
    shot("tray-window-submenu")
    # Copy x4, Write, Who am I?, Open terminal as dev
    key(*["Down"] * 6, "Return")
    poll(lambda: not tray.menus(), MENU_TIMEOUT, "the menu closes")
    poll(out.exists, 60, "the window writes what it sees")
    # A real window, titled after the role (xterm -T), on the desktop while its shell runs.
    found = poll(lambda: subprocess.run(["xdotool", "search", "--name", "^traycreds: dev$"],
                                        capture_output=True, text=True).stdout.split() or None,
                 20, "the terminal window titled 'traycreds: dev'")
    assert len(found) == 1, found
    shot("tray-window-terminal")
    seen = json.loads(out.read_text())
    assert seen["method"] == "container-role", seen
    assert f":assumed-role/{role_arn.rsplit('/', 1)[-1]}/" in seen["arn"]
    assert seen["env"]["TRAYCREDS_ROLE"] == "dev" and seen["env"]["AWS_REGION"] == "eu-west-1"
    assert seen["token_in_argv"] is False
