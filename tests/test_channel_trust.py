"""The client checks the tray before it trusts it (issue 10, item 1).

A tray is only this user's if its runtime folder is this user's and closed to others, its key
file is a regular file of this user's with mode 0600, and the process serving the socket runs
as this user (SO_PEERCRED). Anything else: one warning line naming the folder and why, then the
command line does the work itself. And nothing the channel returns is printed as shell text:
the tray sends a credentials document, checked and rendered by the command line.

The fake trays here answer every request with ``$(touch MARK)`` in their text and documents;
a real bash then evals what ``traycreds export`` printed. Real processes, a second Unix user
(created when running as root, as CI does), real moto for the local fallback.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support import REPO_ROOT, AwsEnv
from traycreds.channel import client
from traycreds.channel.address import UntrustedTrayError
from traycreds.channel.handshake import server_handshake
from traycreds.channel.protocol import MAX_MESSAGE, decode_request, encode_result
from traycreds.channel.wire import SocketFrames
from traycreds.core.errors import NotRunningError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets and file modes")

SESSION_NAME = "trust-session"
KEY_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


def fake_key_id() -> str:
    """Built at run time, as the other tests do: no key-shaped literal in the source."""
    return "ASIA" + "".join(KEY_ID_CHARS[b % 32] for b in os.urandom(16))


def poisoned(mark: Path) -> Callable[[str], Any]:
    """What a hostile tray answers to each operation: shell code in every field it can."""
    payload = f"$(touch {mark})"

    def answer(op: str) -> Any:
        if op == "render":  # what the fast path asked before this fix
            return {"text": f'export AWS_ACCESS_KEY_ID="{payload}{fake_key_id()}"\n'
                            f"touch {mark}\n", "notes": []}
        if op in ("credentials", "source-credentials"):
            return {"AccessKeyId": payload + fake_key_id(), "SecretAccessKey": payload,
                    "SessionToken": payload, "Expiration": "2099-01-01T00:00:00Z",
                    "DefaultShell": "bash"}
        return {"version": "0", "pid": os.getpid(), "protocol": 1}

    return answer


def serve(listener: socket.socket, key: bytes, answer: Callable[[str], Any],
          seen: Callable[[str], object]) -> None:
    """A fake tray: the real handshake with ``key``, then ``answer(op)`` for every request.
    Runs until the listener is closed (thread) or the process is killed (fork)."""
    while True:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        with SocketFrames(sock) as conn, \
                contextlib.suppress(OSError, EOFError, TimeoutError, ValueError):
            seen("connected")
            server_handshake(conn, key, soon())
            op = decode_request(conn.recv(MAX_MESSAGE, soon())).op
            seen(op)
            conn.send(encode_result(answer(op)), soon())


def listen(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(8)
    return listener


def make_tray_folder(folder: Path, key: bytes) -> None:
    """A runtime folder as the tray makes it: 0700, key 0600."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    key_path = folder / "channel.key"
    key_path.write_text(key.hex() + "\n")
    key_path.chmod(0o600)


@contextlib.contextmanager
def same_user_tray(folder: Path, key: bytes, answer: Callable[[str], Any]
                   ) -> Iterator[list[str]]:
    """A fake tray of this user's serving ``folder/channel.sock`` in a thread; yields what it
    saw ("connected", then each operation)."""
    seen: list[str] = []
    listener = listen(folder / "channel.sock")
    thread = threading.Thread(target=serve, args=(listener, key, answer, seen.append),
                              daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(5)


# --- another Unix user -------------------------------------------------------------------------


class ForeignTray:
    """A fake tray run by another user: a forked child that became ``user`` (forked, not
    spawned: the interpreter lives under /root, which that user cannot execute). It makes
    ``folder`` (0700, its own), a key file 0600 and the socket, and logs what it sees in
    ``folder/seen``. Its key is ``key`` (root, the victim, can read any file anyway)."""

    def __init__(self, user: pwd.struct_passwd, folder: Path, key: bytes,
                 answer: Callable[[str], Any]) -> None:
        self.folder = folder
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # child: no pytest machinery from here on
            try:
                os.close(read_end)
                os.setgroups([])
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
                os.umask(0o077)
                make_tray_folder(folder, key)
                listener = listen(folder / "channel.sock")
                log = os.open(folder / "seen", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                os.write(write_end, b"ready")
                os.close(write_end)
                serve(listener, key, answer, lambda what: os.write(log, f"{what}\n".encode()))
            finally:
                os._exit(0)
        os.close(write_end)
        try:
            ready, _, _ = select.select([read_end], [], [], 15)
            assert ready and os.read(read_end, 16) == b"ready", "the foreign tray did not start"
        finally:
            os.close(read_end)

    def seen(self) -> list[str]:
        path = self.folder / "seen"
        return path.read_text().split() if path.exists() else []

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


@pytest.fixture
def foreign_base(other_user: pwd.struct_passwd) -> Iterator[Path]:
    """/tmp/tc-evil-XXXX, owned by the other user: its XDG_RUNTIME_DIR, say."""
    base = Path(tempfile.mkdtemp(prefix="tc-evil-", dir="/tmp"))
    os.chown(base, other_user.pw_uid, other_user.pw_gid)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def mark(tmp_path: Path) -> Path:
    """The file a poisoned answer makes if any of it runs (as the victim, who evals it)."""
    return tmp_path / "PWNED"


# --- the victim: a real bash evaluating `traycreds export` -------------------------------------


class Victim:
    """A moto user with a stored key and a role ``dev``: what the local path gives."""

    def __init__(self, moto: Any, aws_env: AwsEnv) -> None:
        self.moto = moto
        user = moto.make_user()
        self.role_arn = moto.make_role(trusted_arn=user.arn)
        moto.allow_assume(user, self.role_arn)
        self.env = {k: v for k, v in aws_env.env.items() if k != "TRAYCREDS_RUNTIME_DIR"}
        self.env["AWS_ENDPOINT_URL_STS"] = moto.url
        self.env["PYTHONPATH"] = str(REPO_ROOT)
        aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
        aws_env.aws_config.write_text(
            "[default]\nregion = us-east-1\n\n"
            f"[profile dev]\nrole_arn = {self.role_arn}\nsource_profile = me\n"
            f"role_session_name = {SESSION_NAME}\n")
        added = subprocess.run([sys.executable, "-m", "traycreds", "keys", "add", "me",
                                "--no-verify"], env=self.env, capture_output=True, text=True,
                               timeout=60, input=f"{user.key_id}\n{user.secret}\n")
        assert added.returncode == 0, added.stderr

    def eval_export(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        """``eval "$(traycreds export dev ARGS)"`` in a real bash, then the three variables."""
        script = ('eval "$("$0" -m traycreds export dev "$@")"; '
                  'printf "%s\\n" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" '
                  '"$AWS_SESSION_TOKEN"')
        return subprocess.run(["bash", "-c", script, sys.executable, *args], env=env,
                              capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, cwd=REPO_ROOT)

    def assert_local_credentials(self, result: subprocess.CompletedProcess[str]) -> None:
        """The exported credentials work and are the role's (GetCallerIdentity)."""
        key_id, secret, token = result.stdout.splitlines()
        assert re.fullmatch(r"[A-Z0-9]{16,128}", key_id), result
        sts = boto3.client("sts", region_name="us-east-1", endpoint_url=self.moto.url,
                           aws_access_key_id=key_id, aws_secret_access_key=secret,
                           aws_session_token=token)
        arn = sts.get_caller_identity()["Arn"]
        assert arn.endswith(f"/{self.role_arn.rsplit('/', 1)[1]}/{SESSION_NAME}"), arn


@pytest.fixture
def victim(moto: Any, aws_env: AwsEnv, secret_service: Any) -> Victim:
    return Victim(moto, aws_env)


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("traycreds: warning:")]


def assert_fell_back(result: subprocess.CompletedProcess[str], victim: Victim, mark: Path,
                     folder: Path, why: str) -> None:
    assert not mark.exists(), "shell code from the fake tray ran"
    assert result.returncode == 0, result.stderr
    [warning] = warnings_in(result.stderr)  # once, though the fast path and the full one met it
    assert warning.startswith(f"traycreds: warning: ignoring the tray in {folder}: "), warning
    assert why in warning and warning.endswith("; working without it"), warning
    assert result.stderr.count("\n") == 1, result.stderr  # nothing else on stderr
    victim.assert_local_credentials(result)


@pytest.mark.parametrize("via", ["TRAYCREDS_RUNTIME_DIR", "XDG_RUNTIME_DIR"])
def test_another_users_tray_is_ignored_and_eval_runs_nothing(
        victim: Victim, other_user: pwd.struct_passwd, foreign_base: Path, mark: Path,
        via: str) -> None:
    """sudo -E or su keep XDG_RUNTIME_DIR (or TRAYCREDS_RUNTIME_DIR) of the user who ran
    them: root must not take that user's "tray" for its own, whatever it answers."""
    folder = foreign_base / "traycreds"
    tray = ForeignTray(other_user, folder, os.urandom(32), poisoned(mark))
    try:
        env = dict(victim.env, **({"TRAYCREDS_RUNTIME_DIR": str(folder)}
                                  if via == "TRAYCREDS_RUNTIME_DIR"
                                  else {"XDG_RUNTIME_DIR": str(foreign_base)}))
        result = victim.eval_export(env)
        assert_fell_back(result, victim, mark, folder,
                         f"the folder belongs to uid {other_user.pw_uid}, not you")
        assert tray.seen() == [], "the client connected to the foreign tray"
    finally:
        tray.stop()


def test_a_socket_another_user_serves_in_our_folder_is_refused(
        victim: Victim, other_user: pwd.struct_passwd, foreign_base: Path, mark: Path,
        tmp_path: Path) -> None:
    """Folder and key are ours and right, and the program at the socket knows the key: only
    the peer's uid (SO_PEERCRED) tells it is not ours. Checked before anything is sent."""
    key = os.urandom(32)
    tray = ForeignTray(other_user, foreign_base / "traycreds", key, poisoned(mark))
    ours = tmp_path / "rt"
    make_tray_folder(ours, key)
    os.rename(foreign_base / "traycreds" / "channel.sock", ours / "channel.sock")
    try:
        result = victim.eval_export(dict(victim.env, TRAYCREDS_RUNTIME_DIR=str(ours)))
        assert_fell_back(result, victim, mark, ours,
                         f"the program at {ours / 'channel.sock'} runs as uid "
                         f"{other_user.pw_uid}, not you")
        # Connected (fast path, then the full command line), and not one request sent.
        assert set(tray.seen()) == {"connected"}, tray.seen()
    finally:
        tray.stop()


# --- this user's folder, not as the tray makes it ------------------------------------------------


def loosen_folder(folder: Path) -> str:
    os.chmod(folder, 0o750)
    return "the folder is open to other users (mode 750"


def loosen_key(folder: Path) -> str:
    (folder / "channel.key").chmod(0o644)
    return f"{folder / 'channel.key'} is open to other users (mode 644"


def link_key(folder: Path) -> str:
    real = folder.parent / "elsewhere.key"
    (folder / "channel.key").rename(real)
    (folder / "channel.key").symlink_to(real)
    return f"{folder / 'channel.key'} is a symbolic link"


def fifo_key(folder: Path) -> str:
    (folder / "channel.key").unlink()
    os.mkfifo(folder / "channel.key", 0o600)
    return f"{folder / 'channel.key'} is not a regular file"


def link_folder(folder: Path) -> str:
    real = folder.parent / "real-folder"
    folder.rename(real)
    folder.symlink_to(real)
    return f"{folder} is a symbolic link"


LOCAL_CASES: dict[str, Callable[[Path], str]] = {
    "folder-0750": loosen_folder, "key-0644": loosen_key, "key-symlink": link_key,
    "key-fifo": fifo_key, "folder-symlink": link_folder,
}


@pytest.mark.parametrize("case", sorted(LOCAL_CASES))
def test_a_folder_or_key_file_others_could_have_made_is_refused(
        victim: Victim, mark: Path, case: str) -> None:
    """A same-user fake tray knowing the key, behind each weakness: refused before any byte is
    sent (it sees no connection), one warning, and the local path's credentials."""
    base = Path(tempfile.mkdtemp(prefix="tc-", dir="/tmp"))
    folder = base / "traycreds"
    key = os.urandom(32)
    make_tray_folder(folder, key)
    try:
        with same_user_tray(folder, key, poisoned(mark)) as seen:
            why = LOCAL_CASES[case](folder)
            result = victim.eval_export(dict(victim.env, TRAYCREDS_RUNTIME_DIR=str(folder)))
            assert_fell_back(result, victim, mark, folder, why)
            assert seen == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


# --- the same checks in-process (no STS needed) -----------------------------------------------


def request_in_thread(timeout: float = 10.0) -> BaseException | Any:
    """client.request("hello"), bounded: before the fix a FIFO key file hung it forever."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(client.request("hello", timeout=3))
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "client.request hung"
    return outcome[0]


@pytest.mark.parametrize("case", sorted(LOCAL_CASES))
def test_request_raises_untrusted_with_the_reason(runtime: Path, mark: Path,
                                                  case: str) -> None:
    key = os.urandom(32)
    make_tray_folder(runtime, key)
    with same_user_tray(runtime, key, poisoned(mark)) as seen:
        why = LOCAL_CASES[case](runtime)
        error = request_in_thread()
        assert isinstance(error, UntrustedTrayError), error
        assert isinstance(error, NotRunningError)  # callers fall back
        assert error.folder == str(runtime) and why in error.why, error.why
        assert seen == []


def test_a_key_file_of_another_owner_in_our_folder_is_refused(
        runtime: Path, mark: Path, other_user: pwd.struct_passwd) -> None:
    key = os.urandom(32)
    make_tray_folder(runtime, key)
    os.chown(runtime / "channel.key", other_user.pw_uid, other_user.pw_gid)
    with same_user_tray(runtime, key, poisoned(mark)) as seen:
        error = request_in_thread()
        assert isinstance(error, UntrustedTrayError), error
        assert f"channel.key belongs to uid {other_user.pw_uid}, not you" in error.why
        assert seen == []


def test_the_real_tray_folder_is_trusted(runtime: Path) -> None:
    """What ChannelServer makes passes every check."""
    from traycreds.channel.server import ChannelServer

    with ChannelServer({}):
        assert client.request("hello")["pid"] == os.getpid()


def test_the_warning_is_one_line_once_per_process(capsys: pytest.CaptureFixture[str]) -> None:
    error = UntrustedTrayError("/x/traycreds", "the folder belongs to uid 1001, not you (0)")
    client.warn_untrusted(error)
    client.warn_untrusted(error)
    assert capsys.readouterr().err == ("traycreds: warning: ignoring the tray in /x/traycreds: "
                                       "the folder belongs to uid 1001, not you (0); working "
                                       "without it\n")


# --- a tray of ours whose answer is not a credentials document --------------------------------


def good_document() -> dict[str, Any]:
    return {"AccessKeyId": fake_key_id(), "SecretAccessKey": "c2VjcmV0/+=",
            "SessionToken": "dG9rZW4=", "Expiration": "2099-01-01T00:00:00Z",
            "DefaultShell": "bash"}


def with_fields(**fields: Any) -> Callable[[Path], Any]:
    def document(mark: Path) -> Any:
        changed = good_document()
        for name, value in fields.items():
            if value is None:
                changed.pop(name)
            else:
                changed[name] = value.replace("MARK", str(mark)) if isinstance(value, str) \
                    else value
        return changed
    return document


MALFORMED: dict[str, tuple[Callable[[Path], Any], str]] = {
    "key-id-with-shell-code": (with_fields(AccessKeyId="$(touch MARK)AKIA"),
                               "not shaped like an AWS credential"),
    "secret-with-quote": (with_fields(SecretAccessKey="abc';touch MARK;'"),
                          "not shaped like an AWS credential"),
    "no-session-token": (with_fields(SessionToken=None), "SessionToken is missing"),
    "expiration-not-rfc3339": (with_fields(Expiration="$(touch MARK)"),
                               "Expiration is not an RFC 3339 time"),
    "expiration-invalid-date": (with_fields(Expiration="2099-13-45T00:00:00Z"),
                                "Expiration is not a valid time"),
    "key-id-a-number": (with_fields(AccessKeyId=12345), "AccessKeyId is not a text"),
    "region-with-newline": (with_fields(Region="us-east-1\ntouch MARK"),
                            "Region holds a control character"),
    "not-an-object": (lambda mark: [f"export X=$(touch {mark})"], "not a JSON object"),
    "lines-to-print": (lambda mark: {"text": f"touch {mark}\n"}, "AccessKeyId is missing"),
}


@pytest.mark.parametrize("command", ["export", "credential-process"])
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_credentials_document_prints_nothing(runtime: Path, mark: Path,
                                                         case: str, command: str) -> None:
    """Our own tray (every check passes) sends something that is not a credentials document:
    two lines on stderr, exit 1, nothing on stdout, and nothing of it runs."""
    make_document, why = MALFORMED[case]
    key = os.urandom(32)
    make_tray_folder(runtime, key)
    hostile = poisoned(mark)

    def answer(op: str) -> Any:
        return make_document(mark) if op == "credentials" else hostile(op)

    with same_user_tray(runtime, key, answer) as seen:
        script = 'eval "$("$0" -m traycreds "$@")"'
        result = subprocess.run(["bash", "-c", script, sys.executable, command, "dev"],
                                env={**os.environ, "TRAYCREDS_RUNTIME_DIR": str(runtime),
                                     "PYTHONPATH": str(REPO_ROOT)},
                                capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL, cwd=REPO_ROOT)
        assert "credentials" in seen, (seen, result.stderr)
    assert not mark.exists(), "shell code from the tray's answer ran"
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0] == "traycreds: traycreds channel: bad credentials"
    assert why in lines[1] and "nothing was printed" in lines[1], lines
    # The document's values are never echoed back.
    assert "touch" not in result.stderr


def test_the_light_credentials_match_the_model() -> None:
    """protocol.py's stand-in for core.models.Credentials (no dataclasses import on the fast
    path) has the same fields and renders the same lines."""
    import dataclasses

    from traycreds.channel.protocol import decode_credentials
    from traycreds.core import shells
    from traycreds.core.models import Credentials

    light = decode_credentials(dict(good_document(), Region="eu-west-1")).credentials
    assert set(type(light).__slots__) == {f.name for f in dataclasses.fields(Credentials)}
    real = Credentials(light.access_key_id, light.secret_access_key, light.session_token,
                       light.expiration)
    for shell in shells.SHELLS:
        assert shells.render(shell, light, "eu-west-1") == shells.render(shell, real,
                                                                          "eu-west-1")
    assert light.secret_access_key not in repr(light)


def test_a_good_document_is_rendered_by_the_client(runtime: Path, mark: Path) -> None:
    """The fast path's lines come from the document, rendered here: DefaultShell picks the
    shell when --shell is absent, --shell wins over it."""
    key = os.urandom(32)
    make_tray_folder(runtime, key)
    document = dict(good_document(), DefaultShell="powershell", Region="eu-west-1")
    env = {**os.environ, "TRAYCREDS_RUNTIME_DIR": str(runtime), "PYTHONPATH": str(REPO_ROOT)}
    with same_user_tray(runtime, key, lambda op: document):
        shown = subprocess.run([sys.executable, "-m", "traycreds", "export", "dev"], env=env,
                               capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
        bash = subprocess.run([sys.executable, "-m", "traycreds", "export", "dev", "--shell",
                               "bash"], env=env, capture_output=True, text=True, timeout=60,
                              cwd=REPO_ROOT)
        process = subprocess.run([sys.executable, "-m", "traycreds", "credential-process",
                                  "dev"], env=env, capture_output=True, text=True, timeout=60,
                                 cwd=REPO_ROOT)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == f"$env:AWS_ACCESS_KEY_ID = '{document['AccessKeyId']}'"
    assert "$env:AWS_REGION = 'eu-west-1'" in shown.stdout
    assert bash.stdout.splitlines()[0] == f"export AWS_ACCESS_KEY_ID='{document['AccessKeyId']}'"
    assert json.loads(process.stdout) == {
        "Version": 1, "AccessKeyId": document["AccessKeyId"],
        "SecretAccessKey": document["SecretAccessKey"],
        "SessionToken": document["SessionToken"], "Expiration": "2099-01-01T00:00:00Z"}
