"""Fast-path benchmark: ``traycreds export`` answered by a running tray, beside the others.

One local STS (moto on loopback, authenticated calls) and one running ``traycreds tray`` that
holds the role (made to hold it by one ``traycreds export`` through the channel). Then N
interleaved rounds of, each a fresh process:

- ``traycreds export ROLE --shell bash``: the runtime (non-editable) install, the number that
  counts; and the repo's editable ``.venv``, for comparison
- ``aws --profile via-tray sts get-caller-identity``: ``credential_process`` asks the tray
- ``aws --profile plainkeys sts get-caller-identity``: plain keys in ~/.aws/credentials
- ``awsume ROLE -s`` and ``aws sts assume-role``, as bench/export_cold.py runs them
- ``python -c pass`` in the runtime install's interpreter: the floor

Wall time (perf_counter around posix_spawn + wait4) and peak RSS (wait4's ru_maxrss), with
ratios to the runtime ``traycreds export``, PASS/MISS against the issue's targets, and where
the fast path's own time goes. Run it through ``bash bench/fastpath.sh`` (it builds the
runtime install and the private desktop session the tray needs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import common
from common import ROLE_NAME, Sample, Tool, die, fail_detail, fmt_ms, say

TARGET_WALL_S = 0.080
TARGET_RSS_MIB = 25.0
TARGET_VS_AWSUME = 10.0
START_TIMEOUT = 30.0  # the tray imports GTK/Xlib, PIL and Tk before it serves

KEY_ID = re.compile(r"AWS_ACCESS_KEY_ID='?([A-Z0-9]{16,128})")
ARN = re.compile(r'"Arn":\s*"([^"]+)"')


# Spawns one command and reports its wall time, peak RSS and exit code. It runs in a small
# process of its own because Linux's ru_maxrss of a process includes the peak RSS of the
# memory it was spawned from: exec records the old mm's high-water mark (fs/exec.c), and
# posix_spawn/vfork children run in their parent's mm until exec. Spawned from this driver
# (~50 MiB after boto3), every command would report at least that. This launcher (python -I
# -S, ~9 MiB, less than any Python the bench times) keeps the figure the command's own.
LAUNCHER = r"""
import os, sys, time
out, err, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
           (os.POSIX_SPAWN_OPEN, 1, out, flags, 0o600),
           (os.POSIX_SPAWN_OPEN, 2, err, flags, 0o600)]
start = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
sys.stdout.write(f"{wall!r} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}\n")
"""


def measure(argv: Sequence[str], env: dict[str, str], workdir: Path) -> Sample:
    """common.measure's figures (perf_counter around posix_spawn + wait4; ru_maxrss in
    KiB, the largest of the command and the descendants it reaped), taken in LAUNCHER."""
    out, err = workdir / "run.out", workdir / "run.err"
    done = subprocess.run([sys.executable, "-I", "-S", "-c", LAUNCHER, str(out), str(err),
                           *argv], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    try:
        wall, rss, status = done.stdout.split()
    except ValueError:
        die(f"the launcher failed ({done.returncode}): {done.stderr[-2000:]}")
    return Sample(float(wall), int(rss), int(status), out.read_text(errors="replace"),
                  err.read_text(errors="replace"))


# Runs in a fresh process of the runtime install's interpreter, doing what the console script
# does (pip's script: `import re`, then traycreds.cli.entry.run(): try_fast, then os._exit),
# with timers. One JSON line.
PROBE = r'''
import time
T0 = time.perf_counter()
import sys
phases = {}
# In the console script's order, each timed alone (what the rows above it imported is cached).
for key, name in (("script_re", "re"),  # the first line of pip's console script
                  ("entry", "traycreds.cli.entry"), ("fast", "traycreds.cli.fast"),
                  ("hardening", "traycreds.adapters.hardening"),
                  ("errors", "traycreds.core.errors"), ("shells", "traycreds.core.shells"),
                  ("provider", "traycreds.app.provider"),
                  ("protocol", "traycreds.channel.protocol"),
                  ("client", "traycreds.channel.client"),
                  ("remote", "traycreds.channel.remote")):
    t = time.perf_counter()
    __import__(name)
    phases[key] = time.perf_counter() - t
entry, client = sys.modules["traycreds.cli.entry"], sys.modules["traycreds.channel.client"]
try_fast = sys.modules["traycreds.cli.fast"].try_fast
_request = client.request
def request(*args, **kwargs):
    start = time.perf_counter()
    try:
        return _request(*args, **kwargs)
    finally:
        phases["request"] = time.perf_counter() - start
client.request = request
import io
real, sys.stdout = sys.stdout, io.StringIO()
t = time.perf_counter()
status = try_fast(["export", sys.argv[1], "--shell", "bash"])
phases["run"] = time.perf_counter() - t
printed, sys.stdout = sys.stdout.getvalue(), real
phases["in_process"] = time.perf_counter() - T0
modules = len(sys.modules)
import json  # the probe's own report: after every measurement (the fast path imports no json)
print(json.dumps({"status": status, "phases": phases, "printed": "AWS_SESSION_TOKEN" in printed,
                  "modules": modules}))
entry._exit_now(status)  # as run() does after the fast path
'''

BREAKDOWN: list[tuple[str, common.Phase]] = [
    ("interpreter start + exit (`python -c pass`)", lambda p, wall, bare: bare),
    ("`import re` in pip's console script", lambda p, wall, bare: p["script_re"]),
    ("import traycreds.cli.entry, traycreds.cli.fast", lambda p, wall, bare:
     p["entry"] + p["fast"]),
    ("import traycreds.adapters.hardening, core.errors, core.shells (checks, rendering)",
     lambda p, wall, bare: p["hardening"] + p["errors"] + p["shells"]),
    ("import traycreds.app.provider (render), channel.protocol (JSON on _json, checks)",
     lambda p, wall, bare: p["provider"] + p["protocol"]),
    ("import traycreds.channel.client, remote (address, wire, handshake, _socket, _sha256)",
     lambda p, wall, bare: p["client"] + p["remote"]),
    ("request: check folder and key, connect, check peer, handshake, answer",
     lambda p, wall, bare: p["request"]),
    ("rest of try_fast(): parse argv, core limit, check document, render, print",
     lambda p, wall, bare: p["run"] - p["request"]),
    ("exit (os._exit, no teardown), beyond a bare start + exit (wall - bare - in-process)",
     lambda p, wall, bare: wall - bare - p["in_process"]),
]


def start_tray(traycreds: Path, env: dict[str, str], root: Path) -> subprocess.Popen[bytes]:
    log = open(root / "tray.log", "wb")  # noqa: SIM115 - the tray's, for its lifetime
    # The tray's default backend on Linux is pystray's gtk one: the install needs the `linux`
    # extra (PyGObject), as bench/fastpath.sh installs it. PYSTRAY_BACKEND passes through.
    tray_env = {**env, **{k: v for k, v in os.environ.items() if k == "PYSTRAY_BACKEND"}}
    tray = subprocess.Popen([str(traycreds), "tray"], env=tray_env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    python = common.interpreter_of(traycreds)
    hello = "from traycreds.channel.client import request; print(request('hello')['pid'])"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if tray.poll() is not None:
            die(f"the tray exited ({tray.returncode}):\n"
                + (root / "tray.log").read_text(errors="replace")[-2000:])
        done = subprocess.run([str(python), "-c", hello], env=env, capture_output=True,
                              text=True, timeout=30, check=False)
        if done.returncode == 0 and done.stdout.strip() == str(tray.pid):
            return tray
        if time.monotonic() > deadline:
            tray.kill()
            die(f"the tray did not answer within {START_TIMEOUT:.0f} s: {done.stderr[-1000:]}\n"
                + (root / "tray.log").read_text(errors="replace")[-2000:])
        time.sleep(0.2)


def stop_tray(tray: subprocess.Popen[bytes], traycreds: Path, env: dict[str, str]) -> None:
    """`traycreds quit`; a tray still running 10 s later is terminated, then killed."""
    if tray.poll() is None:
        subprocess.run([str(traycreds), "quit"], env=env, capture_output=True, timeout=30,
                       check=False)
        with contextlib.suppress(subprocess.TimeoutExpired):
            tray.wait(10)
    common.stop_group(tray)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traycreds", type=Path, required=True,
                        help="the runtime (non-editable) install's traycreds: starts the tray "
                             "and is the command the targets apply to")
    parser.add_argument("--editable", type=Path,
                        help="another traycreds to time beside it (e.g. .venv/bin/traycreds)")
    args = common.parse_cli_bench_args(parser, argv, runs=20)

    traycreds = args.traycreds.absolute()
    editable = args.editable.absolute() if args.editable else None
    for exe in (traycreds, editable):
        if exe is not None and not os.access(exe, os.X_OK):
            die(f"{exe} is not executable")
    tc_python = common.interpreter_of(traycreds)
    peers = common.Peers.find(args.bench_bin, "bench/fastpath.sh")
    for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "XDG_RUNTIME_DIR"):
        if name not in os.environ:
            die(f"{name} is not set: the tray needs a desktop session. Run bench/fastpath.sh.")

    load_before = os.getloadavg()
    with common.local_sts("traycreds-fastpath-", args.keep) as (root, url), \
            contextlib.ExitStack() as cleanup:  # exits first: the tray stops before moto
        key_id, secret = common.create_identity(url)
        home = common.make_home(root, key_id, secret)
        aws_dir = home / ".aws"
        with (aws_dir / "config").open("a") as config:
            config.write(f"\n[profile via-tray]\nregion = {common.REGION}\n"
                         f"credential_process = {traycreds} credential-process bench\n"
                         f"\n[profile plainkeys]\nregion = {common.REGION}\n")
        with (aws_dir / "credentials").open("a") as credentials:
            credentials.write(f"\n[plainkeys]\naws_access_key_id = {key_id}\n"
                              f"aws_secret_access_key = {secret}\n")
        env = common.tool_env(home, url, peers.aws.parent)
        for name in ("DISPLAY", "XAUTHORITY"):
            if name in os.environ:
                env[name] = os.environ[name]

        common.add_key(traycreds, key_id, secret, env)

        say("starting the tray")
        tray = start_tray(traycreds, env, root)
        cleanup.callback(stop_tray, tray, traycreds, env)
        export = [str(traycreds), "export", "bench", "--shell", "bash"]
        first = measure(export, env, root)
        held = KEY_ID.search(first.stdout)
        if first.status != 0 or held is None or "AWS_SESSION_TOKEN" not in first.stdout:
            fail_detail("traycreds export (first, through the tray)", first, "no credentials")
        held_id = held.group(1)
        say(f"the tray holds the role: {held_id}, issued in {fmt_ms(first.wall_s)} ms")

        def from_tray(sample: Sample) -> str | None:
            match = KEY_ID.search(sample.stdout)
            if sample.status != 0 or match is None or "AWS_SESSION_TOKEN" not in sample.stdout:
                return "no credentials printed"
            if match.group(1) != held_id:
                return f"key id {match.group(1)}, not the tray's {held_id}: not the fast path"
            return None

        def identity(expected: str) -> Callable[[Sample], str | None]:
            def check(sample: Sample) -> str | None:
                match = ARN.search(sample.stdout)
                if sample.status != 0 or match is None:
                    return "no caller identity printed"
                if expected not in match.group(1):
                    return f"identity {match.group(1)}, expected {expected}"
                return None
            return check

        fresh = common.fresh_credentials(key_id, seen={held_id})
        aws = str(peers.aws)
        tools = [
            Tool("traycreds export (tray; runtime install)", export, from_tray),
            Tool("aws sts get-caller-identity (credential_process: traycreds via tray)",
                 [aws, "--profile", "via-tray", "sts", "get-caller-identity"],
                 identity(f"assumed-role/{ROLE_NAME}/")),
            Tool("aws sts get-caller-identity (plain keys in ~/.aws/credentials)",
                 [aws, "--profile", "plainkeys", "sts", "get-caller-identity"],
                 identity("user/bench-user")),
            peers.awsume_tool(home, fresh),
            peers.assume_role_tool(fresh),
            Tool("python -c pass (runtime install's interpreter)",
                 [str(tc_python), "-c", "pass"], lambda s: None if s.status == 0 else "failed"),
        ]
        if editable is not None:
            tools.insert(1, Tool("traycreds export (tray; editable .venv)",
                                 [str(editable), "export", "bench", "--shell", "bash"],
                                 from_tray))

        # The breakdown's probe takes its turn in the rounds too, so that it meets the same
        # load as the commands (the machine is shared).
        (root / "probe.py").write_text(PROBE)

        def probe_check(sample: Sample) -> str | None:
            try:
                result = json.loads(sample.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                result = {}
            if sample.status != 0 or result.get("status") != 0 or not result.get("printed") \
                    or "request" not in result.get("phases", {}):
                return "did not take the fast path"
            sample.stdout = json.dumps(result["phases"])  # kept: the samples are the phases
            return None

        probe = Tool("breakdown probe", [str(tc_python), str(root / "probe.py"), "bench"],
                     probe_check)
        common.run_rounds([*tools, probe], args.runs, lambda argv: measure(argv, env, root))
        bare = [s.wall_s for s in tools[-1].samples]  # python -c pass
        probes = [(s.wall_s, json.loads(s.stdout)) for s in probe.samples]
        importtime = subprocess.run([str(tc_python), "-X", "importtime", str(traycreds),
                                     "export", "bench", "--shell", "bash"], env=env,
                                    capture_output=True, text=True, timeout=60, check=False)
        imported = [line.rsplit("|", 1)[1].strip() for line in importtime.stderr.splitlines()
                    if line.startswith("import time:") and "|" in line]
        imported = [name for name in imported if name != "imported package"]  # the header

        versions = {
            "traycreds": common.version_line([str(traycreds), "--version"], env)
            + f" at {traycreds} (" + common.version_line([str(tc_python), "-V"], env) + ")",
            "editable": (common.version_line([str(editable), "--version"], env)
                         + f" at {editable}" if editable else "not timed"),
            **peers.versions(env),
        }

    # --- report ------------------------------------------------------------------------------
    print(common.report_head("traycreds fast-path benchmark (a running tray)", load_before,
                             versions))
    print(f"\nSame local STS (moto on loopback, authenticated calls); one running tray holding "
          f"the role; {args.runs} runs each, interleaved, each a fresh process. traycreds runs "
          "printed the tray's held credentials (same key id every time); awsume and "
          "assume-role runs each called STS (distinct key ids).\n")
    print(common.comparison_table("command", [(t.name, t.samples) for t in tools]))
    base_wall = statistics.median(s.wall_s for s in tools[0].samples)
    base_rss = statistics.median(s.rss_kib for s in tools[0].samples)

    print(f"\n## Where the fast path's time goes (runtime install; medians of {args.runs} "
          "fresh processes)\n")
    breakdown, probe_wall = common.breakdown_table(BREAKDOWN, probes, statistics.median(bare),
                                                   decimals=1)
    print(breakdown)
    print(f"\n(the probe does what pip's console script does, `import re` then "
          f"`traycreds.cli.entry.run()`, with timers, in the same rounds as the commands; its "
          f"wall, {fmt_ms(probe_wall)} ms, compares with {fmt_ms(base_wall)} ms for the real "
          "command (it also compiles itself, imports io, and json to report after the last "
          "timer). Each import row "
          "counts only what the rows above it had not imported yet.)")
    avoided = ("boto3", "botocore", "keyring", "pystray", "PIL", "argparse", "logging",
               "multiprocessing", "pathlib", "socket", "hashlib", "hmac", "typing", "dataclasses",
               "json", "datetime", "traycreds.cli.main")
    heavy = [name for name in avoided if name in imported]
    print(f"\nModules `traycreds export` imported (python -X importtime, runtime install): "
          f"{len(imported)}; of {', '.join(avoided)}: {', '.join(heavy) or 'none'}.")

    awsume_tool = next(tool for tool in tools if tool.name == "awsume -s")
    awsume_wall = statistics.median(s.wall_s for s in awsume_tool.samples)
    speedup = awsume_wall / base_wall
    verdicts = [
        (base_wall < TARGET_WALL_S, f"traycreds export (tray) median {fmt_ms(base_wall)} ms "
                                    f"vs target < {fmt_ms(TARGET_WALL_S)} ms"),
        (base_rss / 1024 < TARGET_RSS_MIB, f"traycreds export (tray) median peak RSS "
                                           f"{base_rss / 1024:.1f} MiB vs target < "
                                           f"{TARGET_RSS_MIB:.0f} MiB"),
        (speedup >= TARGET_VS_AWSUME, f"awsume -s / traycreds export = {speedup:.1f}x vs "
                                      f"target >= {TARGET_VS_AWSUME:.0f}x (awsume "
                                      f"{fmt_ms(awsume_wall)} ms; 10x needs traycreds <= "
                                      f"{awsume_wall * 100:.0f} ms)"),
    ]
    print()
    for ok, line in verdicts:
        print(f"{'PASS' if ok else 'MISS'}: {line}")

    common.write_json(args.json, {
        "tools": common.samples_json(tools),
        "python_pass_s": bare,
        "probes": [{"wall_s": wall, "phases": p} for wall, p in probes],
        "imported": imported, "versions": versions,
        "verdicts": [{"pass": ok, "line": line} for ok, line in verdicts],
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
