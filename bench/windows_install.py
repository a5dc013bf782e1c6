"""The Windows installer under wine: its size, a silent install's time, and the installed
app's start to icon docked, beside the same tray run pip-style from this checkout.

Run through its .sh, which makes a throw-away copy of the Windows lane's wine prefix (32-bit
support, win10) and Windows CPython, and an X display of its own (xvfb-run):

    bash bench/windows_install.sh [--runs N] [--json FILE] [--setup PATH]

In that display this script starts trayer (wine's explorer docks Shell_NotifyIcon icons into
it through XEmbed) and keeps one wineserver up for the whole run (``wineserver -p``), so that
every start pays for its own processes, not for booting wine. Then:

- **install**: ``setup.exe /VERYSILENT /SUPPRESSMSGBOXES /CURRENTUSER``, timed from spawn to
  exit; the installed folder (``%LOCALAPPDATA%\\Programs\\traycreds``) is sized and counted.
- **start to icon docked**, per variant, one first start after the install (shown as
  "first", not in the median) then N rounds, the variant that goes first rotating per round:
  perf_counter from spawning ``wine64 PROGRAM ARGS`` (under script(1), see Session.spawn) to
  a new viewable window, at least 16 px wide, inside trayer's ``panel`` (polled every 20 ms
  through python-xlib in this process; deadline 120 s). Then the variant's own ``quit``
  command ends it, and the next start waits until the icon has left the panel.

Variants:

- ``installed``: ``traycredsw.exe tray`` from the install folder (distlib's windowed
  launcher, then the bundle's pythonw.exe);
- ``pip-style``: ``pythonw.exe -m traycreds tray`` on the lane's Windows CPython, with a copy
  of this checkout's ``traycreds`` package on its path beside the dependencies in its
  ``site`` folder, as ``pip install traycreds`` would lay it out (pythonw.exe, not python.exe:
  a pip install's GUI entry point starts pythonw.exe);
- ``pyinstaller``: ``dist/traycreds/traycredsw.exe tray`` when that build exists.

No roles, no keys: TRAYCREDS_SETTINGS, TRAYCREDS_RUNTIME_DIR and the AWS files point into the
throw-away folder, so no real configuration is read. (LOCALAPPDATA, the apps' logs, cannot be
moved: wine sets it from the prefix's user profile over the Unix environment; that profile
is in the throw-away prefix too.)
Standard library plus python-xlib (the repo's .venv).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
from common import REPO, die, report_head, say, table, write_json

DOCK_TIMEOUT_S = 120.0
POLL_S = 0.020
QUIT_TIMEOUT_S = 60.0
MIB = 1024 * 1024

WINE = os.environ.get("BENCH_WINE", "/usr/lib/wine/wine64")
WINESERVER = os.environ.get("BENCH_WINESERVER", "/usr/lib/wine/wineserver64")


def win_path(path: Path) -> str:
    """The Windows name wine gives a Linux path (its Z: drive is /)."""
    return "Z:" + str(path).replace("/", "\\")


def app_version() -> str:
    text = (REPO / "traycreds" / "__init__.py").read_text()
    found = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M)
    return found.group(1) if found else "0"


def folder_size(root: Path) -> tuple[float, int]:
    total, files = 0, 0
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            files += 1
    return total / MIB, files


# --- trayer's panel -------------------------------------------------------------------------


class Panel(common.Panel):
    """trayer's ``panel`` window. Wine's icons are windows of wine's explorer, not of the
    app's process, so bench/common.py's pid match does not apply: an icon is a new viewable
    window of icon size among the panel's descendants (trayer keeps a 1x1 child of its own)."""

    def icons(self) -> list[int]:
        """The ids of the viewable windows of icon size docked in the panel."""
        ids = []
        for window in self._descendants(self.window):
            try:
                if window.get_attributes().map_state != self._X.IsViewable:
                    continue
                if window.get_geometry().width >= 16:
                    ids.append(window.id)
            except self._errors:
                continue
        return ids


# --- the session ----------------------------------------------------------------------------


@dataclass
class Variant:
    name: str
    start: list[str]  # after WINE
    quit: list[str]  # after WINE, run under script(1)
    first_s: float | None = None
    runs_s: list[float] = field(default_factory=list)


class Session:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.logs = Path(os.environ.get("BENCH_LOGS") or work / "logs")
        self.logs.mkdir(parents=True, exist_ok=True)
        user_root = work / "user"
        (user_root / "aws").mkdir(parents=True)
        (user_root / "aws" / "config").write_text("[default]\nregion = us-east-1\n")
        for name in ("local", "runtime"):
            (user_root / name).mkdir()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AWS_", "TRAYCREDS_"))}
        self.env.update(
            TRAYCREDS_SETTINGS=win_path(user_root / "local" / "settings.toml"),
            TRAYCREDS_RUNTIME_DIR=win_path(user_root / "runtime"),
            AWS_CONFIG_FILE=win_path(user_root / "aws" / "config"),
            AWS_SHARED_CREDENTIALS_FILE=win_path(user_root / "aws" / "credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            # Nothing is listening there: a stray STS call would fail fast, not reach AWS.
            AWS_ENDPOINT_URL_STS="http://127.0.0.1:9")
        self.trayer: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.logs / "trayer.log", "wb") as log:
            self.trayer = subprocess.Popen(
                ["trayer", "--edge", "top", "--align", "left", "--widthtype", "request",
                 "--height", "32", "--transparent", "false", "--SetDockType", "false",
                 "--SetPartialStrut", "false"], stdout=log, stderr=subprocess.STDOUT)
        # One wineserver for the whole run, and wine's explorer (the tray's host) up.
        subprocess.run([WINESERVER, "-p"], check=True)
        subprocess.run([WINE, "cmd", "/c", "exit"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)

    def stop(self) -> None:
        subprocess.run([WINESERVER, "-k"], check=False)
        if self.trayer is not None:
            self.trayer.terminate()
            self.trayer.wait(10)

    def spawn(self, argv: list[str], log: str) -> subprocess.Popen[bytes]:
        """``wine64 ARGV`` under script(1), as the quit command: without a terminal, wine
        gives the program standard handles Python cannot use (init_sys_streams: Invalid
        handle), even pythonw.exe behind the launcher."""
        command = " ".join(_quote(a) for a in [WINE, *argv])
        with open(self.logs / log, "ab") as out:
            return subprocess.Popen(["script", "-qec", command, "/dev/null"], env=self.env,
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT)

    def in_terminal(self, argv: list[str], timeout: float) -> int:
        """``wine64 ARGV`` under script(1): python.exe needs a terminal under wine."""
        command = " ".join(_quote(a) for a in [WINE, *argv])
        with open(self.logs / "quit.log", "ab") as out:
            return subprocess.run(["script", "-qec", command, "/dev/null"], env=self.env,
                                  stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout).returncode


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(POLL_S)
    return False


def start_to_icon(session: Session, panel: Panel, variant: Variant) -> float:
    if not wait_until(lambda: not panel.icons(), 30):
        die(f"an icon is still docked before starting {variant.name}: {panel.icons()}")
    begin = time.perf_counter()
    process = session.spawn(variant.start, f"{variant.name}.log")
    deadline = begin + DOCK_TIMEOUT_S
    elapsed = None
    while time.perf_counter() < deadline:
        if panel.icons():
            elapsed = time.perf_counter() - begin
            break
        if process.poll() is not None:
            die(f"{variant.name} exited {process.returncode} before its icon docked "
                f"(log: {session.logs / (variant.name + '.log')})")
        time.sleep(POLL_S)
    if elapsed is None:
        process.kill()
        die(f"{variant.name}: no icon docked in trayer within {DOCK_TIMEOUT_S:.0f} s")
    time.sleep(0.5)  # let it finish its start before asking it to quit
    session.in_terminal(variant.quit, QUIT_TIMEOUT_S)
    try:
        process.wait(QUIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        die(f"{variant.name} did not exit within {QUIT_TIMEOUT_S:.0f} s of its quit command")
    return elapsed


def install(session: Session, setup: Path) -> float:
    begin = time.perf_counter()
    result = subprocess.run(
        [WINE, str(setup), "/VERYSILENT", "/SUPPRESSMSGBOXES", "/CURRENTUSER", "/NORESTART",
         "/LOG=" + win_path(session.logs / "setup.log")],
        env=session.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, timeout=600)
    elapsed = time.perf_counter() - begin
    if result.returncode != 0:
        die(f"setup exited {result.returncode} (log: {session.logs / 'setup.log'})")
    return elapsed


def pip_style_python(work: Path) -> Path:
    """The lane's CPython with a copy of the checkout's package on its path."""
    python = work / "python"
    lib = work / "peer-lib"
    shutil.copytree(REPO / "traycreds", lib / "traycreds",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for pth in python.glob("python3*._pth"):
        zipname = pth.stem + ".zip"
        pth.unlink()  # a hard link into the lane's cache: replace, do not write through
        pth.write_text("\r\n".join([zipname, ".", "site", win_path(lib), "import site", ""]))
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--setup", type=Path,
                        default=REPO / "dist" / f"traycreds-{app_version()}-setup.exe")
    args = parser.parse_args()
    if not args.setup.is_file():
        die(f"{args.setup} not found: run bash installer/build-windows.sh")
    work = Path(os.environ.get("BENCH_WORK") or tempfile.mkdtemp(prefix="tc-wininst-"))
    load_before = os.getloadavg()
    session = Session(work)
    session.start()
    try:
        panel = Panel()
        say(f"installing {args.setup.name} silently")
        install_s = install(session, args.setup)
        user = os.environ.get("USER") or "root"
        folder = (Path(os.environ["WINEPREFIX"]) / "drive_c" / "users" / user / "AppData" /
                  "Local" / "Programs" / "traycreds")
        if not (folder / "traycredsw.exe").is_file():
            die(f"no traycredsw.exe in {folder} after the install")
        installed_mib, installed_files = folder_size(folder)
        python = pip_style_python(work)
        variants = [
            Variant("installed", [str(folder / "traycredsw.exe"), "tray"],
                    [str(folder / "traycreds.exe"), "quit"]),
            Variant("pip-style", [str(python / "pythonw.exe"), "-m", "traycreds", "tray"],
                    [str(python / "python.exe"), "-m", "traycreds", "quit"]),
        ]
        pyinstaller = REPO / "dist" / "traycreds" / "traycredsw.exe"
        if pyinstaller.is_file():
            variants.append(Variant("pyinstaller", [str(pyinstaller), "tray"],
                                    [str(pyinstaller.with_name("traycreds.exe")), "quit"]))
        else:
            say(f"no {pyinstaller.relative_to(REPO)}: the PyInstaller variant is left out")
        for variant in variants:
            say(f"{variant.name}: first start")
            variant.first_s = start_to_icon(session, panel, variant)
        for round_index in range(args.runs):
            shift = round_index % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                variant.runs_s.append(start_to_icon(session, panel, variant))
            say(f"round {round_index + 1}/{args.runs}: " + ", ".join(
                f"{v.name} {v.runs_s[-1] * 1000:.0f} ms" for v in variants))
    finally:
        session.stop()

    wine_version = subprocess.run([WINE, "--version"], capture_output=True, text=True,
                                  check=False).stdout.strip()
    print(report_head("Windows installer under wine", load_before,
                      {"wine": wine_version, "installer": args.setup.name,
                       "runs": f"{args.runs} per variant after one first start, interleaved"}))
    print()
    base = statistics.median(variants[0].runs_s)
    print(table(["start to icon docked (wine, Xvfb, trayer)", "first, ms", "median, ms",
                 "min, ms", "max, ms", "vs installed"],
                [[v.name, f"{(v.first_s or 0) * 1000:.0f}",
                  f"{statistics.median(v.runs_s) * 1000:.0f}", f"{min(v.runs_s) * 1000:.0f}",
                  f"{max(v.runs_s) * 1000:.0f}", f"{statistics.median(v.runs_s) / base:.2f}x"]
                 for v in variants]))
    print()
    setup_mib = args.setup.stat().st_size / MIB
    print(table(["installer", "value"], [
        [f"{args.setup.name} size", f"{setup_mib:.1f} MiB"],
        ["installed folder", f"{installed_mib:.1f} MiB, {installed_files} files"],
        ["silent install (/VERYSILENT /CURRENTUSER), spawn to exit", f"{install_s:.1f} s"],
    ]))
    write_json(args.json, {
        "setup_mib": setup_mib, "installed_mib": installed_mib,
        "installed_files": installed_files, "install_s": install_s,
        "variants": {v.name: {"first_s": v.first_s, "runs_s": v.runs_s} for v in variants}})


if __name__ == "__main__":
    main()
