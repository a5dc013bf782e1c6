"""Rotate a stored access key, never leaving NAME without a working key in the keyring.

The steps and what each leaves behind are in core/rotation.py. Each step is recorded in
the journal (adapters/rotjournal.py) once it is true, so a run that dies anywhere (kill -9,
power loss) is finished or rolled back by the next: ``Rotator.resume`` decides from the
journal, the keyring and IAM's own list of keys:

- ``begun``: CreateAccessKey may have made a key whose secret died with the process: any
  key of the user made since the rotation began, other than the old one, is deleted.
- ``created``: the secret reached the keyring (the entry beside NAME holds that id): go on
  as ``stored``; else it is lost: delete the new key in IAM.
- ``stored``: prove the new key at STS (bounded retries: IAM is eventually consistent),
  then switch NAME's entry to it; if STS keeps refusing it, roll back (delete it).
- ``proven``: NAME holds the new key; deactivate the old one (again: it is idempotent).
- ``deactivated``: delete the old key once the grace period is over or at the user's word.

IAM calls are signed with NAME's stored key; when a policy refuses them and a profile using
NAME names an mfa_serial, with an MFA session from the engine (one per run: an MFA code is
single-use, aws-vault #1110 left a rotation half done by asking for a second one).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from traycreds.adapters import rotjournal
from traycreds.adapters.iam import AccessKey, BotoIam
from traycreds.adapters.keystore import KeyStore
from traycreds.core.endpoints import Endpoint
from traycreds.core.errors import (
    AccessDeniedError,
    InvalidKeyError,
    KeyRotationError,
    NoSuchKeyError,
    WrongSecretError,
)
from traycreds.core.models import Credentials, Identity, utc_now
from traycreds.core.rotation import Rotation, grace_over, strays

log = logging.getLogger(__name__)

NEW, OLD = "new", "old"  # the keyring entries beside NAME's (KeyStore.put_aside)
FINISHED, ROLLED_BACK, WAITING = "finished", "rolled back", "waiting"
PROVE_SECONDS = 90.0  # IAM's new keys reach STS within seconds, rarely a minute
_PROVE_PAUSES = (1.0, 2.0, 4.0, 8.0)


def _no_checkpoint(step: str) -> None:
    """Tests replace this (tests/support/rotkill.py) to kill the process with SIGKILL right
    after ``step``: each name is a point where a crash leaves a distinct state. Production
    code never sets it."""


CHECKPOINT: Callable[[str], None] = _no_checkpoint


class StsPort(Protocol):
    def get_caller_identity(self, creds: Credentials, *, endpoint: Endpoint,
                            caller: str) -> Identity: ...


def user_name(identity: Identity) -> str:
    kind, _, path = identity.arn.partition(":user/")
    if not kind or not path:
        raise KeyRotationError(f"The stored key belongs to {identity.arn}, not an IAM user; "
                               "only an IAM user's access keys can be rotated.")
    return path.rsplit("/", 1)[-1]


class Rotator:
    """One rotation run for one source key. ``say`` receives what the user should read."""

    def __init__(self, source: str, keys: KeyStore, iam: BotoIam, sts: StsPort,
                 endpoint: Endpoint, *, say: Callable[[str], None],
                 mfa: Callable[[], Credentials] | None = None,
                 on_switch: Callable[[str], None] | None = None,
                 grace: timedelta = timedelta(0),
                 clock: Callable[[], datetime] = utc_now,
                 sleep: Callable[[float], None] = time.sleep,
                 prove_seconds: float = PROVE_SECONDS) -> None:
        self.source = source
        self._keys, self._iam, self._sts, self._endpoint = keys, iam, sts, endpoint
        self._say, self._mfa, self._grace, self._on_switch = say, mfa, grace, on_switch
        self._clock, self._sleep, self._prove_seconds = clock, sleep, prove_seconds
        self._session: Credentials | None = None
        self._user: str | None = None
        self.switched = False  # NAME's entry now holds another key: tell the tray

    # -- IAM, signed with the stored key or the MFA session -----------------------------
    def _signed(self, call: Callable[..., Any], *args: Any) -> Any:
        stored = self._keys.get(self.source)
        caller = f"the key {stored.access_key_id} ({self.source!r})"
        try:
            return call(self._session or stored, *args, caller=caller)
        except AccessDeniedError:
            if self._session is not None or self._mfa is None:
                raise
            log.info("IAM refused %s without MFA; starting an MFA session", self.source)
            self._session = self._mfa()
            return call(self._session, *args, caller=caller)

    def _identity(self, creds: Credentials) -> Identity:
        return self._sts.get_caller_identity(
            creds, endpoint=self._endpoint, caller=f"the key {creds.access_key_id}")

    def user(self) -> str:
        if self._user is None:
            self._user = user_name(self._identity(self._keys.get(self.source)))
        return self._user

    def listed(self) -> list[AccessKey]:
        keys: list[AccessKey] = self._signed(self._iam.list_access_keys, self.user())
        return keys

    def _delete(self, key_id: str) -> None:
        with contextlib.suppress(NoSuchKeyError):  # deleted before a crash: what we wanted
            self._signed(self._iam.delete_access_key, self.user(), key_id)

    def _record(self, rotation: Rotation) -> Rotation:
        rotjournal.record(rotation)
        CHECKPOINT(rotation.step)
        return rotation

    # -- a new rotation ----------------------------------------------------------------
    def rotate(self, *, delete_now: bool) -> None:
        pending = rotjournal.load().get(self.source)
        if pending is not None and self.resume(pending, delete_now=delete_now) != ROLLED_BACK:
            return  # finished now, or waiting for its grace period: not a second rotation
        old = self._keys.get(self.source)
        self._refuse_two_keys(old.access_key_id)
        rotation = self._record(Rotation(self.source, "begun", old.access_key_id,
                                         self._clock().replace(microsecond=0)))
        made = self._signed(self._iam.create_access_key, self.user())
        CHECKPOINT("create-sent")
        rotation = self._record(rotation.at("created", new_key_id=made.key_id))
        self._keys.put_aside(NEW, self.source, Credentials(made.key_id, made.secret))
        CHECKPOINT("stored-keyring")
        if self._aside_id(NEW) != made.key_id:
            self._roll_back(rotation, "the keyring did not return the new key just stored")
            raise KeyRotationError("The keyring did not return the new key just stored; the "
                                   "new key was deleted in IAM and the old one kept.")
        self._say(f"Created access key {made.key_id} and stored it in the keyring.")
        self._advance(self._record(rotation.at("stored")), delete_now=delete_now)

    def _refuse_two_keys(self, stored_id: str) -> None:
        listed = self.listed()
        others = [key for key in listed if key.key_id != stored_id]
        if not others:
            return
        lines = []
        for key in others:
            last = self._signed(self._iam.last_used, key.key_id)
            used = f"last used {last:%Y-%m-%d}" if last else "never used"
            lines.append(f"{key.key_id} ({key.status}, {used})")
        raise KeyRotationError(
            f"IAM user {self.user()} already has two access keys, and IAM allows no third: "
            f"{stored_id} is the one stored as {self.source!r}; the other, "
            f"{', '.join(lines)}, is not used by traycreds. Nothing was changed. If nothing "
            "else needs it, delete it (IAM console, or 'aws iam delete-access-key "
            f"--user-name {self.user()} --access-key-id {others[0].key_id}'), then run "
            f"'traycreds keys rotate {self.source}' again.", title="Two access keys")

    # -- going on from any step ----------------------------------------------------------
    def resume(self, rotation: Rotation, *, delete_now: bool) -> str:
        """Finish or roll back a rotation a previous run left: FINISHED, ROLLED_BACK, or
        WAITING (the old key inactive, its grace period not over)."""
        self._say(f"A rotation of {self.source!r} was left at step '{rotation.step}' "
                  f"(old key {rotation.old_key_id}); going on from there.")
        if rotation.step == "begun":
            self._sweep_strays(rotation)
            return ROLLED_BACK
        if rotation.step == "created":
            if self._aside_id(NEW) != rotation.new_key_id:
                self._roll_back(rotation, "its secret was lost before it reached the keyring")
                return ROLLED_BACK
            rotation = self._record(rotation.at("stored"))
        return self._advance(rotation, delete_now=delete_now)

    def _advance(self, rotation: Rotation, *, delete_now: bool) -> str:
        if rotation.step == "stored":
            rotation = self._prove_and_switch(rotation)
        if rotation.step == "proven":
            with contextlib.suppress(NoSuchKeyError):  # already deleted
                self._signed(self._iam.update_access_key, self.user(), rotation.old_key_id,
                             "Inactive")
            CHECKPOINT("deactivate-sent")
            rotation = self._record(rotation.at(
                "deactivated", deactivated_at=self._clock().replace(microsecond=0)))
            self._say(f"Deactivated the old key {rotation.old_key_id}.")
        if delete_now or grace_over(rotation, self._grace, self._clock()):
            self._delete(rotation.old_key_id)
            CHECKPOINT("delete-sent")
            self._finish(rotation)
            self._say(f"Deleted the old key {rotation.old_key_id}. {self.source!r} is now "
                      f"{rotation.new_key_id}.")
            return FINISHED
        self._say(f"The old key {rotation.old_key_id} is inactive, not yet deleted: if "
                  "something still used it, reactivate it in the IAM console. It is deleted "
                  f"after the grace period, or now with: traycreds keys rotate {self.source} "
                  "--finish")
        return WAITING

    def _prove_and_switch(self, rotation: Rotation) -> Rotation:
        new = self._keys.get_aside(NEW, self.source)
        stored = self._keys.get(self.source)
        if stored.access_key_id == rotation.new_key_id:
            new = stored  # switched before a crash: NAME's entry already holds it
        if new is None or new.access_key_id != rotation.new_key_id:
            self._roll_back(rotation, "its secret is no longer in the keyring")
            raise KeyRotationError(f"The new key {rotation.new_key_id} was lost from the "
                                   "keyring, so it was deleted in IAM; the old key is kept "
                                   "and still works. Run the rotation again.")
        self._prove(rotation, new)
        if stored.access_key_id == rotation.old_key_id:
            self._keys.put_aside(OLD, self.source, stored)
            if self._aside_id(OLD) != rotation.old_key_id:
                raise KeyRotationError("The keyring did not return the old key just set "
                                       "aside; nothing was switched. Try again.")
            CHECKPOINT("old-aside")
        # Again when already switched: a crash between the keyring's write and the index's
        # (KeyStore.put) left the index naming the old key id.
        self._keys.put(self.source, new)
        CHECKPOINT("switched")
        if self._keys.get(self.source).access_key_id != rotation.new_key_id:
            raise KeyRotationError(f"The keyring did not return the new key stored as "
                                   f"{self.source!r}. Run 'traycreds keys rotate "
                                   f"{self.source}' again to go on.")
        if not self.switched and self._on_switch is not None:
            self._on_switch(self.source)
        self.switched = True
        self._keys.drop_aside(NEW, self.source)
        self._say(f"STS accepts the new key; {self.source!r} now uses {new.access_key_id}.")
        return self._record(rotation.at("proven"))

    def _prove(self, rotation: Rotation, new: Credentials) -> None:
        """GetCallerIdentity with the new key until STS accepts it (new keys take a while to
        reach it); a key STS still refuses at the bound is rolled back."""
        end = time.monotonic() + self._prove_seconds
        attempt = 0
        while True:
            try:
                self._identity(new)
                return
            except (InvalidKeyError, WrongSecretError) as error:
                if time.monotonic() >= end:
                    self._roll_back(rotation, "STS never accepted it")
                    raise KeyRotationError(
                        f"STS did not accept the new key {rotation.new_key_id} within "
                        f"{self._prove_seconds:g} s ({error.title}), so it was deleted; the "
                        "old key is kept and still works. Try again later.") from None
            self._sleep(_PROVE_PAUSES[min(attempt, len(_PROVE_PAUSES) - 1)])
            attempt += 1

    # -- rolling back --------------------------------------------------------------------
    def _aside_id(self, kind: str) -> str | None:
        found = self._keys.get_aside(kind, self.source)
        return found.access_key_id if found else None

    def _sweep_strays(self, rotation: Rotation) -> None:
        listed = [(key.key_id, key.created) for key in self.listed()]
        lost = strays(rotation, listed, [self._keys.get(self.source).access_key_id])
        for key_id in lost:
            self._delete(key_id)
        self._keys.drop_aside(NEW, self.source)
        rotjournal.forget(self.source)
        done = f"deleted {', '.join(lost)} (made, but its secret was lost)" if lost else \
            "no new key had been made"
        self._say(f"Rolled back the rotation of {self.source!r}: {done}; the stored key "
                  f"{rotation.old_key_id} is unchanged.")

    def _roll_back(self, rotation: Rotation, why: str) -> None:
        assert rotation.new_key_id is not None
        self._delete(rotation.new_key_id)
        self._keys.drop_aside(NEW, self.source)
        rotjournal.forget(self.source)
        self._say(f"Rolled back the rotation of {self.source!r}: deleted the new key "
                  f"{rotation.new_key_id} ({why}); the stored key {rotation.old_key_id} is "
                  "unchanged.")

    def _finish(self, rotation: Rotation) -> None:
        self._keys.drop_aside(OLD, self.source)
        self._keys.drop_aside(NEW, self.source)
        rotjournal.forget(self.source)
