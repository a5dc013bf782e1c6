"""Expiry warnings, automatic refresh, Forget and quit, through the app service for real: the
real STS (moto, IAM auth enforced; the scripted STS where MFA is needed), the real keyring,
real notifications over D-Bus (notify-send, as the tray does without an icon, captured by
dbus-monitor) and the real X clipboard. Where time must jump (a suspend, a clock change,
the advisory window an hour away) the service gets a clock the test moves; the scheduler
still waits on real time, so a poke makes it look again.
"""

from __future__ import annotations

import configparser
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support import AwsEnv, Notification, NotificationLog, errorserver
from tests.support.service import QuietDialogs
from tests.support.stsserver import REGION, MotoSts, User
from traycreds.adapters import paths
from traycreds.adapters.keystore import KeyStore
from traycreds.app.profiles import write_profile
from traycreds.app.service import AppService
from traycreds.core.errors import CancelledError
from traycreds.core.expiry import ExpiryPlanner, Kind
from traycreds.core.models import Credentials, MfaRequest, Role, utc_now
from traycreds.core.state import RoleState
from traycreds.core.text import local_time
from traycreds.tray.app import Notifications

pytestmark = pytest.mark.usefixtures("secret_service")

MFA_SERIAL = "arn:aws:iam::111122223333:mfa/me"


# -- the pieces a front end would give the service -------------------------------------------


class ScriptedDialogs(QuietDialogs):
    """The Dialogs port answered by a script: MFA codes handed out in order, every other
    question cancelled. It stands in for the person at the keyboard, not for an external
    system; the real Tk dialogs are tested in tests/test_dialogs.py and
    tests/test_tray_e2e.py."""

    def __init__(self, *codes: str) -> None:
        self.codes = list(codes)
        self.mfa_requests: list[MfaRequest] = []

    def ask_mfa(self, request: MfaRequest) -> str:
        self.mfa_requests.append(request)
        if not self.codes:
            raise CancelledError("No MFA code entered.")
        return self.codes.pop(0)


class Clock:
    """Real UTC time plus an offset the test moves: a suspend/resume, or the clock set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)

    def __call__(self) -> datetime:
        with self._lock:
            return utc_now() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._offset = moment - utc_now()


# -- helpers ----------------------------------------------------------------------------------


def wait_for(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def settle(service: AppService, quiet: float = 0.3) -> None:
    """Make the scheduler look at the (moved) clock and wait until it has acted on it.

    After a wake-up counted once the clock moved, the scheduler reads the clock and handles
    what is due; the next wake-up (forced by a second poke) comes only once that pass is
    over. Warnings are sent within the pass; ``quiet`` gives dbus-monitor time to log them.
    """
    for _ in range(2):
        _poke_and_wait(service)
    time.sleep(quiet)


def _poke_and_wait(service: AppService) -> None:
    scheduler, before = service.scheduler, service.scheduler.wakeups
    scheduler.poke()
    wait_for(lambda: scheduler.wakeups > before, "the scheduler woke")


def done(future: Future[Any] | None) -> Any:
    """The result of a click's background job (None: the service ignored the click)."""
    assert future is not None, "the service did not start the job"
    return future.result(timeout=60)


def about(log: NotificationLog, role: str) -> list[Notification]:
    """traycreds' notifications about ``role`` (its name starts the summary)."""
    return [n for n in log.notifications()
            if n.app_name == "traycreds" and n.summary.startswith(f"{role} ")]


def summaries(log: NotificationLog, role: str) -> list[str]:
    return [n.summary for n in about(log, role)]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def section_values(path: Path, section: str) -> dict[str, str] | None:
    parser = configparser.RawConfigParser()
    parser.read_string(path.read_text(encoding="utf-8") if path.exists() else "")
    return dict(parser[section]) if parser.has_section(section) else None


def key_in_file(path: Path, section: str) -> str | None:
    values = section_values(path, section)
    return values.get("aws_access_key_id") if values else None


def x_read() -> bytes:
    """The CLIPBOARD selection as another program reads it (b"" if it holds nothing)."""
    result = subprocess.run(["xclip", "-o", "-selection", "clipboard"], capture_output=True,
                            timeout=10, check=False)
    return result.stdout if result.returncode == 0 else b""


def other_program_copies(text: str) -> None:
    subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=text.encode(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10, check=True)
    wait_for(lambda: x_read() == text.encode(), "the other program's copy is visible", 5)


# -- one user's setup: AWS config, settings, a key in the keyring -------------------------------


class Desk:
    """An AWS user's files and keyring entry, and the services started on them."""

    def __init__(self, aws_env: AwsEnv, endpoint: str, key: Credentials) -> None:
        self.aws_env = aws_env
        self.endpoint = endpoint
        self.credentials_file = aws_env.aws_credentials
        self.source = unique("tc-src")  # keyring entries outlive a test: never share one
        self.keys = KeyStore(paths.data_dir() / "sources.json")
        self.keys.put(self.source, key)
        self.services: list[AppService] = []

    def configure(self, roles: dict[str, str], *, duration: int = 3600, settings: str = "",
                  extra: str = "") -> None:
        """``roles``: name -> role ARN, each in ~/.aws/config reaching ``endpoint``."""
        config = "".join(
            f"[profile {name}]\nrole_arn = {arn}\nsource_profile = {self.source}\n"
            f"region = {REGION}\nendpoint_url = {self.endpoint}\n"
            f"duration_seconds = {duration}\n{extra}\n"
            for name, arn in roles.items())
        self.aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
        self.aws_env.aws_config.write_text(config, encoding="utf-8")
        settings_file = paths.settings_file()
        assert str(settings_file).startswith(str(self.aws_env.home.parent))  # the test's own
        settings_file.parent.mkdir(parents=True, exist_ok=True)
        settings_file.write_text(settings, encoding="utf-8")

    def start(self, clock: Clock, dialogs: ScriptedDialogs | None = None) -> AppService:
        service = AppService(dialogs or ScriptedDialogs(), Notifications(), clock=clock)
        self.services.append(service)
        service.start().result(timeout=30)
        assert not service.state.broken, service.state.broken
        return service

    def close(self) -> None:
        for service in self.services:
            service.shutdown()
        self.keys.remove(self.source)


class MotoDesk(Desk):
    def __init__(self, aws_env: AwsEnv, moto: MotoSts) -> None:
        self.moto = moto
        self.user: User = moto.make_user()
        self.role_arn = moto.make_role(trusted_arn=self.user.arn)
        moto.allow_assume(self.user, self.role_arn)
        super().__init__(aws_env, moto.url, Credentials(self.user.key_id, self.user.secret))

    def roles(self, *names: str) -> dict[str, str]:
        return dict.fromkeys(names, self.role_arn)


@pytest.fixture
def desk(aws_env: AwsEnv, moto: MotoSts) -> Iterator[MotoDesk]:
    made = MotoDesk(aws_env, moto)
    yield made
    made.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def expiration_of(service: AppService, role: str) -> datetime:
    held = service.held(role)
    assert held is not None and held.expiration is not None
    return held.expiration


# -- warnings ------------------------------------------------------------------------------------


def test_warning_at_half_the_life_of_a_900_s_session_arrives_over_dbus(
        desk: MotoDesk, clock: Clock, notifications: NotificationLog) -> None:
    # Issue 15 changed this test: a warning comes at most half the credentials' life before
    # their end (core/expiry.warn_points), so a 14.97-minute warning on a 15-minute session
    # comes at 7.5 minutes, not from its first seconds. It was copied for bash, so the advice
    # says Refresh now copies it for bash again.
    name = unique("short")
    desk.configure(desk.roles(name), duration=900,
                   settings="[app]\nwarn_before_minutes = [14.9667]\n")
    service = desk.start(clock)
    done(service.copy(name, "bash"))
    expiration = expiration_of(service, name)
    assert 895 <= (expiration - utc_now()).total_seconds() <= 900
    settle(service)
    clock.set(expiration - timedelta(seconds=455))
    settle(service)
    assert not [s for s in summaries(notifications, name) if "expires in" in s]

    clock.set(expiration - timedelta(seconds=449))
    settle(service)
    note = notifications.wait_for(f"{name} expires in", timeout=8)
    assert note.summary.startswith(f"{name} expires in 7 min"), note.summary
    assert note.body.startswith(f"At {local_time(expiration)}. ")
    assert (f"Click {name} > Refresh now, then paste the new lines: it copies them for bash "
            "again; shells that already pasted keep the old ones.") in note.body
    assert "MFA" not in note.body and "by itself" not in note.body  # not written anywhere

    # Once only: later looks (a minute on, then five) find nothing new for that threshold.
    clock.advance(60)
    settle(service)
    clock.advance(300)
    settle(service)
    assert [s for s in summaries(notifications, name) if "expires in" in s] == [note.summary]


def test_far_past_expiry_one_expired_notice_and_a_clock_set_back_refires_nothing(
        desk: MotoDesk, clock: Clock, notifications: NotificationLog) -> None:
    name = unique("sleeper")
    desk.configure(desk.roles(name), duration=3600)  # default warnings: 15 and 5 min
    service = desk.start(clock)
    done(service.refresh(name))
    expiration = expiration_of(service, name)

    clock.set(expiration + timedelta(hours=2))  # the lid was closed for three hours
    settle(service)
    note = notifications.wait_for(f"{name} has expired")
    assert summaries(notifications, name) == [f"{name} has expired"]  # not 15, 5 and expired
    assert "Its credentials stopped working." in note.body
    assert f"Click {name} > Refresh now" in note.body and "keep the old ones" in note.body

    for moment in (expiration - timedelta(minutes=20), expiration - timedelta(minutes=4),
                   expiration + timedelta(minutes=1), expiration + timedelta(hours=3)):
        clock.set(moment)  # set back, then forward again: every event has had its turn
        settle(service)
    assert summaries(notifications, name) == [f"{name} has expired"]


def test_clock_set_back_after_a_warning_does_not_repeat_it(
        desk: MotoDesk, clock: Clock, notifications: NotificationLog) -> None:
    name = unique("jumpy")
    desk.configure(desk.roles(name), duration=3600)
    service = desk.start(clock)
    done(service.refresh(name))
    expiration = expiration_of(service, name)

    clock.set(expiration - timedelta(minutes=14))
    settle(service)
    notifications.wait_for(f"{name} expires in 14 min")
    clock.set(expiration - timedelta(minutes=40))  # backwards, before the first threshold
    settle(service)
    clock.set(expiration - timedelta(minutes=14, seconds=30))  # past the 15-min mark again
    settle(service)
    assert summaries(notifications, name) == [f"{name} expires in 14 min"]

    clock.set(expiration - timedelta(minutes=3, seconds=20))  # resumed past the 5-min mark
    settle(service)
    note = notifications.wait_for(f"{name} expires in 3 min")
    assert re.fullmatch(f"{name} expires in 3 min (19|20) s", note.summary)  # really left
    assert note.body.startswith(f"At {local_time(expiration)}.")
    assert summaries(notifications, name) == [f"{name} expires in 14 min", note.summary]


def test_ten_roles_expiring_at_once_get_one_notification_each(
        desk: MotoDesk, clock: Clock, notifications: NotificationLog) -> None:
    base = unique("many")
    names = [f"{base}-{i}" for i in range(10)]
    # 30-minute sessions (15 until issue 15): a warning is at most half the credentials'
    # life before their end (core/expiry.warn_points), so 10 minutes needs 20 of life.
    desk.configure(desk.roles(*names), duration=1800,
                   settings="[app]\nwarn_before_minutes = [10, 5]\n")
    service = desk.start(clock)
    for future in [service.refresh(name) for name in names]:
        done(future)
    expirations = [expiration_of(service, name) for name in names]
    assert max(expirations) - min(expirations) < timedelta(seconds=30)

    clock.set(min(expirations) - timedelta(minutes=9))  # all past 10 min left, none past 5
    settle(service)
    wait_for(lambda: all(summaries(notifications, n) for n in names), "ten warnings", 15)
    clock.set(max(expirations) + timedelta(minutes=1))
    settle(service)
    wait_for(lambda: all(len(summaries(notifications, n)) == 2 for n in names),
             "ten expiry notices", 15)
    time.sleep(0.5)
    for name in names:
        warning, expired = summaries(notifications, name)
        assert warning.startswith(f"{name} expires in 9 min"), warning  # 9 min (and seconds)
        assert expired == f"{name} has expired"


# -- automatic refresh -------------------------------------------------------------------------


def test_auto_refresh_rewrites_the_written_profile_and_boto3_uses_it(
        desk: MotoDesk, clock: Clock, notifications: NotificationLog) -> None:
    name = unique("auto")
    section = f"{name}-tc"  # not the config profile's name, which boto3 would assume itself
    desk.configure(desk.roles(name), duration=3600,
                   settings=f'[roles.{name}]\nprofile = "{section}"\n')
    service = desk.start(clock)
    done(service.write(name))
    first = service.held(name)
    assert first is not None and first.expiration is not None
    assert key_in_file(desk.credentials_file, section) == first.access_key_id
    assert service.may_refresh_silently(name)  # default: on for credentials-profile targets

    clock.set(first.expiration - timedelta(minutes=14))  # inside the advisory window
    settle(service)
    wait_for(lambda: key_in_file(desk.credentials_file, section) not in (None,
                                                                          first.access_key_id),
             "the profile rewritten with fresh credentials", 15)
    fresh = service.held(name)
    assert fresh is not None and fresh.access_key_id != first.access_key_id
    values = section_values(desk.credentials_file, section)
    assert values is not None
    assert values["aws_access_key_id"] == fresh.access_key_id
    assert values["aws_session_token"] == fresh.session_token
    assert values["traycreds_role"] == name
    assert service.state.states[name].expiration == fresh.expiration

    # An SDK that reads the file now gets the role's identity from the fresh credentials.
    sts = boto3.session.Session(profile_name=section).client(
        "sts", region_name=REGION, endpoint_url=desk.moto.url)
    arn = sts.get_caller_identity()["Arn"]
    assert f":assumed-role/{desk.role_arn.rsplit('/', 1)[1]}/" in arn

    note = notifications.wait_for(f"{name} expires in 14 min")
    assert f"traycreds refreshes [{section}] by itself." in note.body
    assert not [n for n in about(notifications, name) if "Could not" in n.summary]


def test_auto_refresh_of_a_900_s_session_waits_for_half_its_life(
        desk: MotoDesk, clock: Clock) -> None:
    """Regression: a session shorter than the advisory window (15 min) was refreshed the
    moment it arrived, and each fresh one again at once: an endless loop of AssumeRole."""
    name = unique("brief")
    section = f"{name}-tc"
    desk.configure(desk.roles(name), duration=900,
                   settings=f'[roles.{name}]\nprofile = "{section}"\n')
    service = desk.start(clock)
    done(service.write(name))
    first = service.held(name)
    assert first is not None and first.expiration is not None
    time.sleep(1.5)
    clock.advance(60)
    settle(service, quiet=1.0)
    assert service.held(name) == first
    assert key_in_file(desk.credentials_file, section) == first.access_key_id

    clock.set(first.expiration - timedelta(minutes=7))  # past half of its 15 minutes
    settle(service)
    wait_for(lambda: key_in_file(desk.credentials_file, section) != first.access_key_id,
             "the half-life refresh", 15)
    second = service.held(name)
    assert second is not None and second != first
    time.sleep(1.5)
    settle(service, quiet=1.0)
    assert service.held(name) == second  # and no loop after it either
    assert key_in_file(desk.credentials_file, section) == second.access_key_id


def test_refresh_failure_backs_off_and_warns_only_inside_the_mandatory_window(
        desk: MotoDesk, clock: Clock, notifications: NotificationLog) -> None:
    name = unique("failing")
    section = f"{name}-tc"
    desk.configure(desk.roles(name), duration=3600,
                   settings=f'[roles.{name}]\nprofile = "{section}"\n')
    service = desk.start(clock)
    done(service.write(name))
    first = service.held(name)
    assert first is not None and first.expiration is not None
    expiration = first.expiration
    # The user's key is deleted in IAM: every refresh from now on is refused by STS.
    desk.moto.iam().delete_access_key(UserName=desk.user.name, AccessKeyId=desk.user.key_id)

    def failures() -> int:
        return service.scheduler.planner.tracked[name].failures

    def refresh_warnings() -> list[Notification]:
        return [n for n in notifications.notifications()
                if n.summary == f"Could not refresh {name}"]

    clock.set(expiration - timedelta(minutes=14))  # advisory window, not yet mandatory
    settle(service)
    wait_for(lambda: failures() == 1, "the first refresh attempt failed")
    settle(service)  # the retry waits a minute: looking again now tries nothing
    clock.advance(30)
    settle(service)
    assert failures() == 1
    clock.advance(35)  # a minute after the failure: the second attempt
    settle(service)
    wait_for(lambda: failures() == 2, "the second attempt failed")
    time.sleep(0.5)
    assert refresh_warnings() == []  # over 10 min left: a failure is no news yet

    clock.set(expiration - timedelta(minutes=9))  # inside the mandatory window
    settle(service)
    wait_for(lambda: failures() == 3, "the third attempt failed")
    warning = notifications.wait_for(f"Could not refresh {name}")
    assert f"[{section}] keeps the current credentials until {local_time(expiration)}" \
        in warning.body
    assert "traycreds tries again" in warning.body and "Refresh now" in warning.body

    clock.set(expiration - timedelta(minutes=4, seconds=50))  # the back-off's next attempt
    settle(service)
    wait_for(lambda: failures() == 4, "the fourth attempt failed")
    time.sleep(0.5)
    assert len(refresh_warnings()) == 1  # once per set of credentials, not per attempt
    assert service.held(name) == first  # the old ones stay held and written until expiry
    assert key_in_file(desk.credentials_file, section) == first.access_key_id


def _odd_credentials_xml(prefix: str, duration: int, now: datetime) -> str:
    """An STS answer whose secret and token are not AWS-shaped: url-safe base64 ('-', '_'),
    which no AWS secret holds and the service refuses to pass on."""
    expires = (now + timedelta(seconds=duration)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (f"<Credentials><AccessKeyId>ASIA{uuid.uuid4().hex[:16].upper()}</AccessKeyId>"
            f"<SecretAccessKey>{'ab-_' * 10}</SecretAccessKey>"
            f"<SessionToken>{'xy-_' * 50}</SessionToken>"
            f"<Expiration>{expires}</Expiration></Credentials>")


def test_credentials_refused_for_their_shape_are_not_held(
        aws_env: AwsEnv, sts_errors: Any, clock: Clock, notifications: NotificationLog,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: the engine kept holding credentials whose values the service refused, so
    Forget and the expiry plan saw a role 'held' whose click had failed, and the next click
    reused them without the check."""
    monkeypatch.setattr(errorserver, "_credentials_xml", _odd_credentials_xml)
    desk = Desk(aws_env, sts_errors.url, Credentials("AKIA" + "N" * 16, "s" * 40))
    try:
        name = unique("odd")
        desk.configure({name: "arn:aws:iam::111122223333:role/Odd"})
        service = desk.start(clock)
        done(service.refresh(name))
        note = notifications.wait_for("Value cannot be written safely")
        assert "AWS_SECRET_ACCESS_KEY" in note.body
        assert service.held(name) is None
        assert name not in service.scheduler.planner.tracked
        assert service.state.states[name].error is not None
    finally:
        desk.close()


def test_mfa_role_is_never_refreshed_silently_and_the_warning_says_so(
        aws_env: AwsEnv, sts_errors: Any, clock: Clock,
        notifications: NotificationLog) -> None:
    sts_errors.respond_success()
    desk = Desk(aws_env, sts_errors.url, Credentials("AKIA" + "M" * 16, "s" * 40))
    try:
        name = unique("guarded")
        section = f"{name}-tc"
        # Even asked to refresh by itself, a role behind MFA must not.
        desk.configure({name: "arn:aws:iam::111122223333:role/Deploy"}, duration=3600,
                       extra=f"mfa_serial = {MFA_SERIAL}\n",
                       settings=f'[roles.{name}]\nprofile = "{section}"\nauto_refresh = true\n')
        dialogs = ScriptedDialogs("123456")
        service = desk.start(clock, dialogs)
        done(service.write(name))
        assert [r.serial for r in dialogs.mfa_requests] == [MFA_SERIAL]
        held = service.held(name)
        assert held is not None and held.expiration is not None
        assert key_in_file(desk.credentials_file, section) == held.access_key_id
        assert not service.may_refresh_silently(name)
        assert not service.scheduler.planner.tracked[name].auto_refresh
        calls = len(sts_errors.requests)

        clock.set(held.expiration - timedelta(minutes=14))
        settle(service)
        note = notifications.wait_for(f"{name} expires in 14 min")
        assert f"Click {name} > Refresh now (it may ask for an MFA code)" in note.body
        assert "keep the old ones" in note.body and "by itself" not in note.body
        for minutes_left in (9, 4, -1):
            clock.set(held.expiration - timedelta(minutes=minutes_left))
            settle(service)
        notifications.wait_for(f"{name} has expired")
        assert len(sts_errors.requests) == calls  # no STS call at all after the first
        assert len(dialogs.mfa_requests) == 1  # and no prompt
        assert service.held(name) == held
        assert key_in_file(desk.credentials_file, section) == held.access_key_id
    finally:
        desk.close()


# -- cleaning expired sections ---------------------------------------------------------------------


# Built at run time so no key-shaped literal sits in the repository.
USER_SECTION = ("[mine]\naws_access_key_id = " + "AKIA" + "USERKEY000000000\n"
                "aws_secret_access_key = abc\n")


def stale_section(path: Path, section: str) -> None:
    """A section traycreds wrote yesterday, its credentials long expired."""
    role = Role(name="gone", role_arn="arn:aws:iam::111122223333:role/Gone", source="x",
                origin="test")
    creds = Credentials("ASIA" + "S" * 16, "s" * 40, "t" * 200,
                        datetime(2026, 1, 1, tzinfo=timezone.utc))
    write_profile(role, creds, profile=section, path=path)


def test_clean_expired_removes_our_expired_sections_on_start_and_on_expiry(
        desk: MotoDesk, clock: Clock, notifications: NotificationLog) -> None:
    name = unique("tidy")
    section = f"{name}-tc"
    desk.configure(desk.roles(name), duration=3600,
                   settings=f'[app]\nclean_expired = true\n\n[roles.{name}]\n'
                            f'profile = "{section}"\n')
    desk.credentials_file.parent.mkdir(parents=True, exist_ok=True)
    desk.credentials_file.write_text(USER_SECTION, encoding="utf-8")
    stale_section(desk.credentials_file, "yesterday-tc")
    assert section_values(desk.credentials_file, "yesterday-tc") is not None

    service = desk.start(clock)  # start-up cleans what expired while traycreds was not running
    assert desk.credentials_file.read_text(encoding="utf-8") == USER_SECTION

    done(service.write(name))
    assert key_in_file(desk.credentials_file, section) is not None
    clock.set(expiration_of(service, name) + timedelta(minutes=1))
    settle(service)
    note = notifications.wait_for(f"{name} has expired")
    assert f"Its credentials profile [{section}] was removed." in note.body
    assert desk.credentials_file.read_text(encoding="utf-8") == USER_SECTION  # others untouched


def test_clean_on_expiry_keeps_our_section_when_it_holds_newer_credentials(
        desk: MotoDesk, clock: Clock, notifications: NotificationLog) -> None:
    """Regression: on expiry the section was removed by name, even when another traycreds
    (`traycreds write --fresh` in a terminal) had since put credentials into it that still
    work."""
    name = unique("rewritten")
    section = f"{name}-tc"
    desk.configure(desk.roles(name), duration=3600,
                   settings=f'[app]\nclean_expired = true\n\n[roles.{name}]\n'
                            f'profile = "{section}"\n')
    service = desk.start(clock)
    done(service.write(name))
    expiration = expiration_of(service, name)
    role = service.state.role(name)
    assert role is not None
    newer = Credentials("ASIA" + "W" * 16, "w" * 40, "x" * 200, expiration + timedelta(hours=1))
    write_profile(role, newer, profile=section, path=desk.credentials_file)

    clock.set(expiration + timedelta(minutes=1))
    settle(service)
    note = notifications.wait_for(f"{name} has expired")
    assert "removed" not in note.body
    assert key_in_file(desk.credentials_file, section) == newer.access_key_id


def test_expired_sections_stay_by_default(
        desk: MotoDesk, clock: Clock, notifications: NotificationLog) -> None:
    name = unique("keep")
    section = f"{name}-tc"
    desk.configure(desk.roles(name), duration=3600,
                   settings=f'[roles.{name}]\nprofile = "{section}"\n')
    desk.credentials_file.parent.mkdir(parents=True, exist_ok=True)
    desk.credentials_file.write_text(USER_SECTION, encoding="utf-8")
    stale_section(desk.credentials_file, "yesterday-tc")
    service = desk.start(clock)
    done(service.write(name))
    clock.set(expiration_of(service, name) + timedelta(minutes=1))
    settle(service)
    note = notifications.wait_for(f"{name} has expired")
    assert "removed" not in note.body
    assert section_values(desk.credentials_file, "yesterday-tc") is not None
    assert section_values(desk.credentials_file, section) is not None


# -- Forget and quit -------------------------------------------------------------------------------


def test_forget_drops_the_credentials_the_plan_and_our_clipboard(
        desk: MotoDesk, clock: Clock, desktop: None) -> None:
    name, other = unique("forgotten"), unique("kept")
    desk.configure(desk.roles(name, other), duration=3600,
                   settings="[app]\nclipboard_clear_seconds = 0\n")
    service = desk.start(clock)
    done(service.refresh(other))
    done(service.copy(name, "bash"))
    held = service.held(name)
    assert held is not None
    pasted = x_read().decode()
    assert f"export AWS_ACCESS_KEY_ID='{held.access_key_id}'" in pasted
    assert name in service.scheduler.planner.tracked

    assert service.forget(name) is None
    assert service.held(name) is None
    assert name not in service.scheduler.planner.tracked
    assert service.state.states[name] == RoleState()
    assert x_read() == b""  # our lines were still there: cleared
    assert service.held(other) is not None  # the other role is untouched
    assert other in service.scheduler.planner.tracked


def test_forget_leaves_what_the_user_copied_since(
        desk: MotoDesk, clock: Clock, desktop: None) -> None:
    name = unique("forgotten")
    desk.configure(desk.roles(name), duration=3600,
                   settings="[app]\nclipboard_clear_seconds = 0\n")
    service = desk.start(clock)
    done(service.copy(name, "bash"))
    mine = f"the user's own text {uuid.uuid4().hex}"
    other_program_copies(mine)
    service.forget(name)
    assert service.held(name) is None
    assert x_read() == mine.encode()


def test_shutdown_drops_every_held_credential_and_clears_the_clipboard(
        desk: MotoDesk, clock: Clock, desktop: None) -> None:
    first, second = unique("quit-a"), unique("quit-b")
    desk.configure(desk.roles(first, second), duration=3600,
                   settings="[app]\nclipboard_clear_seconds = 0\n")
    service = desk.start(clock)
    done(service.refresh(first))
    done(service.copy(second, "bash"))
    assert service.held(first) is not None and service.held(second) is not None
    assert b"AWS_SESSION_TOKEN" in x_read()

    service.shutdown()
    assert service.held(first) is None and service.held(second) is None
    assert x_read() == b""
    thread = service.scheduler._thread
    assert thread is not None and not thread.is_alive()


# -- the planner rules these rest on (fake clock, no I/O) ------------------------------------


T0 = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def test_countdown_of_many_roles_wakes_once_a_minute_in_all() -> None:
    """Regression: each role's countdown had its own minute, so ten roles issued a few
    seconds apart woke the scheduler ten times a minute."""
    planner = ExpiryPlanner(thresholds=())
    for i in range(10):
        planner.track(f"r{i}", T0 + timedelta(minutes=60, seconds=5 * i + 2), T0,
                      auto_refresh=False)
    now, wakes = T0, 0
    while now < T0 + timedelta(minutes=30):
        wake = planner.next_wake(now, countdown=True)
        assert wake is not None
        now, wakes = wake, wakes + 1
    assert wakes <= 31


def test_the_same_credentials_tracked_again_keep_their_back_off() -> None:
    """Regression: writing held credentials to a profile tracks them again; that reset the
    refresh plan, so a refresh that had failed once was never tried again."""
    planner = ExpiryPlanner()
    expiration = T0 + timedelta(minutes=60)
    planner.track("a", expiration, T0, auto_refresh=True)
    assert [e.kind for e in planner.due(T0 + timedelta(minutes=45))] == [Kind.WARN,
                                                                           Kind.REFRESH]
    planner.refresh_failed("a", T0 + timedelta(minutes=45))
    planner.track("a", expiration, T0 + timedelta(minutes=45, seconds=30), auto_refresh=True)
    assert [e.kind for e in planner.due(T0 + timedelta(minutes=46))] == [Kind.REFRESH]


def test_a_failed_refresh_is_worth_one_warning_per_set_of_credentials() -> None:
    planner = ExpiryPlanner()
    planner.track("a", T0 + timedelta(minutes=60), T0, auto_refresh=True)
    at = T0 + timedelta(minutes=51)
    assert planner.refresh_failed("a", at) is True
    assert planner.refresh_failed("a", at + timedelta(minutes=1)) is False
    planner.track("a", T0 + timedelta(minutes=120), T0 + timedelta(minutes=60),
                  auto_refresh=True)  # new credentials: a new chance to warn
    assert planner.refresh_failed("a", T0 + timedelta(minutes=111)) is True


def test_idle_scheduler_does_not_wake(desk: MotoDesk, clock: Clock) -> None:
    desk.configure({}, settings="")
    service = desk.start(clock)
    settle(service)
    before = service.scheduler.wakeups
    time.sleep(2)
    assert service.scheduler.wakeups == before  # nothing held: no countdown, no wake-up
