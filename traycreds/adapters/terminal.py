"""Opening a new shell window (cmd.exe, PowerShell, the desktop's terminal) with an environment.

The environment is the only thing that carries the role's endpoint and token: the command
line holds the program, a title and the shell, all visible to every process of the machine
(/proc/PID/cmdline, the Windows process list). The title names the role so two windows of
two roles are told apart; it is reduced to plain characters, because on Windows it passes
through cmd's and PowerShell's own parsers.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping

from traycreds.core.errors import TraycredsError

_UNSAFE = re.compile(r"[^\w .,@+=:()-]")
_MAX_TITLE = 80
# How each terminal takes a title and a program to run, by its executable's name. The rest
# follow xterm, as Debian's policy requires of x-terminal-emulator: -T TITLE -e PROGRAM.
_TITLE_AND_PROGRAM: dict[str, tuple[str, ...]] = {
    "gnome-terminal": ("--title", "{title}", "--"),
    "kgx": ("--title", "{title}", "--"),
    "konsole": ("-p", "tabtitle={title}", "-e"),
    "xfce4-terminal": ("--title", "{title}", "-x"),
    "kitty": ("--title", "{title}"),
    "foot": ("--title", "{title}"),
    "alacritty": ("--title", "{title}", "-e"),
    "wezterm": ("start", "--"),
    "zutty": ("-title", "{title}", "-e"),
}
_XTERM_STYLE = ("-T", "{title}", "-e")


class TerminalError(TraycredsError):
    def __init__(self, message: str) -> None:
        super().__init__(message, title="Cannot open a window")


def safe_title(text: str) -> str:
    """``text`` with only letters, digits and plain punctuation: no quote, &, |, %, ^, $."""
    return _UNSAFE.sub("_", text)[:_MAX_TITLE]


def open_window(kind: str, title: str, env: Mapping[str, str]) -> None:
    """A new window of ``kind`` (cmd, powershell, terminal) titled ``title``, running with
    exactly ``env``. Returns once it is started; raises TerminalError if it cannot be."""
    argv, flags = window_command(kind, safe_title(title), env)
    try:
        if sys.platform == "win32":  # its own console: no handle of ours redirected
            child = subprocess.Popen(argv, env=dict(env), creationflags=flags)
        else:  # the window outlives a tray that quits; no terminal's output in our log
            child = subprocess.Popen(argv, env=dict(env), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
    except OSError as error:
        raise TerminalError(f"{argv[0]} could not be started ({error.strerror}).") from None
    if sys.platform != "win32":  # reap it when it closes: no zombie for the tray's lifetime
        threading.Thread(target=child.wait, daemon=True, name="traycreds-window").start()


def window_command(kind: str, title: str,
                   env: Mapping[str, str]) -> tuple[list[str] | str, int]:
    """The command line and creation flags for a window; ``title`` is already safe."""
    if kind in ("cmd", "powershell"):
        if sys.platform != "win32":
            raise TerminalError(f"{kind} windows open on Windows only.")
        flags: int = getattr(subprocess, "CREATE_NEW_CONSOLE", 0x10)
        return _windows_command(kind, title), flags
    if kind != "terminal":
        raise TerminalError(f"Unknown kind of window {kind!r}.")
    if sys.platform == "darwin":
        raise TerminalError("Opening a Terminal window as a role is not supported on macOS "
                            "yet. Run 'traycreds exec ROLE -- $SHELL' in a Terminal instead.")
    return terminal_argv(title, env), 0


def _windows_command(kind: str, title: str) -> str:
    # A string, not a list: cmd parses its own command line, and no quoting is needed for
    # a title of plain characters. The program is System32's, not one found on PATH.
    system = os.path.join(os.environ.get("SYSTEMROOT", r"C:\Windows"), "System32")
    if kind == "cmd":
        return f'"{os.path.join(system, "cmd.exe")}" /k title {title}'
    powershell = os.path.join(system, "WindowsPowerShell", "v1.0", "powershell.exe")
    return (f'"{powershell}" -NoExit -NoLogo -Command '
            f"\"$Host.UI.RawUI.WindowTitle = '{title}'\"")


def terminal_argv(title: str, env: Mapping[str, str]) -> list[str]:
    """The desktop's terminal ($TERMINAL, else x-terminal-emulator) running the user's
    shell ($SHELL when it is an absolute path to a program, else /bin/sh)."""
    terminal = find_terminal(env)
    name = os.path.basename(os.path.realpath(terminal[0]))  # x-terminal-emulator -> zutty
    shell = env.get("SHELL", "")
    if not (os.path.isabs(shell) and os.access(shell, os.X_OK)):
        shell = "/bin/sh"
    options = _TITLE_AND_PROGRAM.get(name, _XTERM_STYLE)
    return [*terminal, *(option.format(title=title) for option in options), shell]


def find_terminal(env: Mapping[str, str]) -> list[str]:
    wanted = env.get("TERMINAL", "").strip()
    if wanted:
        try:
            words = shlex.split(wanted)
        except ValueError:
            words = []
        found = shutil.which(words[0], path=env.get("PATH")) if words else None
        if found is None:
            raise TerminalError(f"TERMINAL is set to {wanted!r}, which is not a program on "
                                "PATH. Set it to your terminal (for example xterm).")
        return [found, *words[1:]]
    found = shutil.which("x-terminal-emulator", path=env.get("PATH"))
    if found is None:
        raise TerminalError("No terminal found: set TERMINAL to your terminal program (for "
                            "example TERMINAL=gnome-terminal), or install one that provides "
                            "x-terminal-emulator (for example xterm).")
    return [found]
