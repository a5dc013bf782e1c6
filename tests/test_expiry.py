"""The expiry planner with a fake clock: thresholds, once-only, sleep/resume, refresh."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from traycreds.core.expiry import (
    ExpiryPlanner,
    Handover,
    Kind,
    advice,
    expired,
    warn_points,
    warning,
    warning_seconds,
)
from traycreds.core.menu import role_caption
from traycreds.core.models import Role
from traycreds.core.state import AppState, RoleState

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def kinds(events: list) -> list[tuple[str, Kind, int]]:  # type: ignore[type-arg]
    return [(e.role, e.kind, e.minutes) for e in events]


def test_each_threshold_fires_once_in_order() -> None:
    planner = ExpiryPlanner()
    planner.track("a", T0 + minutes(60), T0, auto_refresh=False)
    assert planner.due(T0) == []
    assert planner.next_wake(T0, countdown=False) == T0 + minutes(45)
    assert kinds(planner.due(T0 + minutes(45))) == [("a", Kind.WARN, 15)]
    assert planner.due(T0 + minutes(46)) == []  # once
    assert kinds(planner.due(T0 + minutes(55))) == [("a", Kind.WARN, 5)]
    assert kinds(planner.due(T0 + minutes(60))) == [("a", Kind.EXPIRED, 0)]
    assert planner.next_wake(T0 + minutes(60), countdown=False) is None


def test_resume_after_sleep_fires_only_the_latest_missed_event_once() -> None:
    planner = ExpiryPlanner()
    planner.track("a", T0 + minutes(60), T0, auto_refresh=False)
    assert kinds(planner.due(T0 + minutes(120))) == [("a", Kind.EXPIRED, 0)]
    assert planner.due(T0 + minutes(121)) == []
    planner.track("b", T0 + minutes(60), T0, auto_refresh=False)
    assert kinds(planner.due(T0 + minutes(57))) == [("b", Kind.WARN, 5)]  # 15 skipped


def test_clock_jumping_backwards_does_not_refire() -> None:
    planner = ExpiryPlanner()
    planner.track("a", T0 + minutes(60), T0, auto_refresh=False)
    planner.due(T0 + minutes(50))
    assert planner.due(T0 + minutes(30)) == []
    assert kinds(planner.due(T0 + minutes(56))) == [("a", Kind.WARN, 5)]


def test_short_sessions_skip_thresholds_already_behind() -> None:
    planner = ExpiryPlanner()
    planner.track("a", T0 + minutes(10), T0, auto_refresh=False)  # 15-min already passed
    assert kinds(planner.due(T0 + minutes(5))) == [("a", Kind.WARN, 5)]


def test_many_roles_expiring_at_once() -> None:
    planner = ExpiryPlanner()
    for i in range(50):
        planner.track(f"r{i}", T0 + minutes(60), T0, auto_refresh=False)
    events = planner.due(T0 + minutes(45))
    assert len(events) == 50 and {e.kind for e in events} == {Kind.WARN}


def test_refreshed_credentials_get_new_warnings() -> None:
    planner = ExpiryPlanner()
    planner.track("a", T0 + minutes(60), T0, auto_refresh=False)
    planner.due(T0 + minutes(45))
    planner.track("a", T0 + minutes(105), T0 + minutes(45), auto_refresh=False)
    assert kinds(planner.due(T0 + minutes(90))) == [("a", Kind.WARN, 15)]


def test_auto_refresh_in_the_advisory_window_with_back_off() -> None:
    planner = ExpiryPlanner()
    planner.track("a", T0 + minutes(60), T0, auto_refresh=True)
    assert planner.next_wake(T0, countdown=False) == T0 + minutes(45)
    due = planner.due(T0 + minutes(45))
    assert (("a", Kind.REFRESH, 0)) in kinds(due)
    assert planner.refresh_failed("a", T0 + minutes(45)) is False  # 15 min left: no warning yet
    assert planner.next_wake(T0 + minutes(45), countdown=False) == T0 + minutes(46)
    assert kinds(planner.due(T0 + minutes(46))) == [("a", Kind.REFRESH, 1)]
    assert planner.refresh_failed("a", T0 + minutes(51)) is True  # inside the mandatory window


def test_mfa_roles_are_never_planned_for_silent_refresh() -> None:
    planner = ExpiryPlanner()
    planner.track("mfa", T0 + minutes(60), T0, auto_refresh=False)
    assert all(e.kind is not Kind.REFRESH for e in planner.due(T0 + minutes(59)))


def test_countdown_wakes_at_most_once_a_minute() -> None:
    planner = ExpiryPlanner(thresholds=())
    planner.track("a", T0 + minutes(60) + timedelta(seconds=20), T0, auto_refresh=False)
    wake = planner.next_wake(T0, countdown=True)
    assert wake == T0 + timedelta(seconds=20)
    assert planner.next_wake(wake, countdown=True) == wake + minutes(1)  # type: ignore[operator]
    planner.forget("a")
    assert planner.next_wake(T0, countdown=True) is None


def test_a_warning_names_the_time_left_the_menu_shows() -> None:
    """Regression: warnings rounded to the nearest minute from 10 minutes up and counted only
    minutes, while the menu (and the command line, same words) rounded down and counted
    hours: with 14 min 40 s left the warning said 15 min and the menu 14; with 2 h 10 min
    left, '130 min' against '2 h 10 min'. Below 10 minutes the warning adds the seconds."""
    role = Role(name="r", role_arn="arn:aws:iam::111122223333:role/r", source="me",
                origin="test")
    expiration = T0 + timedelta(hours=4)
    for seconds in range(1, 4 * 3600):
        now = expiration - timedelta(seconds=seconds)
        state = AppState(roles=(role,), warn_before_minutes=(240,),
                         states={"r": RoleState(held=True, expiration=expiration)})
        shown = role_caption(state, role, now).split(" - ", 1)[1].removesuffix(" left")
        said = warning("r", warning_seconds(240, expiration, now), expiration,
                       needs_mfa=False, refreshes=None).title.removeprefix("r expires in ")
        assert said == shown or (seconds < 600 and said.startswith(f"{shown} ")
                                 and said.endswith(" s")), (seconds, shown, said)


def test_a_warning_on_time_names_its_threshold() -> None:
    """The scheduler fires a moment after the mark: that is still the 15-minute warning."""
    expiration = T0 + minutes(60)
    late = expiration - minutes(15) + timedelta(milliseconds=30)
    assert warning_seconds(15, expiration, late) == 900
    assert warning_seconds(15, expiration, expiration - minutes(3)) == 180  # after a suspend
    assert warning_seconds(15, None, late) == 900


# -- issue 15: warnings scaled for short roles, advice that says what the click does ----------


def test_warnings_are_capped_at_half_the_credentials_life() -> None:
    assert warn_points((15, 5), 3600) == (15, 5)
    assert warn_points((15, 5), 900) == (7.5, 5)  # a 15-minute session
    assert warn_points((15, 10), 900) == (7.5,)  # both meet at the cap: one warning
    assert warn_points((15, 5), 480) == (4,)
    assert warn_points((15, 5), None) == (15, 5)  # life unknown: as set
    assert warn_points((0, 5), 3600) == (5,) and warn_points((15,), 0) == ()


def test_a_15_minute_session_is_warned_inside_its_life_only() -> None:
    planner = ExpiryPlanner(thresholds=(15, 5))
    planner.track("s", T0 + minutes(15), T0, auto_refresh=False)
    assert planner.due(T0) == []  # not warned at its first second
    assert planner.next_wake(T0, countdown=False) == T0 + minutes(7.5)
    assert kinds(planner.due(T0 + minutes(7.5))) == [("s", Kind.WARN, 7.5)]
    assert kinds(planner.due(T0 + minutes(10))) == [("s", Kind.WARN, 5)]
    assert kinds(planner.due(T0 + minutes(15))) == [("s", Kind.EXPIRED, 0)]


def test_the_advice_says_what_refresh_now_hands_over() -> None:
    copy = advice("prod", needs_mfa=False, handover=Handover("cmd"))
    assert copy == ("Click prod > Refresh now, then paste the new lines: it copies them for "
                    "cmd.exe again; shells that already pasted keep the old ones.")
    write = advice("prod", needs_mfa=True, handover=Handover("write", "prod-traycreds"))
    assert write == ("Click prod > Refresh now (it may ask for an MFA code): it writes the new "
                     "credentials to [prod-traycreds] again; shells that already pasted keep "
                     "the old ones.")
    bare = advice("prod", needs_mfa=False)  # never handed over: Refresh now only refreshes
    assert bare.startswith("Click prod > Refresh now for new credentials, then copy or write")
    note = warning("prod", 300, T0, needs_mfa=False, refreshes=None,
                   handover=Handover("powershell"))
    assert "it copies them for PowerShell again" in note.message
    gone = expired("prod", needs_mfa=False, removed=None, handover=Handover("fish"))
    assert "it copies them for fish again" in gone.message
