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
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

TARGET_S = 0.6
ACCOUNT = "123456789012"  # moto's default account
ROLE_NAME = "bench-role"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
REGION = "us-east-1"
# IAM calls made unauthenticated during setup; moto authenticates every call after these.
SETUP_CALLS = 4
REPO = Path(__file__).resolve().parent.parent

KEY_ID_PATTERNS = (
    re.compile(r"AWS_ACCESS_KEY_ID='?([A-Z0-9]{16,128})"),  # traycreds, awsume (shell lines)
    re.compile(r'"AccessKeyId":\s*"([A-Z0-9]{16,128})"'),  # aws (JSON)
)
# The shell line / JSON field that proves a run printed temporary credentials.
TOKEN_PATTERNS = (re.compile(r"AWS_SESSION_TOKEN='?\S{20,}"), re.compile(r'"SessionToken":\s*"'))


def die(message: str) -> None:
    sys.stderr.write(f"export_cold: FAIL: {message}\n")
    sys.exit(1)


def say(message: str) -> None:
    sys.stderr.write(f"export_cold: {message}\n")
    sys.stderr.flush()


# --- measuring one process ---------------------------------------------------------------------
@dataclass
class Sample:
    wall_s: float
    rss_kib: int
    status: int
    stdout: str
    stderr: str


def measure(argv: Sequence[str], env: dict[str, str], workdir: Path) -> Sample:
    """Spawn argv (stdin /dev/null, output to files), wait4 for it: wall time and peak RSS.

    ru_maxrss from wait4 is the larger of the child's own peak and that of the descendants
    it reaped (so a shell wrapper reports the Python it ran). KiB on Linux.
    """
    out, err = workdir / "run.out", workdir / "run.err"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(out), flags, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, str(err), flags, 0o600),
    ]
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], list(argv), env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    return Sample(wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status),
                  out.read_text(errors="replace"), err.read_text(errors="replace"))


def check_credentials(tool: str, sample: Sample, long_term_key: str, seen: set[str]) -> None:
    """Exit 0, temporary credentials printed, and a key id no earlier run got (a real call)."""
    def fail(why: str) -> None:
        die(f"{tool}: {why} (exit {sample.status})\n--- stdout ---\n{sample.stdout[-2000:]}"
            f"\n--- stderr ---\n{sample.stderr[-2000:]}")

    if sample.status != 0:
        fail("non-zero exit")
    ids = [m.group(1) for p in KEY_ID_PATTERNS for m in p.finditer(sample.stdout)]
    if not ids or not any(p.search(sample.stdout) for p in TOKEN_PATTERNS):
        fail("no temporary credentials (access key id + session token) in the output")
    key_id = ids[0]
    if key_id == long_term_key:
        fail("printed the long-term key, not role credentials")
    if key_id in seen:
        fail(f"access key id {key_id} was already issued: served from a cache, not STS")
    seen.add(key_id)


# --- moto and the AWS side -------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_CALLS)}
    log = open(workdir / "moto.log", "wb")  # noqa: SIM115 - the server's for its lifetime
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
        start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            die(f"moto server exited ({server.returncode}); see {workdir / 'moto.log'}:\n"
                + (workdir / "moto.log").read_text(errors="replace")[-2000:])
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1):
                return server, url
        except OSError:
            time.sleep(0.05)
    server.kill()
    die("moto server did not answer within 20 s")
    raise AssertionError  # unreachable


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def create_identity(url: str) -> tuple[str, str]:
    """IAM user + access key + role it may assume; returns (key id, secret)."""
    import boto3
    from botocore.exceptions import ClientError

    common = {"region_name": REGION, "endpoint_url": url,
              "aws_access_key_id": "AKIASETUPSETUPSETUP0", "aws_secret_access_key": "setup"}
    iam = boto3.client("iam", **common)
    iam.create_user(UserName="bench-user")
    key = iam.create_access_key(UserName="bench-user")["AccessKey"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/bench-user"}}]}
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    allow = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}]}
    iam.put_user_policy(UserName="bench-user", PolicyName="assume-bench",
                        PolicyDocument=json.dumps(allow))
    key_id, secret = key["AccessKeyId"], key["SecretAccessKey"]

    # From here on moto authenticates: a wrong secret must fail, the right one must work.
    sts = boto3.client("sts", region_name=REGION, endpoint_url=url,
                       aws_access_key_id=key_id, aws_secret_access_key=secret + "x")
    try:
        sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="check")
        die("moto accepted a wrong secret: requests are not authenticated")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "SignatureDoesNotMatch":
            die(f"expected SignatureDoesNotMatch for a wrong secret, got {exc}")
    sts = boto3.client("sts", region_name=REGION, endpoint_url=url,
                       aws_access_key_id=key_id, aws_secret_access_key=secret)
    sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="check")
    return key_id, secret


def make_home(root: Path, key_id: str, secret: str) -> Path:
    home = root / "home"
    aws = home / ".aws"
    aws.mkdir(parents=True)
    (aws / "config").write_text(
        f"[profile bench]\nrole_arn = {ROLE_ARN}\nsource_profile = benchkey\nregion = {REGION}\n"
        f"\n[profile benchkey]\nregion = {REGION}\n")
    # awsume and the AWS CLI read the long-term key from here; traycreds does not.
    (aws / "credentials").write_text(
        f"[benchkey]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n")
    os.chmod(aws / "credentials", 0o600)
    return home


def tool_env(home: Path, url: str, bench_bin: Path) -> dict[str, str]:
    keep = ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "DISPLAY", "LANG", "LC_ALL", "TERM",
            "TZ", "PYENV_ROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update({
        "HOME": str(home),
        "PATH": os.pathsep.join([str(bench_bin), "/usr/local/bin", "/usr/bin", "/bin"]),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "AWS_ENDPOINT_URL": url,
        "AWS_ENDPOINT_URL_STS": url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
    })
    return env


# --- the tools -----------------------------------------------------------------------------
@dataclass
class Tool:
    name: str
    argv: list[str]
    before: Callable[[], None] = lambda: None
    samples: list[Sample] = field(default_factory=list)


def interpreter_of(script: Path) -> Path:
    """The Python a console script runs under (its shebang), else the one beside it."""
    try:
        first = script.read_bytes().split(b"\n", 1)[0].decode()
    except (OSError, UnicodeDecodeError):
        first = ""
    if first.startswith("#!") and "python" in first:
        candidate = Path(first[2:].strip().split()[0])
        if candidate.exists():
            return candidate
    beside = script.parent / "python"
    if beside.exists():
        return beside
    die(f"cannot tell which Python runs {script}")
    raise AssertionError


def version_line(argv: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)
    text = (done.stdout + done.stderr).strip()
    return text.splitlines()[0] if text else f"(no output, exit {done.returncode})"


def dist_versions(python: Path, env: dict[str, str], names: Sequence[str]) -> str:
    code = ("import importlib.metadata as m, sys\n"
            "for n in sys.argv[1:]:\n"
            "    try: print(n, m.version(n))\n"
            "    except m.PackageNotFoundError: pass\n")
    done = subprocess.run([str(python), "-c", code, *names], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    return ", ".join(line for line in done.stdout.split("\n") if line)


# --- where traycreds' time goes ------------------------------------------------------------------
# Runs in a fresh traycreds process: wraps the library calls traycreds makes, then runs the
# real `traycreds export` in-process through `traycreds.cli.main.run()`, the console script's
# entry point (so with its collector handling: gc.disable() first, gc.freeze() before exit).
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
import boto3.session, botocore.session, botocore.client
add("import_boto", time.perf_counter() - t)
if hasattr(sts, "boto_session"):
    sts.boto_session = timed("boto_session", sts.boto_session)
boto3.session.Session.client = timed("client", boto3.session.Session.client)
botocore.client.BaseClient._make_api_call = timed("call", botocore.client.BaseClient._make_api_call)

argv = ["export", "bench", "--shell", "bash"]
real, sys.stdout = sys.stdout, io.StringIO()
t = time.perf_counter()
if GC_DEFAULT:
    status = cli.main(argv)
else:
    sys.argv = ["traycreds", *argv]
    try:
        cli.run()  # gc.disable(), main(argv), gc.freeze(), sys.exit(code)
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
WRAPPED = ("backend", "get_password", "boto_session", "client", "call")

@dataclass
class ProbeRun:
    wall_s: float
    phases: dict[str, float]
    backend: str
    discovery_calls: int


# (label, how it is computed from one probe run's phases: seconds)
BREAKDOWN: list[tuple[str, Callable[[dict[str, float], float, float], float]]] = [
    ("interpreter start + exit (`python -c pass`)", lambda p, wall, bare: bare),
    ("import traycreds CLI (argparse, core modules)", lambda p, wall, bare: p["import_cli"]),
    ("import keyring", lambda p, wall, bare: p["import_keyring"]),
    ("import traycreds keystore + sts adapters", lambda p, wall, bare: p["import_adapters"]),
    ("keyring backend (platform backend, no discovery)",
     lambda p, wall, bare: p.get("backend", 0)),
    ("keyring get_password (D-Bus Secret Service)",
     lambda p, wall, bare: p.get("get_password", 0)),
    ("import boto3 + botocore", lambda p, wall, bare: p["import_boto"]),
    ("boto3/botocore session", lambda p, wall, bare: p.get("boto_session", 0)),
    ("STS client creation (service model, endpoint rules)",
     lambda p, wall, bare: p.get("client", 0)),
    ("AssumeRole call (endpoint resolution, SigV4, HTTP, parse; incl. moto)",
     lambda p, wall, bare: p.get("call", 0)),
    ("rest of traycreds (config, logging, engine, render)",
     lambda p, wall, bare: p["main"] - sum(p.get(k, 0) for k in WRAPPED)),
    ("teardown at exit, beyond a bare one (wall - start - in-process)",
     lambda p, wall, bare: wall - bare - p["in_process"]),
]


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def p90(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: int = 1) -> str:
    """A Markdown table; columns from index ``right`` on are right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(
            str(c).rjust(w) if i >= right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i >= right else ("-" * (w + 2))
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def cpu_model() -> str:
    try:
        for text_line in Path("/proc/cpuinfo").read_text().splitlines():
            if text_line.startswith("model name"):
                return text_line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def default_traycreds() -> Path:
    for candidate in (REPO / ".venv/bin/traycreds", Path("/tmp/probe-venv/bin/traycreds")):
        if candidate.exists():
            return candidate
    die("no traycreds found in .venv or /tmp/probe-venv: pass --traycreds PATH")
    raise AssertionError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per tool (default 15)")
    parser.add_argument("--traycreds", type=Path, help="the traycreds executable to time "
                        "(default: .venv/bin/traycreds, else /tmp/probe-venv/bin/traycreds)")
    parser.add_argument("--bench-bin", type=Path, default=Path(sys.executable).parent,
                        help="bin folder holding awsume, awsumepy and aws (default: this "
                             "Python's, i.e. the bench venv)")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    traycreds = (args.traycreds or default_traycreds()).absolute()
    if not os.access(traycreds, os.X_OK):
        die(f"{traycreds} is not executable")
    tc_python = interpreter_of(traycreds)
    bench_bin = args.bench_bin.absolute()
    awsume, aws = bench_bin / "awsume", bench_bin / "aws"
    for exe in (awsume, bench_bin / "awsumepy", aws):
        if not exe.exists():
            die(f"{exe} is missing: run bench/run.sh (it installs awsume and awscli)")
    bash = shutil.which("bash") or "/bin/bash"
    if "DBUS_SESSION_BUS_ADDRESS" not in os.environ:
        die("no D-Bus session: traycreds needs a Secret Service. Run bench/run.sh.")

    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="traycreds-bench-"))
    server = None
    try:
        say(f"starting moto in {root}")
        server, url = start_moto(root)
        key_id, secret = create_identity(url)
        home = make_home(root, key_id, secret)
        env = tool_env(home, url, bench_bin)

        added = subprocess.run([str(traycreds), "keys", "add", "benchkey", "--no-verify"],
                               input=f"{key_id}\n{secret}\n", env=env, capture_output=True,
                               text=True, timeout=60, check=False)
        if added.returncode != 0:
            die(f"traycreds keys add failed ({added.returncode}):\n{added.stdout}{added.stderr}")

        awsume_cache = home / ".awsume" / "cache"

        def clear_awsume_cache() -> None:
            shutil.rmtree(awsume_cache, ignore_errors=True)

        tools = [
            Tool("traycreds export", [str(traycreds), "export", "bench", "--shell", "bash"]),
            # awsume is a shell function/alias that sources this script (it runs awsumepy and
            # turns its answer into export lines); sourced in a fresh non-interactive bash.
            Tool("awsume -s", [bash, "--norc", "--noprofile", "-c", 'source "$1" "${@:2}"',
                               "awsume", str(awsume), "bench", "-s"], clear_awsume_cache),
            Tool("aws sts assume-role", [str(aws), "sts", "assume-role", "--role-arn", ROLE_ARN,
                                         "--role-session-name", "bench", "--profile",
                                         "benchkey"]),
        ]

        seen: set[str] = set()
        say("warm-up round (not timed: first runs write .pyc files, awsume its config)")
        for tool in tools:
            tool.before()
            check_credentials(tool.name, measure(tool.argv, env, root), key_id, seen)

        say(f"{args.runs} timed rounds, round-robin, starting tool rotated each round")
        for round_no in range(args.runs):
            for i in range(len(tools)):
                tool = tools[(round_no + i) % len(tools)]
                tool.before()
                sample = measure(tool.argv, env, root)
                check_credentials(tool.name, sample, key_id, seen)
                tool.samples.append(sample)

        say("breakdown: `python -c pass` and in-process probes of traycreds export")
        probe_file = root / "probe.py"
        probe_file.write_text(PROBE)
        bare: list[float] = []
        # "" is the plain probe (the shipped behaviour); the others are VARIANTS.
        probe_runs: dict[str, list[ProbeRun]] = {"": [], **{flag: [] for flag, _ in VARIANTS}}
        for _ in range(args.runs):
            bare.append(measure([str(tc_python), "-c", "pass"], env, root).wall_s)
            for flag, runs in probe_runs.items():
                extra = [flag] if flag else []
                sample = measure([str(tc_python), str(probe_file), *extra], env, root)
                try:
                    result = json.loads(sample.stdout.strip().splitlines()[-1])
                except (ValueError, IndexError):
                    result = {}
                if sample.status != 0 or result.get("status") != 0 \
                        or not result.get("has_token"):
                    die(f"probe {flag or '(plain)'} failed (exit {sample.status}): "
                        f"{sample.stdout[-1500:]}{sample.stderr[-1500:]}")
                runs.append(ProbeRun(sample.wall_s, result["phases"],
                                     str(result.get("backend")),
                                     int(result.get("discovery_calls", 0))))
        probes = probe_runs[""]

        versions = {
            "traycreds": version_line([str(traycreds), "--version"], env)
            + f" at {traycreds} ("
            + dist_versions(tc_python, env, ["boto3", "botocore", "keyring"]) + "; "
            + version_line([str(tc_python), "-V"], env) + ")",
            "awsume": "awsume " + version_line([str(bench_bin / "awsumepy"), "--version"], env)
            + " (" + dist_versions(Path(sys.executable), env, ["boto3", "botocore"]) + ")",
            "aws": version_line([str(aws), "--version"], env),
            "moto": "moto " + dist_versions(Path(sys.executable), env, ["moto"]).split()[-1],
        }
    finally:
        if server is not None:
            stop(server)
        if args.keep:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    # --- report ----------------------------------------------------------------------------
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"# traycreds cold export benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print()
    print(f"machine: {cpus} CPUs (nproc), {cpu_model()}, {platform.system()} "
          f"{platform.release()}, {platform.python_implementation()} "
          f"{platform.python_version()} (bench driver)")
    load_after = os.getloadavg()
    print("load average (1/5/15 min): " + " / ".join(f"{x:.2f}" for x in load_before)
          + " before, " + " / ".join(f"{x:.2f}" for x in load_after) + " after "
          "(other work on the machine inflates all rows; the ratios hold better)")
    for name, line in versions.items():
        print(f"- {name}: {line}")
    print(f"\nSame local STS (moto on loopback, authenticated calls) for all; {args.runs} runs "
          "each, interleaved; every run a fresh process that called STS (distinct key ids).\n")

    base = tools[0]
    base_wall = statistics.median(s.wall_s for s in base.samples)
    base_rss = statistics.median(s.rss_kib for s in base.samples)
    rows = []
    for tool in tools:
        walls = [s.wall_s for s in tool.samples]
        rss = statistics.median(s.rss_kib for s in tool.samples)
        rows.append([tool.name, fmt_ms(statistics.median(walls)), fmt_ms(p90(walls)),
                     fmt_ms(min(walls)), f"{rss / 1024:.1f}",
                     f"{statistics.median(walls) / base_wall:.2f}x", f"{rss / base_rss:.2f}x"])
    print(table(["tool", "median wall ms", "p90 wall ms", "min wall ms", "median peak RSS MiB",
                 "wall vs traycreds", "RSS vs traycreds"], rows))

    bare_median = statistics.median(bare)
    probe_wall = statistics.median(r.wall_s for r in probes)
    print(f"\n## Where traycreds export's time goes (medians of {args.runs} fresh processes)\n")
    rows = []
    for label, pick in BREAKDOWN:
        value = statistics.median(pick(r.phases, r.wall_s, bare_median) for r in probes)
        rows.append([label, fmt_ms(value), f"{100 * value / probe_wall:.0f}%"])
    rows.append(["total: probe process wall", fmt_ms(probe_wall), "100%"])
    print(table(["phase", "median ms", "share"], rows))
    print(f"\n(the probe runs the real `traycreds export` in-process through "
          f"`traycreds.cli.main.run()`, with timers around the library calls; its wall, "
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

    verdict = "PASS" if base_wall <= TARGET_S else "MISS"
    print(f"\n{verdict}: traycreds export cold median {fmt_ms(base_wall)} ms vs target "
          f"{fmt_ms(TARGET_S)} ms")

    if args.json:
        args.json.write_text(json.dumps({
            "tools": {t.name: [{"wall_s": s.wall_s, "rss_kib": s.rss_kib} for s in t.samples]
                      for t in tools},
            "python_pass_s": bare,
            "probes": {flag or "plain": [asdict(r) for r in runs]
                       for flag, runs in probe_runs.items()},
            "versions": versions, "target_s": TARGET_S, "verdict": verdict,
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
