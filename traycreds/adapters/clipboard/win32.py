"""The Windows clipboard through user32 and kernel32 (ctypes), kept out of clipboard history.

One OpenClipboard session puts the text (CF_UNICODETEXT) and three registered formats that
ask Windows and well-behaved clipboard managers not to keep it: the presence of
``ExcludeClipboardContentFromMonitorProcessing``, and ``CanIncludeInClipboardHistory`` and
``CanUploadToCloudClipboard`` each holding the DWORD 0 (what 1Password, Bitwarden and KeePassXC
do). Windows records history when the clipboard is closed, so all formats go in before
CloseClipboard; if any of them fails the clipboard is emptied again before closing.

Line ends: Windows text is CRLF, and a classic cmd.exe console drops a pasted bare LF
(microsoft/terminal#663: ``echo foo`` LF ``echo bar`` pastes as one line), so only the first
``set`` of a copied block would run. ``copy`` therefore puts every line end as CRLF (an
existing CRLF is kept, never doubled). The copied blocks end with a line end, so the last line
runs when pasted too, like the others. ``fingerprint`` ignores the difference, so clearing
later still recognises the text it put.

The owner window: EmptyClipboard after OpenClipboard(NULL) sets the owner to NULL, "this causes
SetClipboardData to fail" (EmptyClipboard, Remarks). A hidden STATIC window owns the clipboard
for the session and is destroyed right after it, so no window of ours is left for
WM_DESTROYCLIPBOARD to block on.

Every Win32 function comes from an ``api`` object (Win32Api): ``load_api()`` builds the real
one from user32/kernel32 with argtypes and restype declared on every function (handles are
64 bits; ctypes' default int restype would truncate them). Nothing here touches Windows when
imported, so the module imports and type-checks on any system.
"""

from __future__ import annotations

import ctypes
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from traycreds.adapters.clipboard.base import ClipboardError

CF_UNICODETEXT = 13
GMEM_MOVEABLE = 0x0002
DWORD_ZERO = b"\x00\x00\x00\x00"
# Registered format name -> its data. The first one counts by its presence alone.
PRIVATE_FORMATS: tuple[tuple[str, bytes], ...] = (
    ("ExcludeClipboardContentFromMonitorProcessing", DWORD_ZERO),
    ("CanIncludeInClipboardHistory", DWORD_ZERO),
    ("CanUploadToCloudClipboard", DWORD_ZERO),
)
OPEN_ATTEMPTS = 10  # another program may hold the clipboard for a moment
OPEN_DELAY = 0.05
OWNER_CLASS = "STATIC"  # a predefined window class: nothing to register
READ_FAILED = "Cannot read the clipboard"
_LINE_END = re.compile(r"\r?\n")


def windows_newlines(text: str) -> str:
    """``text`` with every line end as CRLF; an existing CRLF stays one CRLF."""
    return _LINE_END.sub("\r\n", text)


class Win32Api(Protocol):
    """The Win32 functions the clipboard uses, with their documented names and parameters,
    plus the two memory primitives (ctypes.memmove, ctypes.wstring_at) and GetLastError."""

    def CreateWindowExW(
        self,
        ex_style: int,
        class_name: str,
        window_name: str | None,
        style: int,
        x: int,
        y: int,
        width: int,
        height: int,
        parent: int | None,
        menu: int | None,
        instance: int | None,
        param: int | None,
    ) -> int | None: ...
    def DestroyWindow(self, hwnd: int) -> int: ...
    def OpenClipboard(self, hwnd: int | None) -> int: ...
    def CloseClipboard(self) -> int: ...
    def EmptyClipboard(self) -> int: ...
    def SetClipboardData(self, fmt: int, handle: int) -> int | None: ...
    def GetClipboardData(self, fmt: int) -> int | None: ...
    def RegisterClipboardFormatW(self, name: str) -> int: ...
    def GetClipboardSequenceNumber(self) -> int: ...
    def IsClipboardFormatAvailable(self, fmt: int) -> int: ...
    def GlobalAlloc(self, flags: int, size: int) -> int | None: ...
    def GlobalLock(self, handle: int) -> int | None: ...
    def GlobalUnlock(self, handle: int) -> int: ...
    def GlobalSize(self, handle: int) -> int: ...
    def GlobalFree(self, handle: int) -> int | None: ...
    def write_memory(self, address: int, data: bytes) -> None: ...
    def read_wstring(self, address: int, length: int) -> str: ...
    def last_error(self) -> int: ...


# (dll, function, restype, argtypes): every function we call, declared before use.
_HANDLE = ctypes.c_void_p
_BOOL = ctypes.c_int
_UINT = ctypes.c_uint
_DWORD = ctypes.c_uint32
SIGNATURES: tuple[tuple[str, str, Any, tuple[Any, ...]], ...] = (
    ("user32", "CreateWindowExW", _HANDLE, (
        _DWORD, ctypes.c_wchar_p, ctypes.c_wchar_p, _DWORD, ctypes.c_int, ctypes.c_int,
        ctypes.c_int, ctypes.c_int, _HANDLE, _HANDLE, _HANDLE, ctypes.c_void_p)),
    ("user32", "DestroyWindow", _BOOL, (_HANDLE,)),
    ("user32", "OpenClipboard", _BOOL, (_HANDLE,)),
    ("user32", "CloseClipboard", _BOOL, ()),
    ("user32", "EmptyClipboard", _BOOL, ()),
    ("user32", "SetClipboardData", _HANDLE, (_UINT, _HANDLE)),
    ("user32", "GetClipboardData", _HANDLE, (_UINT,)),
    ("user32", "RegisterClipboardFormatW", _UINT, (ctypes.c_wchar_p,)),
    ("user32", "GetClipboardSequenceNumber", _DWORD, ()),
    ("user32", "IsClipboardFormatAvailable", _BOOL, (_UINT,)),
    ("kernel32", "GlobalAlloc", _HANDLE, (_UINT, ctypes.c_size_t)),
    ("kernel32", "GlobalLock", ctypes.c_void_p, (_HANDLE,)),
    ("kernel32", "GlobalUnlock", _BOOL, (_HANDLE,)),
    ("kernel32", "GlobalSize", ctypes.c_size_t, (_HANDLE,)),
    ("kernel32", "GlobalFree", _HANDLE, (_HANDLE,)),
)


def _get_last_error() -> int:
    if sys.platform == "win32":  # ctypes.get_last_error exists only there
        return ctypes.get_last_error()
    return 0


class CtypesApi:
    """Win32Api over ctypes DLL objects. ``dlls`` maps "user32"/"kernel32" to loaded DLLs
    (``ctypes.WinDLL(name, use_last_error=True)``); each function gets argtypes and restype."""

    def __init__(
        self,
        dlls: dict[str, Any],
        *,
        memmove: Callable[[int, bytes, int], object] = ctypes.memmove,
        wstring_at: Callable[[int, int], str] = ctypes.wstring_at,
        get_last_error: Callable[[], int] | None = None,
    ) -> None:
        self._functions: dict[str, Any] = {}
        for dll, name, restype, argtypes in SIGNATURES:
            function = getattr(dlls[dll], name)
            function.restype = restype
            function.argtypes = argtypes
            self._functions[name] = function
        self._memmove = memmove
        self._wstring_at = wstring_at
        self._get_last_error = get_last_error or _get_last_error

    def _call(self, name: str, *args: object) -> Any:
        return self._functions[name](*args)

    def CreateWindowExW(
        self,
        ex_style: int,
        class_name: str,
        window_name: str | None,
        style: int,
        x: int,
        y: int,
        width: int,
        height: int,
        parent: int | None,
        menu: int | None,
        instance: int | None,
        param: int | None,
    ) -> int | None:
        handle: int | None = self._call(
            "CreateWindowExW", ex_style, class_name, window_name, style, x, y, width, height,
            parent, menu, instance, param,
        )
        return handle

    def DestroyWindow(self, hwnd: int) -> int:
        return int(self._call("DestroyWindow", hwnd))

    def OpenClipboard(self, hwnd: int | None) -> int:
        return int(self._call("OpenClipboard", hwnd))

    def CloseClipboard(self) -> int:
        return int(self._call("CloseClipboard"))

    def EmptyClipboard(self) -> int:
        return int(self._call("EmptyClipboard"))

    def SetClipboardData(self, fmt: int, handle: int) -> int | None:
        result: int | None = self._call("SetClipboardData", fmt, handle)
        return result

    def GetClipboardData(self, fmt: int) -> int | None:
        result: int | None = self._call("GetClipboardData", fmt)
        return result

    def RegisterClipboardFormatW(self, name: str) -> int:
        return int(self._call("RegisterClipboardFormatW", name))

    def GetClipboardSequenceNumber(self) -> int:
        return int(self._call("GetClipboardSequenceNumber"))

    def IsClipboardFormatAvailable(self, fmt: int) -> int:
        return int(self._call("IsClipboardFormatAvailable", fmt))

    def GlobalAlloc(self, flags: int, size: int) -> int | None:
        result: int | None = self._call("GlobalAlloc", flags, size)
        return result

    def GlobalLock(self, handle: int) -> int | None:
        result: int | None = self._call("GlobalLock", handle)
        return result

    def GlobalUnlock(self, handle: int) -> int:
        return int(self._call("GlobalUnlock", handle))

    def GlobalSize(self, handle: int) -> int:
        return int(self._call("GlobalSize", handle))

    def GlobalFree(self, handle: int) -> int | None:
        result: int | None = self._call("GlobalFree", handle)
        return result

    def write_memory(self, address: int, data: bytes) -> None:
        self._memmove(address, data, len(data))

    def read_wstring(self, address: int, length: int) -> str:
        return self._wstring_at(address, length)

    def last_error(self) -> int:
        return self._get_last_error()


def load_api() -> Win32Api:
    """The real user32/kernel32 functions. Only on Windows."""
    if sys.platform != "win32":
        raise ClipboardError("The Windows clipboard API exists only on Windows.")
    dlls = {name: ctypes.WinDLL(name, use_last_error=True) for name in ("user32", "kernel32")}
    return CtypesApi(dlls)


class Win32Clipboard:
    """The Windows clipboard; the copied text is excluded from history and cloud sync."""

    name = "win32"

    def __init__(
        self,
        api: Win32Api,
        *,
        attempts: int = OPEN_ATTEMPTS,
        delay: float = OPEN_DELAY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self.attempts = attempts
        self.delay = delay
        self._sleep = sleep

    # -- the Clipboard protocol ------------------------------------------------------------

    def copy(self, text: str) -> None:
        """Put ``text`` on the clipboard with CRLF line ends, marked private; ``""`` just
        empties it."""
        api = self.api
        with self._owner_window() as hwnd, self._opened(hwnd):
            if not api.EmptyClipboard():
                raise self._error("EmptyClipboard")
            if not text:
                return
            try:
                held = windows_newlines(text) + "\0"
                self._set(CF_UNICODETEXT, held.encode("utf-16-le"))
                for name, data in PRIVATE_FORMATS:
                    fmt = api.RegisterClipboardFormatW(name)
                    if not fmt:
                        raise self._error(f"RegisterClipboardFormatW({name})")
                    self._set(fmt, data)
            except ClipboardError:
                api.EmptyClipboard()  # never leave the text without its privacy formats
                raise

    def paste(self) -> str | None:
        api = self.api
        if not api.IsClipboardFormatAvailable(CF_UNICODETEXT):
            return None
        with self._opened(None, title=READ_FAILED):
            handle = api.GetClipboardData(CF_UNICODETEXT)
            if not handle:
                return None
            address = api.GlobalLock(handle)
            if not address:
                raise self._error("GlobalLock", title=READ_FAILED)
            try:
                # Bounded by the block's size: the data need not end with a NUL.
                text = api.read_wstring(address, api.GlobalSize(handle) // 2)
            finally:
                api.GlobalUnlock(handle)
        return text.split("\0", 1)[0] or None

    def state(self) -> object:
        return self.api.GetClipboardSequenceNumber()

    # -- helpers ---------------------------------------------------------------------------

    def _error(self, function: str, *, title: str | None = None) -> ClipboardError:
        code = self.api.last_error()
        return ClipboardError(
            f"Windows refused the clipboard operation ({function} failed, error {code}). "
            "Try again; if it keeps failing, close programs that watch the clipboard.",
            title=title,
        )

    @contextmanager
    def _owner_window(self) -> Iterator[int]:
        api = self.api
        hwnd = api.CreateWindowExW(
            0, OWNER_CLASS, None, 0, 0, 0, 0, 0, None, None, None, None
        )
        if not hwnd:
            raise self._error("CreateWindowExW")
        try:
            yield hwnd
        finally:
            api.DestroyWindow(hwnd)

    @contextmanager
    def _opened(self, hwnd: int | None, *, title: str | None = None) -> Iterator[None]:
        """The clipboard opened for ``hwnd``, retried while another program holds it.
        ``title``: the error's title (reading is not copying)."""
        api = self.api
        for attempt in range(self.attempts):
            if api.OpenClipboard(hwnd):
                break
            if attempt + 1 < self.attempts:
                self._sleep(self.delay)
        else:
            raise ClipboardError(
                f"Another program kept the clipboard open (tried {self.attempts} times over "
                f"{(self.attempts - 1) * self.delay:g} s). Try again in a moment.",
                title=title,
            )
        try:
            yield
        finally:
            api.CloseClipboard()

    def _set(self, fmt: int, data: bytes) -> None:
        """Hand ``data`` to the clipboard as ``fmt``. After SetClipboardData succeeds the
        system owns the memory; until then it is ours to free."""
        api = self.api
        handle = api.GlobalAlloc(GMEM_MOVEABLE, len(data))
        if not handle:
            raise self._error("GlobalAlloc")
        address = api.GlobalLock(handle)
        if not address:
            error = self._error("GlobalLock")
            api.GlobalFree(handle)
            raise error
        try:
            api.write_memory(address, data)
        finally:
            api.GlobalUnlock(handle)
        if not api.SetClipboardData(fmt, handle):
            error = self._error("SetClipboardData")
            api.GlobalFree(handle)
            raise error
