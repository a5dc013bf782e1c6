"""The tray menu as data, computed from the app's state by one pure function.

Front ends turn ``Item`` trees into their toolkit's menus; tests read them as data.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from traycreds.core.models import Role
from traycreds.core.shells import MENU_SHELLS, SHELL_TITLES, WRITE
from traycreds.core.state import AppState, Status
from traycreds.core.text import time_left

MARKS = {Status.IDLE: "○", Status.WORKING: "…", Status.FRESH: "●", Status.EXPIRING: "◔",
         Status.EXPIRED: "✕", Status.ERROR: "⚠"}
_WRAP = 60
_MENU_TITLES = dict(MENU_SHELLS)  # as the submenu says them: "bash/zsh"


@dataclass(frozen=True)
class Action:
    kind: str  # copy, copy-active, write, whoami, window, console, refresh, forget, add-key, ...
    role: str | None = None
    shell: str | None = None  # copy: the shell's syntax; window: cmd, powershell, terminal


@dataclass(frozen=True)
class Item:
    label: str
    action: Action | None = None
    enabled: bool = True
    default: bool = False
    children: tuple[Item, ...] = ()

    @property
    def separator(self) -> bool:
        return self.label == "-"


SEPARATOR = Item("-", enabled=False)
APP_ITEMS = (
    Item("Add access key...", Action("add-key")),
    Item("Settings...", Action("settings")),
    Item("Reload roles", Action("reload")),
    Item("Open settings file", Action("open-settings")),
    Item("Open log folder", Action("open-logs")),
    Item("About", Action("about")),
    SEPARATOR,
    Item("Quit", Action("quit")),
)
# Shell windows a role's submenu opens (adapters/terminal.py), per platform: Action.shell.
WINDOWS = {"win32": (("cmd", "cmd.exe"), ("powershell", "PowerShell")),
           "darwin": (("terminal", "Terminal"),)}
DEFAULT_WINDOWS = (("terminal", "terminal"),)  # Linux and the other X11/Wayland desktops
EXAMPLE = ("[profile prod-admin]", "role_arn = arn:aws:iam::123456789012:role/Admin",
           "source_profile = me")


def _info(text: str) -> tuple[Item, ...]:
    return tuple(Item(line, enabled=False) for line in textwrap.wrap(text, _WRAP))


def role_caption(state: AppState, role: Role, now: datetime) -> str:
    """'● Prod admin - 42 min left': the mark, the name, and what is known of its time."""
    status = state.status(role.name, now)
    caption = f"{MARKS[status]} {role.display_name}"
    held = state.states.get(role.name)
    if status is Status.WORKING:
        return f"{caption} - working..."
    if status is Status.ERROR and held is not None and held.error is not None:
        return f"{caption} - {held.error.title.lower()}"
    if held is not None and held.held and held.expiration is not None:
        return f"{caption} - {time_left((held.expiration - now).total_seconds())}"
    return caption


def write_target(state: AppState, role: Role) -> str:
    """The section 'write' uses, as the service found it (one the AWS tools read keys from).

    The fallback is the same rule without the look at ~/.aws/config: never the role's own
    name, which is a config profile holding its role_arn.
    """
    return state.write_targets.get(role.name) or role.profile or f"{role.name}-traycreds"


def handover_label(state: AppState, role: Role) -> str:
    """What a click on the icon (or Refresh now) hands over, said as the top item says it:
    "Copy again for cmd.exe", "Write again to [prod]"; "Copy for bash/zsh" when nothing is
    remembered yet (the default shell)."""
    kind = state.handover(role.name)
    again = " again" if role.name in state.handovers else ""
    if kind == WRITE:
        return f"Write{again} to [{write_target(state, role)}]"
    return f"Copy{again} for {_MENU_TITLES.get(kind) or SHELL_TITLES.get(kind, kind)}"


def _window_items(role: Role, platform: str, enabled: bool) -> list[Item]:
    return [Item(f"Open {title} as {role.display_name}", Action("window", role.name, kind),
                 enabled=enabled)
            for kind, title in WINDOWS.get(platform, DEFAULT_WINDOWS)]


def _role_menu(state: AppState, role: Role, now: datetime, platform: str) -> Item:
    held = state.states.get(role.name)
    working = held is not None and held.working
    items: list[Item] = []
    if held is not None and held.error is not None:
        items += [Item(f"⚠ {held.error.title}", enabled=False), *_info(held.error.message)]
        if held.error.needs_key:  # "Add access key..." with the name this role's chain needs
            items.append(Item("Add access key...", Action("add-key", role.name)))
        items.append(SEPARATOR)
    items += [Item(f"Copy for {title}", Action("copy", role.name, shell), enabled=not working)
              for shell, title in MENU_SHELLS]
    items += [
        Item(f"Write to credentials profile [{write_target(state, role)}]",
             Action("write", role.name), enabled=not working),
        Item("Who am I?", Action("whoami", role.name), enabled=not working),
        *_window_items(role, platform, not working),
        Item(f"Open AWS console as {role.display_name}", Action("console", role.name),
             enabled=not working),
        Item("Refresh now", Action("refresh", role.name), enabled=not working),
        Item("Forget credentials", Action("forget", role.name),
             enabled=held is not None and held.held),
    ]
    return Item(role_caption(state, role, now), children=tuple(items))


def _group_key(role: Role) -> str:
    return role.group or (f"Account {role.account}" if role.account else "Other")


def _sorted(roles: list[Role]) -> list[Role]:
    return sorted(roles, key=lambda r: (not r.favourite, r.order if r.order is not None
                                        else 1_000_000, r.display_name.lower()))


def role_items(state: AppState, now: datetime, platform: str) -> tuple[Item, ...]:
    """Roles grouped by the settings' groups, else by account; favourites first."""
    groups: dict[str, list[Role]] = {}
    for role in state.roles:
        groups.setdefault(_group_key(role), []).append(role)
    if len(groups) == 1:
        only = next(iter(groups.values()))
        return tuple(_role_menu(state, r, now, platform) for r in _sorted(only))
    ordered = sorted(groups.items(), key=lambda kv: (not any(r.favourite for r in kv[1]),
                                                     kv[0].lower()))
    return tuple(Item(name, children=tuple(_role_menu(state, r, now, platform)
                                           for r in _sorted(roles)))
                 for name, roles in ordered)


def _active_item(state: AppState, now: datetime) -> Item:
    role = state.role(state.active) if state.active else None
    if role is None:
        return Item("No active role yet: pick one below", enabled=False)
    held = state.states.get(role.name)
    if held is not None and held.working:
        suffix = " - working..."
    elif held is not None and held.held and held.expiration is not None:
        suffix = f" - {time_left((held.expiration - now).total_seconds())}"
    else:
        suffix = ""
    # The default item: pystray's left click on the icon runs it too.
    return Item(f"{handover_label(state, role)}: {role.display_name}{suffix}",
                Action("copy-active"), default=True)


def _broken_items(state: AppState) -> tuple[Item, ...]:
    items = []
    for problem in state.broken:
        name = problem.role or "?"
        items.append(Item(f"⚠ {name} (misconfigured)",
                          children=(*_info(problem.describe()), SEPARATOR,
                                    Item("Open settings file", Action("open-settings")))))
    return tuple(items)


def build_menu(state: AppState, now: datetime,
               platform: str = sys.platform) -> tuple[Item, ...]:
    if state.loading:
        return (Item("Loading roles...", enabled=False), SEPARATOR, *APP_ITEMS)
    if not state.roles and not state.broken:
        return (Item("No roles configured yet", enabled=False),
                *_info("Add a profile with role_arn to ~/.aws/config, or a [roles.NAME] table "
                       "to the settings file. For example:"),
                *(Item(f"    {line}", enabled=False) for line in EXAMPLE),
                SEPARATOR, *sso_items(state.sso_sessions, now),
                *rotation_items(state.access_keys), *APP_ITEMS)
    return (_active_item(state, now), SEPARATOR, *role_items(state, now, platform),
            *_broken_items(state), SEPARATOR, *sso_items(state.sso_sessions, now),
            *rotation_items(state.access_keys), *APP_ITEMS)


def native_label(label: str, platform: str) -> str:
    """``label`` as the platform's menus should be given it. Windows menus take ``&`` as the
    mark of the next letter's access key (a profile ``r&d`` would show as "rd"): ``&&``
    shows one ``&``. Elsewhere (GTK gets no mnemonics from pystray) labels are literal."""
    return label.replace("&", "&&") if platform == "win32" else label


def icon_role(state: AppState, now: datetime) -> Role | None:
    """The role the icon shows: of the roles holding credentials, the one that expires first
    (expired ones included), so a fresh role just written to a profile does not turn the icon
    green while another one is about to run out; with none held, the active role."""
    held = [(s.expiration, name) for name, s in state.states.items()
            if s.held and s.expiration is not None and state.role(name) is not None]
    if held:
        return state.role(min(held)[1])
    return state.role(state.active) if state.active else None


def _left(state: AppState, role: Role, now: datetime) -> str:
    held = state.states.get(role.name)
    if held is not None and held.held and held.expiration is not None:
        return f", {time_left((held.expiration - now).total_seconds())}"
    return ""


def tooltip(state: AppState, now: datetime) -> str:
    """The active role and its time; when the icon shows another role (the one expiring
    first), that one too, so the icon's colour is never a mystery."""
    role = state.role(state.active) if state.active else None
    shown = icon_role(state, now)
    text = f"traycreds: {role.display_name}{_left(state, role, now)}" if role else "traycreds"
    if shown is not None and shown != role:
        text += f"; icon: {shown.display_name}{_left(state, shown, now)} (expires first)"
    return text


def icon_status(state: AppState, now: datetime) -> Status:
    """The icon's colour: working anywhere; else an error if the last thing tried failed;
    else the state of icon_role (the held role expiring first, else the active role)."""
    if any(s.working for s in state.states.values()):
        return Status.WORKING
    failed = [name for name, s in state.states.items() if s.error is not None]
    if failed and (state.active is None or state.active in failed):
        return Status.ERROR  # the last thing the user tried did not work
    shown = icon_role(state, now)
    if shown is None:
        return Status.IDLE
    return state.status(shown.name, now)


def rotation_items(keys: Mapping[str, int | None]) -> tuple[Item, ...]:
    """"Rotate access key" > each stored key, the ones older than the setting with their age
    (app/keycare.py asks IAM); the submenu is marked when one is old."""
    if not keys:
        return ()
    children = tuple(Item(name if days is None else f"{name} ({days} days old)",
                          Action("rotate-key", role=name))
                     for name, days in sorted(keys.items()))
    old = any(days is not None for days in keys.values())
    return (Item(f"{'⚠ ' if old else ''}Rotate access key", children=children),)


def sso_items(sessions: Mapping[str, datetime | None], now: datetime) -> tuple[Item, ...]:
    """"IAM Identity Center: NAME" > sign in (or until when, and sign out), and a fresh
    listing of the accounts and roles the session allows (app/ssotray.py)."""
    items = []
    for name, until in sorted(sessions.items(), key=lambda kv: kv[0].lower()):
        if until is not None and until > now:
            first: tuple[Item, ...] = (
                Item(f"Signed in, until {until.astimezone():%H:%M}", enabled=False),
                Item("Sign out", Action("sso-sign-out", name)))
        else:
            first = (Item("Sign in...", Action("sso-sign-in", name)),)
        items.append(Item(f"IAM Identity Center: {name}", children=(
            *first, Item("Refresh accounts and roles", Action("sso-refresh", name)))))
    return tuple(items)
