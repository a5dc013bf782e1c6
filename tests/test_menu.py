"""The tray menu and icon state as data: one pure function of the app state."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from traycreds.core.menu import (
    Action,
    Item,
    build_menu,
    handover_label,
    icon_role,
    icon_status,
    role_caption,
    tooltip,
)
from traycreds.core.models import Problem, Role
from traycreds.core.state import AppState, Failure, RoleState, Status

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def role(name: str, **kw: object) -> Role:
    account = kw.pop("account", "111122223333")
    return Role(name=name, role_arn=f"arn:aws:iam::{account}:role/{name}", source="me",
                origin="test", **kw)  # type: ignore[arg-type]


def labels(items: tuple[Item, ...]) -> list[str]:
    return [i.label for i in items]


def find(items: tuple[Item, ...], prefix: str) -> Item:
    for item in items:
        name = item.label[2:].split(" - ")[0]
        if item.label.startswith(prefix) or name == prefix:
            return item
        if item.children:
            try:
                return find(item.children, prefix)
            except LookupError:
                pass
    raise LookupError(prefix)


def test_no_roles_explains_and_offers_the_way_in() -> None:
    menu = build_menu(AppState(), NOW)
    text = labels(menu)
    assert text[0] == "No roles configured yet"
    assert "    role_arn = arn:aws:iam::123456789012:role/Admin" in text
    assert "Add access key..." in text and "Open settings file" in text and text[-1] == "Quit"
    assert not any(i.default for i in menu)


def test_loading_state() -> None:
    assert labels(build_menu(AppState(loading=True), NOW))[0] == "Loading roles..."


def test_active_role_is_the_default_item_with_time_left() -> None:
    state = AppState(roles=(role("prod-admin"), role("dev")), active="prod-admin",
                     states={"prod-admin": RoleState(held=True,
                                                     expiration=NOW + timedelta(minutes=42))})
    top = build_menu(state, NOW)[0]
    # Issue 15 (item 4): the top item says what a click hands over; nothing remembered yet,
    # so the default shell (was "prod-admin - 42 min left").
    assert top.label == "Copy for bash/zsh: prod-admin - 42 min left"
    assert top.default and top.action == Action("copy-active")
    assert tooltip(state, NOW) == "traycreds: prod-admin, 42 min left"


def test_role_submenu_items_and_actions() -> None:
    state = AppState(roles=(role("dev", profile="default"),))
    sub = find(build_menu(state, NOW, "linux"), "dev")
    assert labels(sub.children) == [
        "Copy for cmd.exe", "Copy for PowerShell", "Copy for bash/zsh", "Copy for fish",
        "Write to credentials profile [default]", "Who am I?", "Open terminal as dev",
        "Open AWS console as dev", "Refresh now", "Forget credentials"]
    assert sub.children[0].action == Action("copy", "dev", "cmd")
    assert sub.children[2].action == Action("copy", "dev", "bash")
    assert not sub.children[-1].enabled  # nothing held to forget


def test_each_platform_offers_its_own_shell_windows() -> None:
    # The window gets the endpoint in its environment (adapters/terminal.py); the menu only
    # says which windows this desktop can open, named after the role as the user sees it.
    state = AppState(roles=(role("prod", label="Production"),))

    def windows(platform: str) -> list[tuple[str, Action | None]]:
        sub = find(build_menu(state, NOW, platform), "Production")
        return [(i.label, i.action) for i in sub.children
                if i.action is not None and i.action.kind == "window"]

    assert windows("win32") == [
        ("Open cmd.exe as Production", Action("window", "prod", "cmd")),
        ("Open PowerShell as Production", Action("window", "prod", "powershell"))]
    assert windows("linux") == [("Open terminal as Production",
                                 Action("window", "prod", "terminal"))]
    assert windows("darwin") == [("Open Terminal as Production",
                                  Action("window", "prod", "terminal"))]
    busy = AppState(roles=state.roles, states={"prod": RoleState(working=True)})
    assert not find(build_menu(busy, NOW, "win32"), "Production").children[6].enabled


def test_each_role_offers_the_aws_console() -> None:
    # The service exchanges the role's credentials for a sign-in URL off the tray's thread.
    state = AppState(roles=(role("prod", label="Production"),))
    for platform in ("win32", "linux", "darwin"):
        items = find(build_menu(state, NOW, platform), "Production").children
        [console] = [i for i in items if i.label == "Open AWS console as Production"]
        assert console.action == Action("console", "prod") and console.enabled
    busy = AppState(roles=state.roles, states={"prod": RoleState(working=True)})
    items = find(build_menu(busy, NOW, "linux"), "Production").children
    assert not next(i for i in items if i.label.startswith("Open AWS console")).enabled


def test_the_write_item_names_the_profile_the_service_chose() -> None:
    # The role's own name is a config profile holding its role_arn: the AWS tools never read
    # keys written under it, so the item never offers it.
    state = AppState(roles=(role("prod-admin"), role("dev", profile="work")))
    assert find(build_menu(state, NOW), "prod-admin").children[4].label == \
        "Write to credentials profile [prod-admin-traycreds]"
    assert find(build_menu(state, NOW), "dev").children[4].label == \
        "Write to credentials profile [work]"
    # What the service found in ~/.aws/config wins (a profile setting the tools would ignore).
    chosen = AppState(roles=state.roles, write_targets={"dev": "dev-traycreds"})
    assert find(build_menu(chosen, NOW), "dev").children[4].label == \
        "Write to credentials profile [dev-traycreds]"


def test_state_marks_and_captions() -> None:
    roles = tuple(role(n) for n in ("a", "b", "c", "d", "e", "f"))
    states = {
        "b": RoleState(working=True),
        "c": RoleState(held=True, expiration=NOW + timedelta(minutes=40)),
        "d": RoleState(held=True, expiration=NOW + timedelta(minutes=3)),
        "e": RoleState(held=True, expiration=NOW - timedelta(minutes=5)),
        "f": RoleState(error=Failure("Access denied", "role f may not ...")),
    }
    state = AppState(roles=roles, states=states)
    captions = [role_caption(state, r, NOW) for r in roles]
    assert captions == ["○ a", "… b - working...", "● c - 40 min left", "◔ d - 3 min left",
                        "✕ e - expired 5 min ago", "⚠ f - access denied"]
    working = find(build_menu(state, NOW), "b")
    assert not any(i.enabled for i in working.children)  # no second call while in flight
    failed = find(build_menu(state, NOW), "f")
    assert failed.children[0].label == "⚠ Access denied" and not failed.children[0].enabled


def test_grouping_by_group_then_account_with_favourites_first() -> None:
    roles = (role("z", group="Prod"), role("a", group="Prod"), role("fav", group="Prod",
                                                                    favourite=True),
             role("x", account="444455556666"), role("y", account="444455556666", order=1))
    menu = build_menu(AppState(roles=roles), NOW)
    groups = [i for i in menu if i.children and not i.children[0].label.startswith("Copy")]
    assert [g.label for g in groups] == ["Prod", "Account 444455556666"]
    assert labels(groups[0].children) == ["○ fav", "○ a", "○ z"]
    assert labels(groups[1].children) == ["○ y", "○ x"]


def test_single_group_is_flat() -> None:
    menu = build_menu(AppState(roles=(role("a"), role("b"))), NOW)
    assert labels(menu)[2:4] == ["○ a", "○ b"]


def test_broken_roles_are_shown_with_their_problem() -> None:
    problem = Problem("/c", 3, "role 'bad': role_arn 'x' is not an IAM role ARN.", "Fix it.",
                      role="bad")
    menu = build_menu(AppState(roles=(role("ok"),), broken=(problem,)), NOW)
    bad = find(menu, "⚠ bad")
    assert any("/c, line 3" in i.label for i in bad.children)


def test_icon_status_follows_active_role_and_work() -> None:
    state = AppState(roles=(role("a"),), active="a",
                     states={"a": RoleState(held=True, expiration=NOW + timedelta(minutes=10))},
                     warn_before_minutes=(15, 5))
    assert icon_status(state, NOW) is Status.EXPIRING
    assert icon_status(state, NOW + timedelta(minutes=11)) is Status.EXPIRED
    assert icon_status(AppState(), NOW) is Status.IDLE


def test_thousand_roles_build() -> None:
    roles = tuple(role(f"r{i:04d}", group=f"g{i % 20}") for i in range(1000))
    menu = build_menu(AppState(roles=roles), NOW)
    groups = [i for i in menu if i.label.startswith("g")]
    assert len(groups) == 20 and sum(len(g.children) for g in groups) == 1000


# -- issue 15: the remembered hand-over, an honest icon ---------------------------------------


def test_the_top_item_repeats_the_remembered_hand_over_and_says_how() -> None:
    held = RoleState(held=True, expiration=NOW + timedelta(minutes=42))
    roles = (role("prod-admin"), role("dev", profile="work"))
    copied = AppState(roles=roles, active="prod-admin", states={"prod-admin": held},
                      default_shell="cmd", handovers={"prod-admin": "powershell"})
    top = build_menu(copied, NOW)[0]
    assert top.label == "Copy again for PowerShell: prod-admin - 42 min left"
    assert top.default and top.action == Action("copy-active")
    written = replace(copied, active="dev", states={"dev": held},
                      handovers={"prod-admin": "powershell", "dev": "write"})
    assert build_menu(written, NOW)[0].label == "Write again to [work]: dev - 42 min left"


def test_nothing_remembered_is_the_default_shell_cmd_on_windows() -> None:
    state = AppState(roles=(role("a"),), active="a", default_shell="cmd")
    assert handover_label(state, role("a")) == "Copy for cmd.exe"
    assert build_menu(state, NOW)[0].label == "Copy for cmd.exe: a"
    fish = AppState(roles=(role("a"),), active="a", handovers={"a": "fish"})
    assert handover_label(fish, role("a")) == "Copy again for fish"


def test_the_icon_shows_the_held_role_that_expires_first() -> None:
    roles = (role("written", colour="#00ff00"), role("soon", colour="#0000ff"), role("idle"))
    state = AppState(roles=roles, active="written", states={
        "written": RoleState(held=True, expiration=NOW + timedelta(minutes=55)),
        "soon": RoleState(held=True, expiration=NOW + timedelta(minutes=4))})
    assert icon_role(state, NOW) == roles[1]
    assert icon_status(state, NOW) is Status.EXPIRING  # not the active role's green
    assert tooltip(state, NOW) == \
        "traycreds: written, 55 min left; icon: soon, 4 min left (expires first)"
    # One role held: it is the active one, and the tooltip stays as it was.
    alone = AppState(roles=roles, active="written", states={"written": state.states["written"]})
    assert icon_status(alone, NOW) is Status.FRESH
    assert tooltip(alone, NOW) == "traycreds: written, 55 min left"
    # Nothing held: the active role, as before.
    assert icon_role(AppState(roles=roles, active="idle"), NOW) == roles[2]


def test_a_role_shorter_than_the_first_warning_is_not_amber_from_its_first_second() -> None:
    issued = NOW
    short = RoleState(held=True, issued=issued, expiration=issued + timedelta(minutes=15))
    state = AppState(roles=(role("s"),), active="s", states={"s": short},
                     warn_before_minutes=(15, 5))
    # Warnings are capped at half its life: amber from 7.5 minutes left, not from the start.
    assert icon_status(state, NOW) is Status.FRESH
    assert icon_status(state, NOW + timedelta(minutes=7)) is Status.FRESH
    assert icon_status(state, NOW + timedelta(minutes=7, seconds=31)) is Status.EXPIRING
    assert role_caption(state, role("s"), NOW).startswith("● s")
    # A one-hour role keeps its 15 minutes.
    hour = RoleState(held=True, issued=issued, expiration=issued + timedelta(hours=1))
    long = replace(state, states={"s": hour})
    assert icon_status(long, NOW + timedelta(minutes=44)) is Status.FRESH
    assert icon_status(long, NOW + timedelta(minutes=46)) is Status.EXPIRING


def test_the_same_credentials_again_keep_their_issue_time() -> None:
    first = RoleState().succeeded(NOW + timedelta(minutes=15), NOW)
    again = first.succeeded(NOW + timedelta(minutes=15), NOW + timedelta(minutes=10))
    assert again.issued == NOW and again.life_seconds == 900
    renewed = again.succeeded(NOW + timedelta(minutes=70), NOW + timedelta(minutes=10))
    assert renewed.issued == NOW + timedelta(minutes=10)
