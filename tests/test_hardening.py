"""Process hygiene for processes that hold secrets (issue 10, item 6): no core dumps, not
dumpable (Linux), and a channel that a flood of connections cannot exhaust.

The tray's own limits are checked on a real tray in test_fastpath.py
(test_the_tray_runs_without_core_dumps)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT, AwsEnv
from traycreds.channel import client
from traycreds.channel.handshake import server_handshake
from traycreds.channel.protocol import MAX_MESSAGE, decode_request, encode_result
from traycreds.channel.server import HANDSHAKE_TIMEOUT, MAX_CONNECTIONS, ChannelServer
from traycreds.channel.wire import SocketFrames

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="RLIMIT_CORE, PR_SET_DUMPABLE and /proc are Linux's")

ALLOW_CORE = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)


def allow_core_dumps() -> None:
    """preexec_fn: a child that would dump core, so a test sees the limit being lowered (the
    test machine's soft limit may already be 0)."""
    resource.setrlimit(resource.RLIMIT_CORE, ALLOW_CORE)


def core_limits(pid: int | str = "self") -> tuple[str, str]:
    """(soft, hard) of "Max core file size" in /proc/PID/limits."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            soft, hard = line.split()[4:6]
            return soft, hard
    raise AssertionError(f"no core limit in /proc/{pid}/limits")


def test_harden_process_disables_core_dumps_and_makes_the_process_not_dumpable() -> None:
    probe = ("import json, resource\n"
             "from traycreds.adapters.hardening import dumpable, harden_process\n"
             "before = [dumpable(), resource.getrlimit(resource.RLIMIT_CORE)]\n"
             "harden_process()\n"
             "print(json.dumps([before, [dumpable(), resource.getrlimit(resource.RLIMIT_CORE)]]))")
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           timeout=30, check=True, cwd=REPO_ROOT, preexec_fn=allow_core_dumps,
                           env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    before, after = json.loads(shown.stdout)
    assert before == [True, [resource.RLIM_INFINITY, resource.RLIM_INFINITY]]
    assert after == [False, [0, 0]]  # PR_GET_DUMPABLE 0; soft and hard limit 0 (for good)


def test_credential_process_hardens_itself_on_the_full_path(aws_env: AwsEnv) -> None:
    """Without a tray (the full command line): not dumpable, no core dumps, from the start of
    the command (here it then fails: the role is unknown)."""
    probe = ("import json, resource\n"
             "from traycreds.cli.main import main\n"
             "from traycreds.adapters.hardening import dumpable\n"
             "code = main(['credential-process', 'nope'])\n"
             "print(json.dumps([code, dumpable(), resource.getrlimit(resource.RLIMIT_CORE)]))")
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           timeout=60, cwd=REPO_ROOT, preexec_fn=allow_core_dumps,
                           env={**aws_env.env, "PYTHONPATH": str(REPO_ROOT),
                                "TRAYCREDS_NO_TRAY": "1", "TRAYCREDS_NO_LOG_FILE": "1"})
    assert shown.returncode == 0, shown.stderr
    code, dumpable, limit = json.loads(shown.stdout.splitlines()[-1])
    assert (code, dumpable, limit) == (4, False, [0, 0]), shown.stderr


def test_the_fast_path_runs_without_core_dumps(runtime: Path) -> None:
    """A tray of ours (the real handshake) looks at the caller through SO_PEERCRED while it
    asks: its core limit is already 0, before any credentials reach it."""
    key = os.urandom(32)
    runtime.mkdir(mode=0o700)
    (runtime / "channel.key").write_text(key.hex())
    (runtime / "channel.key").chmod(0o600)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(runtime / "channel.sock"))
    listener.listen(4)
    seen: dict[str, Any] = {}
    document = {"AccessKeyId": "ASIA" + "Q" * 16, "SecretAccessKey": "c2VjcmV0",
                "SessionToken": "dG9rZW4=", "Expiration": "2099-01-01T00:00:00Z"}

    def tray() -> None:
        sock, _ = listener.accept()
        with SocketFrames(sock) as conn:
            pid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                      12))[0]
            server_handshake(conn, key, time.monotonic() + 10)
            seen["op"] = decode_request(conn.recv(MAX_MESSAGE, time.monotonic() + 10)).op
            seen["limits"] = core_limits(pid)
            conn.send(encode_result(document), time.monotonic() + 10)

    thread = threading.Thread(target=tray, daemon=True)
    thread.start()
    try:
        result = subprocess.run([sys.executable, "-m", "traycreds", "credential-process", "dev"],
                                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                                capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
                                preexec_fn=allow_core_dumps)
        thread.join(10)
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"] == document["AccessKeyId"]
    assert seen == {"op": "credentials", "limits": ("0", "0")}


# --- a flood of connections ------------------------------------------------------------------

FLOOD = r"""
import socket, sys, time
path, count = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
held = []
while len(held) < count and time.monotonic() < deadline:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        sock.connect(path)  # a full backlog says EAGAIN: try again
    except BlockingIOError:
        sock.close()
        time.sleep(0.001)
        continue
    held.append(sock)  # never authenticates, never reads
print(len(held), flush=True)
sys.stdin.read()  # hold them until told to stop
"""


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextlib.contextmanager
def flood(address: str, count: int) -> Iterator[None]:
    """Another process of this user opens ``count`` connections and holds them idle."""
    proc = subprocess.Popen([sys.executable, "-c", FLOOD, address, str(count)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == str(count), "the flood did not connect"
        yield
    finally:
        proc.kill()
        proc.wait(10)


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_the_documented_limits() -> None:
    assert MAX_CONNECTIONS == 32
    assert HANDSHAKE_TIMEOUT == 5.0


def test_a_flood_of_idle_connections_exhausts_neither_threads_nor_descriptors(
        runtime: Path, caplog: pytest.LogCaptureFixture) -> None:
    """500 connections opened and held idle by another process of the user: the tray serves
    at most MAX_CONNECTIONS at once (one thread each) and closes the rest at once; the idle
    ones are dropped at the handshake deadline; then a real request is answered."""
    with ChannelServer({"echo": lambda args: args}) as server, \
            caplog.at_level(logging.WARNING, logger="traycreds.channel.server"):
        assert client.request("hello")["pid"] == os.getpid()
        threads, fds = threading.active_count(), open_fds()
        with flood(server.address, 500):
            wait_for(lambda: server.connections == MAX_CONNECTIONS, 5,
                     "the flood did not fill the connection slots")
            assert threading.active_count() <= threads + MAX_CONNECTIONS
            assert open_fds() <= fds + MAX_CONNECTIONS + 4
            assert any("closed" in record.getMessage() for record in caplog.records)
            # Idle connections hold a slot at most HANDSHAKE_TIMEOUT (5 s): wait, bounded.
            wait_for(lambda: server.connections == 0, HANDSHAKE_TIMEOUT + 10,
                     "idle connections were not dropped at the handshake deadline")
            assert client.request("echo", {"still": "here"}) == {"still": "here"}
        wait_for(lambda: threading.active_count() <= threads, 5, "request threads linger")
        assert open_fds() <= fds + 2
