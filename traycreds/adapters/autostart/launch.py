"""What to start at login (and from the application menu): this traycreds' tray."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from traycreds.adapters.autostart.base import APP, AutostartError

# The windowed executable of the Windows bundle (installer/traycreds.spec): no console window.
WINDOWED_EXE = "traycredsw.exe"


def windows_bundle(executable: Path) -> Path | None:
    """The folder of the Windows bundle (installer/build-windows.sh) whose interpreter is
    ``executable`` (``<bundle>\\python\\python[w].exe``, the launchers beside ``python\\``),
    None for any other Python."""
    bundle = executable.parent.parent
    if executable.parent.name.casefold() == "python" and (bundle / WINDOWED_EXE).is_file() \
            and (bundle / f"{APP}.exe").is_file():
        return bundle
    return None


def launch_command(*, platform: str | None = None, executable: str | None = None,
                   frozen: bool | None = None,
                   which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """The absolute command that starts this traycreds' tray.

    A PyInstaller bundle: its own executable (on Windows the windowed one beside it). The
    Windows bundle of installer/build-windows.sh (the interpreter in ``<bundle>\\python\\``,
    the launchers beside that folder): its windowed launcher, as the installer writes it.
    Windows from Python: pythonw (no console window) ``-m traycreds``. Elsewhere the ``traycreds``
    script of this installation (beside the interpreter, as pipx and venvs put it), else the
    one on PATH, else ``python -m traycreds``.
    """
    platform = sys.platform if platform is None else platform
    executable = sys.executable if executable is None else executable
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    if not executable:
        raise AutostartError("No Python interpreter or traycreds executable is known, so "
                             "there is nothing to start at login.")
    exe = Path(executable)
    if frozen:
        if platform == "win32" and (exe.parent / WINDOWED_EXE).is_file():
            return [str(exe.parent / WINDOWED_EXE), "tray"]
        return [str(exe), "tray"]
    if platform == "win32":
        bundle = windows_bundle(exe)
        if bundle is not None:
            return [str(bundle / WINDOWED_EXE), "tray"]
        pythonw = exe.with_name("pythonw.exe")
        return [str(pythonw if pythonw.is_file() else exe), "-m", APP, "tray"]
    beside = exe.parent / APP
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside), "tray"]
    found = which(APP)
    if found:
        return [os.path.abspath(found), "tray"]
    return [str(exe), "-m", APP, "tray"]
