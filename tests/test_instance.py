"""One traycreds per user: the flock held by real processes, the runtime folder's checks, and
the Windows mutex against the recording kernel32 fake."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, not_tested
from tests.support.fakes import Kernel32Mutexes
from traycreds.adapters import instance
from traycreds.adapters.instance import (
    ERROR_ACCESS_DENIED,
    ERROR_ALREADY_EXISTS,
    RuntimeDirError,
    acquire,
    acquire_mutex,
    ensure_runtime_dir,
    mutex_name,
    runtime_dir,
    windows_runtime_folder,
)
from traycreds.core.errors import TraycredsError

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="flock and file modes: POSIX")

HOLDER = """
import sys, time
from traycreds.adapters.instance import acquire
lock = acquire()
print("held" if lock else "busy", flush=True)
if lock:
    time.sleep(120)
"""


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TRAYCREDS_RUNTIME_DIR pointing at a not-yet-created folder below a private /tmp one."""
    base = Path(tempfile.mkdtemp(prefix="tc-", dir="/tmp"))
    folder = base / "rt"
    monkeypatch.setenv("TRAYCREDS_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(base, ignore_errors=True)


def start_holder(folder: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "TRAYCREDS_RUNTIME_DIR": str(folder), "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER], env=env, cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


@posix_only
def test_a_second_process_gets_none_until_the_holder_is_killed(runtime: Path) -> None:
    holder = start_holder(runtime)
    try:
        assert acquire() is None
        holder.send_signal(signal.SIGKILL)  # no cleanup runs: the kernel drops the flock
        holder.wait(10)
        lock = acquire()
        assert lock is not None
        lock.release()
    finally:
        holder.kill()
        holder.wait(10)


@posix_only
def test_the_second_start_in_another_process_is_told_no(runtime: Path) -> None:
    lock = acquire()
    assert lock is not None
    with lock:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        out = subprocess.run([sys.executable, "-c", HOLDER], env=env, cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=60, check=True)
        assert out.stdout.strip() == "busy"
        assert (runtime / "traycreds.lock").read_text().strip() == str(os.getpid())


@posix_only
def test_release_lets_the_next_one_in_even_in_the_same_process(runtime: Path) -> None:
    first = acquire()
    assert first is not None
    assert acquire() is None  # flock conflicts across open files, even within one process
    first.release()
    first.release()  # idempotent
    second = acquire()
    assert second is not None
    second.release()
    assert (runtime / "traycreds.lock").exists()  # never unlinked (see the module docstring)


@posix_only
def test_folder_and_lock_file_are_private(runtime: Path) -> None:
    lock = acquire()
    assert lock is not None
    try:
        assert stat.S_IMODE(runtime.stat().st_mode) == 0o700
        assert stat.S_IMODE((runtime / "traycreds.lock").stat().st_mode) == 0o600
    finally:
        lock.release()


@posix_only
def test_a_folder_others_can_write_is_refused(runtime: Path) -> None:
    runtime.mkdir(mode=0o700)
    os.chmod(runtime, 0o777)
    with pytest.raises(RuntimeDirError, match="can be written by other users"):
        acquire()
    os.chmod(runtime, 0o770)
    with pytest.raises(RuntimeDirError, match="mode 770"):
        ensure_runtime_dir()


@posix_only
def test_a_folder_others_can_only_read_is_tightened(runtime: Path) -> None:
    runtime.mkdir()
    os.chmod(runtime, 0o755)
    assert ensure_runtime_dir() == runtime
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700


@posix_only
def test_a_folder_of_another_user_is_refused(runtime: Path) -> None:
    if os.geteuid() != 0:
        not_tested("a folder of another user", "giving a folder to another user needs root")
    runtime.mkdir(mode=0o700)
    os.chown(runtime, 65534, 65534)
    with pytest.raises(RuntimeDirError, match=r"belongs to another user \(uid 65534\)") as error:
        acquire()
    assert "TRAYCREDS_RUNTIME_DIR" in error.value.message


@posix_only
def test_a_symlink_or_a_file_is_refused(runtime: Path) -> None:
    real = runtime.parent / "real"
    real.mkdir(mode=0o700)
    runtime.symlink_to(real)
    with pytest.raises(RuntimeDirError, match="symbolic link"):
        acquire()
    runtime.unlink()
    runtime.write_text("")
    with pytest.raises(RuntimeDirError):
        acquire()


def test_runtime_dir_override_and_the_xdg_shortcut(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("TRAYCREDS_RUNTIME_DIR", str(tmp_path / "x"))
    assert runtime_dir() == tmp_path / "x"
    monkeypatch.delenv("TRAYCREDS_RUNTIME_DIR")
    if not sys.platform.startswith("linux"):
        return
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
    import platformdirs

    # The shortcut (no platformdirs import) must name the folder platformdirs names.
    assert runtime_dir() == Path(platformdirs.user_runtime_dir("traycreds", appauthor=False))


def test_windows_runtime_dir_is_local_appdata_not_its_temp() -> None:
    """Disk Cleanup and Storage Sense empty %LOCALAPPDATA%\\Temp (platformdirs' runtime
    folder on Windows) and would delete the channel key while the tray runs."""
    local = r"C:\Users\Jo Smith\AppData\Local"
    env = {"LOCALAPPDATA": local, "TEMP": local + r"\Temp", "XDG_RUNTIME_DIR": "/run/user/1"}
    assert windows_runtime_folder(env) == local + r"\traycreds"
    assert str(runtime_dir(env, platform="win32")) == local + r"\traycreds"
    assert "Temp" not in str(runtime_dir(env, platform="win32"))
    # The override still wins; a missing or relative LOCALAPPDATA gives no answer of its own.
    assert runtime_dir({**env, "TRAYCREDS_RUNTIME_DIR": local + r"\x"}, platform="win32") == \
        Path(local + r"\x")
    assert windows_runtime_folder({}) is None
    assert windows_runtime_folder({"LOCALAPPDATA": r"AppData\Local"}) is None


def test_runtime_dir_takes_the_environment_it_is_given(tmp_path: Path) -> None:
    xdg = str(tmp_path / "xdg")
    assert runtime_dir({"XDG_RUNTIME_DIR": xdg}, platform="linux") == Path(xdg) / "traycreds"
    assert runtime_dir({"TRAYCREDS_RUNTIME_DIR": str(tmp_path / "o")}, platform="linux") == \
        tmp_path / "o"


# --- Windows: the named mutex, against the recording fake ---------------------------------

NAME = "Local\\traycreds-alice"


def test_first_instance_creates_the_mutex_and_release_closes_it() -> None:
    kernel32 = Kernel32Mutexes()
    lock = acquire_mutex(kernel32, NAME)
    assert lock is not None
    assert kernel32.calls[:2] == [("CreateMutexW", None, False, NAME), ("GetLastError",)]
    handle = next(iter(kernel32.open))
    lock.release()
    assert kernel32.calls[-1] == ("CloseHandle", handle)
    assert not kernel32.open


def test_already_exists_means_another_instance_and_the_handle_is_closed() -> None:
    kernel32 = Kernel32Mutexes()
    first = acquire_mutex(kernel32, NAME)
    assert first is not None
    assert acquire_mutex(kernel32, NAME) is None
    created = [c for c in kernel32.calls if c[0] == "CreateMutexW"]
    assert len(created) == 2
    assert kernel32.calls[-1][0] == "CloseHandle"  # the second handle, not leaked
    assert len(kernel32.open) == 1
    assert ERROR_ALREADY_EXISTS == 183
    first.release()
    third = acquire_mutex(kernel32, NAME)
    assert third is not None


def test_access_denied_means_another_instance() -> None:
    kernel32 = Kernel32Mutexes(denied=(NAME,))
    assert acquire_mutex(kernel32, NAME) is None
    assert ERROR_ACCESS_DENIED == 5
    assert not [c for c in kernel32.calls if c[0] == "CloseHandle"]  # there was no handle


def test_other_failures_are_errors_not_a_silent_second_instance() -> None:
    kernel32 = Kernel32Mutexes(fail_with=87)
    with pytest.raises(TraycredsError, match="Windows error 87"):
        acquire_mutex(kernel32, NAME)


def test_mutex_name_is_per_user_in_the_session_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    assert mutex_name("bob") == "Local\\traycreds-bob"
    monkeypatch.setenv("USERNAME", "CORP\\carol")
    assert instance.mutex_name() == "Local\\traycreds-CORP_carol"
