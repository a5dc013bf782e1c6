"""The expiry planner with a fake clock: thresholds, once-only, sleep/resume, refresh."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from traycreds.core.expiry import ExpiryPlanner, Kind

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
