"""How often the idle tray wakes, and what CPU it uses meanwhile, from /proc counters.

Run it with ``bash bench/idle_wakeups.sh [--seconds 300]`` (a private desktop session:
Xvfb, D-Bus, gnome-keyring, dunst, trayer; see scripts/desktop-session.sh).

RESULTS of ``bash bench/idle_wakeups.sh --seconds 120`` (2026-11-28 02:39 UTC; 2 CPUs, Linux
6.18, CPython 3.11.7, Tcl/Tk 8.6.13; load average 0.29 before, 0.00 after; sampled every
10 s, phase C1 every 1 s; phase C is 60 s from About's closing: C1 lasts until the UI thread
ends, and C2 is the rest). The printed tables also have a "why it wakes" column. It is left
out here for width; see WHY below. Threads that never woke are left out too. The whole
report is in bench/README.md, "Idle wake-ups".

    A. idle, nothing held, nothing clicked: 120 s, 12 samples
    | thread (comm)   |     TID | CPU ms | ticks | wakes | wakes/min | involuntary |
    |-----------------|--------:|-------:|------:|------:|----------:|------------:|
    | (all 6 threads) |         |    0.0 |     0 |     0 |      0.00 |           0 |
    verdict: scheduler PASS (0 wake-ups); CPU PASS (0.0 ms in 120 s = 0.0000 % of one CPU)

    B. one role held (copied through the menu), countdown shown: 120 s, 12 samples
    | main            |   10129 |    8.1 |     1 |     7 |      3.50 |           8 |
    | scheduler       |   10140 |    1.7 |     0 |     2 |      1.00 |           0 |
    | **process**     |         |    9.9 |     1 |     9 |      4.50 |           8 |
    wakes per 10 s (process/scheduler): 0/0 0/0 0/0 0/0 3/1 0/0 0/0 0/0 0/0 0/0 6/1 0/0
    verdict: scheduler PASS (2 passes in 2 min, at most 3 allowed); CPU PASS (9.9 ms in
        120 s = 0.0082 % of one CPU, limit 0.1 %)

    C1. About opened and closed, until the dialogs' UI thread ends: 11 s, 11 samples
    | dialogs [C]     |   10323 |    7.3 |     0 |   732 |   3986.27 |           0 |
    | dialogs         |   10322 |   81.1 |     9 |   199 |   1083.70 |         707 |
    | **process**     |         |   88.5 |     9 |   931 |   5069.97 |         707 |
    wakes per 1 s (process/scheduler): 96/0 98/0 92/0 92/0 87/0 94/0 88/0 98/0 92/0 94/0 0/0
    the UI thread (TID 10322) ended within 11.0 s of About closing (due after 10 s)
    verdict: scheduler PASS (0); CPU MISS (88.5 ms in 11 s = 0.80 % of one CPU)

    C2. after the dialogs' UI thread ended (one role still held): 49 s, 5 samples
    | main            |   10129 |    2.9 |     0 |     3 |      3.68 |           6 |
    | scheduler       |   10140 |    0.5 |     0 |     1 |      1.23 |           0 |
    | dialogs [C]     |   10323 |    0.0 |     0 |     0 |      0.00 |           0 |
    | **process**     |         |    3.4 |     0 |     4 |      4.90 |           6 |
    wakes per 10 s (process/scheduler): 0/0 0/0 0/0 4/1 0/0
    Tcl's notifier thread (TID 10323) outlives the UI thread; in this phase it woke 0 times.
    verdict: scheduler PASS (1 pass); CPU PASS (3.4 ms in 49 s = 0.0070 % of one CPU)
    [C]: not a Python thread (started by GLib or Tcl; named by it or after its creator).

Before (2026-11-28 02:13 UTC, ``--seconds 300``, when the UI thread polled for the rest of the
tray's life), phase C was the 60 s starting 3 s after About closed. In them the process woke
5,555 times (~92/s, 4,357 of them Tcl's notifier thread) and used 314 ms of CPU (0.52 % of
one CPU). The same 60 s now (C1 + C2, from About's closing): 935 wake-ups and 92 ms, of which
931 and 88.5 ms fell in the 11 s before the UI thread ended. After that the tray is back to
phase B's pattern: one pass of the scheduler a minute.

What the numbers say:

- Idle with nothing held (A), no thread of the tray woke at all. There is no polling
  anywhere: GTK's main loop, GLib's gmain/gdbus threads, the channel's accept thread, the
  service's worker and the scheduler all sleep until something happens.
- With a role held (B), the scheduler woke once a minute (its own counter: 2 passes in
  2 min) for the countdown in the menu and tooltip. Each pass hands the redraw (icon, title,
  menu) to GTK's main loop through idle_add, hence main's few wakes per pass (7 for the 2
  passes). All of them fall in the scheduler's 10 s interval, so the process as a whole
  wakes once a minute, for about 5 ms of CPU each time (0.008 % of one CPU).
- The dialogs' UI thread starts lazily, on the first dialog (About, MFA, Add key,
  Settings), so A and B do not have it. While it runs (C1), it still polls its queue with
  ``after(50)``: ~18 wakes a second, plus ~66 a second of Tcl's notifier thread, which each
  poll drives. That is ~85 wake-ups a second, and 0.8 % of a CPU over those 11 s.
  traycreds/tray/dialogs/ui.py now ends the thread ``IDLE_EXIT_S`` (10 s) after its last window
  closed. Here it was gone within 11 s (1 s sampling).
- **Tcl's notifier thread outlives the UI thread, and sleeps.** Tk's teardown in the UI
  thread does not stop it: in C2 it still exists (the "dialogs [C]" row, TID 10323). But it
  woke 0 times in 49 s and used 0.0 ms of CPU. The only wake-ups left in C2 are the
  scheduler's minute (1 pass, 4 wake-ups in all), as in B. So the leftover thread costs a
  stack mapping, not wake-ups. (Not measured here: what a second dialog does with it.)

What it does:

1. Starts a local STS (moto's server, IAM auth enforced: tests/support/stsserver.py), an IAM
   user with one access key and a role it may assume. Writes ``~/.aws/config`` with that role
   (``[profile idle-bench]``, reaching moto through ``endpoint_url``) and stores the key in
   the keyring with ``traycreds keys add`` (the real command, checked against the STS).
2. Starts the real tray, ``python -m traycreds tray``, through a small launcher that changes
   nothing in its behaviour. Each Python thread gets its name as its Linux thread name
   (``prctl(PR_SET_NAME)`` once, as the thread starts: "scheduler", "work_0", "channel"...;
   the main thread, which runs GTK's main loop, is "main"). SIGUSR1 makes the tray write its
   Python threads, the scheduler's own ``wakeups`` counter and what it tracks to a file. The
   bench reads that file only at the phase boundaries, outside the measured windows. Then it
   waits until the icon is docked in trayer (common.Panel, python-xlib).
3. Measures by sampling ``/proc/PID/task/*/{stat,status,schedstat,comm}`` every
   ``--interval`` seconds (default 10):

   A. idle: nothing held, nothing clicked (``--seconds``, default 300).
   B. one role held: the role is copied the way a person does it, with xdotool
      (right-click the icon in trayer's panel, Down to the role, Right, Down Down, Return on
      "Copy for bash/zsh"; checked on the clipboard), so its countdown shows in the menu and
      tooltip. Measured for ``--seconds`` once the clipboard clear
      (``clipboard_clear_seconds = 5`` in the bench's settings) has happened.
   C. after a dialog (``--dialog-seconds``, default 60, at least 40; 0 skips): About is
      opened from the menu and closed again. C1 then samples every second until the
      dialogs' UI thread (its TID from the SIGUSR1 dump) has left /proc, which should
      happen ``IDLE_EXIT_S`` after the window closed. C2 measures the rest of
      ``--dialog-seconds`` with the UI thread gone, and says whether Tcl's notifier thread
      is still there and how often it woke.

4. Quits the tray over its local channel and prints one table per phase.

Reading the tables: "wakes" is a thread's voluntary context switches, i.e. how many times it
blocked and was woken. A wake-up can cost more than one when the woken thread waits again
briefly, e.g. for the GIL. "CPU ms" is from schedstat (nanoseconds of run time), which sees
what the 10 ms tick counts of /proc/PID/stat round away (those are shown too, as "ticks").
"scheduler passes" is the scheduler's own count of the times it woke. The verdict: the
scheduler wakes at most once a minute (plus one at the phase's start), and the whole process
uses under 0.1 % of one CPU over the window. Those limits are for an idle tray. C1 is the
10 s in which a dialog's thread may still poll, so its CPU MISS is expected; C2 is the one
they apply to.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
from common import REPO as REPO_ROOT
from common import say

sys.path.insert(0, str(REPO_ROOT))

from tests.support.stsserver import MotoSts
from traycreds.tray.dialogs import IDLE_EXIT_S  # the UI thread's life after its last window

ROLE = "idle-bench"
SOURCE = "idle-bench-key"
CLK_TCK = os.sysconf("SC_CLK_TCK")
C1_INTERVAL_S = 1.0  # phase C1's sampling, to see when the UI thread ends

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
    "dialogs": "Tk UI thread: polls its queue every 50 ms; ends 10 s after its last window",
    "gmain": "GLib worker context (GDBus, GSettings)",
    "gdbus": "GDBus connection thread",
    "dconf worker": "dconf (GSettings backend)",
    "clipboard-clea": "clipboard clear timer (one-shot)",
}


def why(name: str, python: bool) -> str:
    if not python and name == "dialogs":
        return "Tcl's notifier thread (threaded Tcl, started with Tk): woken by the UI polls"
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


def measure(pid: int, phase: Phase, seconds: float, interval: float,
            until: Callable[[], bool] | None = None) -> None:
    """Sample the tray's threads every ``interval`` s for ``seconds``, or until ``until()``
    is true at a sample (checked after each one)."""
    limit = "" if until is None else " at most"
    say(f"phase {phase.name}: measuring for{limit} {seconds:.0f} s ({phase.title})")
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
            common.die("the tray exited during the measurement")
        total = sum(s.voluntary - previous[t].voluntary for t, s in current.items()
                    if t in previous)
        total += sum(s.voluntary for t, s in current.items() if t not in previous)
        sched = sum(s.voluntary - previous[t].voluntary for t, s in current.items()
                    if t in previous and s.comm == "scheduler")
        phase.series.append((total, sched))
        seen.update(current)
        previous = current
        if until is not None and until():
            break
    phase.seconds = time.monotonic() - start
    phase.last = {**{t: s for t, s in seen.items() if t not in previous}, **previous}


# -- the tray and its desktop ------------------------------------------------------------------


def x_tool(*argv: str) -> str:
    for _ in range(10):  # a window vanishing mid-query makes xdotool die BadWindow
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        if "BadWindow" not in result.stderr:
            return result.stdout
        time.sleep(0.05)
    return ""


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


def dialog_phases(tray: Tray, icon: tuple[int, int], seconds: float,
                  interval: float) -> list[Phase]:
    """C1: from About's closing until the dialogs' UI thread has ended (IDLE_EXIT_S later),
    sampled every C1_INTERVAL_S; C2: the rest of ``seconds``, with the UI thread gone."""
    running = Phase("C1", "About opened and closed: until the dialogs' UI thread ends")
    after = Phase("C2", "after the dialogs' UI thread ended (one role still held)")
    if not open_and_close_about(icon):
        running.note = "About did not open (menu walk failed): no dialog thread was started."
        measure(tray.pid, running, seconds, interval)
        return [running]
    running.dump_before = tray.dump()
    ui = [int(tid) for tid, name in running.dump_before.get("threads", {}).items()
          if name == "traycreds-dialogs"]
    if not ui:
        common.die(f"About closed, but no dialogs thread: {running.dump_before}")
    task = Path(f"/proc/{tray.pid}/task/{ui[0]}")
    started = time.monotonic()
    measure(tray.pid, running, IDLE_EXIT_S + 20, C1_INTERVAL_S, until=lambda: not task.exists())
    if task.exists():
        common.die(f"the dialogs' UI thread still runs {running.seconds:.0f} s after About "
                   "closed")
    running.note = (f"About was opened from the menu and closed with Escape; the UI thread "
                    f"(TID {ui[0]}) ended within {running.seconds:.1f} s (sampled every "
                    f"{C1_INTERVAL_S:g} s; its exit is due {IDLE_EXIT_S:g} s after the last "
                    "window closed).")
    running.dump_after = tray.dump()
    after.dump_before = running.dump_after
    measure(tray.pid, after, max(seconds - (time.monotonic() - started), interval), interval)
    after.dump_after = tray.dump()
    python = {int(t) for d in (after.dump_before, after.dump_after) for t in d.get("threads", {})}
    notifier = [(tid, s) for tid, s in after.last.items()
                if s.comm == "dialogs" and tid not in python]
    if notifier:
        woke = sum(s.voluntary - after.first[t].voluntary for t, s in notifier
                   if t in after.first)
        after.note = (f"Tcl's notifier thread (TID {', '.join(str(t) for t, _ in notifier)}) "
                      f"outlives the UI thread; in this phase it woke {woke} times.")
    else:
        after.note = "Tcl's notifier thread ended with the UI thread: no dialogs thread is left."
    return [running, after]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300,
                        help="length of phases A and B (default 300)")
    parser.add_argument("--interval", type=float, default=10, help="sampling interval (10 s)")
    parser.add_argument("--dialog-seconds", type=float, default=60,
                        help="length of phase C, from About's closing: C1 until the UI thread "
                             "ends, C2 the rest (0: skip; else at least 40, default 60)")
    parser.add_argument("--json", type=Path, help="also write the raw phases here")
    args = parser.parse_args()
    if 0 < args.dialog_seconds < 40:
        parser.error("--dialog-seconds: 0 (skip) or at least 40, so that the UI thread's exit "
                     f"({IDLE_EXIT_S:g} s after About closes) and the time after it both show")
    if os.environ.get("TRAYCREDS_DESKTOP_SESSION") != "1":
        say("run me through bench/idle_wakeups.sh (a private desktop session)")
        return 2
    for tool in ("xdotool", "xclip"):
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
    load_before = os.getloadavg()
    try:
        env = dict(os.environ, AWS_CONFIG_FILE=str(home / ".aws" / "config"),
                   AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
                   AWS_ENDPOINT_URL_STS=moto.url, AWS_EC2_METADATA_DISABLED="true",
                   TRAYCREDS_SETTINGS=str(home / "traycreds-settings.toml"))
        os.environ.update(env)  # the channel client (quit) finds the tray the same way
        setup_user(moto, home, env)
        tray = Tray(env, workdir)
        panel = common.Panel()
        icon = None
        deadline = time.monotonic() + 30
        while icon is None and time.monotonic() < deadline:
            if tray.process.poll() is not None:
                common.die(f"the tray exited; see {workdir / 'tray.log'}")
            icon = panel.icon_centre(tray.pid)
            time.sleep(0.2)
        if icon is None:
            common.die("the tray's icon did not dock within 30 s")
        say(f"tray pid {tray.pid} docked at {icon}; letting start-up finish")
        time.sleep(10)  # the roles load in the background (boto3 and keyring: at a click)

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
            common.die(f"the role is not held: {held.dump_before}")
        measure(tray.pid, held, args.seconds, args.interval)
        held.dump_after = tray.dump()
        phases.append(held)

        if args.dialog_seconds > 0:
            phases += dialog_phases(tray, icon, args.dialog_seconds, args.interval)
    finally:
        if tray is not None:
            tray.quit()
        moto.stop()

    print(common.report_head("traycreds idle wake-ups", load_before, {
        "sampling": f"every {args.interval:g} s (phase C1: every {C1_INTERVAL_S:g} s); the "
                    "tray: .venv's traycreds through a launcher (thread names, SIGUSR1 dump)"}))
    print()
    for phase in phases:
        print(report(phase))
        print()
    common.write_json(args.json, [
        {"name": p.name, "title": p.title, "seconds": p.seconds, "series": p.series,
         "first": {t: vars(s) for t, s in p.first.items()},
         "last": {t: vars(s) for t, s in p.last.items()},
         "dump_before": p.dump_before, "dump_after": p.dump_after} for p in phases])
    return 0


if __name__ == "__main__":
    sys.exit(main())
