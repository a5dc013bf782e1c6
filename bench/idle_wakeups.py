"""How often the idle tray wakes, and what CPU it uses meanwhile, from /proc counters.

Run it with ``bash bench/idle_wakeups.sh [--seconds 300]`` (a private desktop session:
Xvfb, D-Bus, gnome-keyring, dunst, trayer; see scripts/desktop-session.sh).

RESULTS of ``bash bench/idle_wakeups.sh --seconds 300`` (2026-11-28 02:13 UTC; 2 CPUs, Linux
6.18, CPython 3.11.7; load average 0.00 / 0.51 / 2.05; sampled every 10 s). The printed tables
also have a "why it wakes" column, left out here for width: see WHY below.

    A. idle, nothing held, nothing clicked: 300 s, 30 samples
    | thread (comm)   |     TID | CPU ms | ticks | wakes | wakes/min | involuntary |
    |-----------------|--------:|-------:|------:|------:|----------:|------------:|
    | main            |   16322 |    0.0 |     0 |     0 |      0.00 |           0 |
    | channel         |   16327 |    0.0 |     0 |     0 |      0.00 |           0 |
    | gmain [C]       |   16337 |    0.0 |     0 |     0 |      0.00 |           0 |
    | gdbus [C]       |   16338 |    0.0 |     0 |     0 |      0.00 |           0 |
    | scheduler       |   16339 |    0.0 |     0 |     0 |      0.00 |           0 |
    | work_0          |   16341 |    0.0 |     0 |     0 |      0.00 |           0 |
    | **process**     |         |    0.0 |     0 |     0 |      0.00 |           0 |
    scheduler passes (its own counter): 0 in 5.0 min; intervals with any wake-up: 0 of 30
    verdict: scheduler PASS (0 wake-ups); CPU PASS (0.0 ms in 300 s = 0.0000 % of one CPU)

    B. one role held (copied through the menu), countdown shown: 300 s, 30 samples
    | thread (comm)   |     TID | CPU ms | ticks | wakes | wakes/min | involuntary |
    |-----------------|--------:|-------:|------:|------:|----------:|------------:|
    | main            |   16322 |   16.7 |     1 |    25 |      5.00 |          15 |
    | scheduler       |   16339 |    3.8 |     0 |     5 |      1.00 |           4 |
    | channel         |   16327 |    0.0 |     0 |     0 |      0.00 |           0 |
    | gmain [C]       |   16337 |    0.0 |     0 |     0 |      0.00 |           0 |
    | gdbus [C]       |   16338 |    0.0 |     0 |     0 |      0.00 |           0 |
    | work_0          |   16341 |    0.0 |     0 |     0 |      0.00 |           0 |
    | **process**     |         |   20.5 |     1 |    30 |      6.00 |          19 |
    wakes per 10 s (process/scheduler): 0/0 0/0 0/0 0/0 4/1 0/0 0/0 0/0 0/0 0/0 6/1 0/0
        0/0 0/0 0/0 0/0 6/1 0/0 0/0 0/0 0/0 0/0 7/1 0/0 0/0 0/0 0/0 0/0 7/1 0/0
    scheduler passes (its own counter): 5 in 5.0 min (1.00/min); intervals with any
        wake-up: 5 of 30 (one a minute: every thread's wakes fall in the scheduler's interval)
    verdict: scheduler PASS (5 wake-ups, at most 6 allowed); CPU PASS (20.5 ms in 300 s =
        0.0068 % of one CPU, limit 0.1 %)

    C. after About was opened and closed (one role still held): 60 s, 6 samples
    | thread (comm)   |     TID | CPU ms | ticks | wakes | wakes/min | involuntary |
    |-----------------|--------:|-------:|------:|------:|----------:|------------:|
    | dialogs [C]     |   22093 |   43.1 |     3 |  4357 |   4356.91 |           1 |
    | dialogs         |   22092 |  267.8 |    28 |  1192 |   1191.98 |        4168 |
    | main            |   16322 |    2.7 |     0 |     5 |      5.00 |           2 |
    | scheduler       |   16339 |    0.4 |     0 |     1 |      1.00 |           0 |
    | channel         |   16327 |    0.0 |     0 |     0 |      0.00 |           0 |
    | gmain [C]       |   16337 |    0.0 |     0 |     0 |      0.00 |           0 |
    | gdbus [C]       |   16338 |    0.0 |     0 |     0 |      0.00 |           0 |
    | work_0          |   16341 |    0.0 |     0 |     0 |      0.00 |           0 |
    | **process**     |         |  314.0 |    31 |  5555 |   5554.89 |        4171 |
    wakes per 10 s (process/scheduler): 934/0 913/0 921/0 921/0 941/1 925/0
    verdict: scheduler PASS (1 wake-up); CPU MISS (314.0 ms in 60 s = 0.5234 % of one CPU)
    [C]: not a Python thread (started by GLib or Tcl; named by it or after its creator).

What the numbers say:

- Idle with nothing held (A), no thread of the tray woke at all in five minutes: no polling
  anywhere; GTK's main loop, GLib's gmain/gdbus threads, the channel's accept thread, the
  service's worker and the scheduler all sleep until something happens.
- With a role held (B) the scheduler woke once a minute (its own counter: 5 passes in 5 min),
  for the countdown in the menu and tooltip. Each pass hands the redraw (icon, title, menu)
  to GTK's main loop through idle_add, hence main's ~5 wakes per pass; all of them fall in
  the scheduler's 10 s interval, so the process as a whole wakes once a minute, for about
  4 ms of CPU each time (0.007 % of one CPU).
- The dialogs' UI thread is started lazily, on the first dialog, so A and B do not have it.
  Once any dialog (About, MFA, Add key, Settings) has been opened, it stays, polling its
  queue with ``after(50)`` for the rest of the tray's life (C): ~1,190 wakes a minute, plus
  ~4,360 of Tcl's notifier thread that each poll drives: ~92 wake-ups a second and 0.5 % of
  a CPU while no window is open. That is traycreds/tray/dialogs.py (POLL_MS = 50), outside
  this benchmark's fix; the cure is to wake Tk only when a request is queued (e.g.
  ``event_generate`` of a virtual event from the worker thread, which threaded Tcl allows,
  or a pipe with ``createfilehandler``), or to end the UI thread when its last window closes.

What it does:

1. Starts a local STS (moto's server, IAM auth enforced: tests/support/stsserver.py), an IAM
   user with one access key and a role it may assume; writes ``~/.aws/config`` with that role
   (``[profile idle-bench]``, reaching moto through ``endpoint_url``) and stores the key in
   the keyring with ``traycreds keys add`` (the real command, checked against the STS).
2. Starts the real tray, ``python -m traycreds tray``, through a small launcher that changes
   nothing in its behaviour: each Python thread gets its name as its Linux thread name
   (``prctl(PR_SET_NAME)`` once, as the thread starts: "scheduler", "work_0", "channel"...; the
   main thread, which runs GTK's main loop, is "main"), and SIGUSR1 makes it write the
   scheduler's own ``wakeups`` counter and what it tracks to a file (read only at the phase
   boundaries, outside the measured windows). Waits until its icon is docked in trayer.
3. Measures, sampling ``/proc/PID/task/*/{stat,status,schedstat,comm}`` every ``--interval``
   seconds (default 10):

   A. idle: nothing held, nothing clicked (``--seconds``, default 300).
   B. one role held: the role is copied the way a person does it, with xdotool (right-click
      the icon in trayer's panel, Down to the role, Right, Down Down, Return on "Copy for
      bash/zsh"; checked on the clipboard), so its countdown shows in the menu and tooltip.
      Measured for ``--seconds`` once the clipboard clear (``clipboard_clear_seconds = 5`` in
      the bench's settings) has happened.
   C. after a dialog (``--dialog-seconds``, default 60; 0 skips): About opened from the menu
      and closed again, to show what the dialogs' UI thread does once it exists.

4. Quits the tray over its local channel and prints one table per phase.

Reading the tables: "wakes" is a thread's voluntary context switches, i.e. how many times it
blocked and was woken (a wake-up can cost more than one when the woken thread waits again
briefly, e.g. for the GIL). "CPU ms" is from schedstat (nanoseconds of run time), which sees
what the 10 ms tick counts of /proc/PID/stat (also shown, as "ticks") round away. "scheduler
passes" is the scheduler's own counter of the times it woke. The verdict: the scheduler wakes
at most once a minute (plus one at the phase's start), and the whole process uses under 0.1 %
of one CPU over the window.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.support.stsserver import MotoSts  # noqa: E402

ROLE = "idle-bench"
SOURCE = "idle-bench-key"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The launcher: `python -m traycreds tray`, with thread names for /proc and a SIGUSR1 dump.
LAUNCHER = r"""
import ctypes, json, os, runpy, signal, sys, threading

_libc = ctypes.CDLL(None, use_errno=True)


def _name(name):
    _libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME: this thread's comm


_bootstrap = threading.Thread._bootstrap_inner


def _named_bootstrap(self):
    _name(self.name.removeprefix("traycreds-"))
    _bootstrap(self)


threading.Thread._bootstrap_inner = _named_bootstrap
_name("main")

import traycreds.app.service as _service

_services = []
_init = _service.AppService.__init__


def _recording_init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    _services.append(self)


_service.AppService.__init__ = _recording_init


def _dump(signum, frame):
    data = {"threads": {str(t.native_id): t.name for t in threading.enumerate()}}
    if _services:
        service = _services[0]
        data["wakeups"] = service.scheduler.wakeups
        data["tracked"] = sorted(service.scheduler.planner.tracked)
        data["active"] = service.state.active
    path = os.environ["IDLE_BENCH_DUMP"]
    with open(path + ".tmp", "w") as out:
        json.dump(data, out)
    os.replace(path + ".tmp", path)


signal.signal(signal.SIGUSR1, _dump)
sys.argv = ["traycreds", "tray"]
runpy.run_module("traycreds", run_name="__main__", alter_sys=True)
"""

# Why a thread wakes, by its name (what the code and GLib do; the numbers say how often).
WHY = {
    "main": "GTK main loop: X events, redraws handed over by idle_add",
    "scheduler": "expiry scheduler: events, the countdown's minute",
    "channel": "local channel: blocks in accept()",
    "channel-request": "one channel request (short-lived)",
    "dialogs": "Tk UI thread: polls its queue every 50 ms once started",
    "gmain": "GLib worker context (GDBus, GSettings)",
    "gdbus": "GDBus connection thread",
    "dconf worker": "dconf (GSettings backend)",
    "clipboard-clea": "clipboard clear timer (one-shot)",
}


def why(name: str, python: bool) -> str:
    if not python and name == "dialogs":
        return "Tcl's notifier thread (threaded Tcl, started with Tk): woken by every UI poll"
    if name.startswith("work_"):
        return "service worker: runs clicked jobs, else blocks"
    if name.startswith("pool"):
        return "GLib thread pool"
    return WHY.get(name, "")


# -- /proc ---------------------------------------------------------------------------------------


@dataclass
class ThreadSample:
    comm: str
    ticks: int  # utime + stime, in clock ticks
    run_ns: int | None  # schedstat: time on a CPU
    voluntary: int
    involuntary: int


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def sample_thread(task: Path) -> ThreadSample | None:
    stat, status, comm = _read(task / "stat"), _read(task / "status"), _read(task / "comm")
    if stat is None or status is None or comm is None:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    schedstat = _read(task / "schedstat")
    run_ns = int(schedstat.split()[0]) if schedstat else None
    counts = dict(re.findall(r"^(\w+_ctxt_switches):\s+(\d+)$", status, re.MULTILINE))
    return ThreadSample(comm.strip(), ticks, run_ns, int(counts["voluntary_ctxt_switches"]),
                        int(counts["nonvoluntary_ctxt_switches"]))


def sample_process(pid: int) -> dict[int, ThreadSample]:
    found: dict[int, ThreadSample] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        sample = sample_thread(task)
        if sample is not None:
            found[int(task.name)] = sample
    return found


@dataclass
class Phase:
    name: str
    title: str
    seconds: float = 0.0
    first: dict[int, ThreadSample] = field(default_factory=dict)
    last: dict[int, ThreadSample] = field(default_factory=dict)
    # Per interval: voluntary switches of the whole process and of the scheduler thread.
    series: list[tuple[int, int]] = field(default_factory=list)
    dump_before: dict[str, Any] = field(default_factory=dict)
    dump_after: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def measure(pid: int, phase: Phase, seconds: float, interval: float) -> None:
    say(f"phase {phase.name}: measuring for {seconds:.0f} s ({phase.title})")
    start = time.monotonic()
    phase.first = sample_process(pid)
    previous = phase.first
    seen = dict(phase.first)
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        time.sleep(min(interval, seconds - elapsed))
        current = sample_process(pid)
        if not current:
            raise SystemExit("idle_wakeups: the tray exited during the measurement")
        total = sum(s.voluntary - previous[t].voluntary for t, s in current.items()
                    if t in previous)
        total += sum(s.voluntary for t, s in current.items() if t not in previous)
        sched = sum(s.voluntary - previous[t].voluntary for t, s in current.items()
                    if t in previous and s.comm == "scheduler")
        phase.series.append((total, sched))
        seen.update(current)
        previous = current
    phase.seconds = time.monotonic() - start
    phase.last = {**{t: s for t, s in seen.items() if t not in previous}, **previous}


# -- the tray and its desktop ------------------------------------------------------------------


def say(message: str) -> None:
    print(f"idle_wakeups: {message}", file=sys.stderr, flush=True)


def x_tool(*argv: str) -> str:
    for _ in range(10):  # a window vanishing mid-query makes xdotool/xwininfo die BadWindow
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        if "BadWindow" not in result.stderr:
            return result.stdout
        time.sleep(0.05)
    return ""


def find_icon(pid: int) -> tuple[int, int] | None:
    """The centre of the tray's icon, docked in trayer's panel (its window has our pid)."""
    panels = x_tool("xdotool", "search", "--name", "^panel$").split()
    if not panels:
        return None
    tree = x_tool("xwininfo", "-tree", "-id", panels[0])
    for match in re.finditer(r"^\s+(0x[0-9a-f]+) ", tree, re.MULTILINE):
        window = match.group(1)
        if not x_tool("xprop", "-id", window, "_NET_WM_PID").strip().endswith(f"= {pid}"):
            continue
        info = x_tool("xwininfo", "-id", window)
        if "IsViewable" not in info:
            continue
        numbers = {key: int(value) for key, value in re.findall(
            r"(Absolute upper-left X|Absolute upper-left Y|Width|Height):\s+(-?\d+)", info)}
        if numbers.get("Width", 0) > 1:
            return (numbers["Absolute upper-left X"] + numbers["Width"] // 2,
                    numbers["Absolute upper-left Y"] + numbers["Height"] // 2)
    return None


def clipboard() -> str:
    result = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                            text=True, timeout=10, check=False)
    return result.stdout if result.returncode == 0 else ""


def menu_walk(icon: tuple[int, int], *keys: str) -> None:
    x_tool("xdotool", "mousemove", str(icon[0]), str(icon[1]), "click", "3")
    time.sleep(0.5)
    x_tool("xdotool", "key", "--delay", "150", *keys)


def hold_role_by_menu(icon: tuple[int, int], attempts: int = 5) -> bool:
    """Copy the role for bash/zsh through the menu, as a person would; True when it worked."""
    for attempt in range(1, attempts + 1):
        menu_walk(icon, "Down", "Right", "Down", "Down", "Return")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if "AWS_ACCESS_KEY_ID" in clipboard():
                return True
            time.sleep(0.2)
        say(f"copy through the menu: attempt {attempt} put nothing on the clipboard")
        x_tool("xdotool", "key", "Escape", "Escape", "Escape")
        time.sleep(2)
    return False


def open_and_close_about(icon: tuple[int, int]) -> bool:
    """About from the menu (Up: Quit, Up: About), then closed with Escape (it takes focus)."""
    menu_walk(icon, "Up", "Up", "Return")

    def about_windows() -> list[str]:
        return x_tool("xdotool", "search", "--onlyvisible", "--name", "^traycreds: About$") \
            .split()

    deadline = time.monotonic() + 15
    while not about_windows():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    time.sleep(1)  # it takes the keyboard 200 ms after it is shown
    x_tool("xdotool", "key", "Escape")
    deadline = time.monotonic() + 10
    while about_windows():
        if time.monotonic() >= deadline:
            say("About did not close on Escape")
            return True
        time.sleep(0.2)
    return True


class Tray:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.dump_path = workdir / "dump.json"
        self.log = (workdir / "tray.log").open("wb")
        env = dict(env, IDLE_BENCH_DUMP=str(self.dump_path))
        self.process = subprocess.Popen([sys.executable, "-c", LAUNCHER], env=env,
                                        cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid

    def dump(self) -> dict[str, Any]:
        self.dump_path.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.dump_path.exists():
                data: dict[str, Any] = json.loads(self.dump_path.read_text())
                return data
            time.sleep(0.05)
        say("the tray did not answer SIGUSR1 within 10 s")
        return {}

    def quit(self) -> None:
        from traycreds.channel import client

        try:
            client.request("quit", timeout=5)
            self.process.wait(timeout=10)
        except Exception as error:  # whatever went wrong, end it
            say(f"quit over the channel failed ({error}); terminating")
            self.process.terminate()
            self.process.wait(timeout=10)
        self.log.close()


def setup_user(moto: MotoSts, home: Path, env: dict[str, str]) -> None:
    user = moto.make_user()
    role_arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, role_arn)
    config = Path(env["AWS_CONFIG_FILE"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"[profile {ROLE}]\nrole_arn = {role_arn}\nsource_profile = {SOURCE}\n"
                      f"region = us-east-1\nendpoint_url = {moto.url}\n", encoding="utf-8")
    settings = Path(env["TRAYCREDS_SETTINGS"])
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("[app]\nclipboard_clear_seconds = 5\n", encoding="utf-8")
    added = subprocess.run([sys.executable, "-m", "traycreds", "keys", "add", SOURCE], env=env,
                           input=f"{user.key_id}\n{user.secret}\n", capture_output=True,
                           text=True, timeout=60, cwd=REPO_ROOT, check=False)
    if added.returncode != 0:
        raise SystemExit(f"idle_wakeups: traycreds keys add failed: {added.stderr}")


# -- the report ------------------------------------------------------------------------------------


def last_comm(label: str) -> str:
    return label.removesuffix(" (new)").removesuffix(" [C]")


def report(phase: Phase) -> str:
    minutes = phase.seconds / 60
    lines = [f"### {phase.name}. {phase.title}: {phase.seconds:.0f} s, "
             f"{len(phase.series)} samples"]
    if phase.note:
        lines.append(phase.note)
    lines += ["",
              "| thread (comm)   |     TID | CPU ms | ticks | wakes | wakes/min | "
              "involuntary | why it wakes |",
              "|-----------------|--------:|-------:|------:|------:|----------:|"
              "------------:|--------------|"]
    total_ns, total_ticks, total_wakes, total_inv = 0, 0, 0, 0
    rows = []
    python_threads = {int(tid) for dump in (phase.dump_before, phase.dump_after)
                      for tid in dump.get("threads", {})}
    for tid, last in phase.last.items():
        first = phase.first.get(tid)
        base = first or ThreadSample(last.comm, 0, 0, 0, 0)
        run_ms = ((last.run_ns or 0) - (base.run_ns or 0)) / 1e6
        ticks = last.ticks - base.ticks
        wakes = last.voluntary - base.voluntary
        involuntary = last.involuntary - base.involuntary
        total_ns += int(run_ms * 1e6)
        total_ticks += ticks
        total_wakes += wakes
        total_inv += involuntary
        python = tid in python_threads or not python_threads
        name = last.comm + ("" if python else " [C]") + ("" if first else " (new)")
        rows.append((name, tid, run_ms, ticks, wakes, involuntary, python))
    rows.sort(key=lambda row: (-row[4], row[1]))
    for name, tid, run_ms, ticks, wakes, involuntary, python in rows:
        reason = why(last_comm(name), python)
        lines.append(f"| {name:<15} | {tid:>7} | {run_ms:>6.1f} | {ticks:>5} | {wakes:>5} | "
                     f"{wakes / minutes:>9.2f} | {involuntary:>11} | {reason} |")
    share = total_ns / 1e9 / phase.seconds * 100
    lines.append(f"| **process**     |         | {total_ns / 1e6:>6.1f} | {total_ticks:>5} | "
                 f"{total_wakes:>5} | {total_wakes / minutes:>9.2f} | {total_inv:>11} | "
                 f"{share:.4f} % of one CPU |")
    before, after = phase.dump_before.get("wakeups"), phase.dump_after.get("wakeups")
    passes = None if before is None or after is None else after - before
    lines.append("")
    if any(not row[6] for row in rows):
        lines.append("[C]: not a Python thread; started by a C library (GLib, Tcl) and named by "
                     "it or after the thread that started it.")
    lines.append("wakes per interval (whole process / scheduler thread): "
                 + " ".join(f"{total}/{sched}" for total, sched in phase.series))
    if passes is not None:
        lines.append(f"scheduler passes (its own counter): {passes} in {minutes:.1f} min "
                     f"({passes / minutes:.2f}/min); tracked: "
                     f"{phase.dump_after.get('tracked')}; active: {phase.dump_after.get('active')}")
    busy = sum(1 for total, _ in phase.series if total)
    lines.append(f"intervals in which any thread woke: {busy} of {len(phase.series)} "
                 f"(a wake-up a minute touches at most {int(minutes) + 1} of them)")
    sched_wakes = sum(row[4] for row in rows if row[0].startswith("scheduler"))
    allowed = int(minutes) + 1
    ok_sched = (passes if passes is not None else sched_wakes) <= allowed
    ok_cpu = share < 0.1
    lines.append(f"verdict: scheduler {'PASS' if ok_sched else 'MISS'} "
                 f"({passes if passes is not None else sched_wakes} wake-ups, at most "
                 f"{allowed} allowed: once a minute + the start); CPU "
                 f"{'PASS' if ok_cpu else 'MISS'} ({total_ns / 1e6:.1f} ms in "
                 f"{phase.seconds:.0f} s = {share:.4f} % of one CPU, limit 0.1 %)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300,
                        help="length of phases A and B (default 300)")
    parser.add_argument("--interval", type=float, default=10, help="sampling interval (10 s)")
    parser.add_argument("--dialog-seconds", type=float, default=60,
                        help="length of phase C, after a dialog was opened (0: skip)")
    parser.add_argument("--json", type=Path, help="also write the raw phases here")
    args = parser.parse_args()
    if os.environ.get("TRAYCREDS_DESKTOP_SESSION") != "1":
        say("run me through bench/idle_wakeups.sh (a private desktop session)")
        return 2
    for tool in ("xdotool", "xwininfo", "xprop", "xclip"):
        if shutil.which(tool) is None:
            say(f"{tool} not found (scripts/test.sh installs it)")
            return 2

    artifacts = Path(os.environ.get("TRAYCREDS_ARTIFACTS") or REPO_ROOT / "artifacts")
    workdir = artifacts / "idle-bench"  # the tray's own output stays here
    workdir.mkdir(parents=True, exist_ok=True)
    home = Path(os.environ["HOME"])  # a fresh one, from desktop-session.sh
    moto = MotoSts.start(artifacts / "moto")
    tray: Tray | None = None
    phases: list[Phase] = []
    try:
        env = dict(os.environ, AWS_CONFIG_FILE=str(home / ".aws" / "config"),
                   AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
                   AWS_ENDPOINT_URL_STS=moto.url, AWS_EC2_METADATA_DISABLED="true",
                   TRAYCREDS_SETTINGS=str(home / "traycreds-settings.toml"))
        os.environ.update(env)  # the channel client (quit) finds the tray the same way
        setup_user(moto, home, env)
        tray = Tray(env, workdir)
        icon = None
        deadline = time.monotonic() + 30
        while icon is None and time.monotonic() < deadline:
            if tray.process.poll() is not None:
                raise SystemExit(f"idle_wakeups: the tray exited; see {workdir / 'tray.log'}")
            icon = find_icon(tray.pid)
            time.sleep(0.2)
        if icon is None:
            raise SystemExit("idle_wakeups: the tray's icon did not dock within 30 s")
        say(f"tray pid {tray.pid} docked at {icon}; letting start-up finish")
        time.sleep(10)  # roles, boto3 and the keyring load in the background

        idle = Phase("A", "idle, nothing held, nothing clicked")
        idle.dump_before = tray.dump()
        measure(tray.pid, idle, args.seconds, args.interval)
        idle.dump_after = tray.dump()
        phases.append(idle)

        held = Phase("B", "one role held (copied through the menu), countdown shown")
        if hold_role_by_menu(icon):
            held.note = ("The role was copied for bash/zsh through the menu (xdotool), so it is "
                         "the active role: its countdown is in the tooltip and the menu.")
        else:
            from traycreds.channel import client

            client.request("credentials", {"role": ROLE}, timeout=30)
            held.note = ("The menu walk failed; the role was fetched over the local channel "
                         "instead (held and counted down, but not the active role).")
        time.sleep(10)  # the clipboard clear (5 s) and the work around the click are over
        held.dump_before = tray.dump()
        if ROLE not in held.dump_before.get("tracked", []):
            raise SystemExit(f"idle_wakeups: the role is not held: {held.dump_before}")
        measure(tray.pid, held, args.seconds, args.interval)
        held.dump_after = tray.dump()
        phases.append(held)

        if args.dialog_seconds > 0:
            dialog = Phase("C", "after About was opened and closed (one role still held)")
            opened = open_and_close_about(icon)
            dialog.note = ("About was opened from the menu and closed: the dialogs' UI thread "
                           "now exists." if opened else "About did not open (menu walk "
                           "failed): this phase shows no dialog thread.")
            time.sleep(3)
            dialog.dump_before = tray.dump()
            measure(tray.pid, dialog, args.dialog_seconds, args.interval)
            dialog.dump_after = tray.dump()
            phases.append(dialog)
    finally:
        if tray is not None:
            tray.quit()
        moto.stop()

    load = os.getloadavg()
    print(f"# traycreds idle wake-ups, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print(f"machine: {os.cpu_count()} CPUs, Linux {os.uname().release}, Python "
          f"{sys.version.split()[0]}; load average {load[0]:.2f} / {load[1]:.2f} / "
          f"{load[2]:.2f}; sampled every {args.interval:.0f} s\n")
    for phase in phases:
        print(report(phase))
        print()
    if args.json:
        args.json.write_text(json.dumps([
            {"name": p.name, "title": p.title, "seconds": p.seconds, "series": p.series,
             "first": {t: vars(s) for t, s in p.first.items()},
             "last": {t: vars(s) for t, s in p.last.items()},
             "dump_before": p.dump_before, "dump_after": p.dump_after} for p in phases],
            indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
