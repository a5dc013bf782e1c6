"""Key rotation as data (core/rotation.py), its journal file and its settings."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from traycreds.adapters import rotjournal
from traycreds.core.errors import FileError
from traycreds.core.menu import Action, build_menu, rotation_items
from traycreds.core.models import Role
from traycreds.core.rotation import KeyAge, Rotation, keys_to_warn, parse_journal, strays
from traycreds.core.settings import parse_settings
from traycreds.core.state import AppState

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def key_id(n: int) -> str:
    return "AKIA" + f"{n:016d}"  # built here: no literal key id in the source


def test_the_journal_round_trips_and_refuses_what_it_did_not_write(tmp_path: Path) -> None:
    path = tmp_path / "rotation.json"
    done = Rotation("me", "deactivated", key_id(1), NOW, key_id(2), NOW + timedelta(hours=1))
    rotjournal.record(done, path)
    rotjournal.record(Rotation("ci", "begun", key_id(3), NOW), path)
    assert rotjournal.load(path) == {"me": done, "ci": Rotation("ci", "begun", key_id(3), NOW)}
    if sys.platform != "win32":
        assert path.stat().st_mode & 0o777 == 0o600
    rotjournal.forget("me", path)
    rotjournal.forget("ci", path)
    assert not path.exists()
    outside = {"rotations": {"../x": {"step": "begun", "old_key_id": key_id(1),
                                      "started": "2026-12-01T12:00:00Z"}}}
    for hostile in ('{"rotations": {"me": {"step": "proven", "old_key_id": "x"}}}',
                    json.dumps(outside), "[1, 2", '{"rotations": 5}'):
        path.write_text(hostile)
        with pytest.raises(FileError, match="not a key rotation journal"):
            rotjournal.load(path)


def test_steps_after_created_need_the_new_key_id() -> None:
    raw = {"step": "stored", "old_key_id": key_id(1), "started": "2026-12-01T12:00:00Z"}
    assert parse_journal({"rotations": {"me": raw}}) == ({}, 1)
    raw["new_key_id"] = key_id(2)
    assert parse_journal({"rotations": {"me": raw}})[0]["me"].new_key_id == key_id(2)


def test_strays_are_only_keys_made_since_the_rotation_began() -> None:
    rotation = Rotation("me", "begun", key_id(1), NOW)
    listed = [(key_id(1), NOW - timedelta(days=100)), (key_id(2), NOW + timedelta(seconds=3)),
              (key_id(3), NOW - timedelta(days=2)), (key_id(4), None),
              # made by hand an hour after the crash: the user's, not ours to delete
              (key_id(5), NOW + timedelta(hours=1))]
    assert strays(rotation, listed, keep=[key_id(1)]) == [key_id(2)]


def test_an_old_key_is_warned_about_once_and_its_successor_anew() -> None:
    old = KeyAge("me", key_id(1), NOW - timedelta(days=91))
    young = KeyAge("ci", key_id(2), NOW - timedelta(days=10))
    unknown = KeyAge("x", key_id(3), None, problem="Network error")
    assert keys_to_warn([old, young, unknown], 90, {}, NOW) == [old]
    assert keys_to_warn([old], 90, {"me": key_id(1)}, NOW) == []
    rotated = KeyAge("me", key_id(9), NOW - timedelta(days=95))
    assert keys_to_warn([rotated], 90, {"me": key_id(1)}, NOW) == [rotated]


def test_the_menu_offers_every_stored_key_and_marks_the_old_ones() -> None:
    assert rotation_items({}) == ()
    (fresh,) = rotation_items({"me": None})
    assert fresh.label == "Rotate access key"
    assert [(c.label, c.action) for c in fresh.children] == [
        ("me", Action("rotate-key", role="me"))]
    (marked,) = rotation_items({"work": 120, "me": None})
    assert marked.label == "⚠ Rotate access key"
    assert [(c.label, c.action) for c in marked.children] == [
        ("me", Action("rotate-key", role="me")),
        ("work (120 days old)", Action("rotate-key", role="work"))]
    role = Role(name="prod", role_arn="arn:aws:iam::111122223333:role/Admin", source="me",
                origin="test")
    menu = build_menu(AppState(roles=(role,), access_keys={"me": 95}), NOW)
    assert [i.label for i in menu if i.children and "Rotate" in i.label] == [
        "⚠ Rotate access key"]


def test_rotation_settings_and_their_limits() -> None:
    settings, problems = parse_settings("[app]\nkey_warn_age_days = 30\n"
                                        "rotation_grace_hours = 0\n", "s.toml")
    assert (settings.app.key_warn_age_days, settings.app.rotation_grace_hours) == (30, 0)
    assert problems == []
    settings, problems = parse_settings("[app]\nkey_warn_age_days = 0\n"
                                        "rotation_grace_hours = 1e3\n", "s.toml")
    assert (settings.app.key_warn_age_days, settings.app.rotation_grace_hours) == (90, 24)
    assert len(problems) == 2 and "1 to 3650" in problems[0].message
    assert json.dumps(Rotation("me", "begun", key_id(1), NOW).to_json())
