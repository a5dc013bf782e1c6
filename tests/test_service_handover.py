"""Issue 15, items 4 and 5 through the app service for real (moto's STS, the real keyring, the
real X clipboard, notifications over D-Bus): each role remembers how it was handed over, a
click on the icon and Refresh now repeat it, the choice survives a restart in a state file
read defensively, and roles issued to other programs show in the menu with their state.
"""

# ruff: noqa: F811  (clock and desk: fixtures imported from another test module, used by name)
from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support import NotificationLog, posix_only
from tests.test_service_expiry import (  # noqa: F401  (clock, desk: fixtures, used by name)
    Clock,
    MotoDesk,
    clock,
    desk,
    done,
    expiration_of,
    key_in_file,
    other_program_copies,
    settle,
    summaries,
    unique,
    wait_for,
    x_read,
)
from traycreds.adapters import remembered
from traycreds.app.service import AppService
from traycreds.core.errors import TraycredsError
from traycreds.core.menu import build_menu, icon_role
from traycreds.core.models import utc_now

pytestmark = pytest.mark.usefixtures("secret_service")




def top_label(service: AppService) -> str:
    return build_menu(service.state, utc_now())[0].label


def role_caption(service: AppService, name: str) -> str:
    for item in build_menu(service.state, utc_now()):
        if item.label[2:].split(" - ")[0] == name:
            return item.label
    raise LookupError(name)


XCLIP = posix_only("reads the X clipboard with xclip")


@XCLIP
def test_a_click_repeats_the_last_copy_and_a_restart_remembers_it(
        desk: MotoDesk, clock: Clock, notifications: NotificationLog) -> None:
    name = unique("ps")
    desk.configure(desk.roles(name))
    service = desk.start(clock)
    assert top_label(service).startswith("No active role")
    done(service.copy(name, "powershell"))
    assert x_read().startswith(b"$env:AWS_ACCESS_KEY_ID = '")
    assert top_label(service).startswith(f"Copy again for PowerShell: {name} - ")

    # The icon's left click (the default item): copied again for PowerShell, not bash.
    x_read_before = x_read()
    other_program_copies("something else")
    done(service.copy_active())
    assert x_read() == x_read_before  # the held credentials, for PowerShell again
    assert summaries(notifications, name) == [f"{name} copied for PowerShell"] * 2

    # Remembered in the data folder, atomically written JSON.
    saved = remembered.state_file()
    wait_for(lambda: saved.exists(), "the state file is written")
    assert json.loads(saved.read_text())["handovers"][name] == "powershell"

    # A restarted tray: Refresh now gets new credentials and copies them for PowerShell.
    service.shutdown()
    again = desk.start(clock)
    assert again.state.handovers.get(name) == "powershell"
    done(again.refresh(name))
    assert x_read().startswith(b"$env:AWS_ACCESS_KEY_ID = '")
    assert x_read() != x_read_before  # fresh credentials
    notifications.wait_for(f"{name} refreshed and copied again for PowerShell")


def test_a_written_role_is_written_again_and_its_warning_says_so(
        desk: MotoDesk, clock: Clock, notifications: NotificationLog) -> None:
    name = unique("wr")
    desk.configure(desk.roles(name), settings="[app]\nauto_refresh = false\n")
    service = desk.start(clock)
    done(service.write(name))
    section = service.state.write_targets.get(name) or f"{name}-traycreds"
    first = key_in_file(desk.credentials_file, section)
    assert first is not None
    assert top_label(service).startswith(f"Write again to [{section}]: {name} - ")

    done(service.refresh(name))  # refreshed and written again, not copied
    second = key_in_file(desk.credentials_file, section)
    assert second is not None and second != first
    notifications.wait_for(f"{name} refreshed and written again to [{section}]")

    expiration = expiration_of(service, name)
    clock.set(expiration - timedelta(minutes=14))
    settle(service)
    warning = notifications.wait_for(f"{name} expires in")
    assert (f"Click {name} > Refresh now: it writes the new credentials to [{section}] "
            "again;") in warning.body


@XCLIP
def test_a_broken_state_file_is_ignored_with_a_log_line(
        desk: MotoDesk, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    name = unique("bk")
    desk.configure(desk.roles(name))
    saved = remembered.state_file()
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_bytes(b"{\"handovers\": {\"x\": ")
    with caplog.at_level(logging.WARNING, logger="traycreds.adapters.remembered"):
        service = desk.start(clock)
    assert service.state.handovers == {}
    assert any("ignoring the tray's state file" in r.getMessage() for r in caplog.records)
    done(service.copy(name, "fish"))  # and it is replaced by a good one
    wait_for(lambda: b'"fish"' in saved.read_bytes(), "the state file is rewritten")


@pytest.mark.parametrize("content", [
    b"", b"null", b"[1, 2]", b"{\"handovers\": []}", b"\xff\xfe garbage", b"[" * 100_000,
    b"{\"handovers\": {\"a\": \"cmd\", \"b\": \"rm -rf\", \"\": \"bash\", \"c\": 3}}",
])
def test_hostile_state_files_never_crash(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tray-state.json"
    path.write_bytes(content)
    found = remembered.load_handovers(path)
    assert found in ({}, {"a": "cmd"})


def test_the_state_file_round_trips_and_refuses_a_huge_one(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "tray-state.json"
    remembered.save_handovers({"b": "write", "a": "cmd"}, path)
    assert remembered.load_handovers(path) == {"a": "cmd", "b": "write"}
    path.write_bytes(b" " * (remembered.LIMIT + 1))
    assert remembered.load_handovers(path) == {}
    assert remembered.load_handovers(tmp_path / "missing.json") == {}


def test_roles_issued_to_other_programs_show_in_the_menu_with_their_state(
        desk: MotoDesk, clock: Clock) -> None:
    name, denied = unique("cli"), unique("cli")
    desk.configure({name: desk.role_arn, denied: "arn:aws:iam::123456789012:role/not-yours"})
    service = desk.start(clock)
    service.issue_for_caller(name)  # what the channel's credentials op does
    assert role_caption(service, name).startswith(f"● {name} - ")
    assert role_caption(service, name).endswith("min left")
    assert service.state.active is None  # a program's request does not pick the active role
    assert icon_role(service.state, utc_now()) == service.state.role(name)
    # A refusal for a program shows too, with its reason.
    with pytest.raises(TraycredsError):
        service.issue_for_caller(denied)
    assert role_caption(service, denied).startswith(f"⚠ {denied} - ")
