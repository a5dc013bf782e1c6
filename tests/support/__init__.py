"""Test support: the private desktop session (scripts/desktop-session.sh) as seen from tests.

The session script exports:
  TRAYCREDS_DESKTOP_SESSION=1     we are inside it (Xvfb, private D-Bus, keyring, dunst, trayer)
  TRAYCREDS_TEST_NOTIFY_LOG       dbus-monitor's log of org.freedesktop.Notifications.Notify
  TRAYCREDS_ARTIFACTS             where screenshots and logs go (kept by CI)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import NoReturn, TypeVar

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Read once at import: the aws_env fixture scrubs TRAYCREDS_* from os.environ later.
DESKTOP_SESSION = os.environ.get("TRAYCREDS_DESKTOP_SESSION") == "1"
NOTIFY_LOG = os.environ.get("TRAYCREDS_TEST_NOTIFY_LOG", "")
ARTIFACTS = Path(os.environ.get("TRAYCREDS_ARTIFACTS") or REPO_ROOT / "artifacts")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

WINDOWS = sys.platform == "win32"


def posix_only(why: str) -> pytest.MarkDecorator:
    """Skip on Windows (scripts/test-windows.sh), saying why: a test of POSIX behaviour or one
    that needs POSIX tools. A deliberate platform skip: unlike not_tested, CI=true keeps it."""
    return pytest.mark.skipif(WINDOWS, reason=f"POSIX only: {why}")


def windows_only(why: str) -> pytest.MarkDecorator:
    """Skip except on Windows CPython (the wine lane, scripts/test-windows.sh), saying why."""
    return pytest.mark.skipif(not WINDOWS, reason=f"Windows only: {why}")


T = TypeVar("T")


def poll(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """``check()``'s first truthy result within ``timeout`` seconds, else AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)


def under_wine() -> bool:
    """Windows CPython running under wine (ntdll exports wine_get_version)."""
    if not WINDOWS:
        return False
    import ctypes

    return hasattr(ctypes.WinDLL("ntdll"), "wine_get_version")


def wine_desktop(why: str) -> list[pytest.MarkDecorator]:
    """Windows under wine only: the test drives the desktop with the lane's Linux tools
    (trayer, xdotool, ImageMagick) through ``start /unix``, which real Windows lacks."""
    return [windows_only(why), pytest.mark.skipif(
        WINDOWS and not under_wine(),
        reason=f"the wine lane only ({why}): it drives the desktop with Linux tools "
        "(trayer, xdotool) through wine's start /unix")]


def not_tested(what: str, why: str) -> NoReturn:
    """Skip, loudly, when a precondition of the machine is missing; under CI=true fail instead:
    CI installs everything the tests need, so a missing piece there is a broken install step."""
    message = f"NOT TESTED ({what}): {why}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_program(name: str, what: str) -> str:
    """The path of ``name`` on PATH, or not_tested."""
    import shutil

    found = shutil.which(name)
    if found is None:
        not_tested(what, f"{name} is not installed")
    return found


def require_module(name: str, what: str) -> ModuleType:
    """``import name``, or not_tested (pytest.importorskip would hide it under CI)."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        not_tested(what, f"the Python module {name} is missing")


def markdown_section(text: str, title: str, *, subsections: bool = True) -> tuple[str, int]:
    """The body of the Markdown section headed ``title`` and the line (1-based) it starts on.

    It ends at the next heading of the same or a higher level, or with ``subsections=False``
    at the next heading of any level. Lines inside fenced code blocks (a ``# comment`` in a
    shell or ini block) are not headings.
    """
    masked, fenced = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        masked.append(" " * (len(line) - 1) + "\n" if fenced and line.endswith("\n") else line)
    plain = "".join(masked)
    match = re.search(rf"^(#+) {re.escape(title)}\n", plain, re.M)
    assert match, f"no section {title!r}"
    deepest = len(match.group(1)) if subsections else 6
    end = re.search(rf"^#{{1,{deepest}}} ", plain[match.end():], re.M)
    stop = match.end() + end.start() if end else len(text)
    return text[match.end():stop], text[:match.end()].count("\n") + 1


HARNESS_VARS = ("TRAYCREDS_DESKTOP_SESSION", "TRAYCREDS_TEST_NOTIFY_LOG", "TRAYCREDS_ARTIFACTS")


@dataclass(frozen=True)
class AwsEnv:
    """What the ``aws_env`` fixture set up. The AWS files are named, not created."""

    home: Path
    aws_config: Path
    aws_credentials: Path
    config_home: Path
    data_home: Path
    state_home: Path
    cache_home: Path
    env: dict[str, str]  # os.environ after patching: pass to subprocesses

    @property
    def log_root(self) -> Path:
        """Below it, traycreds' log files: XDG_STATE_HOME on Linux, %LOCALAPPDATA% on Windows."""
        return Path(self.env["LOCALAPPDATA"]) if sys.platform == "win32" else self.state_home


def in_desktop_session() -> bool:
    return (
        DESKTOP_SESSION
        and bool(os.environ.get("DISPLAY"))
        and bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS"))
    )


@dataclass(frozen=True)
class Notification:
    """One org.freedesktop.Notifications.Notify call, as dbus-monitor printed it."""

    app_name: str
    summary: str
    body: str


# dbus-monitor prints a Notify call's arguments in order, strings unescaped between quotes:
# app_name, replaces_id, app_icon, summary, body, actions (array), hints (array), timeout.
_NOTIFY_ARGS = re.compile(
    r'^   string "(?P<app>.*?)"\n'
    r"   uint32 \d+\n"
    r'   string ".*?"\n'
    r'   string "(?P<summary>.*?)"\n'
    r'   string "(?P<body>.*?)"\n'
    r"   array \[",
    re.DOTALL | re.MULTILINE,
)


class NotificationLog:
    """Reads the dbus-monitor log; sees only what was logged after ``start`` (a byte offset)."""

    def __init__(self, path: Path, start: int | None = None) -> None:
        self.path = path
        self.start = self._size() if start is None else start

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def text(self) -> str:
        try:
            with self.path.open("rb") as log:
                log.seek(self.start)
                return log.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def notifications(self) -> list[Notification]:
        found = []
        for block in re.split(r"^method call ", self.text(), flags=re.MULTILINE)[1:]:
            header, _, args = block.partition("\n")
            if "member=Notify" not in header:
                continue
            match = _NOTIFY_ARGS.match(args)
            if match:
                found.append(Notification(match["app"], match["summary"], match["body"]))
        return found

    def wait_for(self, substring: str, timeout: float = 5.0) -> Notification:
        """The first notification whose app name, summary or body contains ``substring``."""
        deadline = time.monotonic() + timeout
        while True:
            for note in self.notifications():
                if (
                    substring in note.summary
                    or substring in note.body
                    or substring in note.app_name
                ):
                    return note
            if time.monotonic() >= deadline:
                seen = self.notifications()
                raise AssertionError(
                    f"no notification containing {substring!r} within {timeout}s; "
                    f"seen since the test began: {seen!r} (log: {self.path})"
                )
            time.sleep(0.05)


def screenshot(name: str) -> Path:
    """Save the whole virtual screen as ARTIFACTS/screenshots/<name>.png and return the path."""
    target = ARTIFACTS / "screenshots" / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    # /usr/local/bin/convert on these machines is not ImageMagick: name it by path.
    for attempt in range(3):  # xwd fails now and then while a window maps or unmaps
        xwd = subprocess.run(["xwd", "-root", "-silent"], capture_output=True, timeout=20,
                             check=False)
        if xwd.returncode == 0:
            break
        time.sleep(0.2 * (attempt + 1))
    xwd.check_returncode()
    subprocess.run(
        ["/usr/bin/convert", "xwd:-", f"png:{target}"], input=xwd.stdout, check=True, timeout=30
    )
    return target
