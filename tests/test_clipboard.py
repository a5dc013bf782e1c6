"""The clipboard: real xclip and xsel on the private X display, read back by other processes;
the Windows clipboard for real on Windows CPython (the wine lane: user32/kernel32, read back,
held and written by another process), and against the recording fake of user32/kernel32
(tests/support/fakes.py) on Linux."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import REPO_ROOT, WINDOWS, posix_only, windows_only
from tests.support.fakes import Win32ClipboardApi, WinDll, WinDllFunction, WindowsPopen
from traycreds.adapters import clipboard as clipboard_pkg
from traycreds.adapters.clipboard import (
    ClearTimer,
    ClipboardError,
    clear_if_unchanged,
    fingerprint,
    get_clipboard,
    schedule_clear,
)
from traycreds.adapters.clipboard import clearing as clearing_module
from traycreds.adapters.clipboard.commands import XCLIP, CommandClipboard
from traycreds.adapters.clipboard.win32 import (
    CF_UNICODETEXT,
    PRIVATE_FORMATS,
    SIGNATURES,
    CtypesApi,
    Win32Clipboard,
    load_api,
    windows_newlines,
)
from traycreds.core.errors import TraycredsError

# What `traycreds export` copies: several lines, quotes of every kind, unicode, a trailing
# newline. The values are shaped like real ones, so secret-looking text is exercised.
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"
CREDENTIALS = (
    "export AWS_ACCESS_KEY_ID='" + "ASIA" + "QEXAMPLE7TESTKEY'\n"
    f"export AWS_SECRET_ACCESS_KEY='{SECRET_KEY}'\n"
    "export AWS_SESSION_TOKEN='FwoGZXIvYXdzEJr//////////wEaDJ4o+aBcD3fG5hI6jKLMnOpQrStUvWxYz='\n"
    "$env:AWS_NOTE = 'it''s \"quoted\" \u2018curly\u2019 \u2013 "
    "\u00fcn\u00efc\u00f8d\u00e9 \u2713 \U0001f511'\n"
    'set "AWS_X=a&b|c<d>e^f"\n'
    "\ttab and trailing spaces   \n"
)
X_TOOLS = ("xclip", "xsel")


def credentials() -> str:
    """The credentials block with a marker unique to this call."""
    return f"{CREDENTIALS}# copy {uuid.uuid4().hex}\n"


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


# -- the X clipboard as other programs see it --------------------------------------------------


def x_read() -> bytes:
    """The CLIPBOARD selection's bytes, read by a separate xclip process (b"" if none)."""
    result = subprocess.run(
        ["xclip", "-o", "-selection", "clipboard"], capture_output=True, timeout=10, check=False
    )
    if result.returncode != 0:
        assert b"not available" in result.stderr, result.stderr
        return b""
    return result.stdout


def other_program_copies(text: str) -> None:
    """Another program (the user) copies ``text``; returns once the X server says so."""
    subprocess.run(
        ["xclip", "-selection", "clipboard", "-i"],
        input=text.encode(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=10,
        check=True,
    )
    wait_for(lambda: x_read() == text.encode(), 5, "the other program's copy is visible")


def tool_dir(tmp_path: Path, *tools: str, placeholders: tuple[str, ...] = ()) -> Path:
    """A PATH folder holding only ``tools`` (links to the real programs) and ``placeholders``
    (programs that exist, for choosing, but must never run)."""
    names = tools + placeholders
    folder = tmp_path / ("bin-" + "-".join(names) if names else "empty")
    folder.mkdir(exist_ok=True)
    for tool in tools:
        real = subprocess.run(["which", tool], capture_output=True, text=True, check=True)
        (folder / tool).symlink_to(real.stdout.strip())
    for name in placeholders:
        script = folder / name
        script.write_text(f"#!/bin/sh\necho 'placeholder {name} must not run' >&2\nexit 99\n")
        script.chmod(0o755)
    return folder


def x_env(tmp_path: Path, *tools: str) -> dict[str, str]:
    """Our environment (the private display) with PATH holding only ``tools``."""
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env["PATH"] = str(tool_dir(tmp_path, *tools))
    return env


@pytest.fixture(params=X_TOOLS)
def x_clipboard(request: pytest.FixtureRequest, desktop: None, tmp_path: Path) -> CommandClipboard:
    """The clipboard get_clipboard picks when only that X tool is installed."""
    chosen = get_clipboard(x_env(tmp_path, request.param))
    assert chosen.name == request.param
    assert isinstance(chosen, CommandClipboard)
    return chosen


def cmdlines() -> dict[int, str]:
    """Every process's command line, as other users can read it."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            found[int(entry.name)] = raw.replace(b"\0", b" ").decode(errors="replace")
    return found


def clearers() -> set[int]:
    return {pid for pid, line in cmdlines().items() if "traycreds.clipclear" in line}


# -- copy and read back, X11 -------------------------------------------------------------------


def test_copy_reads_back_byte_exact_in_another_process(x_clipboard: CommandClipboard) -> None:
    text = credentials()
    x_clipboard.copy(text)
    assert x_read() == text.encode("utf-8")
    assert x_clipboard.paste() == text


def test_xsel_output_reads_the_same_bytes(desktop: None, tmp_path: Path) -> None:
    chosen = get_clipboard(x_env(tmp_path, "xsel"))
    text = credentials()
    chosen.copy(text)
    other = subprocess.run(
        ["xsel", "--clipboard", "--output"], capture_output=True, timeout=10, check=True
    )
    assert other.stdout == text.encode("utf-8")


def test_paste_reads_what_another_program_copied(x_clipboard: CommandClipboard) -> None:
    text = credentials()
    other_program_copies(text)
    assert x_clipboard.paste() == text
    assert x_clipboard.state() == fingerprint(text)


def test_copying_empty_text_empties_the_clipboard(x_clipboard: CommandClipboard) -> None:
    x_clipboard.copy(credentials())
    x_clipboard.copy("")
    assert x_clipboard.paste() is None
    assert x_read() == b""
    assert x_clipboard.state() is None


@pytest.mark.parametrize("tool", X_TOOLS)
def test_copy_survives_the_copying_process(desktop: None, tmp_path: Path, tool: str) -> None:
    """The CLI copies and exits at once: the selection must still be served afterwards."""
    text = credentials()
    script = (
        "import sys\n"
        "from traycreds.adapters.clipboard import get_clipboard\n"
        "get_clipboard().copy(sys.stdin.read())\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=text.encode(),
        capture_output=True,
        env=x_env(tmp_path, tool),
        cwd=REPO_ROOT,
        timeout=20,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr.decode()
    assert elapsed < 5, f"the copying process took {elapsed:.1f} s to return"
    time.sleep(0.3)
    assert x_read() == text.encode("utf-8")


# -- choosing a backend ------------------------------------------------------------------------


@posix_only("POSIX programs (which, symlinks, #! scripts) stand in for X11/macOS tools")
def test_get_clipboard_prefers_xclip_then_xsel(tmp_path: Path) -> None:
    both = {"DISPLAY": ":0", "PATH": str(tool_dir(tmp_path, "xclip", "xsel"))}
    assert get_clipboard(both, platform="linux").name == "xclip"
    only_xsel = {"DISPLAY": ":0", "PATH": str(tool_dir(tmp_path, "xsel"))}
    chosen = get_clipboard(only_xsel, platform="linux")
    assert chosen.name == "xsel"
    assert isinstance(chosen, CommandClipboard)
    assert chosen._paths == {"xsel": str(Path(only_xsel["PATH"]) / "xsel")}


@posix_only("POSIX programs (which, symlinks, #! scripts) stand in for X11/macOS tools")
def test_get_clipboard_uses_wl_copy_on_wayland(tmp_path: Path) -> None:
    path = str(tool_dir(tmp_path, "xclip", placeholders=("wl-copy", "wl-paste")))
    wayland = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "PATH": path}
    assert get_clipboard(wayland, platform="linux").name == "wl-copy"
    x11_only = {"DISPLAY": ":0", "PATH": path}
    assert get_clipboard(x11_only, platform="linux").name == "xclip"


@posix_only("POSIX programs (which, symlinks, #! scripts) stand in for X11/macOS tools")
def test_get_clipboard_needs_both_wayland_programs(tmp_path: Path) -> None:
    """wl-copy without wl-paste cannot be cleared safely: fall back to XWayland's xclip."""
    path = str(tool_dir(tmp_path, "xclip", placeholders=("wl-copy",)))
    env = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "PATH": path}
    assert get_clipboard(env, platform="linux").name == "xclip"


@pytest.mark.parametrize(
    ("session", "advice"),
    [
        ({"DISPLAY": ":0"}, "apt install xclip"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "apt install wl-clipboard"),
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "apt install wl-clipboard"),
        ({}, "neither DISPLAY nor WAYLAND_DISPLAY is set"),
    ],
)
def test_get_clipboard_without_a_tool_says_what_to_install(
    tmp_path: Path, session: dict[str, str], advice: str
) -> None:
    env = {**session, "PATH": str(tool_dir(tmp_path))}
    with pytest.raises(ClipboardError) as caught:
        get_clipboard(env, platform="linux")
    assert advice in caught.value.message
    assert caught.value.title == "Copy failed"
    assert isinstance(caught.value, TraycredsError)


@posix_only("POSIX programs (which, symlinks, #! scripts) stand in for X11/macOS tools")
def test_get_clipboard_without_display_ignores_installed_tools(tmp_path: Path) -> None:
    env = {"PATH": str(tool_dir(tmp_path, "xclip", "xsel"))}
    with pytest.raises(ClipboardError, match="DISPLAY"):
        get_clipboard(env, platform="linux")


@posix_only("POSIX programs (which, symlinks, #! scripts) stand in for X11/macOS tools")
def test_get_clipboard_defaults_to_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tool_dir(tmp_path, "xsel")))
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert get_clipboard(platform="linux").name == "xsel"


@posix_only("POSIX programs (which, symlinks, #! scripts) stand in for X11/macOS tools")
def test_get_clipboard_on_macos(tmp_path: Path) -> None:
    path = str(tool_dir(tmp_path, placeholders=("pbcopy", "pbpaste")))
    assert get_clipboard({"PATH": path}, platform="darwin").name == "pbcopy"
    with pytest.raises(ClipboardError, match="/usr/bin"):
        get_clipboard({"PATH": str(tool_dir(tmp_path))}, platform="darwin")


@posix_only("on Windows the clipboard API exists; this checks it is refused elsewhere")
def test_get_clipboard_windows_api_only_on_windows() -> None:
    with pytest.raises(ClipboardError, match="only on Windows"):
        get_clipboard({}, platform="win32")


# -- failures say what to do, never the text ---------------------------------------------------


def test_missing_program_says_what_to_install(tmp_path: Path) -> None:
    clip = CommandClipboard(XCLIP, paths={"xclip": str(tmp_path / "uninstalled" / "xclip")})
    text = credentials()
    with pytest.raises(ClipboardError) as caught:
        clip.copy(text)
    assert "xclip" in caught.value.message
    assert "apt install xclip" in caught.value.message
    assert SECRET_KEY not in str(caught.value)
    with pytest.raises(ClipboardError, match="apt install xclip"):
        clip.paste()


@posix_only("POSIX programs (which, symlinks, #! scripts) stand in for X11/macOS tools")
@pytest.mark.parametrize("tool", X_TOOLS)
def test_unreachable_display_fails_loudly(tmp_path: Path, tool: str) -> None:
    env = {**x_env(tmp_path, tool), "DISPLAY": ":4242"}
    clip = get_clipboard(env, platform="linux")
    text = credentials()
    with pytest.raises(ClipboardError) as caught:
        clip.copy(text)
    message = caught.value.message
    assert tool in message
    assert "DISPLAY=:4242" in message
    assert SECRET_KEY not in str(caught.value) and "AWS_" not in str(caught.value)
    with pytest.raises(ClipboardError) as read_error:
        clip.paste()
    assert read_error.value.title == "Cannot read the clipboard"


def test_copy_that_does_not_finish_times_out(desktop: None, tmp_path: Path) -> None:
    clip = get_clipboard(x_env(tmp_path, "xclip"))
    assert isinstance(clip, CommandClipboard)
    clip.timeout = 1e-6  # real xclip, given no time at all
    with pytest.raises(ClipboardError, match="did not finish"):
        clip.copy(credentials())


class HungOwner:
    """A real X client that takes the CLIPBOARD selection and never answers requests for it,
    like an application that hangs while owning the clipboard."""

    def __enter__(self) -> HungOwner:
        x = ctypes.cdll.LoadLibrary("libX11.so.6")
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XCreateSimpleWindow.restype = ctypes.c_ulong
        x.XCreateSimpleWindow.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_ulong,
        ]  # fmt: skip
        x.XInternAtom.restype = ctypes.c_ulong
        x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x.XSetSelectionOwner.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong
        ]
        x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.x = x
        self.display = x.XOpenDisplay(None)
        assert self.display, "cannot open the X display"
        root = x.XDefaultRootWindow(self.display)
        window = x.XCreateSimpleWindow(self.display, root, 0, 0, 1, 1, 0, 0, 0)
        x.XSetSelectionOwner(self.display, x.XInternAtom(self.display, b"CLIPBOARD", 0), window, 0)
        x.XSync(self.display, 0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.x.XCloseDisplay(self.display)


def test_paste_from_a_hung_owner_times_out(desktop: None, tmp_path: Path) -> None:
    clip = get_clipboard(x_env(tmp_path, "xclip"))
    assert isinstance(clip, CommandClipboard)
    clip.timeout = 1.0
    with HungOwner():
        started = time.monotonic()
        with pytest.raises(ClipboardError, match="not responding") as caught:
            clip.paste()
        assert caught.value.title == "Cannot read the clipboard"
        assert time.monotonic() - started < 5


# -- clear only what we copied -----------------------------------------------------------------


def test_clear_if_unchanged_clears_our_text(x_clipboard: CommandClipboard) -> None:
    text = credentials()
    x_clipboard.copy(text)
    assert clear_if_unchanged(x_clipboard, fingerprint(text)) is True
    assert x_read() == b""
    assert x_clipboard.paste() is None


def test_clear_if_unchanged_keeps_what_the_user_copied_since(
    x_clipboard: CommandClipboard,
) -> None:
    ours, theirs = credentials(), f"the user's own text {uuid.uuid4().hex}"
    x_clipboard.copy(ours)
    other_program_copies(theirs)
    assert clear_if_unchanged(x_clipboard, fingerprint(ours)) is False
    assert x_read() == theirs.encode()


def test_clear_if_unchanged_on_an_empty_clipboard(x_clipboard: CommandClipboard) -> None:
    x_clipboard.copy("")
    assert clear_if_unchanged(x_clipboard, fingerprint("")) is False


def test_clear_timer_clears_after_the_delay(x_clipboard: CommandClipboard) -> None:
    text = credentials()
    timer = ClearTimer(x_clipboard)
    x_clipboard.copy(text)
    timer.copied(text, 1)
    time.sleep(0.5)
    assert x_read() == text.encode(), "cleared before the delay"
    wait_for(lambda: x_read() == b"", 5, "the timer cleared the clipboard")
    assert timer.clear_now() is False  # nothing left to clear


def test_clear_timer_keeps_a_newer_copy(x_clipboard: CommandClipboard) -> None:
    ours, theirs = credentials(), f"copied later {uuid.uuid4().hex}"
    timer = ClearTimer(x_clipboard)
    x_clipboard.copy(ours)
    timer.copied(ours, 1)
    other_program_copies(theirs)
    time.sleep(1.8)
    assert x_read() == theirs.encode()
    assert timer.clear_now() is False
    assert x_read() == theirs.encode()


def test_clear_timer_zero_waits_for_clear_now(x_clipboard: CommandClipboard) -> None:
    text = credentials()
    timer = ClearTimer(x_clipboard)
    x_clipboard.copy(text)
    timer.copied(text, 0)
    time.sleep(0.8)
    assert x_read() == text.encode()
    assert timer.clear_now() is True
    assert x_read() == b""


def test_clear_timer_rearms_for_the_latest_copy(x_clipboard: CommandClipboard) -> None:
    first, second = credentials(), credentials()
    timer = ClearTimer(x_clipboard)
    x_clipboard.copy(first)
    timer.copied(first, 1)
    x_clipboard.copy(second)
    timer.copied(second, 30)
    time.sleep(1.8)
    assert x_read() == second.encode(), "the first copy's timer fired for the second"
    assert timer.clear_now() is True
    assert x_read() == b""


# -- the detached clearer for the command line -------------------------------------------------


def run_cli_copy(tmp_path: Path, text: str, after: int) -> float:
    """Like `traycreds export --copy`: copy, schedule the clearer, exit. Returns seconds."""
    script = (
        "import sys\n"
        "from traycreds.adapters.clipboard import fingerprint, get_clipboard, schedule_clear\n"
        "text = sys.stdin.read()\n"
        "get_clipboard().copy(text)\n"
        "schedule_clear(fingerprint(text), int(sys.argv[1]))\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script, str(after)],
        input=text.encode(),
        capture_output=True,
        env=x_env(tmp_path, "xclip"),
        cwd=tmp_path,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return time.monotonic() - started


def test_schedule_clear_clears_after_the_cli_exits(desktop: None, tmp_path: Path) -> None:
    text = credentials()
    before = clearers()
    elapsed = run_cli_copy(tmp_path, text, 1)
    assert elapsed < 5, f"the CLI waited {elapsed:.1f} s for the clearer"
    assert x_read() == text.encode(), "the copy did not outlive the CLI, or was cleared early"

    started = clearers() - before
    assert len(started) == 1, f"expected one clearer, found {started}"
    (pid,) = started
    # Its own session (start_new_session): a closing terminal does not take it down.
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    assert int(stat[3]) == pid, "the clearer is not a session leader"
    assert int(stat[3]) != os.getsid(0)
    # Nothing secret on any command line: the fingerprint went through stdin.
    for other_pid, line in cmdlines().items():
        for secret in (SECRET_KEY, text.splitlines()[-1], fingerprint(text)):
            assert secret not in line, f"process {other_pid} shows {secret!r}: {line}"
    assert cmdlines()[pid].split()[-4:] == ["-m", "traycreds.clipclear", "--after", "1"]

    wait_for(lambda: x_read() == b"", 4, "the detached clearer emptied the clipboard")
    wait_for(lambda: pid not in clearers(), 4, "the clearer exited")


def test_schedule_clear_leaves_a_newer_copy(desktop: None, tmp_path: Path) -> None:
    ours, theirs = credentials(), f"the user's next copy {uuid.uuid4().hex}"
    before = clearers()
    run_cli_copy(tmp_path, ours, 1)
    started = clearers() - before
    assert started
    other_program_copies(theirs)
    wait_for(lambda: not (clearers() & started), 6, "the clearer exited")
    assert x_read() == theirs.encode()


def test_schedule_clear_zero_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("schedule_clear(…, 0) started a process")

    monkeypatch.setattr(clearing_module.subprocess, "Popen", refuse)
    schedule_clear(fingerprint("x"), 0)


def test_schedule_clear_refuses_anything_but_a_fingerprint() -> None:
    with pytest.raises(ValueError, match="fingerprint"):
        schedule_clear("export AWS_SECRET_ACCESS_KEY=oops", 5)


@posix_only("on Windows test_win32_schedule_clear_clears_after_the_cli_exits runs the real one")
def test_schedule_clear_detaches_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Windows branch: DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP, stdio to DEVNULL
    except stdin, which carries the fingerprint."""
    WindowsPopen.started.clear()
    monkeypatch.setattr(clearing_module.sys, "platform", "win32")
    monkeypatch.setattr(clearing_module.subprocess, "Popen", WindowsPopen)
    for name in ("DETACHED_PROCESS", "CREATE_NEW_PROCESS_GROUP"):
        monkeypatch.setattr(
            clearing_module.subprocess, name, getattr(WindowsPopen, name), raising=False
        )
    secret_fingerprint = fingerprint(CREDENTIALS)
    schedule_clear(secret_fingerprint, 45)
    (process,) = WindowsPopen.started
    assert process.args == [sys.executable, "-m", "traycreds.clipclear", "--after", "45"]
    assert process.kwargs["creationflags"] == 0x00000008 | 0x00000200
    assert "start_new_session" not in process.kwargs
    assert process.kwargs["stdin"] == subprocess.PIPE
    assert process.kwargs["stdout"] == process.kwargs["stderr"] == subprocess.DEVNULL
    assert process.stdin_data == f"{secret_fingerprint}\n".encode()


def test_clipclear_refuses_bad_input(tmp_path: Path) -> None:
    for stdin in (b"", b"not a fingerprint\n", CREDENTIALS.encode()):
        done = subprocess.run(
            [sys.executable, "-m", "traycreds.clipclear", "--after", "0"],
            input=stdin,
            capture_output=True,
            cwd=REPO_ROOT,
            env={**os.environ, "DISPLAY": ":4242"},
            timeout=20,
            check=False,
        )
        assert done.returncode == 2


def test_clipclear_clears_when_unchanged(desktop: None) -> None:
    text = credentials()
    other_program_copies(text)
    done = subprocess.run(
        [sys.executable, "-m", "traycreds.clipclear", "--after", "0"],
        input=f"{fingerprint(text)}\n".encode(),
        capture_output=True,
        cwd=REPO_ROOT,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert x_read() == b""


# -- Windows: the real clipboard on Windows CPython (wine), the recording fake elsewhere ------

# Another program on the Windows clipboard: a separate Windows CPython process driving
# user32/kernel32 with ctypes, so what the tests see is what other programs see.
OTHER_PROGRAM = r'''
import ctypes, json, sys
u = ctypes.WinDLL("user32", use_last_error=True)
k = ctypes.WinDLL("kernel32", use_last_error=True)
H = ctypes.c_void_p
for f, res, args in [
    (u.OpenClipboard, ctypes.c_int, [H]), (u.CloseClipboard, ctypes.c_int, []),
    (u.EmptyClipboard, ctypes.c_int, []), (u.EnumClipboardFormats, ctypes.c_uint, [ctypes.c_uint]),
    (u.GetClipboardData, H, [ctypes.c_uint]), (u.SetClipboardData, H, [ctypes.c_uint, H]),
    (u.GetClipboardFormatNameW, ctypes.c_int, [ctypes.c_uint, ctypes.c_wchar_p, ctypes.c_int]),
    (k.GlobalAlloc, H, [ctypes.c_uint, ctypes.c_size_t]), (k.GlobalLock, H, [H]),
    (k.GlobalUnlock, ctypes.c_int, [H]), (k.GlobalSize, ctypes.c_size_t, [H])]:
    f.restype, f.argtypes = res, args

def read():
    """Every format on the clipboard: registered ones by name, the others by number."""
    found = {}
    fmt = 0
    while True:
        fmt = u.EnumClipboardFormats(fmt)
        if not fmt:
            break
        name = str(fmt)
        if fmt >= 0xC000:
            buffer = ctypes.create_unicode_buffer(256)
            if u.GetClipboardFormatNameW(fmt, buffer, 256):
                name = buffer.value
        handle = u.GetClipboardData(fmt)
        data = None
        if handle:
            address = k.GlobalLock(handle)
            if address:
                data = ctypes.string_at(address, k.GlobalSize(handle)).hex()
                k.GlobalUnlock(handle)
        found[name] = data
    return found

command = sys.argv[1]
# Opened by a window, as programs do (wine lets a second NULL-window open through).
u.CreateWindowExW.restype = H
u.CreateWindowExW.argtypes = [ctypes.c_uint32, ctypes.c_wchar_p, ctypes.c_wchar_p,
    ctypes.c_uint32] + [ctypes.c_int] * 4 + [H] * 4
window = u.CreateWindowExW(0, "STATIC", None, 0, 0, 0, 0, 0, None, None, None, None)
while not u.OpenClipboard(window):
    pass  # the test's own deadline (subprocess timeout) bounds this
try:
    if command == "read":
        print(json.dumps(read()))
    elif command == "copy":
        data = (sys.stdin.buffer.read().decode("utf-8") + "\0").encode("utf-16-le")
        u.EmptyClipboard()
        handle = k.GlobalAlloc(0x0002, len(data))
        address = k.GlobalLock(handle)
        ctypes.memmove(address, data, len(data))
        k.GlobalUnlock(handle)
        assert u.SetClipboardData(13, handle), ctypes.get_last_error()
        print("{}")
    elif command == "hold":
        print("held", flush=True)
        sys.stdin.readline()
finally:
    u.CloseClipboard()
print("released", flush=True)
'''


class Desk:
    """The Windows clipboard as the tests see it: ``clipboard()`` gives a Win32Clipboard, the
    other methods act and look as another program would. RealDesk on Windows, FakeDesk on
    Linux (the recording fake, tests/support/fakes.py)."""

    api: Any

    def clipboard(self, *, sleep: Callable[[float], None] | None = None,
                  refuse: tuple[str, ...] = (), refuse_formats: tuple[str | int, ...] = ()
                  ) -> Win32Clipboard:
        self.refusing = Refusing(self.api, refuse, refuse_formats)
        return Win32Clipboard(self.refusing, sleep=sleep or self.sleep)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def formats(self) -> dict[str, bytes | None]:
        raise NotImplementedError

    def text(self) -> str | None:
        """CF_UNICODETEXT up to its NUL, as another program reads it."""
        raw = self.formats().get(str(CF_UNICODETEXT))
        return None if raw is None else raw.decode("utf-16-le").split("\0", 1)[0]

    def other_program_copies(self, text: str) -> None:
        raise NotImplementedError

    @contextmanager
    def held_by_another_program(self) -> Iterator[Callable[[], None]]:
        """Another program keeps the clipboard open; the context gives ``release()``."""
        raise NotImplementedError
        yield

    def windows(self) -> int:
        """How many STATIC windows this thread has: the clipboard's owner window must not
        outlive a copy."""
        raise NotImplementedError


class RealDesk(Desk):
    def __init__(self) -> None:
        self.api = load_api()
        user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
        self._enum = user32.EnumThreadWindows
        self._proc = ctypes.WINFUNCTYPE(  # type: ignore[attr-defined]
            ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
        self._enum.argtypes = [ctypes.c_uint32, self._proc, ctypes.c_void_p]
        self._class_name = user32.GetClassNameW
        self._class_name.argtypes = [ctypes.c_void_p, ctypes.c_wchar_p, ctypes.c_int]
        self._thread = ctypes.WinDLL("kernel32").GetCurrentThreadId  # type: ignore[attr-defined]

    def _other(self, command: str, stdin: str = "") -> str:
        done = subprocess.run([sys.executable, "-c", OTHER_PROGRAM, command],
                              input=stdin.encode("utf-8"), capture_output=True, timeout=60,
                              check=False)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout.decode("utf-8").splitlines()[0]

    def formats(self) -> dict[str, bytes | None]:
        found = json.loads(self._other("read"))
        return {name: None if data is None else bytes.fromhex(data)
                for name, data in found.items()}

    def other_program_copies(self, text: str) -> None:
        self._other("copy", text)

    @contextmanager
    def held_by_another_program(self) -> Iterator[Callable[[], None]]:
        holder = subprocess.Popen([sys.executable, "-c", OTHER_PROGRAM, "hold"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert holder.stdin is not None and holder.stdout is not None
        stdin, stdout = holder.stdin, holder.stdout

        def release() -> None:
            if holder.poll() is None and not stdin.closed:
                stdin.write("\n")
                stdin.close()
                assert stdout.readline().strip() == "released"
                holder.wait(timeout=30)

        try:
            assert stdout.readline().strip() == "held"
            yield release
        finally:
            release()
            if holder.poll() is None:
                holder.kill()
                holder.wait(timeout=30)

    def windows(self) -> int:
        found: list[str] = []

        def each(hwnd: int, _param: object) -> int:
            name = ctypes.create_unicode_buffer(64)
            self._class_name(hwnd, name, 64)
            found.append(name.value.casefold())
            return 1

        self._enum(self._thread(), self._proc(each), None)
        return found.count("static")


class FakeDesk(Desk):
    def __init__(self) -> None:
        self.api = Win32ClipboardApi()

    def sleep(self, seconds: float) -> None:
        self.api.sleep(seconds)

    def formats(self) -> dict[str, bytes | None]:
        names = {fmt: name for name, fmt in self.api.formats.items()}
        return {names.get(fmt, str(fmt)): self.api.format_bytes(fmt) for fmt in self.api.data}

    def other_program_copies(self, text: str) -> None:
        self.api.other_program_copies(text)

    @contextmanager
    def held_by_another_program(self) -> Iterator[Callable[[], None]]:
        self.api.open_failures = 10**9

        def release() -> None:
            self.api.open_failures = 0

        try:
            yield release
        finally:
            release()

    def windows(self) -> int:
        return len(self.api.windows)


class Refusing:
    """A Win32Api that passes every call to ``api`` except those in ``refuse`` (and
    SetClipboardData of ``refuse_formats``), which fail with ERROR_ACCESS_DENIED: Windows
    refusing one step, which a healthy clipboard (real or fake) never does on demand. It
    records what was allocated and freed."""

    def __init__(self, api: Any, refuse: tuple[str, ...] = (),
                 refuse_formats: tuple[str | int, ...] = ()) -> None:
        self._api = api
        self._refuse = set(refuse)
        self._formats = {api.RegisterClipboardFormatW(f) if isinstance(f, str) else f
                         for f in refuse_formats}
        self._refused = False
        self.allocated: list[int] = []
        self.freed: list[int] = []

    def __getattr__(self, name: str) -> Any:
        function = getattr(self._api, name)
        if name in self._refuse:
            return self._refuse_call
        if name == "SetClipboardData":
            return self._set
        if name == "GlobalAlloc":
            return self._alloc
        if name == "GlobalFree":
            return self._free
        if name == "last_error":
            return lambda: 5 if self._refused else function()
        return function

    def _refuse_call(self, *args: object) -> None:
        self._refused = True
        return None

    def _set(self, fmt: int, handle: int) -> int | None:
        if fmt in self._formats:
            return self._refuse_call()
        result: int | None = self._api.SetClipboardData(fmt, handle)
        return result

    def _alloc(self, flags: int, size: int) -> int | None:
        handle: int | None = self._api.GlobalAlloc(flags, size)
        if handle:
            self.allocated.append(handle)
        return handle

    def _free(self, handle: int) -> int | None:
        self.freed.append(handle)
        result: int | None = self._api.GlobalFree(handle)
        return result


@pytest.fixture
def desk() -> Iterator[Desk]:
    """The real Windows clipboard on Windows, emptied before and after; the fake elsewhere."""
    chosen: Desk = RealDesk() if WINDOWS else FakeDesk()
    if WINDOWS:
        Win32Clipboard(chosen.api).copy("")
    yield chosen
    if WINDOWS:
        Win32Clipboard(chosen.api).copy("")


def crlf(text: str) -> str:
    """The text as the Windows clipboard should hold it (every LF of ours is a bare LF)."""
    assert "\r" not in text
    return text.replace("\n", "\r\n")


PRIVATE = [name for name, _ in PRIVATE_FORMATS]


def test_win32_copy_puts_crlf_line_ends_for_cmd_exe(desk: Desk) -> None:
    """A classic cmd.exe console drops a pasted bare LF (microsoft/terminal#663), so a block
    of `set` lines joined by LF pastes as one line: the clipboard must get CRLF. The block
    ends with CRLF, so its last line runs on paste like the others."""
    block = 'set "AWS_ACCESS_KEY_ID=ASIAEXAMPLE"\nset "AWS_SECRET_ACCESS_KEY=abc+/="\n'
    desk.clipboard().copy(block)
    raw = desk.formats()[str(CF_UNICODETEXT)]
    assert raw is not None
    assert raw[: len(block) * 2 + 6] == (
        'set "AWS_ACCESS_KEY_ID=ASIAEXAMPLE"\r\nset "AWS_SECRET_ACCESS_KEY=abc+/="\r\n\0'
    ).encode("utf-16-le")
    units = raw.decode("utf-16-le").split("\0", 1)[0]
    assert units.count("\n") == units.count("\r\n") == 2  # no bare LF left
    assert units.endswith("\r\n")


@pytest.mark.parametrize(
    ("given", "held"),
    [
        ("a\nb\n", "a\r\nb\r\n"),
        ("a\r\nb\r\n", "a\r\nb\r\n"),  # already CRLF: never doubled
        ("a\r\nb\nc", "a\r\nb\r\nc"),  # mixed
        ("no line end", "no line end"),
        ("\n\n", "\r\n\r\n"),
        ("a\rb", "a\rb"),  # a lone CR is not a line end we made
    ],
)
def test_win32_copy_line_ends(desk: Desk, given: str, held: str) -> None:
    desk.clipboard().copy(given)
    assert desk.text() == held


@given(st.text(alphabet=st.sampled_from(["a", "\r", "\n", "\u2028", " "]), max_size=40))
def test_windows_newlines_keeps_the_fingerprint(text: str) -> None:
    """Converting is idempotent and never changes what ``fingerprint`` sees, so the clearer
    recognises the text on the clipboard as the text it was given."""
    held = windows_newlines(text)
    assert windows_newlines(held) == held
    assert fingerprint(held) == fingerprint(text)
    assert held.replace("\r\n", "").count("\n") == 0


def test_win32_clear_recognises_the_crlf_text_it_put(desk: Desk) -> None:
    """The tray's timer and the CLI's detached clearer fingerprint the LF text they were
    given; the clipboard holds it with CRLF: it is still ours, so it is cleared."""
    clip = desk.clipboard()
    text = credentials()
    timer = ClearTimer(clip)
    clip.copy(text)
    timer.copied(text, 0)
    assert timer.clear_now() is True
    assert desk.text() is None
    clip.copy(text)
    assert clear_if_unchanged(clip, fingerprint(text)) is True
    assert desk.text() is None


def test_win32_copy_puts_the_text_and_the_privacy_formats(desk: Desk) -> None:
    """Another program sees the text (CF_UNICODETEXT) and the three registered formats that
    keep it out of clipboard history and cloud sync, each holding the DWORD 0."""
    text = credentials()
    clip = desk.clipboard()
    clip.copy(text)
    formats = desk.formats()
    assert desk.text() == crlf(text)
    for name in PRIVATE:
        assert formats.get(name) == b"\x00\x00\x00\x00", name
    assert desk.refusing.freed == []  # the system owns the memory handed over
    assert desk.windows() == 0  # the owner window is gone
    assert clip.paste() == crlf(text)


@posix_only("the call order is recorded by the fake; on Windows "
            "test_win32_copy_puts_the_text_and_the_privacy_formats reads the formats back")
def test_win32_copy_puts_text_and_privacy_formats_in_one_session() -> None:
    """Windows 10+ clipboard history and cloud sync record the clipboard when it is closed
    and skip content carrying these formats (which wine has no history to show): Microsoft,
    "Clipboard Formats", Cloud Clipboard and Clipboard History Formats,
    https://learn.microsoft.com/en-us/windows/win32/dataxchg/clipboard-formats#cloud-clipboard-and-clipboard-history-formats.
    So all of them go in within one OpenClipboard/CloseClipboard, by an owner window."""
    api = Win32ClipboardApi()
    Win32Clipboard(api, sleep=api.sleep).copy("abc")
    names = api.names()
    assert names[0] == "CreateWindowExW" and names[-1] == "DestroyWindow"
    assert names.count("OpenClipboard") == names.count("CloseClipboard") == 1
    sets = [i for i, name in enumerate(names) if name == "SetClipboardData"]
    assert len(sets) == 4 and names.index("OpenClipboard") < sets[0]
    assert sets[-1] < names.index("CloseClipboard")
    hwnd = api.results_of("CreateWindowExW")[0]
    assert ("OpenClipboard", hwnd) in api.calls and hwnd  # not NULL: SetClipboardData needs it
    assert sorted(api.formats) == sorted(PRIVATE)


def test_win32_open_retries_while_another_program_holds_it(desk: Desk) -> None:
    slept: list[float] = []
    with desk.held_by_another_program() as release:

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            if len(slept) == 3:
                release()  # the other program closes the clipboard during our third wait

        desk.clipboard(sleep=sleep).copy("abc")
    assert slept == [0.05] * 3
    assert desk.text() == "abc"


def test_win32_open_gives_up_after_ten_attempts(desk: Desk) -> None:
    desk.other_program_copies("before")
    slept: list[float] = []
    busy = "Another program kept the clipboard open"
    with desk.held_by_another_program(), pytest.raises(ClipboardError, match=busy) as caught:
        desk.clipboard(sleep=slept.append).copy(CREDENTIALS)
    assert len(slept) == 9  # ten attempts
    assert caught.value.title == "Copy failed"
    assert SECRET_KEY not in str(caught.value)
    assert desk.windows() == 0
    assert desk.text() == "before"  # never opened, so never emptied


def test_win32_paste_while_another_program_holds_it_says_read(desk: Desk) -> None:
    """Reading (the clearer checks what is there) is not copying: its error says so."""
    desk.other_program_copies("theirs")
    busy = "Another program kept the clipboard open"
    with desk.held_by_another_program(), pytest.raises(ClipboardError, match=busy) as caught:
        desk.clipboard(sleep=lambda seconds: None).paste()
    assert caught.value.title == "Cannot read the clipboard"


def test_win32_text_refused_frees_memory_and_closes(desk: Desk) -> None:
    desk.other_program_copies("before")
    clip = desk.clipboard(refuse_formats=(CF_UNICODETEXT,))
    with pytest.raises(ClipboardError) as caught:
        clip.copy(CREDENTIALS)
    assert desk.refusing.freed == desk.refusing.allocated[:1]  # refused: still ours to free
    assert desk.text() is None and desk.formats() == {}  # other programs can open it: closed
    assert desk.windows() == 0
    assert "SetClipboardData" in caught.value.message
    assert SECRET_KEY not in str(caught.value)


def test_win32_privacy_format_refused_removes_the_text(desk: Desk) -> None:
    """Without its history exclusion the text must not stay on the clipboard."""
    clip = desk.clipboard(refuse_formats=("CanUploadToCloudClipboard",))
    with pytest.raises(ClipboardError, match="SetClipboardData"):
        clip.copy(CREDENTIALS)
    assert desk.refusing.freed == desk.refusing.allocated[-1:]
    assert desk.formats() == {}
    assert desk.windows() == 0


@pytest.mark.parametrize("failing", ["EmptyClipboard", "GlobalAlloc", "GlobalLock",
                                     "RegisterClipboardFormatW", "CreateWindowExW"])
def test_win32_any_failure_closes_the_clipboard(desk: Desk, failing: str) -> None:
    clip = desk.clipboard(refuse=(failing,))
    with pytest.raises(ClipboardError, match=failing):
        clip.copy(CREDENTIALS)
    assert desk.windows() == 0
    if failing == "GlobalLock":  # never handed to the clipboard: ours to free
        assert desk.refusing.freed == desk.refusing.allocated[:1]
    else:
        assert desk.refusing.freed == []
    assert desk.text() is None  # and another program could open it: it was closed


def test_win32_paste_reads_what_another_program_copied(desk: Desk) -> None:
    text = crlf(credentials())
    desk.other_program_copies(text)
    assert desk.clipboard().paste() == text


def test_win32_paste_of_an_empty_clipboard_does_not_open_it(desk: Desk) -> None:
    """Nothing to read: paste says so without opening (so a holder does not delay it)."""
    clip = desk.clipboard()
    with desk.held_by_another_program():
        assert clip.paste() is None


def test_win32_copy_empty_only_empties(desk: Desk) -> None:
    clip = desk.clipboard()
    clip.copy("something")
    clip.copy("")
    assert clip.paste() is None
    assert desk.formats() == {}
    assert desk.windows() == 0


def test_win32_state_changes_with_each_copy_only(desk: Desk) -> None:
    """The sequence number: reading (a paste into cmd.exe) leaves it, copying changes it."""
    clip = desk.clipboard()
    clip.copy("one")
    first = clip.state()
    assert clip.state() == first
    assert desk.text() == "one" and clip.paste() == "one"
    assert clip.state() == first
    desk.other_program_copies("two")
    assert clip.state() != first


def test_win32_clear_if_unchanged(desk: Desk) -> None:
    clip = desk.clipboard()
    ours = credentials()
    clip.copy(ours)
    assert clear_if_unchanged(clip, fingerprint(ours)) is True
    assert desk.text() is None
    clip.copy(ours)
    desk.other_program_copies("theirs")
    assert clear_if_unchanged(clip, fingerprint(ours)) is False
    assert desk.text() == "theirs"


def test_win32_clear_timer_sees_a_recopy_of_the_same_text(desk: Desk) -> None:
    """The sequence number tells a later copy apart even when the text is the same."""
    clip = desk.clipboard()
    text = credentials()
    timer = ClearTimer(clip)
    clip.copy(text)
    timer.copied(text, 0)
    desk.other_program_copies(crlf(text))
    assert timer.clear_now() is False
    assert desk.text() == crlf(text)
    clip.copy(text)
    timer.copied(text, 0)
    assert desk.text() == crlf(text)  # another program reads it (a paste): still ours
    assert timer.clear_now() is True
    assert desk.text() is None


def test_win32_clear_timer_fires(desk: Desk) -> None:
    clip = desk.clipboard()
    text = credentials()
    timer = ClearTimer(clip)
    clip.copy(text)
    timer.copied(text, 1)
    wait_for(lambda: clip.paste() is None, 8, "the timer emptied the clipboard")


@windows_only("the detached clearer on the real Windows clipboard")
def test_win32_schedule_clear_clears_after_the_cli_exits(desk: Desk) -> None:
    """Like `traycreds export --copy` on Windows: the CLI copies, starts the detached
    clearer (DETACHED_PROCESS, the fingerprint on its stdin) and exits; the clearer empties
    the clipboard later, and leaves another program's newer copy alone."""
    script = (
        "import sys\n"
        "from traycreds.adapters.clipboard import fingerprint, get_clipboard, schedule_clear\n"
        "text = sys.stdin.buffer.read().decode('utf-8')\n"
        "get_clipboard().copy(text)\n"
        "schedule_clear(fingerprint(text), int(sys.argv[1]))\n"
    )

    def cli_copy(text: str, after: int) -> None:
        done = subprocess.run([sys.executable, "-c", script, str(after)], input=text.encode(),
                              capture_output=True, cwd=REPO_ROOT, timeout=60, check=False)
        assert done.returncode == 0, done.stderr.decode()

    text = credentials()
    cli_copy(text, 2)
    assert desk.text() == crlf(text), "the copy did not outlive the CLI, or was cleared early"
    wait_for(lambda: desk.text() is None, 20, "the detached clearer emptied the clipboard")

    cli_copy(text, 2)
    theirs = f"the user's next copy {uuid.uuid4().hex}"
    desk.other_program_copies(theirs)
    time.sleep(6)  # the clearer has looked by now (it exits after one look)
    assert desk.text() == theirs


@pytest.fixture
def dlls() -> dict[str, Any]:
    """user32 and kernel32 as ctypes loads them on Windows; elsewhere fakes shaped like
    ``ctypes.WinDLL`` that keep what is declared on them."""
    if WINDOWS:
        return {name: ctypes.WinDLL(name, use_last_error=True)  # type: ignore[attr-defined]
                for name in ("user32", "kernel32")}
    return {"user32": WinDll("user32"), "kernel32": WinDll("kernel32")}


def test_ctypes_api_declares_every_function(dlls: dict[str, Any]) -> None:
    CtypesApi(dlls)
    declared = {f"{dll}.{name}": getattr(dlls[dll], name) for dll, name, _, _ in SIGNATURES}
    assert set(declared) == {
        "user32.CreateWindowExW", "user32.DestroyWindow", "user32.OpenClipboard",
        "user32.CloseClipboard", "user32.EmptyClipboard", "user32.SetClipboardData",
        "user32.GetClipboardData", "user32.RegisterClipboardFormatW",
        "user32.GetClipboardSequenceNumber", "user32.IsClipboardFormatAvailable",
        "kernel32.GlobalAlloc", "kernel32.GlobalLock", "kernel32.GlobalUnlock",
        "kernel32.GlobalSize", "kernel32.GlobalFree",
    }
    for name, fn in declared.items():
        assert fn.argtypes is not WinDllFunction.UNSET, name
        assert fn.restype is not WinDllFunction.UNSET, name
    # Handles and pointers are pointer-sized: never ctypes' default int.
    for name in ("user32.CreateWindowExW", "user32.SetClipboardData", "user32.GetClipboardData",
                 "kernel32.GlobalAlloc", "kernel32.GlobalLock", "kernel32.GlobalFree"):
        assert declared[name].restype is ctypes.c_void_p, name
    for name in ("kernel32.GlobalLock", "kernel32.GlobalUnlock", "kernel32.GlobalFree",
                 "kernel32.GlobalSize", "user32.SetClipboardData", "user32.OpenClipboard",
                 "user32.DestroyWindow"):
        assert ctypes.c_void_p in declared[name].argtypes, name
    assert tuple(declared["kernel32.GlobalAlloc"].argtypes) == (ctypes.c_uint, ctypes.c_size_t)
    assert tuple(declared["user32.RegisterClipboardFormatW"].argtypes) == (ctypes.c_wchar_p,)
    assert len(SIGNATURES) == len(declared)


@posix_only("on Windows every test above drives the real functions through CtypesApi")
def test_ctypes_api_drives_the_declared_functions(dlls: dict[str, WinDll]) -> None:
    """A whole copy through CtypesApi: each call goes to the declared function, with as
    many arguments as declared (WinDllFunction checks both)."""
    written: list[tuple[int, bytes, int]] = []
    dlls["kernel32"].GlobalAlloc.result = 0x0000_01F4_0000_0010
    dlls["kernel32"].GlobalLock.result = 0x0000_7A00_0000_0010
    dlls["user32"].RegisterClipboardFormatW.result = 0xC0A1
    api = CtypesApi(
        dlls,
        memmove=lambda address, data, size: written.append((address, data, size)),
        wstring_at=lambda address, length: "",
        get_last_error=lambda: 0,
    )
    Win32Clipboard(api, sleep=lambda seconds: None).copy("hi")
    assert written[0] == (0x0000_7A00_0000_0010, "hi\0".encode("utf-16-le"), 6)
    assert [data for _, data, _ in written[1:]] == [data for _, data in PRIVATE_FORMATS]
    assert dlls["user32"].SetClipboardData.calls[0] == (CF_UNICODETEXT, 0x0000_01F4_0000_0010)
    assert dlls["user32"].OpenClipboard.calls == [(1,)]  # the owner window CreateWindowExW gave
    assert dlls["user32"].CloseClipboard.calls == [()]


def test_clipboard_package_imports_nothing_windows_specific() -> None:
    """Importing the package on Linux must not load user32 (nor fail)."""
    assert clipboard_pkg.get_clipboard is get_clipboard
    done = subprocess.run(
        [sys.executable, "-c",
         "import sys, traycreds.adapters.clipboard, traycreds.clipclear;"
         "bad = [m for m in sys.modules if m in ('tkinter', 'pyperclip', 'boto3', 'keyring')];"
         "assert not bad, bad"],
        cwd=REPO_ROOT, capture_output=True, timeout=20, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
