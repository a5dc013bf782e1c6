"""The channel's named pipe on Windows, through ctypes: a pipe only this user can open, whose
every wait ends at the caller's deadline.

multiprocessing's pipe Listener/Client (what the channel used before) leave the pipe's
security to the default descriptor, wait 20 s for a busy pipe whatever the caller's timeout,
and write with a WriteFile that blocks until the peer reads. Here:

- the server creates the pipe (CreateNamedPipeW) with a protected DACL granting only the
  current user's SID and SYSTEM (winsecurity.py's ``pipe_sddl``),
  ``PIPE_REJECT_REMOTE_CLIENTS``, message mode, and ``FILE_FLAG_FIRST_PIPE_INSTANCE`` on the
  first instance, so a second creator of the name fails instead of sharing it
  (``server_open_mode``);
- the client waits for a busy pipe (WaitNamedPipeW) only for the time it has left, and opens
  it with ``SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION`` (``CLIENT_FLAGS``): a program
  squatting on the name may learn who connected, never act as them;
- each side checks the other's process owner (GetNamedPipeServerProcessId /
  GetNamedPipeClientProcessId, then the process token's user SID: winsecurity.py) against
  its own;
- reads, writes and the server's wait for a client are overlapped, waited for until the
  deadline, and cancelled (CancelIoEx) when it passes.

The pure parts (names, flags) are importable everywhere, for tests; the Win32 parts exist
only on win32, and only the Windows client and server import this module.
"""

from __future__ import annotations

import sys
import time

from traycreds.channel.wire import ChannelBusyError, Frames, FrameTooLargeError, time_left

# CreateNamedPipeW / CreateFileW flags (winbase.h, fileapi.h).
PIPE_ACCESS_DUPLEX = 0x00000003
FILE_FLAG_FIRST_PIPE_INSTANCE = 0x00080000
FILE_FLAG_OVERLAPPED = 0x40000000
PIPE_TYPE_MESSAGE = 0x00000004
PIPE_READMODE_MESSAGE = 0x00000002
PIPE_WAIT = 0x00000000
PIPE_REJECT_REMOTE_CLIENTS = 0x00000008
PIPE_UNLIMITED_INSTANCES = 255
GENERIC_READ = 0x80000000
GENERIC_WRITE = 0x40000000
OPEN_EXISTING = 3
SECURITY_SQOS_PRESENT = 0x00100000
SECURITY_IDENTIFICATION = 0x00010000  # SecurityIdentification << 16

PIPE_MODE = PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS
CLIENT_FLAGS = FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION
BUFFER_SIZE = 65536  # the pipe's buffers each way; larger messages wait for the reader
_CHUNK = 65536  # bytes per ReadFile

ERROR_FILE_NOT_FOUND = 2
ERROR_ACCESS_DENIED = 5
ERROR_BROKEN_PIPE = 109
ERROR_SEM_TIMEOUT = 121
ERROR_PIPE_BUSY = 231
ERROR_NO_DATA = 232
ERROR_PIPE_NOT_CONNECTED = 233
ERROR_MORE_DATA = 234
ERROR_PIPE_CONNECTED = 535
ERROR_OPERATION_ABORTED = 995
ERROR_IO_PENDING = 997
_CLOSED = (ERROR_BROKEN_PIPE, ERROR_NO_DATA, ERROR_PIPE_NOT_CONNECTED)


def server_open_mode(first: bool) -> int:
    """dwOpenMode for CreateNamedPipeW: the first instance claims the name
    (FILE_FLAG_FIRST_PIPE_INSTANCE: creating it fails with ERROR_ACCESS_DENIED if the name
    exists); later instances of our own join it."""
    mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED
    return mode | FILE_FLAG_FIRST_PIPE_INSTANCE if first else mode


class PipeNameTakenError(OSError):
    """The pipe name exists already: another program (maybe another user's) serves it."""


if sys.platform == "win32":
    import contextlib
    import ctypes
    from ctypes import wintypes

    from traycreds.channel.winsecurity import (
        PipeSecurity,
        close_handle,
        declare,
        own_sid,
        process_sid,
        win_error,
    )

    _k32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _INVALID_HANDLE = ctypes.c_void_p(-1).value
    _INFINITE = 0xFFFFFFFF
    _WAIT_OBJECT_0 = 0
    _WAIT_TIMEOUT = 0x102

    _H, _D, _B, _P = wintypes.HANDLE, wintypes.DWORD, wintypes.BOOL, ctypes.c_void_p
    _PD = ctypes.POINTER(wintypes.DWORD)

    _CreateNamedPipeW = declare(_k32, "CreateNamedPipeW", _H, wintypes.LPCWSTR, _D, _D, _D, _D,
                                _D, _D, _P)
    _ConnectNamedPipe = declare(_k32, "ConnectNamedPipe", _B, _H, _P)
    _CreateFileW = declare(_k32, "CreateFileW", _H, wintypes.LPCWSTR, _D, _D, _P, _D, _D, _H)
    _WaitNamedPipeW = declare(_k32, "WaitNamedPipeW", _B, wintypes.LPCWSTR, _D)
    _SetNamedPipeHandleState = declare(_k32, "SetNamedPipeHandleState", _B, _H, _PD, _PD, _PD)
    _ReadFile = declare(_k32, "ReadFile", _B, _H, _P, _D, _PD, _P)
    _WriteFile = declare(_k32, "WriteFile", _B, _H, _P, _D, _PD, _P)
    _GetOverlappedResult = declare(_k32, "GetOverlappedResult", _B, _H, _P, _PD, _B)
    _CancelIoEx = declare(_k32, "CancelIoEx", _B, _H, _P)
    _CreateEventW = declare(_k32, "CreateEventW", _H, _P, _B, _B, wintypes.LPCWSTR)
    _SetEvent = declare(_k32, "SetEvent", _B, _H)
    _WaitForMultipleObjects = declare(_k32, "WaitForMultipleObjects", _D, _D,
                                      ctypes.POINTER(_H), _B, _D)
    _GetNamedPipeServerProcessId = declare(_k32, "GetNamedPipeServerProcessId", _B, _H, _PD)
    _GetNamedPipeClientProcessId = declare(_k32, "GetNamedPipeClientProcessId", _B, _H, _PD)

    class _OVERLAPPED(ctypes.Structure):
        _fields_ = [("Internal", ctypes.c_void_p), ("InternalHigh", ctypes.c_void_p),
                    ("Offset", wintypes.DWORD), ("OffsetHigh", wintypes.DWORD),
                    ("hEvent", wintypes.HANDLE)]

    # --- overlapped I/O ---------------------------------------------------------------------

    def _ms(deadline: float) -> int:
        return max(0, min(int((deadline - time.monotonic()) * 1000) + 1, _INFINITE - 1))

    class _Operation:
        """One overlapped operation on ``handle``, its OVERLAPPED and event alive until the
        operation is complete or cancelled (the kernel writes to them until then)."""

        def __init__(self, handle: int) -> None:
            self.handle = handle
            self.event = _CreateEventW(None, True, False, None)
            if not self.event:
                raise win_error()
            self.overlapped = _OVERLAPPED(hEvent=self.event)

        def finish(self, started: bool, deadline: float | None,
                   stop_event: int | None = None) -> tuple[int, int]:
            """Wait for the operation started with result ``started``; return (bytes moved,
            Win32 error: 0, ERROR_MORE_DATA or ERROR_PIPE_CONNECTED). TimeoutError at
            ``deadline`` (None: no deadline), InterruptedError when ``stop_event`` fires;
            either way the operation is cancelled first. Other errors raise OSError."""
            try:
                if not started:
                    code = ctypes.get_last_error()
                    if code == ERROR_MORE_DATA:  # done at once, part of a message: how much?
                        pass  # GetOverlappedResult below tells
                    elif code != ERROR_IO_PENDING:
                        return self._failed(code)
                    elif not self._wait(deadline, stop_event):
                        _CancelIoEx(self.handle, ctypes.byref(self.overlapped))
                        moved = wintypes.DWORD()  # wait for the cancellation to land
                        _GetOverlappedResult(self.handle, ctypes.byref(self.overlapped),
                                             ctypes.byref(moved), True)
                        if deadline is not None and time.monotonic() >= deadline:
                            raise TimeoutError("no answer in time")
                        raise InterruptedError("the listener was closed")
                moved = wintypes.DWORD()
                if not _GetOverlappedResult(self.handle, ctypes.byref(self.overlapped),
                                            ctypes.byref(moved), False):
                    return self._failed(ctypes.get_last_error(), moved.value)
                return moved.value, 0
            finally:
                close_handle(self.event)

        def _wait(self, deadline: float | None, stop_event: int | None) -> bool:
            handles = (wintypes.HANDLE * 2)(self.event, stop_event or 0)
            count = 2 if stop_event else 1
            timeout = _INFINITE if deadline is None else _ms(deadline)
            status = _WaitForMultipleObjects(count, handles, False, timeout)
            if status == _WAIT_OBJECT_0:
                return True
            if status in (_WAIT_TIMEOUT, _WAIT_OBJECT_0 + 1):
                return False
            raise win_error()

        @staticmethod
        def _failed(code: int, moved: int = 0) -> tuple[int, int]:
            if code in (ERROR_MORE_DATA, ERROR_PIPE_CONNECTED):
                return moved, code
            raise win_error(code)

    class PipeFrames(Frames):
        """One pipe message per frame. ``recv`` raises EOFError when the peer closed;
        ``send`` BrokenPipeError; both TimeoutError at the deadline (the I/O cancelled)."""

        def __init__(self, handle: int, *, server: bool) -> None:
            self.handle: int | None = handle
            self._server = server

        def _handle(self) -> int:
            if self.handle is None:
                raise OSError("the pipe is closed")
            return self.handle

        def send(self, data: bytes, deadline: float) -> None:
            time_left(deadline)
            handle = self._handle()
            buffer = ctypes.create_string_buffer(data, len(data))
            operation = _Operation(handle)
            started = _WriteFile(handle, buffer, len(data), None,
                                 ctypes.byref(operation.overlapped))
            try:
                moved, _ = operation.finish(bool(started), deadline)
            except OSError as error:
                if getattr(error, "winerror", None) in _CLOSED:
                    raise BrokenPipeError("the peer closed the pipe") from None
                raise
            if moved != len(data):
                raise OSError(f"wrote {moved} of {len(data)} bytes")

        def recv(self, limit: int, deadline: float) -> bytes:
            data, more = self._read(deadline)
            while more:  # the rest of a message larger than one read
                if len(data) > limit:
                    self._drain(deadline)
                    raise FrameTooLargeError(f"a message over {limit} bytes")
                chunk, more = self._read(deadline)
                data += chunk
            if len(data) > limit:
                raise FrameTooLargeError(f"a message over {limit} bytes")
            return data

        def _drain(self, deadline: float) -> None:
            """Read and drop the rest of a message too large to keep, so its writer's send
            completes and it can read the refusal."""
            more = True
            while more:
                _, more = self._read(deadline)

        def _read(self, deadline: float) -> tuple[bytes, bool]:
            time_left(deadline)
            handle = self._handle()
            buffer = ctypes.create_string_buffer(_CHUNK)
            operation = _Operation(handle)
            started = _ReadFile(handle, buffer, _CHUNK, None, ctypes.byref(operation.overlapped))
            try:
                moved, code = operation.finish(bool(started), deadline)
            except OSError as error:
                if getattr(error, "winerror", None) in _CLOSED:
                    raise EOFError("the peer closed the pipe") from None
                raise
            return buffer.raw[:moved], code == ERROR_MORE_DATA

        def peer_pid(self) -> int:
            """The process id at the other end (the client's for the server, and back)."""
            pid = wintypes.DWORD()
            ask = _GetNamedPipeClientProcessId if self._server else _GetNamedPipeServerProcessId
            if not ask(self._handle(), ctypes.byref(pid)):
                raise win_error()
            return pid.value

        def peer_is_us(self) -> tuple[bool, str]:
            """Whether the peer process runs as this user, and its SID. Raises OSError when
            the peer cannot be identified."""
            sid = process_sid(self.peer_pid())
            return sid == own_sid(), sid

        def close(self) -> None:
            handle, self.handle = self.handle, None
            if handle is not None:
                close_handle(handle)

    # --- the client ---------------------------------------------------------------------------

    def connect(name: str, timeout: float) -> PipeFrames:
        """The client's end of ``name``. A busy pipe (every instance in use) is waited for
        until ``timeout``: then ChannelBusyError. No pipe: FileNotFoundError; other errors:
        the OSError subclass of the Win32 error."""
        deadline = time.monotonic() + timeout
        while True:
            handle = _CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING,
                                  CLIENT_FLAGS, None)
            if handle and handle != _INVALID_HANDLE:
                break
            code = ctypes.get_last_error()
            if code != ERROR_PIPE_BUSY:
                raise win_error(code)
            wait = _ms(deadline)
            if wait <= 0 or not _WaitNamedPipeW(name, wait):
                code = ctypes.get_last_error() if wait > 0 else ERROR_SEM_TIMEOUT
                if code in (ERROR_SEM_TIMEOUT, ERROR_PIPE_BUSY) or time.monotonic() >= deadline:
                    raise ChannelBusyError(f"every instance of {name} stayed busy")
                if code != 0:
                    raise win_error(code)
        mode = wintypes.DWORD(PIPE_READMODE_MESSAGE)
        if not _SetNamedPipeHandleState(handle, ctypes.byref(mode), None, None):
            error = win_error()
            close_handle(handle)
            raise error
        return PipeFrames(handle, server=False)

    def exists(name: str) -> bool:
        """Whether a pipe of this name exists (served, busy or not), without connecting:
        WaitNamedPipeW answers "no such pipe" with ERROR_FILE_NOT_FOUND at once."""
        if _WaitNamedPipeW(name, 1):
            return True
        return ctypes.get_last_error() != ERROR_FILE_NOT_FOUND

    # --- the server ---------------------------------------------------------------------------

    class PipeListener:
        """The tray's end: instances of ``name`` created on demand, each handed out as a
        connected PipeFrames by ``accept``. ``max_instances`` limits them (tests)."""

        def __init__(self, name: str, *, max_instances: int = PIPE_UNLIMITED_INSTANCES) -> None:
            self.name = name
            self._max = max_instances
            self._security = PipeSecurity()  # this user's and SYSTEM's alone: pipe_sddl
            self._stop = _CreateEventW(None, True, False, None)
            self._closed = False
            # wine ignores FILE_FLAG_FIRST_PIPE_INSTANCE: look first (Windows checks again,
            # atomically, in CreateNamedPipeW).
            if exists(name):
                self._free()
                raise PipeNameTakenError(f"the pipe {name} exists already")
            try:
                self._pending: int | None = self._create(first=True)
            except PermissionError:  # ERROR_ACCESS_DENIED: the first-instance flag at work
                self._free()
                raise PipeNameTakenError(f"the pipe {name} exists already") from None
            except OSError:
                self._free()
                raise

        def _create(self, *, first: bool) -> int:
            handle = _CreateNamedPipeW(self.name, server_open_mode(first), PIPE_MODE, self._max,
                                       BUFFER_SIZE, BUFFER_SIZE, 0,
                                       ctypes.byref(self._security.attributes))
            if not handle or handle == _INVALID_HANDLE:
                raise win_error()
            return int(handle)

        @property
        def pending_handle(self) -> int | None:
            """The instance waiting for the next client (tests read its DACL)."""
            return self._pending

        def accept(self) -> PipeFrames:
            """The next client. OSError once closed (InterruptedError) or on failure."""
            if self._closed:
                raise InterruptedError("the listener is closed")
            if self._pending is None:
                self._pending = self._create(first=False)
            handle = self._pending
            operation = _Operation(handle)
            started = _ConnectNamedPipe(handle, ctypes.byref(operation.overlapped))
            try:
                operation.finish(bool(started), None, self._stop)
            except OSError as error:
                if getattr(error, "winerror", None) not in _CLOSED:  # NO_DATA: came and left
                    raise
            self._pending = None
            with contextlib.suppress(OSError):  # e.g. all max_instances in use: accept()
                self._pending = self._create(first=False)  # tries again next time
            return PipeFrames(handle, server=True)

        def close(self) -> None:
            if self._closed:
                return
            self._closed = True
            _SetEvent(self._stop)
            pending, self._pending = self._pending, None
            if pending is not None:
                close_handle(pending)
            self._free()

        def _free(self) -> None:
            self._security.free()
