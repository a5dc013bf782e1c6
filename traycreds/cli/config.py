"""'traycreds config': the settings file's path, an editor on it, a check of every file."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys

from traycreds.adapters import paths
from traycreds.app.context import Context
from traycreds.cli.common import out
from traycreds.core.errors import ExitCode, UsageError
from traycreds.core.settings import SETTINGS_TEMPLATE


def cmd_config(args: argparse.Namespace, ctx: Context) -> int:
    path = paths.settings_file()
    if args.config_command == "path":
        out(f"{path}\n")
        return 0
    if args.config_command == "check":
        problems = ctx.catalog.problems
        for problem in problems:
            out(f"{problem.describe()}\n")
        if not problems:
            out(f"No problems in {paths.aws_config_file()} or {path}.\n")
        return int(ExitCode.CONFIG) if problems else 0
    if not path.exists():
        from traycreds.adapters.atomic import write_atomic

        write_atomic(path, SETTINGS_TEMPLATE)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if editor:
        try:
            return subprocess.call(editor_command(editor, str(path)))
        except (FileNotFoundError, ValueError) as error:
            name = "VISUAL" if os.environ.get("VISUAL") else "EDITOR"
            raise UsageError(f"Cannot start the editor in ${name} ({editor}): {error}. Fix "
                             f"${name}, or open {path} yourself.") from None
    opener = {"win32": ["notepad"], "darwin": ["open", "-t"]}.get(sys.platform, ["xdg-open"])
    try:
        return subprocess.call([*opener, str(path)])
    except FileNotFoundError:
        raise UsageError(f"No editor found. Set $EDITOR, or open {path} yourself.") from None


def editor_command(editor: str, path: str, platform: str = sys.platform) -> list[str] | str:
    """How to run $EDITOR on ``path``. A value that names a program file as a whole is that
    program (``C:\\Program Files\\Notepad++\\notepad++.exe``, spaces and all). Otherwise it
    is a command prefix: on Windows a command line as CreateProcess reads it (backslashes
    are path separators, quotes group), so the path is appended in Windows' quoting; on
    POSIX it is split as a shell would (``code --wait``)."""
    if os.path.isfile(editor):
        return [editor, path]
    if platform == "win32":
        return f"{editor} {subprocess.list2cmdline([path])}"
    return [*shlex.split(editor), path]

