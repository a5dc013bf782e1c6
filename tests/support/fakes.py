"""The only fakes in the suite: stand-ins for Windows APIs that cannot run on Linux.

Each records the calls made to it, so tests check what traycreds asks of the real API.
"""

from __future__ import annotations

from typing import Any


class WinVaultKeyring:
    """Shaped like keyring.backends.Windows.WinVaultKeyring: a ``persist`` setting and
    Credential Manager's blob limit (2560 bytes, the value stored as UTF-16), which wine does
    not enforce: Microsoft, "CREDENTIALW structure (wincred.h)",
    https://learn.microsoft.com/en-us/windows/win32/api/wincred/ns-wincred-credentialw.
    On Windows (the wine lane) tests use the real Credential Manager instead."""

    persist: Any = "enterprise"  # keyring's default: roams with the user's profile

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.store: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append(("set_password", service, username, str(self.persist)))
        if len(password.encode("utf-16-le")) > 2560:
            raise OSError(1783, "The stub received bad data.")
        self.store[(service, username)] = password

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append(("get_password", service, username))
        return self.store.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append(("delete_password", service, username))
        if self.store.pop((service, username), None) is None:
            from keyring.errors import PasswordDeleteError

            raise PasswordDeleteError(service)  # what keyring raises: nothing to delete


class Win32ClipboardApi:
    """Shaped like traycreds' ``Win32Api``: the user32/kernel32 clipboard functions with the
    behaviour their documentation gives, recording every call as ``(name, *args)`` in
    ``calls`` (and what it returned in ``results``, same index).

    Modelled: OpenClipboard fails while another program holds the clipboard
    (``open_failures`` times, GetLastError 5); EmptyClipboard makes the opening window the
    owner, and with a NULL window SetClipboardData then fails (EmptyClipboard, Remarks);
    SetClipboardData needs the clipboard open and hands the memory to the system; the
    sequence number grows with each change. Handles are 64-bit sized, as on x64 Windows.
    ``sleep`` stands in for time.sleep between OpenClipboard attempts and is recorded too.
    """

    ERROR_ACCESS_DENIED = 5
    ERROR_CLIPBOARD_NOT_OPEN = 1418

    def __init__(self, *, open_failures: int = 0) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.results: list[Any] = []
        self.open_failures = open_failures
        self.fail: set[str] = set()  # these functions fail (return 0/NULL)
        self.fail_set_formats: set[int] = set()  # SetClipboardData fails for these formats
        self.sequence = 0x2A0
        self.formats: dict[str, int] = {}  # registered name -> format id
        self.data: dict[int, int] = {}  # the clipboard: format -> memory handle
        self.memory: dict[int, bytearray] = {}  # live memory handles (GlobalAlloc)
        self.alloc_flags: dict[int, int] = {}
        self.locks: dict[int, int] = {}  # handle -> lock count
        self.addresses: dict[int, int] = {}  # locked address -> handle
        self.system_owned: set[int] = set()  # handed over by SetClipboardData
        self.windows: set[int] = set()
        self.open_by: int | None = None
        self.is_open = False
        self.owner: int | None = None
        self.error = 0
        self._next = 0

    # -- recording -------------------------------------------------------------------------

    def _record(self, name: str, args: tuple[Any, ...], result: Any) -> Any:
        self.calls.append((name, *args))
        self.results.append(result)
        return result

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]

    def results_of(self, name: str) -> list[Any]:
        return [r for call, r in zip(self.calls, self.results, strict=True) if call[0] == name]

    def _handle(self, base: int) -> int:
        self._next += 1
        return base + self._next * 0x10

    def _fails(self, name: str, error: int = ERROR_ACCESS_DENIED) -> bool:
        if name in self.fail:
            self.error = error
            return True
        return False

    # -- user32 ----------------------------------------------------------------------------

    def CreateWindowExW(self, *args: Any) -> int | None:
        hwnd = None if self._fails("CreateWindowExW") else self._handle(0x0000_0000_0042_0000)
        if hwnd:
            self.windows.add(hwnd)
        return self._record("CreateWindowExW", args, hwnd)

    def DestroyWindow(self, hwnd: int) -> int:
        ok = hwnd in self.windows
        self.windows.discard(hwnd)
        return self._record("DestroyWindow", (hwnd,), int(ok))

    def OpenClipboard(self, hwnd: int | None) -> int:
        if self.open_failures > 0 or self.is_open:
            self.open_failures = max(0, self.open_failures - 1)
            self.error = self.ERROR_ACCESS_DENIED
            return self._record("OpenClipboard", (hwnd,), 0)
        self.is_open, self.open_by = True, hwnd
        return self._record("OpenClipboard", (hwnd,), 1)

    def CloseClipboard(self) -> int:
        ok = self.is_open
        self.is_open = False
        if not ok:
            self.error = self.ERROR_CLIPBOARD_NOT_OPEN
        return self._record("CloseClipboard", (), int(ok))

    def EmptyClipboard(self) -> int:
        if not self.is_open:
            self.error = self.ERROR_CLIPBOARD_NOT_OPEN
            return self._record("EmptyClipboard", (), 0)
        if self._fails("EmptyClipboard"):
            return self._record("EmptyClipboard", (), 0)
        for handle in self.data.values():  # the system frees what it owned
            self.memory.pop(handle, None)
        self.data.clear()
        self.owner = self.open_by
        self.sequence += 1
        return self._record("EmptyClipboard", (), 1)

    def SetClipboardData(self, fmt: int, handle: int) -> int | None:
        ok = (
            self.is_open
            and self.owner is not None
            and handle in self.memory
            and handle not in self.system_owned
            and fmt not in self.fail_set_formats
            and not self._fails("SetClipboardData")
        )
        if not ok:
            self.error = self.error or self.ERROR_CLIPBOARD_NOT_OPEN
            return self._record("SetClipboardData", (fmt, handle), None)
        old = self.data.get(fmt)
        if old is not None:
            self.memory.pop(old, None)
        self.data[fmt] = handle
        self.system_owned.add(handle)
        self.sequence += 1
        return self._record("SetClipboardData", (fmt, handle), handle)

    def GetClipboardData(self, fmt: int) -> int | None:
        handle = self.data.get(fmt) if self.is_open else None
        return self._record("GetClipboardData", (fmt,), handle)

    def RegisterClipboardFormatW(self, name: str) -> int:
        if self._fails("RegisterClipboardFormatW"):
            return self._record("RegisterClipboardFormatW", (name,), 0)
        fmt = self.formats.setdefault(name, 0xC0A0 + len(self.formats))
        return self._record("RegisterClipboardFormatW", (name,), fmt)

    def GetClipboardSequenceNumber(self) -> int:
        return self._record("GetClipboardSequenceNumber", (), self.sequence)

    def IsClipboardFormatAvailable(self, fmt: int) -> int:
        return self._record("IsClipboardFormatAvailable", (fmt,), int(fmt in self.data))

    # -- kernel32 --------------------------------------------------------------------------

    def GlobalAlloc(self, flags: int, size: int) -> int | None:
        if self._fails("GlobalAlloc", error=8):  # ERROR_NOT_ENOUGH_MEMORY
            return self._record("GlobalAlloc", (flags, size), None)
        handle = self._handle(0x0000_01F4_A3B2_0000)
        self.memory[handle] = bytearray(size)
        self.alloc_flags[handle] = flags
        self.locks[handle] = 0
        return self._record("GlobalAlloc", (flags, size), handle)

    def GlobalLock(self, handle: int) -> int | None:
        if handle not in self.memory or self._fails("GlobalLock"):
            return self._record("GlobalLock", (handle,), None)
        self.locks[handle] = self.locks.get(handle, 0) + 1
        address = handle + 0x0000_7A00_0000_0000
        self.addresses[address] = handle
        return self._record("GlobalLock", (handle,), address)

    def GlobalUnlock(self, handle: int) -> int:
        self.locks[handle] = max(0, self.locks.get(handle, 0) - 1)
        self.error = 0  # NO_ERROR: 0 with no error means "now unlocked"
        return self._record("GlobalUnlock", (handle,), self.locks[handle])

    def GlobalSize(self, handle: int) -> int:
        return self._record("GlobalSize", (handle,), len(self.memory.get(handle, b"")))

    def GlobalFree(self, handle: int) -> int | None:
        if handle in self.system_owned:
            raise AssertionError(f"GlobalFree({handle:#x}): the system owns that memory")
        self.memory.pop(handle, None)
        return self._record("GlobalFree", (handle,), None)

    # -- ctypes primitives and GetLastError ------------------------------------------------

    def write_memory(self, address: int, data: bytes) -> None:
        handle = self.addresses.get(address)
        if handle is None or not self.locks.get(handle):
            raise AssertionError(f"write to {address:#x}, which is not locked memory")
        if len(data) > len(self.memory[handle]):
            raise AssertionError(f"write of {len(data)} bytes into {len(self.memory[handle])}")
        self.memory[handle][: len(data)] = data
        self._record("write_memory", (address, bytes(data)), None)

    def read_wstring(self, address: int, length: int) -> str:
        handle = self.addresses[address]
        if not self.locks.get(handle):
            raise AssertionError(f"read from {address:#x}, which is not locked memory")
        text = bytes(self.memory[handle][: length * 2]).decode("utf-16-le")
        return self._record("read_wstring", (address, length), text)

    def last_error(self) -> int:
        return self.error

    def sleep(self, seconds: float) -> None:
        self._record("sleep", (seconds,), None)

    # -- what the clipboard holds now, and another program using it -------------------------

    def format_bytes(self, fmt: int) -> bytes | None:
        handle = self.data.get(fmt)
        return None if handle is None else bytes(self.memory[handle])

    def text(self) -> str | None:
        raw = self.format_bytes(13)
        return None if raw is None else raw.decode("utf-16-le").split("\0", 1)[0]

    def other_program_copies(self, text: str) -> None:
        """Another program replaces the clipboard's content (not recorded)."""
        for handle in self.data.values():
            self.memory.pop(handle, None)
        handle = self._handle(0x0000_0300_0000_0000)
        self.memory[handle] = bytearray((text + "\0").encode("utf-16-le"))
        self.data = {13: handle}
        self.system_owned.add(handle)
        self.sequence += 2


class WinDll:
    """Shaped like ``ctypes.WinDLL(name, use_last_error=True)``: attribute access gives a
    function object that keeps the ``argtypes``/``restype`` assigned to it and refuses calls
    made before both are declared or with the wrong number of arguments."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.functions: dict[str, WinDllFunction] = {}

    def __getattr__(self, name: str) -> WinDllFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.functions.setdefault(name, WinDllFunction(f"{self.name}.{name}"))


class WinDllFunction:
    UNSET: Any = object()

    def __init__(self, name: str) -> None:
        self.name = name
        self.argtypes: Any = self.UNSET
        self.restype: Any = self.UNSET
        self.calls: list[tuple[Any, ...]] = []
        self.result: Any = 1

    def __call__(self, *args: Any) -> Any:
        if self.argtypes is self.UNSET or self.restype is self.UNSET:
            raise AssertionError(f"{self.name} called before argtypes and restype were declared")
        if len(args) != len(self.argtypes):
            raise AssertionError(
                f"{self.name}: {len(args)} arguments, {len(self.argtypes)} declared"
            )
        self.calls.append(args)
        return self.result


class WindowsPopen:
    """Stands in for ``subprocess.Popen`` on Windows, where ``creationflags`` such as
    DETACHED_PROCESS mean something: records the arguments and what was written to stdin."""

    DETACHED_PROCESS = 0x00000008  # the values Windows' subprocess module exports
    CREATE_NEW_PROCESS_GROUP = 0x00000200
    started: list[WindowsPopen] = []  # noqa: RUF012 - shared record of every instance

    def __init__(self, args: list[str], **kwargs: Any) -> None:
        import io

        self.args = args
        self.kwargs = kwargs
        self.stdin_data = b""
        outer = self

        class _Stdin(io.BytesIO):
            def close(self) -> None:
                outer.stdin_data = self.getvalue()
                super().close()

        self.stdin = _Stdin()
        WindowsPopen.started.append(self)

    def wait(self, timeout: float | None = None) -> int:
        return 0


class Kernel32Mutexes:
    """Shaped like the kernel32 calls traycreds.adapters.instance.MutexApi names: named
    mutexes shared by every "process" using this object, with CreateMutexW's last-error
    convention (a handle plus ERROR_ALREADY_EXISTS (183) when the name exists; no handle and
    ERROR_ACCESS_DENIED (5) for a name in ``denied``, e.g. one an elevated process created)."""

    def __init__(self, *, denied: tuple[str, ...] = (), fail_with: int | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.open: dict[int, str] = {}  # handle -> mutex name
        self.denied = denied
        self.fail_with = fail_with  # any other error: no handle, this last error
        self._last_error = 0
        self._next_handle = 0x1000

    def CreateMutexW(self, attributes: None, initial_owner: bool, name: str) -> int | None:
        self.calls.append(("CreateMutexW", attributes, initial_owner, name))
        if self.fail_with is not None:
            self._last_error = self.fail_with
            return None
        if name in self.denied:
            self._last_error = 5
            return None
        self._last_error = 183 if name in self.open.values() else 0
        self._next_handle += 4
        self.open[self._next_handle] = name
        return self._next_handle

    def GetLastError(self) -> int:
        self.calls.append(("GetLastError",))
        return self._last_error

    def CloseHandle(self, handle: int) -> bool:
        self.calls.append(("CloseHandle", handle))
        return self.open.pop(handle, None) is not None


class WinRegistry:
    """Shaped like the stdlib ``winreg`` module (the calls traycreds.adapters.autostart's
    RegistryApi names, same constants), on an in-memory registry, recording every call.

    Modelled as Windows documents it: key and value names are case-insensitive; OpenKey of a
    missing key and QueryValueEx/DeleteValue of a missing value raise FileNotFoundError
    (WinError 2); a handle allows only the access it was opened with (setting a value needs
    KEY_SET_VALUE, reading KEY_QUERY_VALUE; else PermissionError, WinError 5, as does any key
    listed in ``denied``); CreateKeyEx creates missing keys on the way; SetValueEx with
    REG_SZ takes only a str, with REG_BINARY only bytes (QueryValueEx gives them back as
    bytes, as winreg does). Handles left open are in ``open_handles``.
    """

    HKEY_CURRENT_USER = 0x80000001
    KEY_QUERY_VALUE = 0x0001
    KEY_SET_VALUE = 0x0002
    KEY_CREATE_SUB_KEY = 0x0004
    KEY_READ = 0x20019
    KEY_WRITE = 0x20006
    REG_SZ = 1
    REG_EXPAND_SZ = 2
    REG_BINARY = 3
    REG_DWORD = 4

    def __init__(self, *, denied: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.keys: dict[str, dict[str, tuple[str, Any, int]]] = {}  # path -> name -> entry
        self.open_handles: dict[int, tuple[str, int]] = {}  # handle -> (key path, access)
        self.denied = {self._norm(path) for path in denied}
        self._next_handle = 0x3A0

    # -- test helpers (not recorded) ---------------------------------------------------------

    @staticmethod
    def _norm(path: str) -> str:
        return path.strip("\\").casefold()

    def seed(self, path: str, name: str | None = None, value: Any = None,
             kind: int = REG_SZ) -> None:
        """Create key ``path`` (under HKEY_CURRENT_USER), optionally with one value."""
        values = self.keys.setdefault(self._norm(path), {})
        if name is not None:
            values[name.casefold()] = (name, value, kind)

    def value(self, path: str, name: str) -> tuple[Any, int] | None:
        entry = self.keys.get(self._norm(path), {}).get(name.casefold())
        return None if entry is None else (entry[1], entry[2])

    def names(self, path: str) -> list[str]:
        return sorted(entry[0] for entry in self.keys.get(self._norm(path), {}).values())

    # -- winreg ------------------------------------------------------------------------------

    def _path(self, key: Any, sub_key: str) -> str:
        if key == self.HKEY_CURRENT_USER:
            base = ""
        elif key in self.open_handles:
            base = self.open_handles[key][0]
        else:
            raise OSError(6, "The handle is invalid")  # ERROR_INVALID_HANDLE
        return self._norm(f"{base}\\{sub_key}" if base else sub_key)

    def _handle(self, path: str, access: int) -> int:
        if path in self.denied:
            raise PermissionError(5, "Access is denied")
        self._next_handle += 4
        self.open_handles[self._next_handle] = (path, access)
        return self._next_handle

    def _opened(self, key: int, needs: int) -> str:
        if key not in self.open_handles:
            raise OSError(6, "The handle is invalid")
        path, access = self.open_handles[key]
        if not access & needs:
            raise PermissionError(5, "Access is denied")
        return path

    def OpenKey(self, key: Any, sub_key: str, reserved: int = 0,
                access: int = KEY_READ) -> int:
        self.calls.append(("OpenKey", key, sub_key, reserved, access))
        path = self._path(key, sub_key)
        if path not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return self._handle(path, access)

    def CreateKeyEx(self, key: Any, sub_key: str, reserved: int = 0,
                    access: int = KEY_WRITE) -> int:
        self.calls.append(("CreateKeyEx", key, sub_key, reserved, access))
        path = self._path(key, sub_key)
        handle = self._handle(path, access)
        parts = path.split("\\")
        for depth in range(1, len(parts) + 1):
            self.keys.setdefault("\\".join(parts[:depth]), {})
        return handle

    def CloseKey(self, hkey: int) -> None:
        self.calls.append(("CloseKey", hkey))
        self.open_handles.pop(hkey, None)

    def QueryValueEx(self, key: int, name: str) -> tuple[Any, int]:
        self.calls.append(("QueryValueEx", key, name))
        path = self._opened(key, self.KEY_QUERY_VALUE)
        entry = self.keys[path].get(name.casefold())
        if entry is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return entry[1], entry[2]

    def SetValueEx(self, key: int, value_name: str, reserved: int, type: int,
                   value: Any) -> None:
        self.calls.append(("SetValueEx", key, value_name, reserved, type, value))
        path = self._opened(key, self.KEY_SET_VALUE)
        if type in (self.REG_SZ, self.REG_EXPAND_SZ) and not isinstance(value, str):
            raise ValueError("Could not convert the data to the specified type.")
        if type == self.REG_BINARY and not isinstance(value, bytes | bytearray | None):
            raise ValueError("Could not convert the data to the specified type.")
        self.keys[path][value_name.casefold()] = (value_name, value, type)

    def DeleteValue(self, key: int, value: str) -> None:
        self.calls.append(("DeleteValue", key, value))
        path = self._opened(key, self.KEY_SET_VALUE)
        if self.keys[path].pop(value.casefold(), None) is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")


class PystrayWin32Icon:
    """Shaped like the pystray win32 ``Icon`` as traycreds' tray uses it, with the limits of
    the NOTIFYICONDATAW structure it fills (shellapi.h): ``szTip[128]``, ``szInfo[256]``,
    ``szInfoTitle[64]`` WCHARs. Past them pystray's ctypes assignment raises ValueError
    ("string too long"); a text of exactly the array's size is taken with no room for the
    terminating NUL (checked on the real backend under wine: tests/test_tray_win32.py).
    Records the tooltips, notifications and menu updates that went through."""

    HAS_NOTIFICATION = True
    TIP, INFO, INFO_TITLE = 128, 256, 64

    def __init__(self) -> None:
        self.titles: list[str] = []
        self.notifications: list[tuple[str, str]] = []  # (title, message)
        self.menu_updates = 0
        self.images: list[Any] = []

    @staticmethod
    def _check(text: str, size: int) -> None:
        if len(text.encode("utf-16-le")) // 2 > size:
            raise ValueError(f"string too long ({len(text)}, maximum length {size})")

    @property
    def icon(self) -> Any:
        return self.images[-1] if self.images else None

    @icon.setter
    def icon(self, image: Any) -> None:
        self.images.append(image)

    @property
    def title(self) -> str:
        return self.titles[-1] if self.titles else ""

    @title.setter
    def title(self, text: str) -> None:
        self._check(text, self.TIP)
        self.titles.append(text)

    def notify(self, message: str, title: str | None = None) -> None:
        self._check(message, self.INFO)
        self._check(title or "", self.INFO_TITLE)
        self.notifications.append((title or "", message))

    def update_menu(self) -> None:
        self.menu_updates += 1
