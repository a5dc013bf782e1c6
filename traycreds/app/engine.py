"""The provider chain: stored key -> MFA session -> role -> chained role.

The engine holds what it obtained in memory (never on disk) and reuses it:
one MFA session per (source key, MFA device) serves every role behind it, so
the user types one code, not one per role. STS and the keyring come in as
ports, so the chain is tested against a real STS with no test-only hooks.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

from traycreds.app.sources import KeyPort, Source, SourceChooser, stored_keys
from traycreds.core.endpoints import Endpoint, sts_endpoint
from traycreds.core.errors import CancelledError, ConfigError, MfaError
from traycreds.core.expiry import ADVISORY  # held credentials are reused only outside it
from traycreds.core.models import Credentials, Identity, MfaRequest, Role, utc_now
from traycreds.core.roles import Catalog, Chain, resolve_chain
from traycreds.core.shells import check_shapes

log = logging.getLogger(__name__)

MFA_SESSION_SECONDS = 8 * 3600  # a working day: one code in the morning
_TOTP = re.compile(r"^\d{6}$")
_CODE_MEMORY = timedelta(minutes=3)  # a TOTP code is valid for about 90 s around its window
_MFA_ATTEMPTS = 3
_Slot = TypeVar("_Slot")


class StsPort(Protocol):
    def assume_role(self, creds: Credentials, *, role_arn: str, session_name: str,
                    duration: int, endpoint: Endpoint, caller: str,
                    external_id: str | None = None, mfa_serial: str | None = None,
                    token_code: str | None = None) -> Credentials: ...

    def get_session_token(self, creds: Credentials, *, duration: int, endpoint: Endpoint,
                          caller: str, mfa_serial: str, token_code: str) -> Credentials: ...

    def get_caller_identity(self, creds: Credentials, *, endpoint: Endpoint,
                            caller: str) -> Identity: ...


# Returns six digits, or raises CancelledError when the user cancels.
MfaPrompt = Callable[[MfaRequest], str]


@dataclass(frozen=True)
class Issued:
    role: Role
    credentials: Credentials
    notes: tuple[str, ...] = ()
    # Reached through another role (role chaining): AWS caps such a session at one hour,
    # the console session made from it too (core/console.session_duration).
    chained: bool = False

    @property
    def region(self) -> str | None:
        return self.role.region


def default_session_name() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    clean = re.sub(r"[^\w+=,.@-]", "-", user)
    return f"traycreds-{clean}"[:64]


class Engine:
    def __init__(self, catalog: Catalog, keys: KeyPort, sts: StsPort, prompt_mfa: MfaPrompt,
                 *, env: Mapping[str, str] | None = None,
                 clock: Callable[[], datetime] = utc_now,
                 session_name: str | None = None,
                 sources: SourceChooser | None = None) -> None:
        self.catalog = catalog
        # What stands at each chain's root (app/sources.py): a stored key unless told.
        self._choose: SourceChooser = sources or stored_keys(keys)
        self._roots: dict[str, Source] = {}
        self._sts = sts
        self._prompt = prompt_mfa
        self._env = dict(os.environ if env is None else env)
        self._clock = clock
        self._session_name = session_name or default_session_name()
        self._sources: dict[str, Credentials] = {}
        self._mfa_sessions: dict[tuple[str, str], Credentials] = {}
        self._roles: dict[str, Credentials] = {}
        self._used_codes: dict[str, list[tuple[str, datetime]]] = {}
        # Bumped when a source key changes: what a walk begun with the old key obtains is
        # handed to its caller but never kept.
        self._generations: dict[str, int] = {}
        self._locks: dict[object, threading.Lock] = {}
        self._guard = threading.Lock()

    # -- public ---------------------------------------------------------------
    def issue(self, name: str, *, fresh: bool = False) -> Issued:
        """Credentials for role ``name``: held ones if fresh enough, else a new chain walk."""
        chain = resolve_chain(self.catalog, name)
        notes = tuple(hop.note for hop in chain.hops if hop.note)
        with self._lock(("role", name)):
            held = None if fresh else self._usable(self._roles.get(name), ADVISORY)
            if held is None:
                log.debug("assuming %s via %s (%d hop%s)", name, chain.source_key,
                          len(chain.hops), "" if len(chain.hops) == 1 else "s")
                generation = self._generation(chain.source_key)
                held = self._walk(chain, name, generation)
                # The one check of what every front end passes on (shell lines, files, the
                # channel): never held, so never handed out, unless shaped like AWS's values.
                check_shapes(held)
                self._keep(self._roles, name, held, chain.source_key, generation)
                log.info("assumed %s as %s, expires %s", name, held.access_key_id,
                         held.expiration)
            else:
                log.debug("reusing held credentials for %s", name)
        return Issued(chain.role, held, notes, chained=chain.chained)

    def held(self, name: str) -> Credentials | None:
        return self._roles.get(name)

    def identity(self, name: str) -> Identity:
        issued = self.issue(name)
        return self._sts.get_caller_identity(issued.credentials,
                                             endpoint=self.endpoint(issued.role),
                                             caller=f"role {name}")

    def source_identity(self, source: str, creds: Credentials | None = None) -> Identity:
        key = creds or self._source(source)
        return self._sts.get_caller_identity(key, endpoint=self.endpoint(None),
                                             caller=self._describe_key(source, key))

    def source_credentials(self, source: str) -> Credentials:
        key = self._source(source)
        check_shapes(key)
        return key

    def source_mfa_session(self, source: str, serial: str, asked: str) -> Credentials:
        """An MFA session of the stored key, for IAM calls a policy guards with MFA (key
        rotation): the same session, code prompt and used-code memory as roles get."""
        generation = self._generation(source)
        key = self._source(source, generation)
        return self._mfa_session(source, key, serial, None, asked, generation)

    def forget(self, name: str | None = None) -> None:
        """Drop held temporary credentials (one role, or all with MFA sessions and keys)."""
        with self._guard:
            if name is None:
                self._roles.clear()
                self._mfa_sessions.clear()
                self._sources.clear()
                self._roots.clear()
            else:
                self._roles.pop(name, None)

    def forget_source(self, source: str) -> list[str]:
        """The key named ``source`` changed (added, replaced, removed): drop it, the MFA
        sessions started with it and the roles issued from it. Returns those roles."""
        with self._guard:
            self._generations[source] = self._generations.get(source, 0) + 1
            self._sources.pop(source, None)
            self._roots.pop(source, None)
            for slot in [slot for slot in self._mfa_sessions if slot[0] == source]:
                del self._mfa_sessions[slot]
            dropped = [name for name in self._roles if self._started_at(name) in (source, None)]
            for name in dropped:
                del self._roles[name]
        return dropped

    def _started_at(self, name: str) -> str | None:
        """The source key of role ``name``'s chain; None when the catalog cannot tell (the
        role changed or went), which counts as possibly this key."""
        try:
            return resolve_chain(self.catalog, name).source_key
        except ConfigError:
            return None

    def endpoint(self, role: Role | None) -> Endpoint:
        return sts_endpoint(role, self._env)

    # -- the chain --------------------------------------------------------------
    def _generation(self, source: str) -> int:
        with self._guard:
            return self._generations.get(source, 0)

    def _keep(self, store: dict[_Slot, Credentials], slot: _Slot, creds: Credentials,
              source: str, generation: int) -> None:
        """Hold ``creds`` unless the source key changed while they were being obtained."""
        with self._guard:
            if self._generations.get(source, 0) == generation:
                store[slot] = creds

    def _walk(self, chain: Chain, asked: str, generation: int) -> Credentials:
        hops = chain.hops
        start, current, caller = 0, None, ""
        # A chained role starts from the nearest intermediate role still held.
        for index in range(len(hops) - 2, -1, -1):
            held = self._usable(self._roles.get(hops[index].role.name), ADVISORY)
            if held is not None:
                start, current, caller = index + 1, held, f"role {hops[index].role.name}"
                break
        if current is None:
            key = self._source(chain.source_key, generation)
            current, caller = key, self._describe_key(chain.source_key, key)
        for index in range(start, len(hops)):
            role = hops[index].role
            serial = role.mfa_serial
            # GetSessionToken takes a long-term key only: after an IAM Identity Center root the
            # code goes with the AssumeRole itself.
            if serial and index == 0 and chain.root is None:
                current = self._mfa_session(chain.source_key, current, serial, role, asked,
                                            generation)
                serial = None
            assume = partial(
                self._sts.assume_role, current, role_arn=role.role_arn,
                session_name=role.session_name or self._session_name,
                duration=hops[index].duration, endpoint=self.endpoint(role), caller=caller,
                external_id=role.external_id, mfa_serial=serial)
            current = self._with_code(serial, asked, assume) if serial else assume()
            if index < len(hops) - 1:
                self._keep(self._roles, role.name, current, chain.source_key, generation)
            caller = f"role {role.name}"
        return current

    def _root(self, source: str) -> Source:
        with self._guard:
            root = self._roots.get(source)
            if root is None:
                root = self._roots[source] = self._choose(source)
            return root

    def _source(self, source: str, generation: int | None = None) -> Credentials:
        """The root's credentials: held while they last (a stored key until it changes)."""
        generation = self._generation(source) if generation is None else generation
        with self._lock(("source", source)):
            key = self._usable(self._sources.get(source), ADVISORY)
            if key is None:
                key = self._root(source).fetch()
                self._keep(self._sources, source, key, source, generation)
            return key

    def _mfa_session(self, source: str, key: Credentials, serial: str, role: Role | None,
                     asked: str, generation: int) -> Credentials:
        slot = (source, serial)
        with self._lock(("mfa", slot)):
            held = self._usable(self._mfa_sessions.get(slot), ADVISORY)
            if held is None:
                log.debug("starting an MFA session for %s with %s", source, serial)
                held = self._with_code(serial, asked, partial(
                    self._sts.get_session_token, key, duration=MFA_SESSION_SECONDS,
                    endpoint=self.endpoint(role), caller=self._describe_key(source, key),
                    mfa_serial=serial))
                self._keep(self._mfa_sessions, slot, held, source, generation)
            return held

    def _with_code(self, serial: str, asked: str, use: Callable[..., Credentials]
                   ) -> Credentials:
        """Ask for a code and ``use`` it with STS; a code AWS refuses is asked for again,
        with the reason shown in the prompt, within the same budget of attempts."""
        problem = None
        for _ in range(_MFA_ATTEMPTS):
            code = self._prompt(MfaRequest(asked, serial, problem)).strip()
            problem = self._refuse_code(serial, code)
            if problem is not None:
                continue
            try:
                return use(token_code=code)
            except MfaError as error:  # STS said the code is wrong (adapters/sts.py)
                log.info("AWS refused the MFA code for %s", serial)
                problem = f"AWS refused that code: {error.message}"
        if problem is None:  # pragma: no cover - the loop always sets it
            raise CancelledError("No MFA code entered.")
        raise MfaError(
            f"No MFA code for {serial} was accepted after {_MFA_ATTEMPTS} tries. Last: "
            f"{problem} Check that the authenticator shows this device's codes and that this "
            "computer's clock is right, then try the role again.")

    def _refuse_code(self, serial: str, code: str) -> str | None:
        """Why ``code`` cannot go to AWS (None: it can; then it counts as used)."""
        if not _TOTP.match(code):
            return "An MFA code is exactly six digits."
        now = self._clock()
        recent = [(c, t) for c, t in self._used_codes.get(serial, []) if now - t < _CODE_MEMORY]
        if any(c == code for c, _ in recent):
            return "That code was already used; AWS refuses it twice. Wait for the next."
        self._used_codes[serial] = [*recent, (code, now)]
        return None

    # -- helpers ------------------------------------------------------------------
    def _usable(self, creds: Credentials | None, margin: timedelta) -> Credentials | None:
        if creds is None or creds.expiration is None:
            return creds
        return creds if creds.expiration - self._clock() > margin else None

    def _describe_key(self, source: str, key: Credentials) -> str:
        return self._root(source).describe(key)

    def _lock(self, slot: object) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(slot, threading.Lock())
