"""Commands about installing traycreds rather than using it: start at login, the Linux
menu entry, ``doctor`` and ``uninstall-data`` (the Windows uninstaller's clean-up).

main.py adds ``add_parsers(sub)`` to its subcommands and dispatches through ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from traycreds.adapters import paths
from traycreds.app.context import Context
from traycreds.cli.common import tray_front
from traycreds.core.errors import ExitCode, TraycredsError, UsageError

log = logging.getLogger(__name__)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("autostart", help="start the tray at login: on, off or status")
    p.add_argument("action", nargs="?", choices=("on", "off", "status"), default="status")
    p = sub.add_parser("install-desktop-entry",
                       help="add traycreds and its icon to the application menu (Linux)")
    p.add_argument("--remove", action="store_true", help="remove them instead")
    sub.add_parser("doctor", help="print what a bug report needs: versions, backends, paths "
                                  "(no keys or secrets)")
    p = sub.add_parser("uninstall-data",
                       help="delete traycreds' stored keys, settings, logs and start-at-login "
                            "entry (before uninstalling; ~/.aws files are left alone)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


# --- autostart ------------------------------------------------------------------------------


def cmd_autostart(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.adapters.autostart import for_platform

    autostart = for_platform()
    if args.action == "on":
        state = autostart.enable()
        _out(f"traycreds will start at login: {state.where}\n  runs: {state.command}\n")
    elif args.action == "off":
        before = autostart.status()
        removed = autostart.disable()
        _out(f"traycreds will not start at login (removed {before.where}).\n" if removed
             else f"traycreds was not set to start at login ({before.where}).\n")
    else:
        _out(f"start at login: {autostart.status().describe()}\n")
    return 0


# --- the Linux application menu -------------------------------------------------------------


def cmd_install_desktop_entry(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.adapters import desktop_entry

    if not sys.platform.startswith("linux"):
        raise UsageError("The desktop entry is for Linux desktops. On Windows the installer "
                         "adds traycreds to the Start menu; on macOS start it from a terminal "
                         "or at login with 'traycreds autostart on'.")
    if args.remove:
        removed = desktop_entry.remove_desktop_entry()
        _out("".join(f"Removed {path}\n" for path in removed) or
             "No traycreds launcher was installed.\n")
        return 0
    installed = desktop_entry.install_desktop_entry(tray_front(args).write_icon_png)
    _out(f"Added traycreds to the application menu:\n  {installed.launcher}\n"
         f"  {installed.icon}\nTo start it at login as well: traycreds autostart on\n")
    return 0


# --- doctor ---------------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.cli import doctor

    _out(doctor.render(doctor.report(ctx)))
    return 0


# --- uninstall-data -------------------------------------------------------------------------


def _owned_folder(path: Path) -> bool:
    """A folder traycreds made for itself (named traycreds, or directly inside one): the only
    kind removed whole, so an odd setting can never delete a folder of the user's."""
    return path.name.lower() == "traycreds" or path.parent.name.lower() == "traycreds"


def _close_log_file() -> None:
    """This command logs into the folder it deletes; Windows cannot delete an open file."""
    logger = logging.getLogger("traycreds")
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)


def _confirm(things: list[str]) -> None:
    if not sys.stdin.isatty():
        raise UsageError("Add --yes to delete traycreds' keys and settings without a prompt.")
    sys.stderr.write("This deletes, for this user:\n" + "".join(f"  {t}\n" for t in things)
                     + "Continue? [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        from traycreds.core.errors import CancelledError

        raise CancelledError("Nothing was deleted.")


def _remove_keys(ctx: Context) -> list[str]:
    """Each indexed key from the keyring; returns the names that could not be removed."""
    index = ctx.keys.index()
    left: list[str] = []
    for name in sorted(index):
        try:
            ctx.keys.remove(name)
            _out(f"Removed key {name!r} from the keyring.\n")
        except TraycredsError as error:
            sys.stderr.write(f"traycreds: could not remove key {name!r}: {error.message}\n")
            left.append(name)
    return left


def _remove_login_items() -> None:
    from traycreds.adapters import autostart, desktop_entry

    try:
        item = autostart.for_platform()
        where = item.status().where
        if item.disable():
            _out(f"Removed {where} (start at login).\n")
        if sys.platform.startswith("linux"):
            for path in desktop_entry.remove_desktop_entry():
                _out(f"Removed {path}\n")
    except TraycredsError as error:
        sys.stderr.write(f"traycreds: {error.title}: {error.message}\n")


def _remove(path: Path) -> bool:
    if path.is_dir() and not path.is_symlink():
        if not _owned_folder(path):
            return False
        shutil.rmtree(path)
    else:
        path.unlink()
    _out(f"Removed {path}\n")
    return True


def _settings_targets() -> list[Path]:
    settings = paths.settings_file()
    if _owned_folder(settings.parent):  # the default place: the folder holds only ours
        return [settings.parent]
    return [settings]  # TRAYCREDS_SETTINGS elsewhere: that file only


def _data_targets() -> list[Path]:
    targets = [*_settings_targets(), paths.data_dir()]
    logs = paths.log_dir()
    # ~/.local/state/traycreds/log: remove the app's state folder, not just the log folder
    targets.append(logs.parent if logs.parent.name.lower() == "traycreds" else logs)
    unique = list(dict.fromkeys(targets))
    # On Windows the log folder is inside the data folder: remove each tree once.
    return [path for path in unique if not any(other in path.parents for other in unique)]


def cmd_uninstall_data(args: argparse.Namespace, ctx: Context) -> int:
    from traycreds.channel.client import is_running

    if is_running(timeout=2.0):
        raise UsageError("traycreds is running: quit it (its menu, Quit) and run this again.",
                         title="traycreds is running")
    targets = _data_targets()
    if not args.yes:
        _confirm(["every access key traycreds stored in the keyring",
                  "start at login and the menu entry", *map(str, targets)])
    left = _remove_keys(ctx) if ctx.keys.index() else []
    _remove_login_items()
    _close_log_file()
    failed = False
    for path in targets:
        if left and path == paths.data_dir():
            sys.stderr.write(f"traycreds: kept {path}: it lists the keys still in the "
                             f"keyring ({', '.join(left)}).\n")
            continue
        try:
            if path.exists() or path.is_symlink():
                _remove(path)
        except OSError as exc:
            sys.stderr.write(f"traycreds: could not remove {path}: {exc.strerror or exc}\n")
            failed = True
    _out(f"Your AWS files ({paths.aws_config_file()}, {paths.aws_credentials_file()}) were "
         "not changed: profiles that call traycreds (credential_process) and sections it "
         "wrote stay until you remove them.\n")
    if left:
        return int(ExitCode.KEYRING)
    return int(ExitCode.FILE) if failed else 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Context], int]] = {
    "autostart": cmd_autostart,
    "install-desktop-entry": cmd_install_desktop_entry,
    "doctor": cmd_doctor,
    "uninstall-data": cmd_uninstall_data,
}
