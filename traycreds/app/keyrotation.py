"""Key rotation and key age, wired from the Context for both front ends.

``rotate`` and ``recover_all`` are what ``traycreds keys rotate`` and the tray's start run;
``key_ages`` is what ``keys list`` shows; ``due_warnings`` is the tray's once-per-key
warning about old keys (it then offers "Rotate access key NAME": core/menu.rotation_items).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from traycreds.adapters import rotjournal
from traycreds.core.endpoints import sts_endpoint
from traycreds.core.errors import ConfigError, TraycredsError
from traycreds.core.models import Credentials, MfaRequest, utc_now
from traycreds.core.roles import Catalog, resolve_chain
from traycreds.core.rotation import KeyAge, keys_to_warn

if TYPE_CHECKING:
    from traycreds.app.context import Context
    from traycreds.app.rotation import Rotator

log = logging.getLogger(__name__)
Say = Callable[[str], None]


def mfa_serial_for(catalog: Catalog, source: str) -> str | None:
    """The MFA device a profile using ``source`` names on its first hop, if any."""
    for name in sorted(catalog.roles):
        try:
            chain = resolve_chain(catalog, name)
        except ConfigError:
            continue
        if chain.source_key == source and chain.hops[0].role.mfa_serial:
            return chain.hops[0].role.mfa_serial
    return None


def rotator(ctx: Context, source: str, say: Say, prompt_mfa: Callable[[MfaRequest], str],
            on_switch: Callable[[str], None] | None = None) -> Rotator:
    from traycreds.adapters.iam import BotoIam
    from traycreds.adapters.sts import BotoSts
    from traycreds.app.rotation import Rotator

    deadline = ctx.settings.app.sts_timeout_seconds
    serial = mfa_serial_for(ctx.catalog, source)
    mfa: Callable[[], Credentials] | None = None
    if serial is not None:
        engine = ctx.engine(prompt_mfa)
        mfa = partial(engine.source_mfa_session, source, serial, f"rotating key {source}")
    return Rotator(source, ctx.keys, BotoIam(deadline), BotoSts(deadline=deadline),
                   sts_endpoint(None, ctx.env), say=say, mfa=mfa, on_switch=on_switch,
                   grace=timedelta(hours=ctx.settings.app.rotation_grace_hours))


def rotate(ctx: Context, source: str, say: Say, prompt_mfa: Callable[[MfaRequest], str], *,
           delete_now: bool = False, finish_only: bool = False,
           on_switch: Callable[[str], None] | None = None) -> bool:
    """Rotate ``source`` (or with ``finish_only`` only finish one under way, deleting the old
    key now). True when the stored key changed; ``on_switch`` is called when it does (a
    running tray should drop the old key), even if a later step then fails."""
    job = rotator(ctx, source, say, prompt_mfa, on_switch)
    if finish_only:
        pending = rotjournal.load().get(source)
        if pending is None:
            say(f"No rotation of {source!r} is under way.")
            return False
        job.resume(pending, delete_now=True)
    else:
        job.rotate(delete_now=delete_now)
    return job.switched


def recover_all(ctx: Context, say: Say, prompt_mfa: Callable[[MfaRequest], str]) -> list[str]:
    """Finish or roll back every rotation a crash left (the tray's start; old keys are
    deleted once their grace period is over). Returns the sources whose stored key changed.
    A failure is said and the rotation left for the next start: nothing is lost by waiting."""
    changed = []
    for source, pending in sorted(rotjournal.load().items()):
        try:
            job = rotator(ctx, source, say, prompt_mfa)
            job.resume(pending, delete_now=False)
        except TraycredsError as error:
            say(f"The rotation of {source!r} could not go on yet ({error.title}): "
                f"{error.message}")
            continue
        if job.switched:
            changed.append(source)
    return changed


def key_ages(ctx: Context, now: datetime | None = None) -> list[KeyAge]:
    """Each stored key's age and last use as IAM says, signed with that key; a key IAM
    could not be asked about carries the reason instead."""
    from traycreds.adapters.iam import BotoIam
    from traycreds.adapters.sts import BotoSts
    from traycreds.app.rotation import user_name

    deadline = ctx.settings.app.sts_timeout_seconds
    iam, sts = BotoIam(deadline), BotoSts(deadline=deadline)
    found = []
    for source, entry in sorted(ctx.keys.index().items()):
        key_id = str(entry.get("key_id", "?"))
        try:
            creds = ctx.keys.get(source)
            caller = f"the key {creds.access_key_id} ({source!r})"
            identity = sts.get_caller_identity(creds, endpoint=sts_endpoint(None, ctx.env),
                                               caller=caller)
            listed = iam.list_access_keys(creds, user_name(identity), caller)
            mine = next((k for k in listed if k.key_id == creds.access_key_id), None)
            last = iam.last_used(creds, creds.access_key_id, caller)
            found.append(KeyAge(source, creds.access_key_id, mine.created if mine else None,
                                last))
        except TraycredsError as error:
            found.append(KeyAge(source, key_id, None, None, error.title))
    return found


def due_warnings(ctx: Context, now: datetime | None = None,
                 ages: list[KeyAge] | None = None) -> list[KeyAge]:
    """Keys older than the setting not warned about before (of ``ages``, else asked now);
    remembered as warned now."""
    now = now or utc_now()
    warned = rotjournal.load_warned()
    ages = key_ages(ctx, now) if ages is None else ages
    due = keys_to_warn(ages, ctx.settings.app.key_warn_age_days, warned, now)
    if due:
        warned.update({age.source: age.key_id for age in due})
        rotjournal.save_warned(warned)
    return due
