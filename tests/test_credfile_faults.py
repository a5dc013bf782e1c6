"""Faults while writing the credentials file: each leaves the file byte for byte as it was
and says clearly what went wrong.

Read-only folders and a full disk are real: a small tmpfs mounted for the test (remounted
read-only, or filled up). That needs root (or CAP_SYS_ADMIN); without it those tests skip,
saying so, and the full disk is still covered by ``test_disk_full_reported_by_fsync``, which
makes ``os.fsync`` fail with ENOSPC (what delayed-allocation file systems and NFS do when
the blocks written cannot be stored).

The tests run as root in CI. root passes every permission check, so a chmod 0444 file or a
chmod 0555 folder would not stop it: traycreds checks a file's mode bits itself, and the
read-only folder is a read-only mount.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.support import not_tested, posix_only
from traycreds.adapters import atomic, inifile
from traycreds.app import profiles
from traycreds.core import credfile
from traycreds.core.errors import FileError
from traycreds.core.models import Credentials, Role

# profile="dev": these tests are about the file, so the section keeps the role's own name.
ROLE = Role(name="dev", role_arn="arn:aws:iam::123456789012:role/dev", source="me", profile="dev",
            origin="test")
ORIGINAL = (b"# hand-written; keep\n[default]\naws_access_key_id = AKIDEXAMPLEDEFAULT01\n"
            b"aws_secret_access_key = secretDEFAULT\n")


def creds(seed: str = "A") -> Credentials:
    return Credentials("ASID" + seed * 16, "secret/" + seed * 30, "token+" + seed * 200,
                       datetime(2030, 1, 1, tzinfo=timezone.utc))


def leftovers(folder: Path) -> list[str]:
    """Anything but the file, its lock and the test's own filler: temp files, backups."""
    return sorted(p.name for p in folder.iterdir()
                  if p.name not in ("credentials", ".credentials.traycreds-lock", "filler"))


def run_mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


@contextmanager
def tmpfs(where: Path, size: str = "1m") -> Iterator[Path]:
    """A private tmpfs at ``where``; skips the test if this machine will not mount one."""
    where.mkdir()
    try:
        mounted = run_mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where))
    except FileNotFoundError:
        not_tested("a real file system's faults", "no `mount` command")
    if mounted.returncode != 0:
        not_tested("a real file system's faults", "cannot mount a tmpfs here (needs root or "
                   f"CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount_read_only(where: Path) -> None:
    result = run_mount("-o", "remount,ro", str(where))
    assert result.returncode == 0, result.stderr
    with pytest.raises(OSError) as raised:
        (where / "probe").touch()
    assert raised.value.errno == errno.EROFS


# --- read-only file and folder --------------------------------------------------------------

def test_read_only_file_is_respected_even_by_root(tmp_path: Path) -> None:
    """Regression: the check was os.access() only, which is always True for root."""
    path = tmp_path / "credentials"
    path.write_bytes(ORIGINAL)
    path.chmod(0o444)
    with pytest.raises(FileError) as raised:
        profiles.write_profile(ROLE, creds(), path=path)
    message = str(raised.value)
    assert f"{path} is read-only" in message and "Make it writable" in message
    assert path.read_bytes() == ORIGINAL
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert leftovers(tmp_path) == []
    # Taking over or removing is refused the same way, before any backup is made.
    path.write_bytes(ORIGINAL + b"[dev]\nk = v\n")  # root may write; traycreds may not
    before = path.read_bytes()
    with pytest.raises(FileError, match="read-only"):
        profiles.write_profile(ROLE, creds(), path=path, take_over=True)
    assert path.read_bytes() == before and leftovers(tmp_path) == []
    # Made writable again, the same write works.
    path.chmod(0o600)
    profiles.write_profile(ROLE, creds(), path=path, take_over=True)


@posix_only("a read-only folder is a read-only tmpfs mount (mount(8))")
@pytest.mark.parametrize("written_before", [False, True], ids=["fresh-folder", "lock-exists"])
def test_read_only_folder(tmp_path: Path, written_before: bool) -> None:
    with tmpfs(tmp_path / "mnt") as folder:
        path = folder / "credentials"
        path.write_bytes(ORIGINAL)
        if written_before:  # the lock file and our section exist from an earlier write
            profiles.write_profile(ROLE, creds(), path=path)
        before = path.read_bytes()
        remount_read_only(folder)
        attempts = [lambda: profiles.write_profile(ROLE, creds("B"), path=path),
                    lambda: profiles.write_profile(ROLE, creds("B"), path=path, profile="new")]
        if written_before:
            attempts.append(lambda: profiles.remove_profile("dev", path=path))
        for attempt in attempts:
            with pytest.raises(FileError) as raised:
                attempt()
            message = str(raised.value)
            assert f"{path}: its folder is on a read-only file system" in message, message
            assert path.read_bytes() == before


# --- a file another program holds open -------------------------------------------------------

HOLDER = r"""
import sys
handle = open(sys.argv[1], "rb")
print("open", flush=True)
sys.stdin.readline()
print(handle.read().decode(), end="", flush=True)
"""


def test_file_held_open_by_another_process_is_still_written(tmp_path: Path) -> None:
    """On POSIX an open file does not stop a rename; the holder keeps reading the old file.
    On Windows a file open without FILE_SHARE_DELETE (Python's open) cannot be replaced:
    atomic.py retries a bounded number of times, then a clear FileError, the file intact."""
    path = tmp_path / "credentials"
    path.write_bytes(ORIGINAL)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        if sys.platform == "win32":
            with pytest.raises(FileError) as raised:
                profiles.write_profile(ROLE, creds(), path=path)
            message = str(raised.value)
            assert f"Could not write {path}" in message and "another program" in message
            assert "left as it was" in message
        else:
            assert profiles.write_profile(ROLE, creds(), path=path)[:2] == ("dev", None)
        seen, _ = holder.communicate("go\n", timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert seen.encode() == ORIGINAL  # the old file, whole: never a mix
    after = path.read_bytes()
    if sys.platform == "win32":
        assert after == ORIGINAL and leftovers(tmp_path) == []  # no temp file left behind
        profiles.write_profile(ROLE, creds(), path=path)  # closed: the same write goes through
        after = path.read_bytes()
    assert after.startswith(ORIGINAL + b"\n[dev]\n") and b"ASIDAAAA" in after


# --- disk full -------------------------------------------------------------------------------

def fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    with pytest.raises(OSError):  # really full: not one more page
        (folder / "probe").write_bytes(b"x" * 4096)
    (folder / "probe").unlink(missing_ok=True)


@posix_only("the full disk is a small tmpfs mount (mount(8))")
def test_disk_full_on_a_small_tmpfs(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", size="64k") as folder:
        path = folder / "credentials"
        path.write_bytes(ORIGINAL + b"[dev]\naws_access_key_id = AKIDEXAMPLEHANDMADE1\n")
        inifile.lock_path(path).touch()  # as after any earlier write
        before = path.read_bytes()
        fill(folder)
        # A new section; then taking over [dev], where the backup is written first.
        for profile, take_over in (("new", False), (None, True)):
            with pytest.raises(FileError) as raised:
                profiles.write_profile(ROLE, creds(), path=path, profile=profile,
                                       take_over=take_over)
            message = str(raised.value)
            assert f"Could not write {path}: the disk is full" in message, message
            assert "left as it was" in message
            assert path.read_bytes() == before
            assert leftovers(folder) == [], "no temp file or partial backup left behind"
        (folder / "filler").unlink()  # space again: the same write goes through
        backup = profiles.write_profile(ROLE, creds(), path=path, take_over=True).backup
        assert backup is not None and backup.read_bytes() == before


def test_disk_full_reported_by_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs everywhere: fsync failing with ENOSPC, as it does when blocks cannot be stored."""
    path = tmp_path / "credentials"
    path.write_bytes(ORIGINAL)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(FileError, match="the disk is full"):
        profiles.write_profile(ROLE, creds(), path=path)
    assert path.read_bytes() == ORIGINAL
    assert leftovers(tmp_path) == []


def test_rename_failure_leaves_the_file_and_no_temp(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(ORIGINAL)

    def refuse(src: str, dst: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(FileError, match="permission denied"):
        profiles.write_profile(ROLE, creds(), path=path)
    assert path.read_bytes() == ORIGINAL
    assert leftovers(tmp_path) == []


# --- files traycreds must not edit -----------------------------------------------------------

def test_section_we_do_not_own(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(ORIGINAL)
    with pytest.raises(credfile.SectionNotOursError) as raised:
        profiles.write_profile(ROLE, creds(), profile="default", path=path)
    message = str(raised.value)
    assert message.startswith("Profile belongs to someone else: ")
    assert "[default] (line 2)" in message
    assert "--profile NAME" in message and "--take-over" in message
    assert path.read_bytes() == ORIGINAL and leftovers(tmp_path) == []
    with pytest.raises(credfile.SectionNotOursError, match="left as it is"):
        profiles.remove_profile("default", path=path)
    assert path.read_bytes() == ORIGINAL


def test_unparsable_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    broken = ORIGINAL + b"[dev\naws_access_key_id = x\n"
    path.write_bytes(broken)
    for attempt in (lambda: profiles.write_profile(ROLE, creds(), path=path),
                    lambda: profiles.remove_profile("dev", path=path)):
        with pytest.raises(FileError) as raised:
            attempt()
        assert f"{path}, line 5: this line is not [section]" in str(raised.value)
        assert "changed nothing" in str(raised.value)
        assert path.read_bytes() == broken


@pytest.mark.parametrize("raw", [
    ORIGINAL + "# café\n".encode("latin-1"),
    "[default]\nk = v\n".encode("utf-16"),
], ids=["latin-1", "utf-16"])
def test_non_utf8_file(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(raw)
    with pytest.raises(FileError) as raised:
        profiles.write_profile(ROLE, creds(), path=path)
    message = str(raised.value)
    assert f"{path} is not UTF-8 text (byte " in message and "Save it as UTF-8" in message
    assert path.read_bytes() == raw
    assert profiles.clean_expired(datetime.now(timezone.utc), path=tmp_path / "other") == []
    with pytest.raises(FileError, match="not UTF-8"):
        profiles.clean_expired(datetime.now(timezone.utc), path=path)
    assert path.read_bytes() == raw


def test_a_folder_where_the_file_should_be(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.mkdir()
    expected = rf"{re.escape(str(path))} is not a regular file \(a folder\)"  # C:\\ on Windows
    with pytest.raises(FileError, match=expected):
        profiles.write_profile(ROLE, creds(), path=path)
    assert path.is_dir() and list(path.iterdir()) == []


# Takes the lock as traycreds does: flock on POSIX, msvcrt.locking of byte 0 on Windows.
LOCK_HOLDER = r"""
import sys
handle = open(sys.argv[1], "a+b")
if sys.platform == "win32":
    import msvcrt
    handle.seek(0)
    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
else:
    import fcntl
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.readline()
"""


def test_busy_lock_times_out_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(ORIGINAL)
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(inifile.lock_path(path))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(FileError) as raised, inifile.locked(path, timeout=0.2):
            pass
        assert raised.value.title == "File busy"
        assert f"Another program has been editing {path}" in raised.value.message
        assert "the file was not changed" in raised.value.message
    finally:
        holder.communicate("done\n", timeout=30)
    with inifile.locked(path, timeout=5):  # released with the holder
        pass
    assert path.read_bytes() == ORIGINAL


# A queue of writers: takes the lock, holds it a moment, lands an edit, marks the end of its
# turn, lets go and at once takes it again, for argv[3] seconds; the gap between two turns is
# too short for a poller.
LOCK_CHURNER = r"""
import os, sys, time
handle = os.fdopen(os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)),
                   "r+b", buffering=0)
def lock():
    if sys.platform == "win32":
        import msvcrt
        handle.seek(0)
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                pass
    import fcntl
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
def mark():  # the end of a turn, marked as traycreds marks it (inifile._end_turn)
    handle.seek(8)
    handle.write(os.urandom(8))
def unlock():
    mark()
    if sys.platform == "win32":
        import msvcrt
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
end = time.monotonic() + float(sys.argv[3])
turn = 0
lock()
print("locked", flush=True)
while True:
    time.sleep(0.25)
    turn += 1
    with open(sys.argv[2] + ".tmp", "wb") as out:
        out.write(b"[turn]\nn = %d\n" % turn)
    os.replace(sys.argv[2] + ".tmp", sys.argv[2])
    if sys.argv[4] == "keep":  # turns end without a gap at all: only the marks show them
        mark()
        if time.monotonic() > end:
            break
        continue
    unlock()
    if time.monotonic() > end:
        break
    lock()
"""


def _churner(path: Path, seconds: float, gaps: bool = True) -> subprocess.Popen[str]:
    """``gaps``: let go between turns (a poller may slip in, as Windows' locking allows);
    else hold the lock throughout and only mark each turn's end."""
    proc = subprocess.Popen([sys.executable, "-c", LOCK_CHURNER, str(inifile.lock_path(path)),
                             str(path), str(seconds), "gaps" if gaps else "keep"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
    return proc


def test_a_queue_of_writers_making_progress_is_waited_for(tmp_path: Path) -> None:
    """Twenty writers at once (test_credfile_concurrency) must not fail the unlucky one:
    while edits keep landing, the wait goes on past the one-holder timeout."""
    path = tmp_path / "credentials"
    path.write_bytes(ORIGINAL)
    churner = _churner(path, 2.5, gaps=False)
    try:
        with inifile.locked(path, timeout=1.0, cap=30):
            assert churner.poll() is not None or b"[turn]" in path.read_bytes()
            path.write_bytes(path.read_bytes() + b"[ours]\n")
    finally:
        churner.communicate(timeout=30)
    assert churner.returncode == 0
    assert path.read_bytes().endswith(b"[ours]\n")


def test_a_queue_of_writers_is_waited_for_only_up_to_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(ORIGINAL)
    churner = _churner(path, 4, gaps=False)
    try:
        with pytest.raises(FileError) as raised, inifile.locked(path, timeout=1.0, cap=1.5):
            pass
        assert raised.value.title == "File busy"
        assert f"Other programs have kept {path} busy for 2 s" in raised.value.message
        assert "the file was not changed" in raised.value.message
    finally:
        churner.communicate(timeout=30)
    assert churner.returncode == 0


class _HeldOpen:
    """os.replace as Windows answers it while a reader holds the target open: PermissionError,
    ``times`` times, then the rename happens."""

    def __init__(self, times: int) -> None:
        self.left, self.tries = times, 0

    def __call__(self, src: str, dst: Any) -> None:
        self.tries += 1
        if self.left:
            self.left -= 1
            raise PermissionError(13, "The process cannot access the file")
        os.rename(src, dst)


def test_a_starved_writer_keeps_trying_past_the_budget(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """On a busy machine seconds can pass between two tries (the Windows lane's twenty
    writers): the budget is time and tries, so a writer that barely ran still tries."""
    held = _HeldOpen(40)
    monkeypatch.setattr(atomic.os, "replace", held)
    monkeypatch.setattr(atomic.time, "sleep", lambda seconds: None)
    ticks = iter([0.0, 4.0])  # the first failure already finds the 3 s budget spent
    tmp, target = tmp_path / "new", tmp_path / "credentials"
    tmp.write_bytes(b"[new]\n")
    atomic._replace(str(tmp), target, retry=True, clock=lambda: next(ticks, 4.0))
    assert held.tries == 41 and target.read_bytes() == b"[new]\n"


def test_a_file_held_open_for_good_fails_within_the_cap(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    held = _HeldOpen(10**9)
    monkeypatch.setattr(atomic.os, "replace", held)
    monkeypatch.setattr(atomic.time, "sleep", lambda seconds: None)
    now = [0.0]

    def clock() -> float:
        now[0] += 0.01
        return now[0]

    with pytest.raises(PermissionError):
        atomic._replace("new", tmp_path / "credentials", retry=True, clock=clock)
    assert now[0] <= atomic._REPLACE_CAP + 0.02 and held.tries >= atomic._REPLACE_TRIES
    held_fast = _HeldOpen(10**9)
    monkeypatch.setattr(atomic.os, "replace", held_fast)
    with pytest.raises(PermissionError):  # never retried where renames are not refused
        atomic._replace("new", tmp_path / "credentials", retry=False)
    assert held_fast.tries == 1
