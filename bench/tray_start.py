"""Tray start-up and idle memory: ``python -m traycreds tray`` from spawn to a docked icon,
and its resident memory 3 s after docking (roles loaded, before any STS call).

Needs a private desktop session (X display, XEmbed tray host, D-Bus, unlocked keyring). Run:

    bash bench/tray_start.sh [--runs N] [--json FILE]

which is exactly

    xvfb-run -a dbus-run-session -- bash scripts/desktop-session.sh \\
        .venv/bin/python bench/tray_start.py [--runs N] [--json FILE]

What it measures, per run (N fresh processes, after one untimed warm-up run that writes
.pyc files and warms the page cache):

- **start to icon**: perf_counter from spawning the process to the moment its icon is
  docked: a window whose ``_NET_WM_PID`` is the tray's pid, inside trayer's ``panel``
  window, mapped and viewable (XEmbed reparents the icon into the panel, then maps it). The
  panel is polled every 5 ms through python-xlib in this process, so no polling subprocess
  competes with the tray for the CPU. (trayer's panel always has one 1x1 child of its own,
  so "the panel has children" is not a signal; the pid is.)
- **idle RSS**: VmRSS (and VmHWM, the peak so far, and the anon/file split) from
  ``/proc/PID/status`` 3 s after docking. By then the roles are loaded and the background
  warm-up (``AppService._load_and_warm``: ``import boto3`` and the keyring backend, which
  pulls in secretstorage and cryptography) has finished. No STS call is made.

Then, once, where the memory goes (``--no-breakdown`` skips it):

- the same tray with the warm-up left out (``_load_and_warm`` patched in this bench's
  launcher to only load the roles; the product has no switch for it and needs none),
  median of ``--breakdown-runs`` runs;
- a ladder in one fresh interpreter: the RSS after each step of what the tray loads
  (traycreds' tray modules and Pillow, pystray with GTK, the icon docked, the keyring
  backend, boto3), and tracemalloc's Python-allocated MiB per step in a second ladder;
- the tray's largest mappings from ``/proc/PID/smaps`` 3 s after docking.

Targets: start to icon median < 1 s; idle RSS median < 60 MiB.
Standard library plus python-xlib (a pystray dependency on Linux).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
START_TARGET_MS = 1000.0
IDLE_TARGET_MIB = 60.0
IDLE_AFTER_S = 3.0
DOCK_TIMEOUT_S = 20.0
ROLES = 12

# Runs the tray with AppService._load_and_warm reduced to loading the roles: the "no warm-up"
# variant. A launcher of the bench's, not a product switch.
NO_WARMUP_LAUNCHER = """
import sys
from traycreds.app import service

def _load_only(self):  # _load_and_warm up to its warm-up block
    self.reload()
    if self._context().settings.app.clean_expired:
        self._guarded(self._clean_expired, None)

service.AppService._load_and_warm = _load_only
sys.argv = ["traycreds", "tray"]
from traycreds.cli.main import run
run()
"""

# One interpreter, the tray's loads step by step; prints one JSON line per step.
LADDER = r"""
import json, os, sys, time
TRACE = sys.argv[1] == "trace"
if TRACE:
    import tracemalloc
    tracemalloc.start()

def rss():
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmRSS"].split()[0]) / 1024

def step(name):
    traced = tracemalloc.get_traced_memory()[0] / 2**20 if TRACE else None
    print(json.dumps({"step": name, "rss": rss(), "traced": traced}), flush=True)

step("interpreter")
import traycreds.tray.app, traycreds.app.service, traycreds.tray.icon, traycreds.tray.dialogs
from PIL import Image
step("traycreds tray modules + Pillow")
traycreds.tray.app.choose_backend()
import pystray
step("pystray (gtk backend: gi, Gtk)")
from traycreds.core.state import Status
from traycreds.tray.icon import draw_icon
import threading
docked = threading.Event()
icon = pystray.Icon("traycreds", draw_icon(Status.IDLE, 64), "traycreds",
                    menu=pystray.Menu(pystray.MenuItem("Quit", lambda: icon.stop())))
def setup(icon):
    icon.visible = True
    docked.set()
    time.sleep(1.0)  # let GTK draw and dock it
    step("icon docked (GTK main loop running)")
    from traycreds.adapters.keystore import KeyStore
    from traycreds.adapters import paths
    KeyStore(paths.data_dir() / "sources.json").backend
    step("keyring backend (secretstorage, jeepney, cryptography)")
    import boto3
    step("import boto3 (botocore)")
    icon.stop()
icon.run(setup=setup)
"""


def say(message: str) -> None:
    sys.stderr.write(f"tray_start: {message}\n")
    sys.stderr.flush()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- the X side ---------------------------------------------------------------------------------


class Panel:
    """trayer's ``panel`` window, watched through python-xlib."""

    def __init__(self) -> None:
        from Xlib import X, display, error

        self._X = X
        self._errors = (error.BadWindow, error.BadDrawable, error.BadMatch)
        self.display = display.Display()
        self.pid_atom = self.display.intern_atom("_NET_WM_PID")
        self.window = self._find_panel()

    def _find_panel(self) -> Any:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for child in self.display.screen().root.query_tree().children:
                try:
                    if child.get_wm_name() == "panel":
                        return child
                except self._errors:
                    continue
            time.sleep(0.1)
        raise SystemExit("tray_start: no trayer 'panel' window: run me through "
                         "bench/tray_start.sh (scripts/desktop-session.sh starts trayer)")

    def _descendants(self, window: Any) -> list[Any]:
        found = []
        try:
            children = window.query_tree().children
        except self._errors:
            return found
        for child in children:
            found.append(child)
            found += self._descendants(child)
        return found

    def icon_of(self, pid: int) -> Any | None:
        """The viewable window of process ``pid`` docked in the panel, else None."""
        for window in self._descendants(self.window):
            try:
                prop = window.get_full_property(self.pid_atom, self._X.AnyPropertyType)
                if prop is None or not prop.value or int(prop.value[0]) != pid:
                    continue
                if window.get_attributes().map_state == self._X.IsViewable:
                    return window
            except self._errors:
                continue
        return None


# --- one tray -----------------------------------------------------------------------------------


@dataclass
class Sample:
    start_to_icon_ms: float
    rss_mib: float
    hwm_mib: float
    anon_mib: float
    file_mib: float


def read_status(pid: int) -> dict[str, float]:
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                values[name] = int(rest.split()[0]) / 1024
    return values


def smaps_top(pid: int, count: int = 12) -> list[tuple[str, float]]:
    totals: Counter[str] = Counter()
    current = "[anon]"
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split(maxsplit=5)
                current = parts[5].strip() if len(parts) > 5 else "[anon]"
            elif line.startswith("Rss:"):
                totals[current] += int(line.split()[1]) / 1024
    return [(name, mib) for name, mib in totals.most_common(count)]


class Setup:
    """A throwaway user: HOME, XDG folders and an AWS config with ROLES roles."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tc-bench-"))
        home = self.root / "home"
        (home / ".aws").mkdir(parents=True)
        lines = ["[default]", "region = us-east-1", ""]
        for index in range(ROLES):
            lines += [f"[profile role-{index:02d}]",
                      f"role_arn = arn:aws:iam::123456789012:role/role-{index:02d}",
                      "source_profile = bench", ""]
        (home / ".aws" / "config").write_text("\n".join(lines))
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AWS_", "TRAYCREDS_"))}
        self.env.update(
            HOME=str(home), AWS_CONFIG_FILE=str(home / ".aws" / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            XDG_CONFIG_HOME=str(self.root / "config"), XDG_DATA_HOME=str(self.root / "data"),
            XDG_STATE_HOME=str(self.root / "state"), XDG_CACHE_HOME=str(self.root / "cache"),
            # Nothing is listening there: a stray STS call would fail fast, not reach AWS.
            AWS_ENDPOINT_URL_STS="http://127.0.0.1:9")

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def run_tray(panel: Panel, setup: Setup, python: str, argv: list[str],
             keep_smaps: bool = False) -> tuple[Sample, list[tuple[str, float]]]:
    runtime = Path(tempfile.mkdtemp(prefix="tc-run-"))
    env = dict(setup.env, TRAYCREDS_RUNTIME_DIR=str(runtime))
    log = setup.root / "tray-output.log"
    with log.open("ab") as out:
        started = time.perf_counter()
        proc = subprocess.Popen([python, *argv], env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = started + DOCK_TIMEOUT_S
        while panel.icon_of(proc.pid) is None:
            if proc.poll() is not None:
                raise SystemExit(f"tray_start: the tray exited with {proc.returncode}:\n"
                                 f"{log.read_text(errors='replace')[-3000:]}")
            if time.perf_counter() > deadline:
                raise SystemExit(f"tray_start: no docked icon within {DOCK_TIMEOUT_S} s")
            time.sleep(0.005)
        docked_ms = (time.perf_counter() - started) * 1000
        time.sleep(IDLE_AFTER_S)
        status = read_status(proc.pid)
        top = smaps_top(proc.pid) if keep_smaps else []
        sample = Sample(docked_ms, status["VmRSS"], status["VmHWM"], status.get("RssAnon", 0),
                        status.get("RssFile", 0))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        # The next run must not see this icon: wait until it left the panel.
        deadline = time.monotonic() + 5
        while panel.icon_of(proc.pid) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        shutil.rmtree(runtime, ignore_errors=True)
    return sample, top


def ladder(python: str, setup: Setup, mode: str) -> list[dict[str, Any]]:
    runtime = Path(tempfile.mkdtemp(prefix="tc-run-"))
    result = subprocess.run([python, "-c", LADDER, mode],
                            env=dict(setup.env, TRAYCREDS_RUNTIME_DIR=str(runtime)),
                            capture_output=True, text=True, timeout=120, check=False)
    shutil.rmtree(runtime, ignore_errors=True)
    steps = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not steps:
        say(f"ladder ({mode}) failed ({result.returncode}): {result.stderr[-2000:]}")
    return steps


# --- report -------------------------------------------------------------------------------------


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    aligns = ["<"] + [">"] * (len(header) - 1)

    def line(cells: list[str]) -> str:
        padded = (f"{c:{a}{w}}" for c, a, w in zip(cells, aligns, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if a == ">" else ("-" * (w + 2))
                          for a, w in zip(aligns, widths, strict=True)) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def summary_rows(samples: list[Sample]) -> list[list[str]]:
    def row(label: str, values: list[float], fmt: str) -> list[str]:
        return [label, format(statistics.median(values), fmt), format(percentile(values, 0.9), fmt),
                format(min(values), fmt), format(max(values), fmt)]

    return [
        row("start to icon docked, ms", [s.start_to_icon_ms for s in samples], ".0f"),
        row(f"idle RSS {IDLE_AFTER_S:g} s after docking, MiB", [s.rss_mib for s in samples], ".1f"),
        row("  of which anonymous (heap), MiB", [s.anon_mib for s in samples], ".1f"),
        row("  of which file-backed (libraries), MiB", [s.file_mib for s in samples], ".1f"),
        row("peak RSS so far (VmHWM), MiB", [s.hwm_mib for s in samples], ".1f"),
    ]


def versions(python: str) -> str:
    code = ("import importlib.metadata as m, platform\n"
            "names = ['traycreds', 'pystray', 'PyGObject', 'pillow', 'keyring', 'boto3']\n"
            "print(', '.join(f'{n} {m.version(n)}' for n in names), '; Python', "
            "platform.python_version())")
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60,
                            check=False)
    return result.stdout.strip() or result.stderr.strip()[-200:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--breakdown-runs", type=int, default=5,
                        help="runs of the no-warm-up variant (default 5)")
    parser.add_argument("--no-breakdown", action="store_true")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter whose traycreds to start (default: this one)")
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") or os.environ.get("TRAYCREDS_DESKTOP_SESSION") != "1":
        raise SystemExit("tray_start: run me through bench/tray_start.sh (a private desktop "
                         "session: Xvfb, trayer, D-Bus, gnome-keyring)")

    panel = Panel()
    setup = Setup()
    tray = ["-m", "traycreds", "tray"]
    try:
        say("warm-up run (not counted)")
        run_tray(panel, setup, args.python, tray)
        samples = []
        top: list[tuple[str, float]] = []
        for index in range(args.runs):
            sample, smaps = run_tray(panel, setup, args.python, tray,
                                     keep_smaps=index == args.runs - 1)
            top = smaps or top
            samples.append(sample)
            say(f"run {index + 1}/{args.runs}: icon after {sample.start_to_icon_ms:.0f} ms, "
                f"idle RSS {sample.rss_mib:.1f} MiB")
        bare: list[Sample] = []
        steps: list[dict[str, Any]] = []
        traced: list[dict[str, Any]] = []
        if not args.no_breakdown:
            for index in range(args.breakdown_runs):
                sample, _ = run_tray(panel, setup, args.python, ["-c", NO_WARMUP_LAUNCHER])
                bare.append(sample)
                say(f"no-warm-up run {index + 1}/{args.breakdown_runs}: "
                    f"idle RSS {sample.rss_mib:.1f} MiB")
            steps = ladder(args.python, setup, "rss")
            traced = ladder(args.python, setup, "trace")
    finally:
        setup.cleanup()

    start_median = statistics.median(s.start_to_icon_ms for s in samples)
    rss_median = statistics.median(s.rss_mib for s in samples)
    load = os.getloadavg()
    out = [
        f"# traycreds tray start-up and idle memory, "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Linux {platform.release()}; "
        f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} after the runs",
        f"software: {versions(args.python)}",
        f"session: Xvfb {os.environ.get('DISPLAY')}, trayer (XEmbed), pystray "
        f"{os.environ.get('PYSTRAY_BACKEND', 'gtk')} backend; {ROLES} roles in ~/.aws/config; "
        f"{args.runs} fresh `python -m traycreds tray` processes after one untimed warm-up run",
        "",
        table(summary_rows(samples), ["metric", "median", "p90", "min", "max"]),
        "",
        f"{'PASS' if start_median < START_TARGET_MS else 'MISS'}: start to icon median "
        f"{start_median:.0f} ms vs target < {START_TARGET_MS:.0f} ms",
        f"{'PASS' if rss_median < IDLE_TARGET_MIB else 'MISS'}: idle RSS median "
        f"{rss_median:.1f} MiB vs target < {IDLE_TARGET_MIB:.0f} MiB",
        "",
        "Peers, NOT measured here: Leapp is an Electron app (Chromium + Node.js in a main, a "
        "renderer and a GPU process); an Electron app's idle baseline is typically well above "
        "100 MiB summed over its processes. Context only: no Electron app was installed or run "
        "for this bench.",
    ]
    if bare:
        bare_median = statistics.median(s.rss_mib for s in bare)
        out += [
            "",
            "## Where the idle memory goes",
            "",
            f"Without the background warm-up (boto3 + keyring backend not loaded; "
            f"{len(bare)} runs, bench-side launcher): idle RSS median {bare_median:.1f} MiB "
            f"(anon {statistics.median(s.anon_mib for s in bare):.1f}, file "
            f"{statistics.median(s.file_mib for s in bare):.1f}); start to icon median "
            f"{statistics.median(s.start_to_icon_ms for s in bare):.0f} ms. "
            f"The warm-up costs {rss_median - bare_median:.1f} MiB of the "
            f"{rss_median:.1f} MiB.",
        ]
    if steps:
        by_name = {t["step"]: t["traced"] for t in traced}
        rows, previous, previous_traced = [], 0.0, 0.0
        for entry in steps:
            now_traced = by_name.get(entry["step"])
            rows.append([entry["step"], f"{entry['rss']:.1f}", f"{entry['rss'] - previous:+.1f}",
                         "" if now_traced is None else f"{now_traced - previous_traced:+.1f}"])
            previous = entry["rss"]
            previous_traced = now_traced if now_traced is not None else previous_traced
        out += [
            "",
            "Step by step in one fresh interpreter (RSS; and, in a second run under "
            "tracemalloc, the Python objects each step allocated):",
            "",
            table(rows, ["step", "RSS MiB", "delta MiB", "Python objects MiB"]),
        ]
    if top:
        out += [
            "",
            f"Largest mappings of the last tray, {IDLE_AFTER_S:g} s after docking "
            "(/proc/PID/smaps Rss; [anon] and [heap] are Python objects and C allocations):",
            "",
            table([[name, f"{mib:.1f}"] for name, mib in top], ["mapping", "RSS MiB"]),
        ]
    print("\n".join(out))
    if args.json:
        args.json.write_text(json.dumps({
            "samples": [asdict(s) for s in samples],
            "no_warmup": [asdict(s) for s in bare],
            "ladder": steps, "ladder_traced": traced, "smaps_top": top,
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
