"""Access key rotation as data: the journal's steps, what a crash at each step leaves, and
which keys are old enough to warn about. Pure: the IAM calls and the keyring are in
app/rotation.py.

The journal holds key ids, step names and times, never a secret. A rotation of source key
NAME walks these steps; each is written to the journal once it is true:

``begun``        the old key is NAME's stored key; CreateAccessKey may have been sent.
``created``      IAM made the new key (its id recorded); its secret is only in memory.
``stored``       the new key's secret is in the keyring beside NAME's (read back).
``proven``       STS accepted the new key; NAME's entry now holds it, the old one is kept
                 beside it (read back).
``deactivated``  the old key is Inactive in IAM; it is deleted after the grace period or at
                 the user's word, then the journal entry goes.

At no step is NAME's keyring entry without a key that works: it holds the old key until
the new one is proven, and the old one stays in the keyring until it is deleted in IAM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

STEPS = ("begun", "created", "stored", "proven", "deactivated")
_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")
_SOURCE = re.compile(r"^[\w.@+=,-]{1,64}$")
MAX_ENTRIES = 200  # more rotations under way than keys anyone stores: not our file


@dataclass(frozen=True)
class Rotation:
    """One rotation under way, as the journal records it (no secret)."""

    source: str
    step: str
    old_key_id: str
    started: datetime
    new_key_id: str | None = None
    deactivated_at: datetime | None = None

    def at(self, step: str, **changes: Any) -> Rotation:
        return replace(self, step=step, **changes)

    def to_json(self) -> dict[str, str]:
        body = {"step": self.step, "old_key_id": self.old_key_id,
                "started": _stamp(self.started)}
        if self.new_key_id:
            body["new_key_id"] = self.new_key_id
        if self.deactivated_at:
            body["deactivated_at"] = _stamp(self.deactivated_at)
        return body


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc)


def _key_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _KEY_ID.match(value) else None


def parse_entry(source: str, raw: Any) -> Rotation | None:
    """A journal entry, or None when it is not one traycreds wrote (the file is hostile)."""
    if not isinstance(raw, dict) or not _SOURCE.match(source):
        return None
    step, old, started = raw.get("step"), _key_id(raw.get("old_key_id")), _time(
        raw.get("started"))
    if step not in STEPS or old is None or started is None:
        return None
    new = _key_id(raw.get("new_key_id"))
    if step not in ("begun",) and new is None:
        return None
    deactivated = _time(raw.get("deactivated_at"))
    if step == "deactivated" and deactivated is None:
        return None
    return Rotation(source, step, old, started, new, deactivated)


def parse_journal(data: Any) -> tuple[dict[str, Rotation], int]:
    """Rotations by source, and how many entries were not usable."""
    entries = data.get("rotations") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or len(entries) > MAX_ENTRIES:
        return {}, 0 if entries is None else 1
    found = {name: parse_entry(name, raw) for name, raw in entries.items()}
    kept = {name: entry for name, entry in found.items() if entry is not None}
    return kept, len(found) - len(kept)


def journal_json(rotations: Mapping[str, Rotation]) -> dict[str, Any]:
    return {"rotations": {name: r.to_json() for name, r in sorted(rotations.items())}}


def grace_over(rotation: Rotation, grace: timedelta, now: datetime) -> bool:
    return rotation.deactivated_at is not None and now - rotation.deactivated_at >= grace


CLOCK_SLACK = timedelta(minutes=1)  # between this machine's clock and IAM's
CREATE_WINDOW = timedelta(seconds=120)  # the longest an IAM call may take (sts_timeout_seconds)


def strays(rotation: Rotation, keys: Iterable[tuple[str, datetime | None]],
           keep: Iterable[str]) -> list[str]:
    """Keys a crash before ``created`` may have left in IAM: made while our CreateAccessKey
    could have been under way (from the rotation's start until its longest deadline, 120 s,
    with a minute of clock difference either side), neither the old key nor one we still
    hold. A key made later is someone's own (say, made by hand after the crash): never ours
    to delete."""
    kept = {rotation.old_key_id, *keep}
    since = rotation.started - CLOCK_SLACK
    until = rotation.started + CREATE_WINDOW + CLOCK_SLACK
    return [key_id for key_id, created in keys
            if key_id not in kept and created is not None and since <= created <= until]


@dataclass(frozen=True)
class KeyAge:
    """What IAM says about one stored key (None where it could not be asked)."""

    source: str
    key_id: str
    created: datetime | None
    last_used: datetime | None = None
    problem: str | None = None


def age_days(created: datetime, now: datetime) -> int:
    return max(0, (now - created).days)


def describe_age(created: datetime | None, now: datetime) -> str:
    return "?" if created is None else f"{age_days(created, now)} d"


def describe_last_use(last: datetime | None, now: datetime) -> str:
    if last is None:
        return "never"
    days = age_days(last, now)
    return "today" if days == 0 else f"{days} d ago"


def keys_to_warn(ages: Iterable[KeyAge], warn_days: int, warned: Mapping[str, str],
                 now: datetime) -> list[KeyAge]:
    """Keys older than ``warn_days`` the tray has not yet warned about. ``warned`` maps a
    source to the key id last warned about: a rotated key (a new id) is warned about anew."""
    return [age for age in ages
            if age.created is not None and age_days(age.created, now) >= warn_days
            and warned.get(age.source) != age.key_id]
