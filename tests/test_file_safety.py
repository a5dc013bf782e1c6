"""Files are read and written only where and how they should be (issue 10, items 4, 5, 7).

- A symlinked credentials file is followed only to an existing file of the link's owner;
  no folder is created for a link's target, and the lock file is never opened through a link.
- Profile and section names holding ``$``, backticks or control characters are refused.
- Temp files are named as ours; stale ones (a writer killed with SIGKILL) are removed on the
  next write and by ``traycreds clean``; nothing else is touched.
- A group/other-readable credentials file that receives secrets becomes 0600, said once.
- Every file traycreds reads is read bounded: a FIFO, /dev/zero, a folder or an oversized
  file is refused with a clear error and exit code, at once (the CLI runs with a timeout).

Runs as root (here and in CI): files of "another user" are made with chown to a free uid.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.support import not_tested, posix_only
from traycreds.adapters import atomic, paths
from traycreds.app import profiles
from traycreds.core import credfile
from traycreds.core.errors import ConfigError, FileError
from traycreds.core.models import Credentials, Role

ROLE = Role(name="dev", role_arn="arn:aws:iam::123456789012:role/dev", source="me",
            origin="test")
OTHER_UID = 54321  # no such user needed: root can chown to any uid
REPO = Path(__file__).resolve().parent.parent

# Under wine a link to a missing target is no file at all (lstat: not found), and on Windows
# making a link needs a privilege users rarely have: these checks cannot be shown on the lane.
DANGLING_LINKS = "wine shows a dangling symbolic link as no file at all (lstat fails)"
UIDS = "files of another user are made with chown to a free uid"
MODES = "POSIX mode bits (Windows files have no group/other bits)"


def creds(seed: str = "A") -> Credentials:
    return Credentials("ASID" + seed * 16, "secret/" + seed * 30, "token+" + seed * 40,
                       datetime(2030, 1, 1, tzinfo=timezone.utc))


def need_root() -> None:
    if os.geteuid() != 0:
        not_tested("files of another uid", "needs root to chown files to another uid")


def run_cli(env: dict[str, str], *args: str,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The real command line, as the user runs it; a hang fails the test at ``timeout``."""
    return subprocess.run([sys.executable, "-m", "traycreds", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


# --- item 4: where files are written ---------------------------------------------------------


@posix_only(DANGLING_LINKS)
def test_dangling_link_is_refused_and_no_folder_is_created(tmp_path: Path) -> None:
    """Regression: the link was followed and profile.d/traycreds/ created, then written."""
    target = tmp_path / "etc" / "profile.d" / "traycreds" / "credentials"
    link = tmp_path / "home" / ".aws" / "credentials"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    with pytest.raises(FileError) as caught:
        profiles.write_profile(ROLE, creds(), path=link)
    message = caught.value.message
    assert str(link) in message and str(target) in message and "does not exist" in message
    assert caught.value.exit_code == 8
    assert not (tmp_path / "etc").exists()
    # The folder exists but the file does not: still refused, nothing created.
    target.parent.mkdir(parents=True)
    with pytest.raises(FileError, match="does not exist"):
        profiles.write_profile(ROLE, creds(), path=link)
    assert list(target.parent.iterdir()) == []


@posix_only(DANGLING_LINKS)
def test_dangling_link_is_refused_by_the_cli(tmp_path: Path, aws_env: Any) -> None:
    target = tmp_path / "elsewhere" / "profile.d" / "x.sh"
    aws_env.aws_credentials.parent.mkdir(parents=True)
    aws_env.aws_credentials.symlink_to(target)
    result = run_cli(aws_env.env, "clean")
    assert result.returncode == 8, result.stderr
    assert str(target) in result.stderr and "symbolic link" in result.stderr
    assert not (tmp_path / "elsewhere").exists()


@posix_only(UIDS)
@pytest.mark.parametrize("foreign", ["target", "link"])
def test_link_and_target_of_different_owners_are_refused(tmp_path: Path, foreign: str) -> None:
    need_root()
    real = tmp_path / "real"
    real.write_text("[default]\nk = v\n")
    link = tmp_path / "credentials"
    link.symlink_to(real)
    if foreign == "target":
        os.chown(real, OTHER_UID, OTHER_UID)
    else:
        os.lchown(link, OTHER_UID, OTHER_UID)
    with pytest.raises(FileError) as caught:
        profiles.write_profile(ROLE, creds(), path=link)
    assert str(link) in caught.value.message and str(real) in caught.value.message
    assert "belongs to" in caught.value.message
    assert real.read_text() == "[default]\nk = v\n"


@posix_only(MODES)
def test_a_new_aws_folder_is_created_0700(tmp_path: Path) -> None:
    path = tmp_path / "home" / ".aws" / "credentials"
    (tmp_path / "home").mkdir()
    old = os.umask(0o022)
    try:
        profiles.write_profile(ROLE, creds(), path=path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@posix_only(DANGLING_LINKS)
def test_a_dangling_folder_link_is_not_created_through(tmp_path: Path) -> None:
    aws = tmp_path / "home" / ".aws"
    aws.parent.mkdir()
    aws.symlink_to(tmp_path / "nowhere" / "aws")
    with pytest.raises(FileError, match="does not exist"):
        profiles.write_profile(ROLE, creds(), path=aws / "credentials")
    assert not (tmp_path / "nowhere").exists()


@posix_only(DANGLING_LINKS)
def test_the_lock_file_is_never_opened_through_a_link(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[default]\nk = v\n")
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / ".credentials.traycreds-lock").symlink_to(elsewhere)
    with pytest.raises(FileError) as caught:
        profiles.write_profile(ROLE, creds(), path=path)
    assert ".credentials.traycreds-lock" in caught.value.message
    assert "link" in caught.value.message
    assert not elsewhere.exists()
    assert path.read_text() == "[default]\nk = v\n"


@pytest.mark.parametrize(("name", "shown"), [
    ("a$(id)", "'$'"), ("a`id`", "'`'"), ("a\x1bb", "U+001B"), ("a\tb", "U+0009"),
    ("a\x7fb", "U+007F")])
def test_unsafe_profile_names_are_refused_naming_the_character(
        tmp_path: Path, name: str, shown: str) -> None:
    with pytest.raises(FileError) as caught:
        credfile.check_section_name(name)
    assert shown in caught.value.message and "cannot be a profile name" in caught.value.message
    path = tmp_path / "credentials"
    with pytest.raises(FileError):
        profiles.write_profile(ROLE, creds(), path=path, profile=name)
    assert not path.exists()


def test_a_role_named_with_a_dollar_is_refused_by_the_cli(aws_env: Any) -> None:
    aws_env.aws_config.parent.mkdir(parents=True)
    aws_env.aws_config.write_text("[profile a$(id)]\n"
                                  "role_arn = arn:aws:iam::123456789012:role/x\n"
                                  "source_profile = me\n")
    result = run_cli(aws_env.env, "write", "a$(id)")
    assert result.returncode == 3, result.stderr
    assert "'a$(id)' cannot be a profile name: it holds '$'" in result.stderr
    assert not aws_env.aws_credentials.exists()


# --- item 5: nothing with a secret left behind -----------------------------------------------

# The child pauses inside the write, after the temp file holds the secret: the one
# instrumented call is os.fsync (the last step before the rename), in the child only.
HOLD_MID_WRITE = """
import os, sys, time
from datetime import datetime, timezone
from pathlib import Path
from traycreds.app import profiles
from traycreds.core.models import Credentials, Role

def hold(fd):
    print("holding", flush=True)
    time.sleep(600)

os.fsync = hold
role = Role(name="dev", role_arn="arn:aws:iam::123456789012:role/dev", source="me",
            origin="test")
creds = Credentials("ASID" + "K" * 16, "secret/" + "K" * 30, "token+" + "K" * 40,
                    datetime(2030, 1, 1, tzinfo=timezone.utc))
profiles.write_profile(role, creds, path=Path(sys.argv[1]))
"""


def killed_mid_write(path: Path) -> Path:
    """Run a writer, kill it while it holds its temp file; returns that file.

    Popen.kill: SIGKILL on POSIX, TerminateProcess on Windows; neither lets it clean up."""
    child = subprocess.Popen([sys.executable, "-c", HOLD_MID_WRITE, str(path)],
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "holding"
        child.kill()
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    temps = [p for p in path.parent.iterdir() if ".traycreds-tmp-" in p.name]
    assert len(temps) == 1, sorted(p.name for p in path.parent.iterdir())
    return temps[0]


def age(path: Path, seconds: float = 120) -> None:
    then = time.time() - seconds
    # A link's own time where the OS can set it (not Windows; no link is aged there).
    os.utime(path, (then, then), follow_symlinks=os.utime not in os.supports_follow_symlinks)


def test_a_temp_file_left_by_kill_9_is_removed_by_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[default]\nk = v\n")
    path.chmod(0o600)
    temp = killed_mid_write(path)
    assert temp.name.startswith(".credentials.traycreds-tmp-")
    assert "secret/" + "K" * 30 in temp.read_text()  # the secret, left behind
    if sys.platform != "win32":  # no group/other mode bits on Windows
        assert stat.S_IMODE(temp.stat().st_mode) == 0o600
    profiles.write_profile(ROLE, creds(), path=path)
    assert temp.exists()  # under a minute old: perhaps another writer's, still working
    age(temp)
    profiles.write_profile(ROLE, creds("B"), path=path)
    assert not temp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".credentials.traycreds-lock", "credentials"]


def test_traycreds_clean_removes_stale_temp_files_and_says_how_many(aws_env: Any) -> None:
    path = aws_env.aws_credentials
    path.parent.mkdir(parents=True)
    path.write_text("[default]\nk = v\n")
    temp = killed_mid_write(path)
    age(temp)
    result = run_cli(aws_env.env, "clean")
    assert result.returncode == 0, result.stderr
    assert "Removed 1 stale temp file" in result.stdout
    assert not temp.exists()
    again = run_cli(aws_env.env, "clean")
    assert "stale temp" not in again.stdout


@posix_only(UIDS)
def test_files_not_ours_are_kept(tmp_path: Path) -> None:
    need_root()
    path = tmp_path / "credentials"
    path.write_text("[default]\nk = v\n")
    keep: list[Path] = []
    for name in (".credentials.traycreds-tmp-123-0123abcd.bak",  # not our exact pattern
                 ".credentials.traycreds-tmp-x",
                 ".credentials.abcdefgh.tmp",  # the old naming: not recognisably ours
                 ".config.traycreds-tmp-123-0123abcd",  # another file's temp
                 "credentials.traycreds-tmp-123-0123abcd"):  # no leading dot
        keep.append(tmp_path / name)
        keep[-1].write_text("x")
    foreign = tmp_path / ".credentials.traycreds-tmp-123-0f0f0f0f"
    foreign.write_text("x")
    os.chown(foreign, OTHER_UID, OTHER_UID)
    folder = tmp_path / ".credentials.traycreds-tmp-123-00000000"
    folder.mkdir()
    link = tmp_path / ".credentials.traycreds-tmp-123-11111111"
    link.symlink_to(path)
    ours = tmp_path / ".credentials.traycreds-tmp-123-0a1b2c3d"
    ours.write_text("x")
    for item in (*keep, foreign, folder, link, ours):
        age(item)
    profiles.write_profile(ROLE, creds(), path=path)
    assert all(p.exists() or p.is_symlink() for p in (*keep, foreign, folder, link))
    assert not ours.exists()
    assert atomic.remove_stale_temps(path) == 0


@posix_only(MODES)
def test_a_readable_credentials_file_becomes_0600_and_it_is_said_once(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[default]\nk = v\n")
    path.chmod(0o644)
    first = profiles.write_profile(ROLE, creds(), path=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.note is not None and "0644" in first.note and "0600" in first.note
    assert str(path) in first.note
    second = profiles.write_profile(ROLE, creds("B"), path=path)
    assert second.note is None


# --- item 7: bounded reads -------------------------------------------------------------------


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


def make_zero_link(path: Path) -> None:
    path.symlink_to("/dev/zero")


def make_folder(path: Path) -> None:
    path.mkdir()


def oversized(limit: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with open(path, "wb") as handle:
            handle.truncate(limit + 1)  # sparse: no disk used

    return make


POSIX_KINDS = {"fifo": "os.mkfifo (named pipes are not files on Windows)",
               "dev-zero": "a link to /dev/zero"}


def kinds() -> list[Any]:
    """KINDS' names, those that need POSIX marked so."""
    return [pytest.param(kind, marks=posix_only(POSIX_KINDS[kind])) if kind in POSIX_KINDS
            else kind for kind in sorted(KINDS)]


KINDS: dict[str, Callable[[int], Callable[[Path], None]]] = {
    "fifo": lambda limit: make_fifo,
    "dev-zero": lambda limit: make_zero_link,
    "folder": lambda limit: make_folder,
    "oversized": oversized,
}
MIB = 1024 * 1024
ENTRY_POINTS = {
    # which file, what the user runs, the exit code, the size limit
    "aws-config": ("aws_config", ("roles",), 3, 64 * MIB),
    "settings": ("settings", ("roles",), 3, MIB),
    "credentials": ("aws_credentials", ("clean",), 8, 64 * MIB),
    "key-index": ("index", ("keys", "list"), 8, MIB),
}


@pytest.mark.parametrize("kind", kinds())
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_reader_refuses_what_is_not_a_small_regular_file(
        aws_env: Any, entry: str, kind: str) -> None:
    which, command, code, limit = ENTRY_POINTS[entry]
    # traycreds' own files: under the XDG folders on Linux; on Windows in %LOCALAPPDATA%
    # (aws_env points it at the test's own folder).
    ours = (Path(os.environ["LOCALAPPDATA"]) / "traycreds",) * 2 if sys.platform == "win32" \
        else (aws_env.config_home / "traycreds", aws_env.data_home / "traycreds")
    places = {"aws_config": aws_env.aws_config, "aws_credentials": aws_env.aws_credentials,
              "settings": ours[0] / "settings.toml", "index": ours[1] / "sources.json"}
    target: Path = places[which]
    target.parent.mkdir(parents=True, exist_ok=True)
    KINDS[kind](limit)(target)
    try:
        result = run_cli(aws_env.env, *command)
    finally:
        if sys.platform == "win32" and target.parent in ours:  # the next test's user has none
            (target.rmdir if target.is_dir() else target.unlink)()
    assert result.returncode == code, (result.returncode, result.stderr)
    assert str(target) in result.stderr
    expected = "bytes, over" if kind == "oversized" else "not a regular file"
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_the_documented_limits() -> None:
    assert (paths.AWS_FILE_LIMIT, paths.SETTINGS_FILE_LIMIT, paths.KEY_INDEX_LIMIT) == (
        64 * MIB, MIB, MIB)


@pytest.mark.parametrize("kind", kinds())
def test_the_bounded_reader_itself(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "file"
    KINDS[kind](1024)(target)
    started = time.monotonic()
    with pytest.raises(ConfigError):
        paths.read_bounded(target, 1024, ConfigError)
    assert time.monotonic() - started < 10  # generous: a FIFO used to block forever
    plain = tmp_path / "plain"
    plain.write_bytes(b"x" * 1024)
    assert paths.read_bounded(plain, 1024, ConfigError) == b"x" * 1024
    assert paths.read_bounded(tmp_path / "missing", 1024, ConfigError) is None
