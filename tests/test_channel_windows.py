"""The Windows channel (traycreds/channel/winpipe.py): its names, flags and DACL everywhere;
on the Windows lane the real named pipe (wine's kernel32), its deadlines and owner checks.

What wine cannot show is said where it matters: wine ignores FILE_FLAG_FIRST_PIPE_INSTANCE
(a second CreateNamedPipeW of the name succeeds), so the test of a second server shows our
own check first, and records the flags passed to the real CreateNamedPipeW; wine keeps and
returns an explicit DACL but does not enforce it between processes of one user, nor does it
have remote clients or impersonation levels to show (Microsoft: "CreateNamedPipeW",
"Named Pipe Security and Access Rights", "Impersonation Levels").
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import WINDOWS, windows_only
from traycreds.adapters import instance
from traycreds.adapters.instance import mutex_name, pipe_name, windows_object_name
from traycreds.channel import address, client, handshake, winpipe, winsecurity, wire
from traycreds.channel.address import UntrustedTrayError
from traycreds.channel.client import NoAnswerError
from traycreds.core.errors import TraycredsError

SID = "S-1-5-21-1111111111-2222222222-3333333333-1001"
OTHER_SID = "S-1-5-21-1111111111-2222222222-3333333333-1002"
SLOW = 10.0  # seconds: far above every timeout below, far below multiprocessing's 20 s wait

needs_win32 = windows_only("the real named pipe (kernel32 under wine on the lane)")


# --- names, flags, DACL: pure -----------------------------------------------------------------


def test_pipe_dacl_grants_only_this_user_and_system() -> None:
    sddl = winsecurity.pipe_sddl(SID)
    assert sddl == f"D:P(A;;GA;;;{SID})(A;;GA;;;SY)"
    # Protected (nothing inherited) and none of the default descriptor's extra grants:
    # Everyone (WD) and Anonymous logon (AN) read, Administrators (BA) full control.
    assert sddl.startswith("D:P(")
    for other in (";WD)", ";AN)", ";BA)", ";AU)"):
        assert other not in sddl


def test_server_and_client_flags_are_the_documented_values() -> None:
    """winbase.h values; CreateNamedPipeW and CreateFileW's documentation."""
    assert winpipe.FILE_FLAG_FIRST_PIPE_INSTANCE == 0x00080000
    assert winpipe.PIPE_REJECT_REMOTE_CLIENTS == 0x00000008
    assert winpipe.server_open_mode(True) == 0x00000003 | 0x40000000 | 0x00080000
    assert winpipe.server_open_mode(False) == 0x00000003 | 0x40000000  # our later instances
    assert winpipe.PIPE_MODE == 0x4 | 0x2 | 0x8  # message type, message reads, no remotes
    # SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION: the server may identify the client,
    # never impersonate it (SECURITY_IMPERSONATION would be 2 << 16, DELEGATION 3 << 16).
    assert winpipe.CLIENT_FLAGS == 0x40000000 | 0x00100000 | 0x00010000
    assert winpipe.CLIENT_FLAGS & (3 << 16) == 1 << 16


def test_names_are_per_user_per_session_and_per_runtime_folder() -> None:
    base = windows_object_name("alice", 1, None)
    assert base == "traycreds-alice-s1"
    assert windows_object_name("alice", 2, None) != base
    assert windows_object_name("bob", 1, None) != base
    one = windows_object_name("alice", 1, r"C:\Users\alice\rt-one")
    two = windows_object_name("alice", 1, r"C:\Users\alice\rt-two")
    assert base != one != two
    assert one.startswith(base + "-")
    # One folder, however it is spelled, is one name (Windows paths ignore case).
    assert windows_object_name("alice", 1, r"c:\users\ALICE\rt-one\.") == one
    env = {"TRAYCREDS_RUNTIME_DIR": r"C:\rt"}
    assert mutex_name("alice", 3, env) == "Local\\" + windows_object_name("alice", 3, r"C:\rt")
    assert pipe_name("alice", 3, env) == "\\\\.\\pipe\\" + windows_object_name("alice", 3, r"C:\rt")


def test_names_stay_valid_win32_object_names() -> None:
    for user in ("CORP\\carol", "x" * 300, "dot.ted name"):
        mutex = mutex_name(user, 4294967295, {"TRAYCREDS_RUNTIME_DIR": "C:\\" + "f" * 250})
        assert mutex.count("\\") == 1, mutex  # only Local\'s: more makes CreateMutexW fail
        assert len(mutex) <= 200
        assert len(pipe_name(user, 1, {})) <= 256
    long_a, long_b = "x" * 100 + "a", "x" * 100 + "b"
    assert windows_object_name(long_a, 1, None) != windows_object_name(long_b, 1, None)


# --- the real pipe (Windows lane) -----------------------------------------------------------


@pytest.fixture
def folder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A runtime folder of this test's (TRAYCREDS_RUNTIME_DIR): its own pipe, mutex and key."""
    base = Path(tempfile.mkdtemp(prefix="tc-win-"))
    monkeypatch.setenv("TRAYCREDS_RUNTIME_DIR", str(base / "rt"))
    yield base / "rt"
    shutil.rmtree(base, ignore_errors=True)


def _server(handlers: dict[str, Any] | None = None) -> Any:
    from traycreds.channel.server import ChannelServer

    return ChannelServer(handlers or {"echo": lambda args: args})


def _write_key(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    address.key_file(folder).write_text("ab" * address.KEY_BYTES + "\n")


@needs_win32
def test_request_and_answer_through_the_pipe(folder: Path) -> None:
    with _server() as server:
        assert server.address == pipe_name()
        assert server.address.startswith("\\\\.\\pipe\\traycreds-")
        key = address.key_file(folder)
        assert key.name == f"channel-s{instance.windows_session()}.key"
        assert client.request("echo", {"n": 1}, timeout=10) == {"n": 1}
        assert client.request("hello", timeout=10)["pid"] > 0
        big = {"s": "x" * 300_000}  # several pipe buffers in one message
        assert client.request("echo", big, timeout=20) == big


@needs_win32
def test_the_pipe_carries_our_dacl(folder: Path) -> None:
    listener = winpipe.PipeListener(r"\\.\pipe\tc-test-dacl-" + folder.parent.name)
    try:
        handle = listener.pending_handle
        assert handle is not None
        assert winsecurity.pipe_dacl(handle) == winsecurity.pipe_sddl(winsecurity.own_sid())
    finally:
        listener.close()


@needs_win32
def test_the_real_create_named_pipe_gets_the_flags(folder: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Wine ignores FILE_FLAG_FIRST_PIPE_INSTANCE and remote clients: what reaches the real
    CreateNamedPipeW is checked instead (Microsoft: CreateNamedPipeW)."""
    real = winpipe._CreateNamedPipeW
    seen: list[tuple[int, int, bool]] = []

    def recording(name: str, open_mode: int, pipe_mode: int, *rest: Any) -> Any:
        seen.append((open_mode, pipe_mode, rest[-1] is not None))
        return real(name, open_mode, pipe_mode, *rest)

    monkeypatch.setattr(winpipe, "_CreateNamedPipeW", recording)
    with _server():
        assert client.request("echo", {}, timeout=10) == {}
    first, later = seen[0], seen[1]
    assert first[0] & winpipe.FILE_FLAG_FIRST_PIPE_INSTANCE
    assert not later[0] & winpipe.FILE_FLAG_FIRST_PIPE_INSTANCE
    for open_mode, pipe_mode, has_attributes in seen:
        assert pipe_mode & winpipe.PIPE_REJECT_REMOTE_CLIENTS
        assert open_mode & winpipe.FILE_FLAG_OVERLAPPED
        assert has_attributes  # our SECURITY_ATTRIBUTES, never the default descriptor


@needs_win32
def test_a_second_server_on_the_name_fails(folder: Path) -> None:
    from traycreds.channel.listen import AddressTakenError

    with _server():
        second = _server()
        with pytest.raises(AddressTakenError, match="Another program already serves"):
            second.start()
        assert client.request("echo", {"first": True}, timeout=10) == {"first": True}


@needs_win32
def test_other_sessions_and_runtime_folders_get_their_own_pipe(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_session = instance.windows_session
    with _server({"who": lambda args: "first"}) as first:
        monkeypatch.setattr(instance, "windows_session", lambda: 4242)
        with _server({"who": lambda args: "session"}) as other_session:
            assert other_session.address != first.address
            assert "-s4242" in other_session.address
            assert client.request("who", timeout=10) == "session"
        monkeypatch.setattr(instance, "windows_session", real_session)
        other = folder.parent / "rt2"
        monkeypatch.setenv("TRAYCREDS_RUNTIME_DIR", str(other))
        with _server({"who": lambda args: "folder"}) as other_folder:
            assert other_folder.address != first.address
            assert client.request("who", timeout=10) == "folder"
        monkeypatch.setenv("TRAYCREDS_RUNTIME_DIR", str(folder))
        assert client.request("who", timeout=10) == "first"


def _accepting(listener: Any) -> tuple[threading.Thread, list[Any]]:
    accepted: list[Any] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
    thread.start()
    return thread, accepted


@needs_win32
def test_a_busy_pipe_gives_up_at_the_timeout_saying_busy(folder: Path) -> None:
    _write_key(folder)
    listener = winpipe.PipeListener(pipe_name(), max_instances=1)
    occupant = winpipe.connect(pipe_name(), 5)  # takes the only instance
    try:
        start = time.monotonic()
        with pytest.raises(NoAnswerError, match="running but busy") as error:
            client.request("hello", timeout=1.0)
        assert time.monotonic() - start < SLOW
        assert "Start traycreds" not in error.value.message
    finally:
        occupant.close()
        listener.close()


@needs_win32
def test_a_tray_that_never_answers_ends_the_request_at_its_timeout(folder: Path) -> None:
    _write_key(folder)
    listener = winpipe.PipeListener(pipe_name())
    thread, accepted = _accepting(listener)
    try:
        start = time.monotonic()
        with pytest.raises(NoAnswerError, match="No answer within"):
            client.request("hello", timeout=1.0)
        assert time.monotonic() - start < SLOW
    finally:
        thread.join(SLOW)
        for conn in accepted:
            conn.close()
        listener.close()


@pytest.fixture
def pipe_pair(folder: Path) -> Iterator[tuple[Any, Any]]:
    """(server end, client end) of one real pipe connection."""
    name = r"\\.\pipe\tc-test-pair-" + folder.parent.name
    listener = winpipe.PipeListener(name)
    thread, accepted = _accepting(listener)
    near = winpipe.connect(name, 5)
    thread.join(SLOW)
    assert accepted
    yield accepted[0], near
    near.close()
    accepted[0].close()
    listener.close()


@needs_win32
def test_a_peer_that_never_reads_ends_each_send_at_its_deadline(
        pipe_pair: tuple[Any, Any]) -> None:
    far, near = pipe_pair
    data = b"x" * (4 * winpipe.BUFFER_SIZE + 1)  # more than the pipe's buffer holds
    for sender in (far, near):  # the tray's answer to a client that left, and back
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            sender.send(data, time.monotonic() + 1.0)
        assert time.monotonic() - start < SLOW
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        near.recv(100, time.monotonic() + 1.0)  # nothing was sent to it
    assert time.monotonic() - start < SLOW


@needs_win32
def test_frames_keep_their_semantics(pipe_pair: tuple[Any, Any]) -> None:
    far, near = pipe_pair
    deadline = time.monotonic() + SLOW
    near.send(b"", deadline)
    near.send(b"hello", deadline)
    assert far.recv(10, deadline) == b""
    assert far.recv(10, deadline) == b"hello"
    # A message larger than the pipe's buffer: its send ends when the reader has taken it.
    sender = threading.Thread(target=lambda: (far.send(b"y" * 200_000, deadline),
                                              far.send(b"after", deadline)), daemon=True)
    sender.start()
    with pytest.raises(wire.FrameTooLargeError):
        near.recv(1000, deadline)
    assert near.recv(1000, deadline) == b"after"  # the large one was dropped whole
    sender.join(SLOW)
    far.close()
    with pytest.raises(EOFError):
        near.recv(10, deadline)


@needs_win32
def test_the_client_refuses_a_tray_of_another_user(folder: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The owner lookup is made to answer another SID (wine runs everything as one user)."""
    _write_key(folder)
    listener = winpipe.PipeListener(pipe_name())
    thread, accepted = _accepting(listener)
    monkeypatch.setattr(winpipe, "process_sid", lambda pid: OTHER_SID)
    try:
        with pytest.raises(UntrustedTrayError, match=f"runs as {OTHER_SID}"):
            client.request("hello", timeout=5)
        thread.join(SLOW)
        with pytest.raises(EOFError):  # the client left before sending a byte
            accepted[0].recv(1000, time.monotonic() + SLOW)
    finally:
        for conn in accepted:
            conn.close()
        listener.close()


@needs_win32
def test_the_tray_drops_a_client_of_another_user(folder: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with _server() as server:
        near = winpipe.connect(server.address, 5)
        try:  # our own: the tray's challenge comes
            assert near.recv(256, time.monotonic() + SLOW).startswith(handshake.MAGIC)
        finally:
            near.close()
        monkeypatch.setattr(winpipe, "process_sid", lambda pid: OTHER_SID)
        near = winpipe.connect(server.address, 5)
        try:  # another user's: closed before a challenge
            with pytest.raises(EOFError):
                near.recv(256, time.monotonic() + SLOW)
        finally:
            near.close()


# --- the tray tells the user ------------------------------------------------------------------


def test_a_taken_channel_name_is_notified_once_the_icon_shows() -> None:
    from traycreds.tray.main import _notify_when_shown

    class Service:
        def __init__(self) -> None:
            self.listeners: list[Any] = []

        def subscribe(self, listener: Any) -> None:
            self.listeners.append(listener)

    class Notes:
        def __init__(self) -> None:
            self.shown: list[tuple[str, str]] = []

        def notify(self, title: str, message: str) -> None:
            self.shown.append((title, message))

    service, notes = Service(), Notes()
    error = TraycredsError("Another program already serves it.", title="channel unavailable")
    _notify_when_shown(service, notes, error)
    assert notes.shown == []  # not before the icon is up (the first state update)
    for listener in service.listeners * 3:
        listener()
    assert notes.shown == [("channel unavailable", "Another program already serves it.")]


def test_the_pipe_module_is_not_imported_on_posix() -> None:
    if WINDOWS:
        pytest.skip("POSIX only: there the fast path must not load the Windows pipe module")
    import subprocess
    import sys

    code = ("import sys; import traycreds.channel.client, traycreds.channel.server; "
            "print('traycreds.channel.winpipe' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False"]
