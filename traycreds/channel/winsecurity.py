"""Who may open the channel's named pipe, and who is at its other end (Windows, ctypes).

The pipe carries a protected DACL granting only the current user's SID and SYSTEM
(``pipe_sddl``, made into SECURITY_ATTRIBUTES by ``PipeSecurity``); each side of a connection
reads the other process's token and compares its user SID with its own (``process_sid``,
``own_sid``). The Win32 basics winpipe.py shares are here too: ``declare`` (a ctypes
function with its signature), ``win_error``, ``close_handle``.

``pipe_sddl`` is pure and importable everywhere, for tests; the rest exists only on win32.
"""

from __future__ import annotations

import sys
from typing import Any


def pipe_sddl(user_sid: str) -> str:
    """The pipe's security descriptor: a protected DACL (``P``: nothing inherited) with full
    access for this user and SYSTEM only; not Everyone's read access nor the Anonymous logon's
    that the default descriptor grants ("Named Pipe Security and Access Rights")."""
    return f"D:P(A;;GA;;;{user_sid})(A;;GA;;;SY)"


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    _k32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _adv = ctypes.WinDLL("advapi32", use_last_error=True)
    _PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
    _TOKEN_QUERY = 0x0008
    _TOKEN_USER = 1
    _SDDL_REVISION_1 = 1
    _SE_KERNEL_OBJECT = 6
    _DACL_SECURITY_INFORMATION = 0x4

    _H, _D, _B, _P = wintypes.HANDLE, wintypes.DWORD, wintypes.BOOL, ctypes.c_void_p
    _PD = ctypes.POINTER(wintypes.DWORD)
    _PP = ctypes.POINTER(ctypes.c_void_p)

    def declare(dll: ctypes.WinDLL, name: str, restype: object, *argtypes: object) -> Any:
        """``dll``'s function ``name`` with its result and argument types set."""
        function = getattr(dll, name)
        function.argtypes = list(argtypes)
        function.restype = restype
        return function

    close_handle = declare(_k32, "CloseHandle", _B, _H)
    _GetCurrentProcess = declare(_k32, "GetCurrentProcess", _H)
    _OpenProcess = declare(_k32, "OpenProcess", _H, _D, _B, _D)
    _LocalFree = declare(_k32, "LocalFree", _P, _P)
    _OpenProcessToken = declare(_adv, "OpenProcessToken", _B, _H, _D, ctypes.POINTER(_H))
    _GetTokenInformation = declare(_adv, "GetTokenInformation", _B, _H, ctypes.c_int, _P, _D,
                                   _PD)
    _ConvertSidToStringSidW = declare(_adv, "ConvertSidToStringSidW", _B, _P,
                                      ctypes.POINTER(wintypes.LPWSTR))
    _ConvertStringSDToSD = declare(
        _adv, "ConvertStringSecurityDescriptorToSecurityDescriptorW", _B, wintypes.LPCWSTR, _D,
        _PP, _PD)
    _ConvertSDToStringSD = declare(
        _adv, "ConvertSecurityDescriptorToStringSecurityDescriptorW", _B, _P, _D, _D,
        ctypes.POINTER(wintypes.LPWSTR), _PD)
    _GetSecurityInfo = declare(_adv, "GetSecurityInfo", _D, _H, ctypes.c_int, _D, _PP, _PP, _PP,
                               _PP, _PP)

    class _SECURITY_ATTRIBUTES(ctypes.Structure):
        _fields_ = [("nLength", wintypes.DWORD), ("lpSecurityDescriptor", ctypes.c_void_p),
                    ("bInheritHandle", wintypes.BOOL)]

    def win_error(code: int | None = None) -> OSError:
        """The OSError subclass Python maps the Win32 error to (FileNotFoundError for 2,
        PermissionError for 5, BrokenPipeError for 109, ...)."""
        return ctypes.WinError(ctypes.get_last_error() if code is None else code)

    def _token_sid(process: int) -> str:
        """The user SID (S-1-5-21-...) of a process handle's token."""
        token = wintypes.HANDLE()
        if not _OpenProcessToken(process, _TOKEN_QUERY, ctypes.byref(token)):
            raise win_error()
        try:
            size = wintypes.DWORD()
            _GetTokenInformation(token, _TOKEN_USER, None, 0, ctypes.byref(size))
            buffer = ctypes.create_string_buffer(max(size.value, 64))
            if not _GetTokenInformation(token, _TOKEN_USER, buffer, len(buffer),
                                        ctypes.byref(size)):
                raise win_error()
            sid = ctypes.c_void_p.from_buffer(buffer).value  # TOKEN_USER.User.Sid
            return _local_string(lambda text: _ConvertSidToStringSidW(sid, text))
        finally:
            close_handle(token)

    def _local_string(convert: Any) -> str:
        """The text a Convert*ToString* call allocates (LocalAlloc) through the LPWSTR pointer
        it is given, copied out and freed. Raises the call's OSError when it fails."""
        text = wintypes.LPWSTR()
        if not convert(ctypes.byref(text)):
            raise win_error()
        try:
            return str(text.value)
        finally:
            _LocalFree(text)

    _own: list[str] = []

    def own_sid() -> str:
        """This process's user SID (read once)."""
        if not _own:
            _own.append(_token_sid(_GetCurrentProcess()))
        return _own[0]

    def process_sid(pid: int) -> str:
        """The user SID of process ``pid``. Raises OSError (e.g. PermissionError: a process
        of another user, or an elevated one, whose token we may not open)."""
        process = _OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not process:
            raise win_error()
        try:
            return _token_sid(process)
        finally:
            close_handle(process)

    def pipe_dacl(handle: int) -> str:
        """The DACL of a pipe handle as SDDL (GetSecurityInfo), for tests and diagnosis."""
        descriptor = ctypes.c_void_p()
        status = _GetSecurityInfo(handle, _SE_KERNEL_OBJECT, _DACL_SECURITY_INFORMATION,
                                  None, None, None, None, ctypes.byref(descriptor))
        if status:
            raise win_error(status)
        try:
            return _local_string(lambda text: _ConvertSDToStringSD(
                descriptor, _SDDL_REVISION_1, _DACL_SECURITY_INFORMATION, text, None))
        finally:
            _LocalFree(descriptor)

    class PipeSecurity:
        """SECURITY_ATTRIBUTES carrying ``pipe_sddl(own_sid())``, for every CreateNamedPipeW
        of a listener; ``free`` releases its descriptor (LocalAlloc'd) when it is done."""

        def __init__(self) -> None:
            descriptor = ctypes.c_void_p()
            if not _ConvertStringSDToSD(pipe_sddl(own_sid()), _SDDL_REVISION_1,
                                        ctypes.byref(descriptor), None):
                raise win_error()
            self._descriptor = descriptor
            self.attributes = _SECURITY_ATTRIBUTES(
                ctypes.sizeof(_SECURITY_ATTRIBUTES), descriptor, False)

        def free(self) -> None:
            _LocalFree(self._descriptor)
            self._descriptor = ctypes.c_void_p()
