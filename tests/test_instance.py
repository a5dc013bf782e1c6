"""One traycreds per user: the flock (POSIX) or the named mutex (Windows: the real kernel32,
wine's on the lane) held by real processes, and the runtime folder's checks. The recording
kernel32 fake stays for what wine cannot show: a mutex an elevated process created (no handle,
ERROR_ACCESS_DENIED), and for the mutex logic on Linux."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT, WINDOWS, not_tested, windows_only
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
sys.modules["_wmi"] = None  # the Windows lane's: wine lacks what _wmi needs
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


def test_a_second_process_gets_none_until_the_holder_is_killed(runtime: Path) -> None:
    holder = start_holder(runtime)
    try:
        assert acquire() is None
        # No cleanup runs: the kernel drops the flock, or closes the dead process's mutex.
        holder.kill() if WINDOWS else holder.send_signal(signal.SIGKILL)
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


def test_release_lets_the_next_one_in_even_in_the_same_process(runtime: Path) -> None:
    first = acquire()
    assert first is not None
    # flock conflicts across open files, and CreateMutexW of an existing name answers
    # ERROR_ALREADY_EXISTS, even within one process.
    assert acquire() is None
    first.release()
    first.release()  # idempotent
    second = acquire()
    assert second is not None
    second.release()
    if not WINDOWS:
        assert (runtime / "traycreds.lock").exists()  # never unlinked (see the docstring)


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


# --- Windows: the named mutex (the real kernel32 on Windows, the fake elsewhere) ------------

NAME = "Local\\traycreds-alice"


@pytest.fixture
def mutexes() -> Any:
    """kernel32 itself on Windows (a fresh name per test); the recording fake elsewhere."""
    if WINDOWS:
        return instance._Kernel32()
    return Kernel32Mutexes()


@pytest.fixture
def name() -> str:
    return f"Local\\traycreds-test-{uuid.uuid4().hex}" if WINDOWS else NAME


def test_first_instance_creates_the_mutex_and_release_closes_it(mutexes: Any, name: str) -> None:
    lock = acquire_mutex(mutexes, name)
    assert lock is not None
    if isinstance(mutexes, Kernel32Mutexes):
        assert mutexes.calls[:2] == [("CreateMutexW", None, False, name), ("GetLastError",)]
        handle = next(iter(mutexes.open))
    lock.release()
    if isinstance(mutexes, Kernel32Mutexes):
        assert mutexes.calls[-1] == ("CloseHandle", handle)
        assert not mutexes.open
    again = acquire_mutex(mutexes, name)  # released: the name is free again
    assert again is not None
    again.release()


def test_already_exists_means_another_instance_and_the_handle_is_closed(mutexes: Any,
                                                                        name: str) -> None:
    first = acquire_mutex(mutexes, name)
    assert first is not None
    assert acquire_mutex(mutexes, name) is None
    if isinstance(mutexes, Kernel32Mutexes):
        created = [c for c in mutexes.calls if c[0] == "CreateMutexW"]
        assert len(created) == 2
        assert mutexes.calls[-1][0] == "CloseHandle"  # the second handle, not leaked
        assert len(mutexes.open) == 1
    assert ERROR_ALREADY_EXISTS == 183
    first.release()
    # Only when every handle is closed does the mutex go: a leaked second handle would keep
    # the name alive (on Windows) and lock every later start out.
    third = acquire_mutex(mutexes, name)
    assert third is not None
    third.release()


def test_access_denied_means_another_instance() -> None:
    """The fake: wine has no elevated process whose mutex we may not open. Microsoft,
    CreateMutexW: "If the mutex is a named mutex and the object existed before this function
    call ... if the caller has limited access rights, the function will fail with
    ERROR_ACCESS_DENIED"."""
    kernel32 = Kernel32Mutexes(denied=(NAME,))
    assert acquire_mutex(kernel32, NAME) is None
    assert ERROR_ACCESS_DENIED == 5
    assert not [c for c in kernel32.calls if c[0] == "CloseHandle"]  # there was no handle


def test_other_failures_are_errors_not_a_silent_second_instance(mutexes: Any) -> None:
    if WINDOWS:  # a second backslash: no such namespace (ERROR_PATH_NOT_FOUND)
        with pytest.raises(TraycredsError, match="Windows error 3"):
            acquire_mutex(mutexes, "Local\\traycreds\\x")
        return
    kernel32 = Kernel32Mutexes(fail_with=87)
    with pytest.raises(TraycredsError, match="Windows error 87"):
        acquire_mutex(kernel32, NAME)


@windows_only("the real mutex name of this session and runtime folder")
def test_acquire_takes_the_mutex_of_this_session_and_runtime_folder(runtime: Path) -> None:
    lock = acquire()
    assert lock is not None
    try:
        assert lock.where == mutex_name()
        scope = f"traycreds-{instance.windows_user()}-s{instance.windows_session()}-"
        assert lock.where.startswith("Local\\" + scope)  # and the runtime folder's hash
        other = instance.acquire_mutex(instance._Kernel32(), mutex_name(session=4242))
        assert other is not None  # another session's mutex: not ours
        other.release()
    finally:
        lock.release()


def test_mutex_name_is_per_user_and_session(monkeypatch: pytest.MonkeyPatch) -> None:
    assert mutex_name("bob", 1, {}) == "Local\\traycreds-bob-s1"
    assert mutex_name("bob", 2, {}) == "Local\\traycreds-bob-s2"
    monkeypatch.setenv("USERNAME", "CORP\\carol")
    monkeypatch.setattr(instance, "windows_session", lambda: 3)
    monkeypatch.delenv("TRAYCREDS_RUNTIME_DIR", raising=False)
    assert instance.mutex_name() == "Local\\traycreds-CORP_carol-s3"
    monkeypatch.setenv("TRAYCREDS_RUNTIME_DIR", "/tmp/elsewhere")
    assert instance.mutex_name().startswith("Local\\traycreds-CORP_carol-s3-")


def test_the_installer_mutex_is_the_one_the_installer_names() -> None:
    """installer/traycreds.iss's AppMutex, with Inno's {username}, is installer_mutex_name()."""
    iss = (REPO_ROOT / "installer" / "traycreds.iss").read_text(encoding="utf-8")
    (app_mutex,) = [line.split("=", 1)[1] for line in iss.splitlines()
                    if line.startswith("AppMutex=")]
    assert app_mutex == instance.installer_mutex_name("{username}")
    assert instance.installer_mutex_name("bob") == "Global\\traycreds-running-bob"


@windows_only("the real Global mutex the installer looks for")
def test_a_running_tray_holds_the_installer_mutex_until_it_quits(runtime: Path) -> None:
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenMutexW.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.LPCWSTR]
    kernel32.OpenMutexW.restype = wintypes.HANDLE
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    synchronize = 0x00100000

    def installer_sees_it() -> bool:  # what Inno's CheckForMutexes does: open by name
        handle = kernel32.OpenMutexW(synchronize, False, instance.installer_mutex_name())
        if handle:
            kernel32.CloseHandle(handle)
        return bool(handle)

    assert not installer_sees_it()
    lock = acquire()
    assert lock is not None
    try:
        assert installer_sees_it()
    finally:
        lock.release()
    assert not installer_sees_it()
