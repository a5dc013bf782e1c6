"""The seed's scenario end to end on Windows CPython under wine (the Windows lane), as a
person does it:

1. ``python -m traycreds tray`` (pystray's win32 backend) runs on the lane's X display;
   wine's explorer docks its icon in trayer (XEmbed). The user's key is in the (wine)
   Credential Manager, put there by ``traycreds keys add`` through keyring.
2. A right click on the docked icon opens the Win32 menu; the keyboard walks it to the
   role's submenu (screenshot) and Return on "Copy for cmd.exe" assumes the role at moto's
   STS (IAM auth enforced) and puts the ``set`` lines on the Windows clipboard.
3. A cmd.exe console window (wine's conhost) gets the clipboard pasted as Windows' console
   pastes: each character becomes a console key event (WriteConsoleInputW), CR is Enter and
   a LF is dropped by the cooked read, so only CRLF text runs line by line. wine's own
   Edit > Paste would keep each LF as a ``^J`` in the next line, unlike Windows: see
   tests/support/winconsole.py, which writes the key events with Windows' rule.
4. Typed at that prompt, a Windows-CPython boto3 GetCallerIdentity prints the assumed role.

Every Linux tool (trayer, xdotool, import) runs through wine's ``start /unix``
(tests/support/windesk.py); every wait polls with a deadline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ARTIFACTS, REPO_ROOT, AwsEnv, wine_desktop
from tests.support.windesk import (
    MENU_TIMEOUT,
    Rect,
    TrayHost,
    XDesk,
    clipboard_text,
    open_menus,
    poll,
    tray_host,
)

pytestmark = wine_desktop("the seed scenario on Windows CPython: Win32 tray, cmd.exe")

START_TIMEOUT = 90.0  # wine starts python.exe, the tray imports pystray/PIL, docks
COPY_TIMEOUT = 60.0  # Return -> the clipboard holds the set lines (boto3 import, STS)
ARN_TIMEOUT = 90.0  # Enter at the prompt -> python.exe + boto3 answered GetCallerIdentity
CHECK = ("import boto3, os; print(boto3.client('sts', region_name='us-east-1', "
         "endpoint_url=os.environ['AWS_ENDPOINT_URL_STS']).get_caller_identity()['Arn'])")
SEED_SHOT = "windows-tray-menu.png"  # also committed as docs/windows-tray-menu.png


class Tray:
    """``python -m traycreds tray`` on Windows CPython, docked by wine's explorer."""

    def __init__(self, env: dict[str, str], log: Path, host: TrayHost, desk: XDesk) -> None:
        self.host, self.desk, self.log_path = host, desk, log
        self._out = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "traycreds", "tray"], env=env,
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT)
        self.icon: Rect = poll(self._docked, START_TIMEOUT, "the tray icon docks in trayer",
                               0.5)[0]

    def _docked(self) -> list[Rect]:
        if self.proc.poll() is not None:
            raise AssertionError(f"the tray exited with {self.proc.returncode}:\n{self.log()}")
        return self.host.docked()

    def log(self) -> str:
        self._out.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def close_menus(self) -> None:
        self.desk.close_menus()

    def open_submenu(self, timeout: float = 60.0) -> list[tuple[int, Rect]]:
        """Right click, then the keyboard to the first role's submenu. While the roles still
        load the menu has no submenu: close it and try again. Win32 keyboard navigation may
        or may not stop on the disabled caption at the top, so both walks are tried."""
        deadline = time.monotonic() + timeout
        walks = (("Down", "Down", "Right"), ("Down", "Right"))
        attempt = 0
        while True:
            self.close_menus()
            self.desk.click(*self.icon.centre, 3)
            poll(open_menus, MENU_TIMEOUT, f"a right click opens the tray menu:\n{self.log()}")
            self.desk.move(8, 760)  # the pointer off the icon: no tooltip over the screenshot
            self.desk.keys_to_menu(*walks[attempt % len(walks)])
            attempt += 1
            try:
                return poll(lambda: len(m := open_menus()) >= 2 and m, 2.0, "a submenu opens")
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise AssertionError(f"no role submenu within {timeout} s; tray output:"
                                         f"\n{self.log()}") from None

    def quit_via_menu(self) -> None:
        self.close_menus()
        self.desk.click(*self.icon.centre, 3)
        poll(open_menus, MENU_TIMEOUT, "a right click opens the tray menu")
        self.desk.keys_to_menu("Up", "Return")  # Up from nothing selected: the last item
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the tray still runs after Quit:\n{self.log()}") from None
        assert code == 0, f"the tray exited with {code} after Quit:\n{self.log()}"

    def stop(self) -> None:
        self.close_menus()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self._out.close()


class Console:
    """cmd.exe in a console window of its own (wine's conhost), found by its title."""

    def __init__(self, env: dict[str, str], cwd: Path, desk: XDesk) -> None:
        self.desk = desk
        self.title = f"traycreds-seed-{uuid.uuid4().hex[:8]}"
        self.proc = subprocess.Popen(
            ["cmd.exe", "/k", f"title {self.title}& prompt $G"], env=env, cwd=cwd,
            creationflags=getattr(subprocess, "CREATE_NEW_CONSOLE", 0))
        self.window = int(poll(self._find, 30.0, "the cmd.exe console window appears",
                               0.3)[0])
        out = desk.unix.run("/usr/bin/xdotool", "getwindowgeometry", str(self.window))
        position = out.split("Position:")[1].split()[0]
        size = out.split("Geometry:")[1].split()[0]
        x, y = (int(v) for v in position.split(","))
        width, height = (int(v) for v in size.split("x"))
        self.rect = Rect(x, y, x + width, y + height)

    def _find(self) -> list[str]:
        return self.desk.unix.run("/usr/bin/xdotool", "search", "--name", self.title,
                                  check=False).split()

    def paste(self) -> None:
        """The clipboard pasted as Windows' console pastes it (tests/support/winconsole.py:
        its characters as console key input, CR as Enter, LF dropped by the cooked read)."""
        done = subprocess.run([sys.executable, "-m", "tests.support.winconsole",
                               str(self.proc.pid)], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, f"the paste failed ({done.returncode}): {done.stderr}"

    def type_line(self, text: str) -> None:
        self.desk.unix.run("/usr/bin/xdotool", "windowfocus", "--sync", str(self.window),
                           "type", "--delay", "15", text)
        self.desk.keys(self.window, "Return")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.type_line("exit")
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def line_ends(text: str) -> str:
    crlf = text.count("\r\n")
    return f"{crlf} CRLF, {text.count(chr(10)) - crlf} bare LF"


@pytest.fixture
def desktop_tools() -> Iterator[tuple[TrayHost, XDesk]]:
    with tray_host() as tools:
        yield tools


def test_copy_for_cmd_pasted_into_cmd_runs_as_the_role(
        moto: Any, aws_env: AwsEnv, runtime: Path, tmp_path: Path,
        desktop_tools: tuple[TrayHost, XDesk]) -> None:
    host, desk = desktop_tools
    user = moto.make_user()
    role_arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, role_arn)
    source = f"seed-{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, AWS_ENDPOINT_URL_STS=moto.url, TRAYCREDS_RUNTIME_DIR=str(runtime),
               TRAYCREDS_LOG="debug")

    # The key goes into the Credential Manager the way a user puts it there.
    added = subprocess.run([sys.executable, "-m", "traycreds", "keys", "add", source],
                           env=env, input=f"{user.key_id}\n{user.secret}\n",
                           capture_output=True, text=True, timeout=120, check=False)
    assert added.returncode == 0, added.stdout + added.stderr
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(f"[default]\nregion = us-east-1\n\n[profile dev]\n"
                                  f"role_arn = {role_arn}\nsource_profile = {source}\n")

    tray = Tray(env, ARTIFACTS / "windows-seed-tray.log", host, desk)
    try:
        menus = tray.open_submenu()
        left = min(rect.left for _, rect in menus)
        bottom = max(rect.bottom for _, rect in menus)
        shot = desk.screenshot(ARTIFACTS / "screenshots" / SEED_SHOT,
                               Rect(max(0, left - 8), 0, tray.icon.right + 2, bottom + 8))
        assert shot.stat().st_size > 1000
        desk.keys_to_menu("Return")  # the submenu's first item: Copy for cmd.exe
        pasted = poll(lambda: (text := clipboard_text()).startswith('set "AWS_') and text,
                      COPY_TIMEOUT, f"the clipboard holds the cmd.exe lines:\n{tray.log()}",
                      0.3)
        assert 'set "AWS_SESSION_TOKEN=' in pasted

        console = Console(env, tmp_path, desk)  # no AWS key in it: aws_env removed them
        try:
            console.paste()
            # Enter, as the user does: runs the last pasted line if the paste left it waiting
            # at the prompt, else an empty line that cmd ignores.
            desk.keys(console.window, "Return")
            arn_file = tmp_path / "arn.txt"
            console.type_line(f'"{sys.executable}" -c "{CHECK}" > "{arn_file}" 2>&1')
            try:
                arn = poll(lambda: ("arn:aws:" in (t := read(arn_file)) or "Error" in t) and t,
                           ARN_TIMEOUT, "python.exe in cmd prints the Arn", 0.5)
            finally:
                desk.screenshot(ARTIFACTS / "screenshots" / "windows-seed-console.png",
                                console.rect)
            assert f":assumed-role/{role_arn.rsplit('/', 1)[1]}/" in arn, (
                f"{arn}\n(the clipboard's line ends: {line_ends(pasted)})")
        finally:
            console.close()
        tray.quit_via_menu()
    finally:
        tray.stop()
