"""Cold-start benchmark: ``traycreds export`` beside ``awsume -s`` and ``aws sts assume-role``.

All three tools assume the same role against the same local STS (moto's server on loopback),
each run a fresh process, interleaved round-robin. For every run: wall time (perf_counter
around spawn + wait4) and peak RSS (wait4's ru_maxrss). Then a breakdown of where
traycreds' own time goes, measured inside fresh traycreds processes.

Run it through ``bash bench/run.sh`` (it makes the bench venv and a D-Bus session with an
unlocked gnome-keyring, which traycreds needs). Standard library only, plus boto3 for setup.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import common
from common import (
    REPO,
    Tool,
    die,
    dist_versions,
    fmt_ms,
    interpreter_of,
    measure,
    say,
    version_line,
)

TARGET_S = 0.6
TARGET_VS_AWSUME = 0.65  # issue 14: cold export at most 0.65x awsume's median, same run


# --- where traycreds' time goes ------------------------------------------------------------------
# Runs in a fresh traycreds process: wraps the library calls traycreds makes, then runs the
# real `traycreds export` in-process through `traycreds.cli.entry.run()`, what the console
# script calls (so the fast path's try first, finding no tray, then the collector handling:
# gc.disable() first, gc.freeze() before exit).
# Prints one JSON line: phase durations (seconds), the keyring backend, whether keyring's
# discovery ran. Flags: --os-exit (skip interpreter teardown), --gc-default (call main() with
# the collector left on, as before run() managed it).
PROBE = r'''
import time
T0 = time.perf_counter()
import gc, io, json, sys
OS_EXIT = "--os-exit" in sys.argv[1:]
GC_DEFAULT = "--gc-default" in sys.argv[1:]
phases = {}
info = {"backend": None, "discovery_calls": 0}
_gc_start = []

def _gc_timer(phase, _):  # cyclic GC pauses, wherever they fall
    if phase == "start":
        _gc_start.append(time.perf_counter())
    elif _gc_start:
        add("gc", time.perf_counter() - _gc_start.pop())
gc.callbacks.append(_gc_timer)

def add(name, seconds):
    phases[name] = phases.get(name, 0.0) + seconds

def timed(name, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            add(name, time.perf_counter() - start)
    return wrapper

t = time.perf_counter()
import traycreds.cli.entry as entry
import traycreds.cli.main as cli
add("import_cli", time.perf_counter() - t)
if not GC_DEFAULT:
    # The console script imports the module, then run() turns the collector off before any
    # of the imports below (which the real command makes lazily, inside main()).
    gc.disable()

t = time.perf_counter()
import keyring
add("import_keyring", time.perf_counter() - t)
t = time.perf_counter()
import traycreds.adapters.keystore as keystore
import traycreds.adapters.sts as sts
add("import_adapters", time.perf_counter() - t)

_default_backend = keystore.default_backend
def default_backend():
    start = time.perf_counter()
    backend = _default_backend()
    add("backend", time.perf_counter() - start)
    info["backend"] = f"{type(backend).__module__}.{type(backend).__qualname__}"
    backend.get_password = timed("get_password", backend.get_password)
    return backend
keystore.default_backend = default_backend

_get_keyring = keyring.get_keyring
def get_keyring(*args, **kwargs):  # keyring's discovery: default_backend()'s fallback only
    info["discovery_calls"] += 1
    return _get_keyring(*args, **kwargs)
keyring.get_keyring = get_keyring

t = time.perf_counter()
import traycreds.adapters.stscall as stscall
import traycreds.adapters.stswire as stswire
add("import_boto", time.perf_counter() - t)
stswire.Service.__init__ = timed("service", stswire.Service.__init__)
stscall.perform = timed("call", stscall.perform)  # includes "service" on the first call

argv = ["export", "bench", "--shell", "bash"]
real, sys.stdout = sys.stdout, io.StringIO()
t = time.perf_counter()
if GC_DEFAULT:
    status = cli.main(argv)
else:
    sys.argv = ["traycreds", *argv]
    try:
        entry.run()  # try_fast (no tray), gc.disable(), main(argv), gc.freeze(), sys.exit
        status = None
    except SystemExit as exc:
        status = exc.code
add("main", time.perf_counter() - t)
printed, sys.stdout = sys.stdout.getvalue(), real
add("in_process", time.perf_counter() - T0)
gc.callbacks.remove(_gc_timer)
print(json.dumps({"status": status, "phases": phases, **info,
                  "has_token": "AWS_SESSION_TOKEN" in printed}))
if OS_EXIT:  # skip interpreter teardown altogether
    import logging, os
    sys.stdout.flush()
    logging.shutdown()
    os._exit(0)
'''

# Probe variants beside the plain one: flag, and what it changes.
VARIANTS = (
    ("--os-exit", "run(), then flush, logging.shutdown(), os._exit(0): no teardown at all"),
    ("--gc-default", "main() with the collector left on (the behaviour before run() managed it)"),
)
WRAPPED = ("backend", "get_password", "call")  # "service" is inside "call"

@dataclass
class ProbeRun:
    wall_s: float
    phases: dict[str, float]
    backend: str
    discovery_calls: int


# (label, how it is computed from one probe run's phases: seconds)
BREAKDOWN: list[tuple[str, common.Phase]] = [
    ("interpreter start + exit (`python -c pass`)", lambda p, wall, bare: bare),
    ("import traycreds CLI (argparse, core modules)", lambda p, wall, bare: p["import_cli"]),
    ("import keyring", lambda p, wall, bare: p["import_keyring"]),
    ("import traycreds keystore + sts adapters", lambda p, wall, bare: p["import_adapters"]),
    ("keyring backend (platform backend, no discovery)",
     lambda p, wall, bare: p.get("backend", 0)),
    ("keyring get_password (D-Bus Secret Service)",
     lambda p, wall, bare: p.get("get_password", 0)),
    ("import botocore's parts for STS (stswire: auth, HTTP, model, parsers)",
     lambda p, wall, bare: p["import_boto"]),
    ("STS model, endpoint rules and partitions (stswire.Service)",
     lambda p, wall, bare: p.get("service", 0)),
    ("AssumeRole call (endpoint rules, SigV4, HTTP, parse; incl. moto)",
     lambda p, wall, bare: p.get("call", 0) - p.get("service", 0)),
    ("rest of traycreds (config, logging, engine, render)",
     lambda p, wall, bare: p["main"] - sum(p.get(k, 0) for k in WRAPPED)),
    ("teardown at exit, beyond a bare one (wall - start - in-process)",
     lambda p, wall, bare: wall - bare - p["in_process"]),
]


def default_traycreds() -> Path:
    for candidate in (REPO / ".venv/bin/traycreds", Path("/tmp/probe-venv/bin/traycreds")):
        if candidate.exists():
            return candidate
    die("no traycreds found in .venv or /tmp/probe-venv: pass --traycreds PATH")


def run_probes(tc_python: Path, env: dict[str, str], root: Path, runs: int) \
        -> tuple[list[float], dict[str, list[ProbeRun]]]:
    """``runs`` times: `python -c pass` and each probe ("" the plain one, the shipped
    behaviour, then VARIANTS), each a fresh process."""
    probe_file = root / "probe.py"
    probe_file.write_text(PROBE)
    bare: list[float] = []
    probe_runs: dict[str, list[ProbeRun]] = {"": [], **{flag: [] for flag, _ in VARIANTS}}
    for _ in range(runs):
        bare.append(measure([str(tc_python), "-c", "pass"], env, root).wall_s)
        for flag, found in probe_runs.items():
            extra = [flag] if flag else []
            sample = measure([str(tc_python), str(probe_file), *extra], env, root)
            try:
                result = json.loads(sample.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                result = {}
            if sample.status != 0 or result.get("status") != 0 or not result.get("has_token"):
                die(f"probe {flag or '(plain)'} failed (exit {sample.status}): "
                    f"{sample.stdout[-1500:]}{sample.stderr[-1500:]}")
            found.append(ProbeRun(sample.wall_s, result["phases"], str(result.get("backend")),
                                  int(result.get("discovery_calls", 0))))
    return bare, probe_runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traycreds", type=Path, help="the traycreds executable to time "
                        "(default: .venv/bin/traycreds, else /tmp/probe-venv/bin/traycreds)")
    args = common.parse_cli_bench_args(parser, argv, runs=15)

    traycreds = (args.traycreds or default_traycreds()).absolute()
    if not os.access(traycreds, os.X_OK):
        die(f"{traycreds} is not executable")
    tc_python = interpreter_of(traycreds)
    peers = common.Peers.find(args.bench_bin, "bench/run.sh")
    if "DBUS_SESSION_BUS_ADDRESS" not in os.environ:
        die("no D-Bus session: traycreds needs a Secret Service. Run bench/run.sh.")

    load_before = os.getloadavg()
    with common.local_sts("traycreds-bench-", args.keep) as (root, url):
        key_id, secret = common.create_identity(url)
        home = common.make_home(root, key_id, secret)
        env = common.tool_env(home, url, peers.aws.parent)
        common.add_key(traycreds, key_id, secret, env)

        seen: set[str] = set()
        fresh = common.fresh_credentials(key_id, seen)
        tools = [
            Tool("traycreds export", [str(traycreds), "export", "bench", "--shell", "bash"],
                 fresh),
            peers.awsume_tool(home, fresh),
            peers.assume_role_tool(fresh),
        ]
        common.run_rounds(tools, args.runs, lambda argv: measure(argv, env, root))

        say("breakdown: `python -c pass` and in-process probes of traycreds export")
        bare, probe_runs = run_probes(tc_python, env, root, args.runs)
        probes = probe_runs[""]

        versions = {
            "traycreds": version_line([str(traycreds), "--version"], env)
            + f" at {traycreds} ("
            + dist_versions(tc_python, env, ["boto3", "botocore", "keyring"]) + "; "
            + version_line([str(tc_python), "-V"], env) + ")",
            **peers.versions(env),
        }

    # --- report ----------------------------------------------------------------------------
    print(common.report_head("traycreds cold export benchmark", load_before, versions,
                             "(other work on the machine inflates all rows; the ratios hold "
                             "better)"))
    print(f"\nSame local STS (moto on loopback, authenticated calls) for all; {args.runs} runs "
          "each, interleaved; every run a fresh process that called STS (distinct key ids).\n")
    print(common.comparison_table("tool", [(t.name, t.samples) for t in tools]))
    base_wall = statistics.median(s.wall_s for s in tools[0].samples)

    print(f"\n## Where traycreds export's time goes (medians of {args.runs} fresh processes)\n")
    breakdown, probe_wall = common.breakdown_table(
        BREAKDOWN, [(r.wall_s, r.phases) for r in probes], statistics.median(bare))
    print(breakdown)
    print(f"\n(the probe runs the real `traycreds export` in-process through "
          f"`traycreds.cli.entry.run()`, with timers around the library calls; its wall, "
          f"{fmt_ms(probe_wall)} ms, compares with {fmt_ms(base_wall)} ms for the real command; "
          "medians of phases need not add up exactly)")

    backends = sorted({r.backend for r in probes})
    discovered = sum(1 for r in probes if r.discovery_calls)
    print(f"\nkeyring backend from traycreds' default_backend(): {', '.join(backends)}; "
          f"keyring.get_keyring() (discovery) ran in {discovered} of {len(probes)} probe runs.")
    gc_run = statistics.median(r.phases.get("gc", 0.0) for r in probes)
    print(f"Cyclic GC pauses inside the run (already counted in the phases above): "
          f"{fmt_ms(gc_run)} ms.")
    print("The same probe, changed in one respect:")
    for flag, what in VARIANTS:
        runs = probe_runs[flag]
        wall = statistics.median(r.wall_s for r in runs)
        diff = wall - probe_wall
        more = f"{fmt_ms(abs(diff))} ms {'more' if diff >= 0 else 'less'}"
        if flag == "--gc-default":
            gc_pauses = statistics.median(r.phases.get("gc", 0.0) for r in runs)
            more += f"; GC pauses inside the run {fmt_ms(gc_pauses)} ms"
        print(f"- {what}: {fmt_ms(wall)} ms ({more})")

    awsume_wall = statistics.median(s.wall_s for s in tools[1].samples)
    ratio = base_wall / awsume_wall
    verdict = "PASS" if base_wall <= TARGET_S and ratio <= TARGET_VS_AWSUME else "MISS"
    print(f"\ntraycreds export / awsume -s, medians of this run: {ratio:.2f}x "
          f"(target at most {TARGET_VS_AWSUME:.2f}x)")
    print(f"{verdict}: traycreds export cold median {fmt_ms(base_wall)} ms, {ratio:.2f}x "
          f"awsume's; targets {fmt_ms(TARGET_S)} ms and {TARGET_VS_AWSUME:.2f}x")

    common.write_json(args.json, {
        "tools": common.samples_json(tools),
        "python_pass_s": bare,
        "probes": {flag or "plain": [asdict(r) for r in runs]
                   for flag, runs in probe_runs.items()},
        "versions": versions, "target_s": TARGET_S, "verdict": verdict,
        "vs_awsume": ratio, "target_vs_awsume": TARGET_VS_AWSUME,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
