"""The clipboard: real xclip and xsel on the private X display, read back by other processes;
the Win32 rules checked call by call against a recording fake (tests/support/fakes.py)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import REPO_ROOT, posix_only
from tests.support.fakes import Win32ClipboardApi, WinDll, WindowsPopen
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
    GMEM_MOVEABLE,
    PRIVATE_FORMATS,
    SIGNATURES,
    CtypesApi,
    Win32Clipboard,
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


# -- Windows: the Win32 calls, against the recording fake --------------------------------------


@pytest.fixture
def win_api() -> Win32ClipboardApi:
    return Win32ClipboardApi()


def win_clipboard(api: Win32ClipboardApi) -> Win32Clipboard:
    return Win32Clipboard(api, sleep=api.sleep)


def crlf(text: str) -> str:
    """The text as the Windows clipboard should hold it (every LF of ours is a bare LF)."""
    assert "\r" not in text
    return text.replace("\n", "\r\n")


def test_win32_copy_puts_crlf_line_ends_for_cmd_exe(win_api: Win32ClipboardApi) -> None:
    """A classic cmd.exe console drops a pasted bare LF (microsoft/terminal#663), so a block
    of `set` lines joined by LF pastes as one line: the clipboard must get CRLF. The block
    ends with CRLF, so its last line runs on paste like the others."""
    block = 'set "AWS_ACCESS_KEY_ID=ASIAEXAMPLE"\nset "AWS_SECRET_ACCESS_KEY=abc+/="\n'
    win_clipboard(win_api).copy(block)
    (written,) = [call[2] for call in win_api.calls
                  if call[0] == "write_memory" and len(call[2]) > 4]
    assert written == (
        'set "AWS_ACCESS_KEY_ID=ASIAEXAMPLE"\r\nset "AWS_SECRET_ACCESS_KEY=abc+/="\r\n\0'
    ).encode("utf-16-le")
    raw = win_api.format_bytes(CF_UNICODETEXT)
    assert raw is not None and b"\n\x00" in raw
    units = raw.decode("utf-16-le")
    assert units.count("\n") == units.count("\r\n") == 2  # no bare LF left
    assert units.endswith("\r\n\0")


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
def test_win32_copy_line_ends(win_api: Win32ClipboardApi, given: str, held: str) -> None:
    win_clipboard(win_api).copy(given)
    assert win_api.text() == held


@given(st.text(alphabet=st.sampled_from(["a", "\r", "\n", "\u2028", " "]), max_size=40))
def test_windows_newlines_keeps_the_fingerprint(text: str) -> None:
    """Converting is idempotent and never changes what ``fingerprint`` sees, so the clearer
    recognises the text on the clipboard as the text it was given."""
    held = windows_newlines(text)
    assert windows_newlines(held) == held
    assert fingerprint(held) == fingerprint(text)
    assert held.replace("\r\n", "").count("\n") == 0


def test_win32_clear_recognises_the_crlf_text_it_put(win_api: Win32ClipboardApi) -> None:
    """The tray's timer and the CLI's detached clearer fingerprint the LF text they were
    given; the clipboard holds it with CRLF: it is still ours, so it is cleared."""
    clip = win_clipboard(win_api)
    text = credentials()
    timer = ClearTimer(clip)
    clip.copy(text)
    timer.copied(text, 0)
    assert timer.clear_now() is True
    assert win_api.text() is None
    clip.copy(text)
    assert clear_if_unchanged(clip, fingerprint(text)) is True
    assert win_api.text() is None


def test_win32_copy_puts_text_and_privacy_formats_in_one_session(
    win_api: Win32ClipboardApi,
) -> None:
    text = credentials()
    win_clipboard(win_api).copy(text)

    hwnd = win_api.results_of("CreateWindowExW")[0]
    handles = win_api.results_of("GlobalAlloc")
    addresses = win_api.results_of("GlobalLock")
    formats = win_api.results_of("RegisterClipboardFormatW")
    text_bytes = (crlf(text) + "\0").encode("utf-16-le")
    expected: list[tuple[object, ...]] = [
        ("CreateWindowExW", 0, "STATIC", None, 0, 0, 0, 0, 0, None, None, None, None),
        ("OpenClipboard", hwnd),
        ("EmptyClipboard",),
        ("GlobalAlloc", GMEM_MOVEABLE, len(text_bytes)),
        ("GlobalLock", handles[0]),
        ("write_memory", addresses[0], text_bytes),
        ("GlobalUnlock", handles[0]),
        ("SetClipboardData", CF_UNICODETEXT, handles[0]),
    ]
    for index, name in enumerate(
        [
            "ExcludeClipboardContentFromMonitorProcessing",
            "CanIncludeInClipboardHistory",
            "CanUploadToCloudClipboard",
        ],
        start=1,
    ):
        expected += [
            ("RegisterClipboardFormatW", name),
            ("GlobalAlloc", GMEM_MOVEABLE, 4),
            ("GlobalLock", handles[index]),
            ("write_memory", addresses[index], b"\x00\x00\x00\x00"),
            ("GlobalUnlock", handles[index]),
            ("SetClipboardData", formats[index - 1], handles[index]),
        ]
    expected += [("CloseClipboard",), ("DestroyWindow", hwnd)]
    assert win_api.calls == expected

    assert hwnd is not None and hwnd > 0  # not NULL: SetClipboardData needs an owner
    assert all(result for result in win_api.results_of("SetClipboardData"))
    assert "GlobalFree" not in win_api.names()  # the system owns the memory now
    assert win_api.text() == crlf(text)
    for name, fmt in win_api.formats.items():
        assert win_api.format_bytes(fmt) == b"\x00\x00\x00\x00", name
    assert not win_api.is_open and not win_api.windows


def test_win32_open_retries_while_another_program_holds_it() -> None:
    api = Win32ClipboardApi(open_failures=3)
    win_clipboard(api).copy("abc")
    names = api.names()
    assert names[1:8] == ["OpenClipboard", "sleep"] * 3 + ["OpenClipboard"]
    assert api.results_of("sleep") == [None] * 3
    assert [call for call in api.calls if call[0] == "sleep"] == [("sleep", 0.05)] * 3
    assert api.text() == "abc"


def test_win32_open_gives_up_after_ten_attempts() -> None:
    api = Win32ClipboardApi(open_failures=1000)
    with pytest.raises(ClipboardError, match="Another program kept the clipboard open") as caught:
        win_clipboard(api).copy(CREDENTIALS)
    assert api.names().count("OpenClipboard") == 10
    assert api.names().count("sleep") == 9
    assert "EmptyClipboard" not in api.names()
    assert "CloseClipboard" not in api.names()  # never opened: nothing to close
    assert api.names()[-1] == "DestroyWindow"
    assert SECRET_KEY not in str(caught.value)


def test_win32_text_refused_frees_memory_and_closes(win_api: Win32ClipboardApi) -> None:
    win_api.fail_set_formats.add(CF_UNICODETEXT)
    win_api.other_program_copies("before")
    with pytest.raises(ClipboardError) as caught:
        win_clipboard(win_api).copy(CREDENTIALS)
    text_handle = win_api.results_of("GlobalAlloc")[0]
    assert ("GlobalFree", text_handle) in win_api.calls
    assert win_api.names().count("GlobalFree") == 1
    assert win_api.names()[-4:] == ["GlobalFree", "EmptyClipboard", "CloseClipboard",
                                    "DestroyWindow"]
    assert win_api.text() is None
    assert "SetClipboardData" in caught.value.message
    assert SECRET_KEY not in str(caught.value)


def test_win32_privacy_format_refused_removes_the_text(win_api: Win32ClipboardApi) -> None:
    """Without its history exclusion the text must not stay on the clipboard."""
    api = win_api
    cloud = api.RegisterClipboardFormatW("CanUploadToCloudClipboard")
    api.calls.clear()
    api.results.clear()
    api.fail_set_formats.add(cloud)
    with pytest.raises(ClipboardError, match="SetClipboardData"):
        win_clipboard(api).copy(CREDENTIALS)
    last_handle = api.results_of("GlobalAlloc")[-1]
    assert [call for call in api.calls if call[0] == "GlobalFree"] == [("GlobalFree", last_handle)]
    assert api.names()[-3:] == ["EmptyClipboard", "CloseClipboard", "DestroyWindow"]
    assert api.text() is None and api.data == {}


@pytest.mark.parametrize("failing", ["EmptyClipboard", "GlobalAlloc", "GlobalLock",
                                     "RegisterClipboardFormatW", "CreateWindowExW"])
def test_win32_any_failure_closes_the_clipboard(
    win_api: Win32ClipboardApi, failing: str
) -> None:
    win_api.fail.add(failing)
    win_api.error = 0
    with pytest.raises(ClipboardError, match=failing):
        win_clipboard(win_api).copy(CREDENTIALS)
    assert not win_api.is_open
    assert not win_api.windows
    if failing != "CreateWindowExW":
        assert win_api.names()[-2:] == ["CloseClipboard", "DestroyWindow"]
    if failing == "GlobalLock":  # never handed to the clipboard: ours to free
        assert win_api.names().count("GlobalFree") == 1
    else:
        assert "GlobalFree" not in win_api.names()
    assert win_api.text() is None


def test_win32_paste_reads_the_unicode_text(win_api: Win32ClipboardApi) -> None:
    clip = win_clipboard(win_api)
    text = credentials()
    clip.copy(text)
    win_api.calls.clear()
    win_api.results.clear()
    assert clip.paste() == crlf(text)  # what Windows holds: CRLF line ends
    handle = win_api.data[CF_UNICODETEXT]
    address = win_api.results_of("GlobalLock")[0]
    size = len((crlf(text) + "\0").encode("utf-16-le"))
    assert win_api.calls == [
        ("IsClipboardFormatAvailable", CF_UNICODETEXT),
        ("OpenClipboard", None),
        ("GetClipboardData", CF_UNICODETEXT),
        ("GlobalLock", handle),
        ("GlobalSize", handle),
        ("read_wstring", address, size // 2),
        ("GlobalUnlock", handle),
        ("CloseClipboard",),
    ]


def test_win32_paste_of_an_empty_clipboard(win_api: Win32ClipboardApi) -> None:
    assert win_clipboard(win_api).paste() is None
    assert win_api.names() == ["IsClipboardFormatAvailable"]  # not even opened


def test_win32_copy_empty_only_empties(win_api: Win32ClipboardApi) -> None:
    clip = win_clipboard(win_api)
    clip.copy("something")
    win_api.calls.clear()
    win_api.results.clear()
    clip.copy("")
    assert win_api.names() == [
        "CreateWindowExW", "OpenClipboard", "EmptyClipboard", "CloseClipboard", "DestroyWindow"
    ]
    assert clip.paste() is None


def test_win32_state_is_the_sequence_number(win_api: Win32ClipboardApi) -> None:
    clip = win_clipboard(win_api)
    clip.copy("one")
    first = clip.state()
    assert first == win_api.sequence
    assert clip.state() == first
    win_api.other_program_copies("two")
    assert clip.state() != first


def test_win32_clear_if_unchanged(win_api: Win32ClipboardApi) -> None:
    clip = win_clipboard(win_api)
    ours = credentials()
    clip.copy(ours)
    assert clear_if_unchanged(clip, fingerprint(ours)) is True
    assert win_api.text() is None
    clip.copy(ours)
    win_api.other_program_copies("theirs")
    assert clear_if_unchanged(clip, fingerprint(ours)) is False
    assert win_api.text() == "theirs"


def test_win32_clear_timer_sees_a_recopy_of_the_same_text(win_api: Win32ClipboardApi) -> None:
    """The sequence number tells a later copy apart even when the text is the same."""
    clip = win_clipboard(win_api)
    text = credentials()
    timer = ClearTimer(clip)
    clip.copy(text)
    timer.copied(text, 0)
    win_api.other_program_copies(text)
    assert timer.clear_now() is False
    assert win_api.text() == text
    clip.copy(text)
    timer.copied(text, 0)
    assert timer.clear_now() is True
    assert win_api.text() is None


def test_win32_clear_timer_fires(win_api: Win32ClipboardApi) -> None:
    clip = win_clipboard(win_api)
    text = credentials()
    timer = ClearTimer(clip)
    clip.copy(text)
    timer.copied(text, 1)
    wait_for(lambda: win_api.data == {}, 4, "the timer emptied the clipboard")


@pytest.fixture
def dlls() -> dict[str, WinDll]:
    return {"user32": WinDll("user32"), "kernel32": WinDll("kernel32")}


def test_ctypes_api_declares_every_function(dlls: dict[str, WinDll]) -> None:
    CtypesApi(dlls)
    declared = {f"{dll.name}.{name}": fn for dll in dlls.values()
                for name, fn in dll.functions.items()}
    assert set(declared) == {
        "user32.CreateWindowExW", "user32.DestroyWindow", "user32.OpenClipboard",
        "user32.CloseClipboard", "user32.EmptyClipboard", "user32.SetClipboardData",
        "user32.GetClipboardData", "user32.RegisterClipboardFormatW",
        "user32.GetClipboardSequenceNumber", "user32.IsClipboardFormatAvailable",
        "kernel32.GlobalAlloc", "kernel32.GlobalLock", "kernel32.GlobalUnlock",
        "kernel32.GlobalSize", "kernel32.GlobalFree",
    }
    for name, fn in declared.items():
        assert fn.argtypes is not fn.UNSET and fn.restype is not fn.UNSET, name
    # Handles and pointers are pointer-sized: never ctypes' default int.
    for name in ("user32.CreateWindowExW", "user32.SetClipboardData", "user32.GetClipboardData",
                 "kernel32.GlobalAlloc", "kernel32.GlobalLock", "kernel32.GlobalFree"):
        assert declared[name].restype is ctypes.c_void_p, name
    for name in ("kernel32.GlobalLock", "kernel32.GlobalUnlock", "kernel32.GlobalFree",
                 "kernel32.GlobalSize", "user32.SetClipboardData", "user32.OpenClipboard",
                 "user32.DestroyWindow"):
        assert ctypes.c_void_p in declared[name].argtypes, name
    assert declared["kernel32.GlobalAlloc"].argtypes == (ctypes.c_uint, ctypes.c_size_t)
    assert declared["user32.RegisterClipboardFormatW"].argtypes == (ctypes.c_wchar_p,)
    assert len(SIGNATURES) == len(declared)


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
