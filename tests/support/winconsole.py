"""A console paste into another process' console, as Windows' console host does it:
``python -m tests.support.winconsole PID`` types the clipboard's text into the console of
process PID (Windows CPython, the Windows lane).

A console paste turns each character of CF_UNICODETEXT into a key event of the console's
input (WriteConsoleInputW, a key down and a key up; CR is the Enter key). cmd.exe reads its
prompt with a cooked (line) read, and Windows' console host does not hand a line feed key
event to a cooked read ("Ignore Escape and Newline chars", GetChar in microsoft/terminal's
src/host/stream.cpp): so CR ends a line and a LF is dropped, which is why text joined by
bare LF pastes as one line (microsoft/terminal#663).

wine 8's conhost differs in exactly that point: its own Edit > Paste, and its line editor,
keep a pasted LF as a ``^J`` character in the line (checked: ``set "A=1"`` CR LF
``set "B=2"`` makes a variable named LF + ``B``). So the key events are written here,
with the LF left out as Windows' console leaves it out; everything else is the console's
real input path: wine's conhost and cmd.exe read them as typed keys.

Run in a process of its own: attaching to another console needs FreeConsole first.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

KEY_EVENT = 0x0001
VK_RETURN = 0x0D
GENERIC_READ, GENERIC_WRITE = 0x80000000, 0x40000000
FILE_SHARE_READ, FILE_SHARE_WRITE = 0x1, 0x2
OPEN_EXISTING = 3


class KEY_EVENT_RECORD(ctypes.Structure):  # wincon.h names
    _fields_ = (("bKeyDown", ctypes.c_int), ("wRepeatCount", ctypes.c_ushort),
                ("wVirtualKeyCode", ctypes.c_ushort), ("wVirtualScanCode", ctypes.c_ushort),
                ("UnicodeChar", ctypes.c_wchar), ("dwControlKeyState", ctypes.c_ulong))


class _Event(ctypes.Union):
    # The largest member of INPUT_RECORD's union (MOUSE_EVENT_RECORD) is 16 bytes too.
    _fields_ = (("KeyEvent", KEY_EVENT_RECORD), ("_size", ctypes.c_byte * 16))


class INPUT_RECORD(ctypes.Structure):
    _fields_ = (("EventType", ctypes.c_ushort), ("Event", _Event))


def key_events(text: str) -> list[INPUT_RECORD]:
    """The console key events a paste of ``text`` gives a cooked read (LF dropped)."""
    records = []
    for char in text:
        if char == "\n":
            continue
        vk = VK_RETURN if char == "\r" else 0
        for down in (1, 0):
            record = INPUT_RECORD(EventType=KEY_EVENT)
            record.Event.KeyEvent = KEY_EVENT_RECORD(bKeyDown=down, wRepeatCount=1,
                                                     wVirtualKeyCode=vk, UnicodeChar=char)
            records.append(record)
    return records


def paste(pid: int) -> int:
    """Type the clipboard's text into the console of ``pid``; returns the characters sent."""
    assert sys.platform == "win32"
    from ctypes import wintypes

    from tests.support.windesk import clipboard_text

    text = clipboard_text()
    k32: Any = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    k32.FreeConsole.restype = wintypes.BOOL
    k32.AttachConsole.argtypes, k32.AttachConsole.restype = [wintypes.DWORD], wintypes.BOOL
    k32.CreateFileW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD,
                                ctypes.c_void_p, wintypes.DWORD, wintypes.DWORD,
                                wintypes.HANDLE]
    k32.CreateFileW.restype = wintypes.HANDLE
    k32.WriteConsoleInputW.argtypes = [wintypes.HANDLE, ctypes.POINTER(INPUT_RECORD),
                                       wintypes.DWORD, ctypes.POINTER(wintypes.DWORD)]
    k32.WriteConsoleInputW.restype = wintypes.BOOL
    k32.FreeConsole()
    if not k32.AttachConsole(pid):
        raise OSError(ctypes.get_last_error(), f"AttachConsole({pid}) failed")  # type: ignore[attr-defined]
    handle = k32.CreateFileW("CONIN$", GENERIC_READ | GENERIC_WRITE,
                             FILE_SHARE_READ | FILE_SHARE_WRITE, None, OPEN_EXISTING, 0, None)
    if handle in (None, wintypes.HANDLE(-1).value):
        raise OSError(ctypes.get_last_error(), "CONIN$ did not open")  # type: ignore[attr-defined]
    records = key_events(text)
    array = (INPUT_RECORD * len(records))(*records)
    written = wintypes.DWORD()
    if records and not k32.WriteConsoleInputW(handle, array, len(records),
                                              ctypes.byref(written)):
        raise OSError(ctypes.get_last_error(), "WriteConsoleInputW failed")  # type: ignore[attr-defined]
    return len(text)


if __name__ == "__main__":
    # This process' output went with its own console: the exit status is the answer (3: the
    # clipboard held no text to paste).
    sys.exit(0 if paste(int(sys.argv[1])) else 3)
