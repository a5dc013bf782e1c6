"""How long the tray takes to compute its menu: ``traycreds.core.menu.build_menu`` for 1,000
roles in 20 groups, in mixed states, 200 times.

    .venv/bin/python bench/menu_build.py [--roles 1000] [--groups 20] [--reps 200]

The tray calls build_menu every time GTK asks for the menu and after every state change, on
the UI thread, so it must stay well under a frame budget even for very large setups.
Converting the items into pystray/GTK objects is not timed (that is the toolkit's cost).
Prints median, p90, min and max milliseconds and PASS/MISS against the target (< 50 ms
median). Standard library only (plus traycreds itself); no display needed.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

import common

sys.path.insert(0, str(common.REPO))

from traycreds.core.menu import Item, build_menu
from traycreds.core.models import Role
from traycreds.core.state import AppState, Failure, RoleState, Status

TARGET_MS = 50.0
ERROR = Failure("Access denied", "access key AKIAEXAMPLE ('me') may not assume "
                "arn:aws:iam::123456789012:role/example. Ask an administrator to allow "
                "sts:AssumeRole for this caller in its IAM policy and in the role's trust "
                "policy (check external_id and MFA conditions too).")


def make_state(roles: int, groups: int, now: datetime) -> AppState:
    """``roles`` roles spread over ``groups`` groups; every sixth state of each kind."""
    made, states = [], {}
    for index in range(roles):
        name = f"role-{index:04d}"
        made.append(Role(
            name=name, role_arn=f"arn:aws:iam::{100000000000 + index % groups}:role/{name}",
            source="me", origin="settings", label=f"Role {index:04d}" if index % 3 else None,
            group=f"Group {index % groups:02d}", favourite=index % 50 == 0,
            order=index % 7 if index % 5 == 0 else None,
            mfa_serial="arn:aws:iam::123456789012:mfa/me" if index % 4 == 0 else None))
        kind = index % 6
        if kind == 1:
            states[name] = RoleState(working=True)
        elif kind == 2:  # fresh
            states[name] = RoleState(held=True, expiration=now + timedelta(minutes=50))
        elif kind == 3:  # expiring
            states[name] = RoleState(held=True, expiration=now + timedelta(minutes=4))
        elif kind == 4:  # expired
            states[name] = RoleState(held=True, expiration=now - timedelta(minutes=3))
        elif kind == 5:
            states[name] = RoleState(error=ERROR)
    return AppState(roles=tuple(made), states=states, active=made[2].name)


def count(items: tuple[Item, ...]) -> int:
    return sum(1 + count(item.children) for item in items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()

    now = datetime.now(timezone.utc)
    state = make_state(args.roles, args.groups, now)
    mix = {s: 0 for s in Status}
    for role in state.roles:
        mix[state.status(role.name, now)] += 1
    menu = build_menu(state, now)  # warm-up, and the shape check below
    top_groups = [item for item in menu if item.children]
    assert len(top_groups) == args.groups, len(top_groups)

    times = []
    for _ in range(args.reps):
        started = time.perf_counter()
        build_menu(state, now)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    median = statistics.median(times)
    p90 = common.p90(times)
    print(f"# build_menu: {args.roles} roles in {args.groups} groups, {args.reps} repetitions")
    print()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}; "
          f"cyclic GC {'on' if gc.isenabled() else 'off'} (as in the tray)")
    print("states: " + ", ".join(f"{status.value} {n}" for status, n in mix.items()))
    print(f"menu: {len(menu)} top-level items, {count(menu)} items in all")
    print()
    print("| build_menu ms | median |   p90 |   min |   max |")
    print("|---------------|-------:|------:|------:|------:|")
    print(f"| {args.roles} roles    | {median:6.2f} | {p90:5.2f} | {times[0]:5.2f} | "
          f"{times[-1]:5.2f} |")
    print()
    verdict = "PASS" if median < TARGET_MS else "MISS"
    print(f"{verdict}: median {median:.2f} ms vs target < {TARGET_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
