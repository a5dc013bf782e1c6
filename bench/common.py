"""What the bench scripts share, in one place: messages, spawning and measuring a process,
percentiles and Markdown tables, the lines that open a report (machine, load, versions), the
local STS (moto's server) and the AWS home of the CLI benches (export_cold.py, fastpath.py),
and trayer's panel watched through python-xlib (tray_start.py, idle_wakeups.py).

Imported by the scripts beside it (``import common``; Python puts a script's folder first on
sys.path). Standard library only at import time: boto3 (the identity setup) and python-xlib
(the panel) are imported where they are used, so each script needs only what it uses.
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.argv[0]).stem or "bench"  # the prefix of every message


# --- messages -------------------------------------------------------------------------------


def say(message: str) -> None:
    sys.stderr.write(f"{SCRIPT}: {message}\n")
    sys.stderr.flush()


def die(message: str) -> NoReturn:
    sys.stderr.write(f"{SCRIPT}: FAIL: {message}\n")
    sys.exit(1)


# --- numbers and tables ---------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks (statistics.quantiles' "inclusive")."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def p90(values: Sequence[float]) -> float:
    return percentile(values, 0.9)


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


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


def write_json(path: Path | None, data: Any) -> None:
    """The raw figures, for --json FILE (nothing without it)."""
    if path is not None:
        path.write_text(json.dumps(data, indent=2))


# --- measuring one process ------------------------------------------------------------------


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


def fail_detail(what: str, sample: Sample, why: str) -> NoReturn:
    die(f"{what}: {why} (exit {sample.status})\n--- stdout ---\n{sample.stdout[-2000:]}"
        f"\n--- stderr ---\n{sample.stderr[-2000:]}")


def comparison_table(first_header: str, runs: Sequence[tuple[str, Sequence[Sample]]]) -> str:
    """Median/p90/min wall and median peak RSS per command, with ratios to the first one."""
    base_wall = statistics.median(s.wall_s for s in runs[0][1])
    base_rss = statistics.median(s.rss_kib for s in runs[0][1])
    rows = []
    for name, samples in runs:
        walls = [s.wall_s for s in samples]
        rss = statistics.median(s.rss_kib for s in samples)
        rows.append([name, fmt_ms(statistics.median(walls)), fmt_ms(p90(walls)),
                     fmt_ms(min(walls)), f"{rss / 1024:.1f}",
                     f"{statistics.median(walls) / base_wall:.2f}x", f"{rss / base_rss:.2f}x"])
    return table([first_header, "median wall ms", "p90 wall ms", "min wall ms",
                  "median peak RSS MiB", "wall vs traycreds", "RSS vs traycreds"], rows)


# A check of one run: None when it did what it should, else why not.
Check = Callable[[Sample], "str | None"]


@dataclass
class Tool:
    """A command timed in the rounds, its check, and what to do before each run."""

    name: str
    argv: list[str]
    check: Check
    before: Callable[[], None] = lambda: None
    samples: list[Sample] = field(default_factory=list)


def run_rounds(tools: Sequence[Tool], runs: int, run: Callable[[list[str]], Sample]) -> None:
    """One untimed warm-up round (first runs write .pyc files, awsume its config), then
    ``runs`` rounds of every tool, the first tool rotated each round; every run checked."""

    def one(tool: Tool) -> Sample:
        tool.before()
        sample = run(tool.argv)
        if why := tool.check(sample):
            fail_detail(tool.name, sample, why)
        return sample

    say("warm-up round (not timed: first runs write .pyc files, awsume its config)")
    for tool in tools:
        one(tool)
    say(f"{runs} timed rounds, round-robin, starting command rotated each round")
    for round_no in range(runs):
        for i in range(len(tools)):
            tool = tools[(round_no + i) % len(tools)]
            tool.samples.append(one(tool))


def samples_json(tools: Sequence[Tool]) -> dict[str, list[dict[str, float]]]:
    """Every timed run's wall time and peak RSS, by command, for --json."""
    return {t.name: [{"wall_s": s.wall_s, "rss_kib": s.rss_kib} for s in t.samples]
            for t in tools}


# A probe's phase, from one probe run: (its phases in seconds, its process wall, the median
# wall of a bare `python -c pass`) -> seconds.
Phase = Callable[[dict[str, float], float, float], float]


def breakdown_table(breakdown: Sequence[tuple[str, Phase]],
                    probes: Sequence[tuple[float, dict[str, float]]], bare_median: float,
                    decimals: int = 0) -> tuple[str, float]:
    """Per-phase medians over the probe runs ((wall, phases) each), with their share of the
    probe's median wall; also returns that wall."""
    probe_wall = statistics.median(wall for wall, _ in probes)
    rows = []
    for label, pick in breakdown:
        value = statistics.median(pick(phases, wall, bare_median) for wall, phases in probes)
        rows.append([label, f"{value * 1000:.{decimals}f}", f"{100 * value / probe_wall:.0f}%"])
    rows.append(["total: probe process wall", f"{probe_wall * 1000:.{decimals}f}", "100%"])
    return table(["phase", "median ms", "share"], rows), probe_wall


# --- what ran where: the opening lines of a report ------------------------------------------


def cpu_model() -> str:
    try:
        for text_line in Path("/proc/cpuinfo").read_text().splitlines():
            if text_line.startswith("model name"):
                return text_line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"machine: {cpus} CPUs (nproc), {cpu_model()}, {platform.system()} "
            f"{platform.release()}, {platform.python_implementation()} "
            f"{platform.python_version()} (bench driver)")


def load_line(before: tuple[float, float, float], note: str = "") -> str:
    """The load average (1/5/15 min) before the runs and now."""
    return ("load average (1/5/15 min): " + " / ".join(f"{x:.2f}" for x in before)
            + " before, " + " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " after"
            + (f" {note}" if note else ""))


def report_head(title: str, load_before: tuple[float, float, float],
                versions: dict[str, str], load_note: str = "") -> str:
    """A report's title (dated), machine, load and versions lines."""
    return "\n".join([f"# {title}, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}", "",
                      machine_line(), load_line(load_before, load_note),
                      *(f"- {name}: {line}" for name, line in versions.items())])


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


def version_line(argv: Sequence[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)
    text = (done.stdout + done.stderr).strip()
    return text.splitlines()[0] if text else f"(no output, exit {done.returncode})"


def dist_versions(python: Path | str, env: dict[str, str] | None,
                  names: Sequence[str]) -> str:
    """"name version, ..." of the distributions installed for ``python`` (missing ones left
    out)."""
    code = ("import importlib.metadata as m, sys\n"
            "for n in sys.argv[1:]:\n"
            "    try: print(n, m.version(n))\n"
            "    except m.PackageNotFoundError: pass\n")
    done = subprocess.run([str(python), "-c", code, *names], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    return ", ".join(line for line in done.stdout.split("\n") if line)


# --- the local STS and the AWS side of the CLI benches (export_cold.py, fastpath.py) --------

ACCOUNT = "123456789012"  # moto's default account
ROLE_NAME = "bench-role"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
REGION = "us-east-1"
# IAM calls made unauthenticated during setup; moto authenticates every call after these.
SETUP_CALLS = 4

KEY_ID_PATTERNS = (
    re.compile(r"AWS_ACCESS_KEY_ID='?([A-Z0-9]{16,128})"),  # traycreds, awsume (shell lines)
    re.compile(r'"AccessKeyId":\s*"([A-Z0-9]{16,128})"'),  # aws (JSON)
)
# The shell line / JSON field that proves a run printed temporary credentials.
TOKEN_PATTERNS = (re.compile(r"AWS_SESSION_TOKEN='?\S{20,}"), re.compile(r'"SessionToken":\s*"'))


def fresh_credentials(long_term_key: str, seen: set[str]) -> Check:
    """A check: exit 0, temporary credentials printed, and an access key id that neither is
    the long-term key nor was printed by an earlier run (so the run really called STS)."""

    def check(sample: Sample) -> str | None:
        if sample.status != 0:
            return "non-zero exit"
        ids = [m.group(1) for p in KEY_ID_PATTERNS for m in p.finditer(sample.stdout)]
        if not ids or not any(p.search(sample.stdout) for p in TOKEN_PATTERNS):
            return "no temporary credentials (access key id + session token) in the output"
        if ids[0] == long_term_key:
            return "printed the long-term key, not role credentials"
        if ids[0] in seen:
            return f"access key id {ids[0]} was already issued: served from a cache, not STS"
        seen.add(ids[0])
        return None

    return check


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """moto's server on a free loopback port, authenticating every call after SETUP_CALLS."""
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


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group of a process started with start_new_session, then KILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def local_sts(prefix: str, keep: bool = False) -> Iterator[tuple[Path, str]]:
    """A temporary folder and moto's server logging into it: yields (folder, server URL).
    Afterwards the server is stopped and the folder removed (kept, and named, with keep)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = None
    try:
        say(f"starting moto in {root}")
        server, url = start_moto(root)
        yield root, url
    finally:
        if server is not None:
            stop_group(server)
        if keep:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def create_identity(url: str) -> tuple[str, str]:
    """IAM user + access key + role it may assume; returns (key id, secret)."""
    import boto3
    from botocore.exceptions import ClientError

    common = {"region_name": REGION, "endpoint_url": url,
              "aws_access_key_id": "AKIA" + "SETUPSETUPSETUP0", "aws_secret_access_key": "setup"}
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


def add_key(traycreds: Path, key_id: str, secret: str, env: dict[str, str]) -> None:
    """``traycreds keys add benchkey --no-verify``, the key on stdin."""
    added = subprocess.run([str(traycreds), "keys", "add", "benchkey", "--no-verify"],
                           input=f"{key_id}\n{secret}\n", env=env, capture_output=True,
                           text=True, timeout=60, check=False)
    if added.returncode != 0:
        die(f"traycreds keys add failed ({added.returncode}):\n{added.stdout}{added.stderr}")


def parse_cli_bench_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
                         runs: int) -> argparse.Namespace:
    """The CLI benches' shared options (--runs, --bench-bin, --json, --keep), parsed."""
    parser.add_argument("--runs", type=int, default=runs,
                        help=f"timed runs per command (default {runs})")
    parser.add_argument("--bench-bin", type=Path, default=Path(sys.executable).parent,
                        help="bin folder holding awsume, awsumepy and aws (default: this "
                             "Python's, i.e. the bench venv)")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


@dataclass(frozen=True)
class Peers:
    """The bench venv's awsume and AWS CLI, and the two peer commands both CLI benches time."""

    awsume: Path
    awsumepy: Path
    aws: Path

    @classmethod
    def find(cls, bench_bin: Path, made_by: str) -> Peers:
        bench_bin = bench_bin.absolute()
        peers = cls(bench_bin / "awsume", bench_bin / "awsumepy", bench_bin / "aws")
        for exe in (peers.awsume, peers.awsumepy, peers.aws):
            if not exe.exists():
                die(f"{exe} is missing: run {made_by} (it installs awsume and awscli)")
        return peers

    def awsume_tool(self, home: Path, check: Check) -> Tool:
        """``awsume bench -s``, its cache (MFA sessions only) cleared before each run. awsume
        is a shell function/alias that sources this script (it runs awsumepy and turns its
        answer into export lines): sourced in a fresh non-interactive bash."""
        bash = shutil.which("bash") or "/bin/bash"
        cache = home / ".awsume" / "cache"
        return Tool("awsume -s", [bash, "--norc", "--noprofile", "-c", 'source "$1" "${@:2}"',
                                  "awsume", str(self.awsume), "bench", "-s"],
                    check, lambda: shutil.rmtree(cache, ignore_errors=True))

    def assume_role_tool(self, check: Check) -> Tool:
        return Tool("aws sts assume-role",
                    [str(self.aws), "sts", "assume-role", "--role-arn", ROLE_ARN,
                     "--role-session-name", "bench", "--profile", "benchkey"], check)

    def versions(self, env: dict[str, str]) -> dict[str, str]:
        """The version lines of awsume (with the bench venv's boto3), the AWS CLI and moto."""
        return {
            "awsume": "awsume " + version_line([str(self.awsumepy), "--version"], env)
            + " (" + dist_versions(sys.executable, env, ["boto3", "botocore"]) + ")",
            "aws": version_line([str(self.aws), "--version"], env),
            "moto": "moto " + dist_versions(sys.executable, env, ["moto"]).split()[-1],
        }


# --- trayer's panel, through python-xlib (tray_start.py, idle_wakeups.py) -------------------


class Panel:
    """trayer's ``panel`` window, watched through python-xlib (a pystray dependency on
    Linux), in this process: no polling subprocess competes with the tray for the CPU."""

    def __init__(self) -> None:
        from Xlib import X, display, error  # type: ignore[import-untyped]

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
        die("no trayer 'panel' window: run me through my .sh (scripts/desktop-session.sh "
            "starts trayer)")

    def _descendants(self, window: Any) -> list[Any]:
        found: list[Any] = []
        try:
            children = window.query_tree().children
        except self._errors:
            return found
        for child in children:
            found.append(child)
            found += self._descendants(child)
        return found

    def icon_of(self, pid: int) -> Any | None:
        """The viewable window of process ``pid`` docked in the panel, else None. (trayer's
        panel always has a 1x1 child of its own, so "the panel has children" is no signal;
        the pid is.)"""
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

    def icon_centre(self, pid: int) -> tuple[int, int] | None:
        """Where to click the docked icon of process ``pid``, in root coordinates."""
        window = self.icon_of(pid)
        if window is None:
            return None
        try:
            geometry = window.get_geometry()
            corner = self.display.screen().root.translate_coords(window, 0, 0)
        except self._errors:
            return None
        return (corner.x + geometry.width // 2, corner.y + geometry.height // 2)
