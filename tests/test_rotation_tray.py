"""'Rotate access key' through the real tray: ``python -m traycreds tray`` docked in trayer,
its menu walked with xdotool, the confirmation answered in the real Tk dialog (first "no",
then "yes"), the result read from the real notification on D-Bus and checked in moto's IAM
(auth enforced) and the real keyring. Screenshots: tray-rotate-submenu.png,
tray-rotate-confirm.png."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.support import NotificationLog, poll
from tests.test_key_rotation import IAM_ACTIONS
from tests.test_tray_e2e import MENU_TIMEOUT, Desk, Tray, assumable_role, desk, key, shot, unique
from traycreds.adapters import paths
from traycreds.adapters.keystore import KeyStore
from traycreds.tray.dialogs import CONFIRM_TITLE

pytestmark = [pytest.mark.usefixtures("desktop", "secret_service"),
              pytest.mark.skipif(sys.platform != "linux", reason="X menus (xdotool)")]
__all__ = ["desk"]  # the fixture, used by name


def confirm_dialog() -> bool:
    import subprocess

    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name",
                            f"^{CONFIRM_TITLE}$"], capture_output=True, text=True)
    return bool(found.stdout.split())


def ask_to_rotate(tray: Tray) -> None:
    """Menu > Rotate access key > the one key (the top menu: "No active role yet" disabled,
    the role's submenu, then "Rotate access key")."""
    submenu = tray.open_submenu(2)
    shot("tray-rotate-submenu", (0, 0, submenu.x + submenu.width + 10,
                                 submenu.y + submenu.height + 10))
    key("Return")
    poll(lambda: not tray.menus(), MENU_TIMEOUT, "the menu closes after Return")
    poll(confirm_dialog, 15, "the tray asks before it rotates")


def test_rotate_from_the_menu_asks_first_then_rotates(
        desk: Desk, moto: Any, notifications: NotificationLog) -> None:
    user, role_arn = assumable_role(moto)
    moto.allow(user, IAM_ACTIONS, "*")
    source = unique("e2e-rot")
    desk.add_key(source, user.key_id, user.secret, moto.url)
    desk.write_config({"dev": {"role_arn": role_arn, "source_profile": source}})
    tray = Tray(dict(desk.env(moto.url), AWS_ENDPOINT_URL_IAM=moto.url), desk.runtime,
                desk.output_dir / f"{desk.name}.log")
    desk.trays.append(tray)

    def iam_keys() -> dict[str, str]:
        listed = moto.iam().list_access_keys(UserName=user.name)["AccessKeyMetadata"]
        return {k["AccessKeyId"]: k["Status"] for k in listed}

    ask_to_rotate(tray)
    shot("tray-rotate-confirm")
    key("Escape")  # "no": nothing changes
    poll(lambda: not confirm_dialog(), 10, "the dialog closes on Escape")
    assert iam_keys() == {user.key_id: "Active"}

    ask_to_rotate(tray)
    key("Return")  # "Rotate"
    note = notifications.wait_for(f"Access key {source} rotated", timeout=60)
    stored = KeyStore(paths.data_dir() / "sources.json").get(source)
    assert stored.access_key_id != user.key_id
    # The old key is deactivated, kept for the grace period (24 hours by default).
    assert iam_keys() == {user.key_id: "Inactive", stored.access_key_id: "Active"}
    assert stored.secret_access_key not in note.body and user.secret not in note.body
    tray.quit_via_menu()
