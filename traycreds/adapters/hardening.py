"""Keep a process that holds secrets from leaving them in a core dump.

``disable_core_dumps()`` sets RLIMIT_CORE to 0 (soft and hard: it cannot be raised again);
cheap enough for every ``credential_process`` call (``resource`` is a small builtin module).
``harden_process()`` also clears Linux's "dumpable" flag (PR_SET_DUMPABLE 0): no core file
whatever the limit or ``core_pattern`` pipe says, and other processes of the same user can no
longer ptrace it or read its /proc/PID/mem and environ. It loads ctypes and libc, about
2 ms, so the tray and the full command line do it, not the fast path.

Both are best effort: a system that refuses (a sandbox without prctl) leaves the process as
it was, which is what every process was before.
"""

from __future__ import annotations

import sys

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4


def disable_core_dumps() -> bool:
    """RLIMIT_CORE (0, 0). False where it could not be set (Windows has no core dumps)."""
    if sys.platform == "win32":
        return False
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        return False
    return True


def harden_process() -> None:
    """No core dumps, and on Linux not dumpable at all (see the module's docstring)."""
    disable_core_dumps()
    if sys.platform.startswith("linux"):
        _prctl(PR_SET_DUMPABLE, 0)


def dumpable() -> bool | None:
    """Linux's dumpable flag of this process (PR_GET_DUMPABLE); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    result = _prctl(PR_GET_DUMPABLE, 0)
    return None if result < 0 else bool(result)


def _prctl(option: int, value: int) -> int:
    """prctl(2) through libc; -1 when libc or the call is not available."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return -1
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    result: int = prctl(option, value, 0, 0, 0)
    return result
