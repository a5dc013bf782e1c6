"""The local channel, with real sockets and real processes: round trips, errors rebuilt, the
TCv1 handshake (wrong key either way, impostors, foreign and partial frames, oversized
frames), another Unix user, stale sockets, a tray killed while answering, slow handlers,
file modes."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT
from traycreds.channel import address, client, handshake
from traycreds.channel.address import read_key
from traycreds.channel.client import (
    ChannelAuthError,
    NoAnswerError,
    TrayStoppedError,
    request,
)
from traycreds.channel.handshake import (
    MAGIC,
    REFUSED,
    KeyRefusedError,
    UnprovenPeerError,
    client_handshake,
    server_handshake,
)
from traycreds.channel.listen import AlreadyServingError
from traycreds.channel.protocol import (
    MAX_MESSAGE,
    ProtocolError,
    decode_response,
    encode_request,
)
from traycreds.channel.server import ChannelServer
from traycreds.channel.wire import SocketFrames
from traycreds.core.errors import ExitCode, MfaError, NotRunningError, TraycredsError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets and file modes")

SERVER = """
import time
from traycreds.channel.server import ChannelServer
def nap(args):
    print("napping", flush=True)  # tests wait for this, not for a guessed time
    time.sleep(float(args["seconds"]))
    return "rested"
server = ChannelServer({"nap": nap})
server.start()
print("ready", flush=True)
time.sleep(300)
"""


def nap(args: dict[str, Any]) -> str:
    time.sleep(float(args["seconds"]))
    return "rested"


def boom(args: dict[str, Any]) -> None:
    raise RuntimeError("secret " + "AKIA" + "IOSFODNN7EXAMPLE "
                       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def mfa_rejected(args: dict[str, Any]) -> None:
    raise MfaError("The code 123456 was already used; wait for the next one.",
                   title="MFA code rejected")


HANDLERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "echo": lambda args: args, "nap": nap, "boom": boom, "mfa": mfa_rejected,
    "huge": lambda args: "x" * MAX_MESSAGE,
}


@pytest.fixture
def server(runtime: Path) -> Iterator[ChannelServer]:
    with ChannelServer(HANDLERS, handshake_timeout=1.0) as started:
        yield started


def env_for(folder: Path) -> dict[str, str]:
    return {**os.environ, "TRAYCREDS_RUNTIME_DIR": str(folder), "PYTHONPATH": str(REPO_ROOT)}


@pytest.fixture
def spawn_server(runtime: Path) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def spawn() -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-c", SERVER], env=env_for(runtime),
                                cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        return proc

    yield spawn
    for proc in started:
        proc.kill()
        proc.wait(10)


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


@contextlib.contextmanager
def raw_client(folder: Path, key: bytes | None = None) -> Iterator[SocketFrames]:
    """A connection that passed the handshake (with ``key``, default the session key), for
    sending frames the real client would never send."""
    conn = client.connect(str(folder / "channel.sock"), 2.0)
    assert isinstance(conn, SocketFrames)
    with conn:
        client_handshake(conn, read_key(folder) if key is None else key, soon())
        yield conn


def frame(data: bytes) -> bytes:
    """Our framing on a Unix socket: 4-byte big-endian length, then the payload."""
    return struct.pack("!I", len(data)) + data


def write_key(folder: Path, key: bytes) -> None:
    """A key file as the tray writes it: 0600 (the client refuses one others may read)."""
    path = folder / "channel.key"
    path.write_text(key.hex())
    path.chmod(0o600)


@contextlib.contextmanager
def fake_tray(folder: Path, behave: Callable[[SocketFrames], None]) -> Iterator[list[bytes]]:
    """Something else listening at the channel's address: ``behave(conn)`` talks to the one
    client that connects; the list collects every frame the client sends after that."""
    folder.mkdir(mode=0o700, exist_ok=True)
    if not (folder / "channel.key").exists():
        write_key(folder, os.urandom(32))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / "channel.sock"))
    listener.listen(1)
    received: list[bytes] = []

    def serve() -> None:
        sock, _ = listener.accept()
        with SocketFrames(sock) as conn, contextlib.suppress(EOFError, OSError, TimeoutError):
            behave(conn)
            while True:  # everything the client sends until it hangs up
                received.append(conn.recv(MAX_MESSAGE, soon(10)))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield received
        thread.join(10)
        assert not thread.is_alive(), "the client did not hang up"
    finally:
        listener.close()


# --- round trips -----------------------------------------------------------------------------


def test_round_trip_in_process(server: ChannelServer) -> None:
    hello = request("hello")
    assert hello == {"version": "0.1.0", "pid": os.getpid(), "protocol": 1}
    args = {"text": "grüße \u2019 \"quoted\"", "n": [1, 2.5, None, True]}
    assert request("echo", args) == args
    assert client.is_running()


def test_round_trip_from_another_process_stays_light(server: ChannelServer,
                                                     runtime: Path) -> None:
    # Modules the request itself loads (site may have loaded pathlib before: editable installs).
    code = ("import sys; before = set(sys.modules); "
            "from traycreds.channel.client import request; hello = request('hello'); "
            "import json; print(json.dumps(hello)); "
            "print(sorted(m for m in ('boto3', 'botocore', 'keyring', 'pystray', 'PIL', "
            "'tkinter', 'platformdirs', 'multiprocessing', 'pathlib', 'socket', 'argparse', "
            "'logging', 'typing', 'hashlib', 'hmac', 'traycreds.adapters.instance') "
            "if m in sys.modules and m not in before))")
    env = env_for(runtime)
    del env["TRAYCREDS_RUNTIME_DIR"]  # the default lookup, as credential_process would do it
    env["XDG_RUNTIME_DIR"] = str(runtime.parent)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60, check=True)
    hello, modules = out.stdout.splitlines()
    assert json.loads(hello)["pid"] == os.getpid()
    assert modules == "[]"


def test_a_traycreds_error_comes_back_with_its_class_title_message_and_code(
        server: ChannelServer) -> None:
    with pytest.raises(MfaError) as caught:
        request("mfa")
    assert caught.value.title == "MFA code rejected"
    assert caught.value.message == "The code 123456 was already used; wait for the next one."
    assert caught.value.exit_code == ExitCode.MFA


def test_an_unexpected_exception_is_logged_but_its_text_never_sent(
        server: ChannelServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="traycreds.channel.server"), \
            pytest.raises(TraycredsError) as caught:
        request("boom")
    assert caught.value.title == "Internal error"
    assert caught.value.exit_code == ExitCode.FAILURE
    assert "AKIA" not in str(caught.value) and "secret" not in str(caught.value)
    [record] = [r for r in caplog.records if r.exc_info]
    assert "'boom' failed" in record.getMessage()
    assert request("hello")["pid"] == os.getpid()  # still serving


def test_unknown_operation_is_an_error_answer(server: ChannelServer) -> None:
    with pytest.raises(TraycredsError, match="does not know the operation 'frobnicate'") as caught:
        request("frobnicate")
    assert caught.value.title == "Unknown operation"


def test_bad_messages_get_error_answers_never_a_crash(server: ChannelServer,
                                                      runtime: Path) -> None:
    bad = [
        json.dumps({"v": 2, "op": "hello", "args": {}}).encode(),
        json.dumps({"v": True, "op": "hello"}).encode(),
        json.dumps({"v": 1, "op": "hello", "args": []}).encode(),
        json.dumps({"v": 1, "op": "Hello; rm -rf"}).encode(),
        json.dumps({"v": 1}).encode(),
        b"[1, 2]",
        b"\xff\xfe not utf-8",
        b"[" * 100_000,  # nested too deep for json: RecursionError, not ValueError
        b"",
    ]
    for data in bad:
        with raw_client(runtime) as conn:
            conn.send(data, soon())
            answer = json.loads(conn.recv(MAX_MESSAGE, soon()))
        assert answer["v"] == 1 and answer["ok"] is False, data[:40]
        assert answer["error"]["code"] == ExitCode.FAILURE
    with pytest.raises(TraycredsError, match="protocol version 2") as caught, \
            raw_client(runtime) as conn:
        conn.send(bad[0], soon())
        decode_response(conn.recv(MAX_MESSAGE, soon()))
    assert caught.value.title == "traycreds versions differ"
    assert request("hello")["pid"] == os.getpid()


# --- sizes -----------------------------------------------------------------------------------


def test_a_big_request_is_refused_before_connecting(runtime: Path) -> None:
    with pytest.raises(ProtocolError, match="too large"):  # no server: checked locally first
        request("echo", {"blob": "x" * MAX_MESSAGE})


def test_a_big_request_is_refused_by_the_server(server: ChannelServer, runtime: Path) -> None:
    with raw_client(runtime) as conn:
        # Only the length header: the server must refuse on the header, not read 1 MiB first.
        conn.sock.sendall(struct.pack("!I", MAX_MESSAGE + 1))
        answer = json.loads(conn.recv(MAX_MESSAGE, soon()))
    assert answer["ok"] is False and "larger than" in answer["error"]["message"]
    assert request("hello")["pid"] == os.getpid()


def test_a_big_answer_becomes_an_error(server: ChannelServer) -> None:
    with pytest.raises(TraycredsError, match="answer is too large"):
        request("huge")


# --- who may talk ----------------------------------------------------------------------------


def test_files_are_private_and_removed_on_stop(runtime: Path) -> None:
    server = ChannelServer({})
    server.start()
    sock, key = runtime / "channel.sock", runtime / "channel.key"
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(read_key(runtime)) == 32
    server.stop()
    assert not sock.exists() and not key.exists()
    with pytest.raises(NotRunningError):
        request("hello")


def test_each_session_gets_a_new_key(runtime: Path) -> None:
    with ChannelServer({}):
        first = read_key(runtime)
    with ChannelServer({}):
        assert read_key(runtime) != first


def test_a_wrong_key_is_refused(server: ChannelServer, runtime: Path,
                                caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(KeyRefusedError), raw_client(runtime, key=os.urandom(32)):
        pass
    key = runtime / "channel.key"
    real = key.read_text()
    key.write_text(os.urandom(32).hex())
    with caplog.at_level(logging.DEBUG, logger="traycreds.channel.server"):
        with pytest.raises(ChannelAuthError, match="do not share the session key"):
            request("hello")
        # The server logs after it told the client: give its thread a moment.
        deadline = time.monotonic() + 2
        while not any("dropped a connection" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the server did not log the refused client"
            time.sleep(0.01)
    key.write_text(real)
    assert request("hello")["pid"] == os.getpid()


def test_an_impostor_at_the_address_gets_no_request(runtime: Path) -> None:
    """The client checks the tray too: a program squatting on the address, without the key,
    cannot make the client send it anything (it answers the challenge, then hangs up)."""
    def impostor(conn: SocketFrames) -> None:
        conn.send(MAGIC + os.urandom(32), soon())
        proof_and_nonce = conn.recv(256, soon())  # useless without the key
        assert len(proof_and_nonce) == 64
        conn.send(os.urandom(32), soon())  # a "proof" it cannot make

    with fake_tray(runtime, impostor) as received, \
            pytest.raises(ChannelAuthError, match="do not share the session key"):
        request("hello", timeout=3)
    assert received == []  # no request


def test_an_impostor_that_says_refused_gets_no_request(runtime: Path) -> None:
    def impostor(conn: SocketFrames) -> None:
        conn.send(MAGIC + os.urandom(32), soon())
        conn.recv(256, soon())
        conn.send(REFUSED, soon())

    with fake_tray(runtime, impostor) as received, \
            pytest.raises(ChannelAuthError, match="do not share the session key"):
        request("hello", timeout=3)
    assert received == []


@pytest.mark.parametrize("challenge", [
    b"#CHALLENGE#" + b"x" * 20,  # multiprocessing's handshake: the tray before TCv1
    b"TCv2" + b"x" * 32,  # a later version
    b"TCv1" + b"x" * 31,  # the right magic, the wrong size
], ids=["multiprocessing", "TCv2", "short-nonce"])
def test_a_foreign_handshake_is_named_and_gets_no_request(runtime: Path,
                                                          challenge: bytes) -> None:
    with fake_tray(runtime, lambda conn: conn.send(challenge, soon())) as received, \
            pytest.raises(ChannelAuthError, match=r"does not speak .* handshake \(TCv1\)"):
        request("hello", timeout=3)
    assert received == []


def test_the_handshake_hmac_is_the_standard_one() -> None:
    """handshake.hmac_sha256 (builtin SHA-256, no OpenSSL to load) against the hmac module."""
    import hmac

    for size in (0, 1, 32, 63, 64, 65, 200):
        key = os.urandom(size)
        for message in (b"", b"traycreds-client" + os.urandom(32), os.urandom(1000)):
            assert handshake.hmac_sha256(key, message) == hmac.digest(key, message, "sha256")


@pytest.mark.parametrize("who_is_wrong", ["client", "tray"])
def test_the_handshake_refuses_a_wrong_key_either_way(who_is_wrong: str) -> None:
    """Over a socket pair, both ends real: the tray refuses a client with another key (and
    tells it so); a client refuses a tray with another key (a tray that did not check)."""
    key, other = os.urandom(32), os.urandom(32)
    left, right = socket.socketpair()
    tray_end, client_end = SocketFrames(left), SocketFrames(right)
    outcome: list[BaseException | None] = []

    def tray_side() -> None:
        try:
            if who_is_wrong == "client":
                server_handshake(tray_end, key, soon())
            else:  # a tray that skips the client's proof and answers with its own key
                nonce = os.urandom(32)
                tray_end.send(MAGIC + nonce, soon())
                reply = tray_end.recv(256, soon())
                tray_end.send(handshake._proof(other, b"traycreds-server", reply[32:]), soon())
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=tray_side)
    thread.start()
    with tray_end, client_end:
        expected = KeyRefusedError if who_is_wrong == "client" else UnprovenPeerError
        with pytest.raises(expected):
            client_handshake(client_end, other if who_is_wrong == "client" else key, soon())
        thread.join(5)
    [error] = outcome
    if who_is_wrong == "client":
        assert isinstance(error, UnprovenPeerError)  # and it sent REFUSED first


def test_the_handshake_succeeds_with_the_same_key_and_fresh_nonces() -> None:
    key = os.urandom(32)
    seen: list[bytes] = []
    for _ in range(2):
        left, right = socket.socketpair()
        tray_end, client_end = SocketFrames(left), SocketFrames(right)

        def tray_side(conn: SocketFrames = tray_end) -> None:
            server_handshake(conn, key, soon())
            seen.append(conn.recv(64, soon()))

        thread = threading.Thread(target=tray_side)
        thread.start()
        with tray_end, client_end:
            client_handshake(client_end, key, soon())
            client_end.send(b"request", soon())
            thread.join(5)
    assert seen == [b"request", b"request"]


def test_a_client_that_never_authenticates_is_dropped(server: ChannelServer,
                                                      runtime: Path) -> None:
    with client.connect(str(runtime / "channel.sock"), 2.0) as conn:
        challenge = conn.recv(256, soon())
        assert challenge.startswith(MAGIC) and len(challenge) == 36
        start = time.monotonic()
        with pytest.raises(EOFError):
            conn.recv(256, soon())
        assert time.monotonic() - start < 3  # handshake_timeout=1.0
    assert request("hello")["pid"] == os.getpid()


def test_a_partial_frame_is_dropped_at_the_handshake_deadline(server: ChannelServer,
                                                              runtime: Path) -> None:
    conn = client.connect(str(runtime / "channel.sock"), 2.0)
    assert isinstance(conn, SocketFrames)
    with conn:
        conn.recv(256, soon())
        conn.sock.sendall(struct.pack("!I", 64) + b"only ten b")  # 10 of the 64 bytes
        start = time.monotonic()
        with pytest.raises(EOFError):
            conn.recv(256, soon())
        assert 0.5 < time.monotonic() - start < 3
    assert request("hello")["pid"] == os.getpid()


def test_an_oversized_handshake_frame_is_dropped_at_once(server: ChannelServer,
                                                         runtime: Path) -> None:
    conn = client.connect(str(runtime / "channel.sock"), 2.0)
    assert isinstance(conn, SocketFrames)
    with conn:
        conn.recv(256, soon())
        start = time.monotonic()
        conn.sock.sendall(struct.pack("!I", 2**31 - 1))  # the header alone: nothing to wait for
        with pytest.raises((EOFError, ConnectionResetError)):
            conn.recv(256, soon())
        assert time.monotonic() - start < 3  # not the 5 s handshake deadline
    assert request("hello")["pid"] == os.getpid()


def test_a_tray_that_stalls_mid_handshake_gives_no_answer_in_time(runtime: Path) -> None:
    def stall(conn: SocketFrames) -> None:
        conn.sock.sendall(struct.pack("!I", 36) + MAGIC)  # then nothing
        time.sleep(3)

    with fake_tray(runtime, stall) as received:
        start = time.monotonic()
        with pytest.raises(NoAnswerError, match=r"within 0\.5 s"):
            request("hello", timeout=0.5)
        assert time.monotonic() - start < 2.5  # not the tray's 3 s stall
    assert received == []


def test_an_oversized_answer_is_refused_by_the_client(runtime: Path) -> None:
    runtime.mkdir(mode=0o700)
    key = os.urandom(32)
    write_key(runtime, key)

    def huge(conn: SocketFrames) -> None:
        server_handshake(conn, key, soon())
        conn.recv(MAX_MESSAGE, soon())
        conn.sock.sendall(struct.pack("!I", MAX_MESSAGE + 1))  # and never the payload

    with fake_tray(runtime, huge), pytest.raises(ProtocolError, match="too large or damaged"):
        request("hello", timeout=5)


def test_the_client_finds_the_folder_the_tray_uses(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """address.runtime_folder() repeats instance.runtime_dir()'s common cases without pathlib:
    they must agree."""
    from traycreds.adapters.instance import runtime_dir

    cases: list[dict[str, str | None]] = [
        {"TRAYCREDS_RUNTIME_DIR": str(tmp_path / "x")},
        {"TRAYCREDS_RUNTIME_DIR": "~/tc"},
        {"TRAYCREDS_RUNTIME_DIR": None, "XDG_RUNTIME_DIR": str(tmp_path)},
        {"TRAYCREDS_RUNTIME_DIR": "", "XDG_RUNTIME_DIR": "relative/dir"},
    ]
    for env in cases:
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        assert Path(address.runtime_folder()) == runtime_dir(), env


# --- another Unix user -----------------------------------------------------------------------


def hello_as(user: pwd.struct_passwd, folder: Path) -> dict[str, Any]:
    """``hello`` to the tray in ``folder`` from a forked child that became ``user``, as an
    attacker would send it: the key read and the handshake made directly, without the real
    client's checks (which refuse another user's folder before the tray could). Forked, not
    run: the interpreter lives under /root (0700), which the other user cannot execute."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: no pytest machinery from here on
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            try:
                key = bytes.fromhex((folder / "channel.key").read_text())
                with client.connect(str(folder / "channel.sock"), 3.0) as conn:
                    client_handshake(conn, key, soon(3))
                    conn.send(encode_request("hello"), soon(3))
                    result: dict[str, Any] = {
                        "ok": decode_response(conn.recv(MAX_MESSAGE, soon(3)))}
            except BaseException as error:  # report, do not hide: the parent asserts on it
                result = {"error": type(error).__name__, "message": str(error)}
            os.write(write_end, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 15)
        assert ready, "the child running as the other user did not answer"
        data = os.read(read_end, 65536)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    answer: dict[str, Any] = json.loads(data)
    return answer


LAYERS = [  # (layer, folder mode, key mode, socket mode, refusal, why)
    ("runtime folder 0700", 0o700, 0o600, 0o600, "PermissionError", "Permission denied"),
    ("key file 0600", 0o711, 0o600, 0o666, "PermissionError", "channel.key"),
    ("socket 0600", 0o711, 0o644, 0o600, "PermissionError", "Permission denied"),
    ("peer uid (SO_PEERCRED)", 0o755, 0o644, 0o666, "EOFError", "closed the connection"),
]


@pytest.mark.parametrize(("layer", "dir_mode", "key_mode", "sock_mode", "refusal", "why"),
                         LAYERS, ids=[layer[0] for layer in LAYERS])
def test_another_unix_user_is_refused(other_user: pwd.struct_passwd, runtime: Path,
                                      layer: str, dir_mode: int, key_mode: int, sock_mode: int,
                                      refusal: str, why: str) -> None:
    """Each layer of the tray's alone keeps the other user out: the test opens all the others.
    (The other user's traycreds would not even try: test_channel_trust.py.)"""
    with ChannelServer({}):
        for folder in (runtime.parent, runtime):
            os.chmod(folder, dir_mode)
        os.chmod(runtime / "channel.key", key_mode)
        os.chmod(runtime / "channel.sock", sock_mode)
        answer = hello_as(other_user, runtime)
        assert answer.get("error") == refusal, (layer, answer)
        assert why in answer["message"], (layer, answer)
        # The owner's client, too, refuses a folder or key others may read (test_channel_trust)
        for folder in (runtime.parent, runtime):
            os.chmod(folder, 0o700)
        os.chmod(runtime / "channel.key", 0o600)
        assert request("hello")["pid"] == os.getpid()  # the owner still gets in


# --- stale sockets and dying trays -----------------------------------------------------------


def test_a_stale_socket_is_detected_and_replaced(
        runtime: Path, spawn_server: Callable[[], subprocess.Popen[str]]) -> None:
    tray = spawn_server()
    assert request("hello")["pid"] == tray.pid
    tray.send_signal(signal.SIGKILL)
    tray.wait(10)
    assert (runtime / "channel.sock").exists()  # nobody cleaned up
    start = time.monotonic()
    with pytest.raises(NotRunningError, match="stopped or killed"):
        request("hello")
    assert time.monotonic() - start < 3  # refused at once, not the 5 s request timeout
    assert not client.is_running()
    with ChannelServer({}):
        assert request("hello")["pid"] == os.getpid()


def test_a_live_server_is_not_replaced(
        runtime: Path, spawn_server: Callable[[], subprocess.Popen[str]]) -> None:
    tray = spawn_server()
    key = read_key(runtime)
    with pytest.raises(AlreadyServingError):
        ChannelServer({}).start()
    assert read_key(runtime) == key
    assert request("hello")["pid"] == tray.pid


def test_a_tray_killed_while_answering_gives_a_clear_error_quickly(
        runtime: Path, spawn_server: Callable[[], subprocess.Popen[str]]) -> None:
    tray = spawn_server()
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            request("nap", {"seconds": 60}, timeout=10)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=ask)
    thread.start()
    assert tray.stdout is not None
    assert tray.stdout.readline().strip() == "napping"  # the request is in the handler
    tray.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    thread.join(10)
    assert time.monotonic() - killed < 5  # not the request's 10 s timeout
    [error] = outcome
    assert isinstance(error, TrayStoppedError)
    assert str(error) == "traycreds stopped: The tray stopped while answering; try again."


def test_no_answer_within_the_timeout(server: ChannelServer) -> None:
    start = time.monotonic()
    with pytest.raises(NoAnswerError, match=r"within 0\.5 s"):
        request("nap", {"seconds": 3}, timeout=0.5)
    assert time.monotonic() - start < 2.5  # not the handler's 3 s


def test_a_blocking_handler_does_not_block_hello(runtime: Path) -> None:
    results: list[Any] = []
    napping = threading.Event()

    def ask() -> None:
        results.append(request("nap", {"seconds": 4}))

    own = ChannelServer({"nap": lambda args: (napping.set(), nap(args))[1]})
    own.start()
    slow = threading.Thread(target=ask)
    slow.start()
    assert napping.wait(10)
    start = time.monotonic()
    assert request("hello")["pid"] == os.getpid()
    assert time.monotonic() - start < 2  # not the 4 s the other handler takes
    assert slow.is_alive()
    slow.join(10)
    own.stop()
    assert results == ["rested"]


def test_stop_is_prompt_with_a_request_in_flight(runtime: Path) -> None:
    napping = threading.Event()
    server = ChannelServer({"nap": lambda args: (napping.set(), nap(args))[1]})
    server.start()
    slow = threading.Thread(target=lambda: request("nap", {"seconds": 4}, timeout=10),
                            daemon=True)
    slow.start()
    assert napping.wait(10)
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 2.5  # requests in flight finish, but stop does not wait
    with pytest.raises(NotRunningError):
        request("hello")
    slow.join(5)
