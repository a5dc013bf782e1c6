"""The app service: holds each role's state, runs commands off the UI thread, tells listeners.

Front ends (the tray, the local channel) call ``perform(Action)`` and render
``state``; they never touch boto3, the keyring or files themselves, and never
branch on library exceptions: failures arrive as ``Failure`` values.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from traycreds.adapters import paths
from traycreds.app.clipboard import TrayClipboard
from traycreds.app.context import Context, default_shell
from traycreds.app.expiry import ExpiryWatch
from traycreds.app.handover import HandOver
from traycreds.app.jobs import AppJobs
from traycreds.app.keycare import KeyCare
from traycreds.app.ports import Dialogs, Notifier
from traycreds.app.provider import open_console_in_browser
from traycreds.app.remembered import Remembered
from traycreds.app.ssotray import SsoSignIns
from traycreds.app.tokens import TokenRegistry
from traycreds.app.windows import WindowOpener
from traycreds.core.document import IssuedCredentials
from traycreds.core.errors import (
    CancelledError,
    ConfigError,
    MfaError,
    SourceKeyMissingError,
    TraycredsError,
)
from traycreds.core.menu import Action
from traycreds.core.models import Credentials, Identity, utc_now
from traycreds.core.state import AppState, Failure, RoleState

if TYPE_CHECKING:
    from traycreds.adapters.clipboard import Clipboard
    from traycreds.app.engine import Engine, Issued
    from traycreds.core.models import Role

log = logging.getLogger(__name__)
Listener = Callable[[], None]


def _failure(error: TraycredsError) -> Failure:
    return Failure(error.title, error.message,
                   needs_key=isinstance(error, SourceKeyMissingError))


def _with_role(state: AppState, name: str,
               change: Callable[[RoleState], RoleState]) -> AppState:
    states = dict(state.states)
    states[name] = change(states.get(name, RoleState()))
    return replace(state, states=states)


class AppService:
    def __init__(self, dialogs: Dialogs, notifier: Notifier, *,
                 clipboard: Callable[[], Clipboard] | None = None,
                 clock: Callable[[], datetime] = utc_now, workers: int = 4) -> None:
        self._dialogs = dialogs
        self._notifier = notifier
        self._clipboard = TrayClipboard(clipboard)
        self._clock = clock
        self._lock = threading.RLock()
        self._state = AppState(loading=True)
        self._listeners: list[Listener] = []
        self._executor = ThreadPoolExecutor(max_workers=workers,
                                            thread_name_prefix="traycreds-work")
        self._ctx: Context | None = None
        self._engine: Engine | None = None
        self._closed = False
        self.tokens = TokenRegistry()  # the credentials endpoint's, one per window or exec
        self.windows = WindowOpener(
            self.tokens, self.role, lambda: self._context().settings.app.window_static_keys,
            lambda role: self.issue_for_caller(role).credentials)
        self.jobs = AppJobs(dialogs, notifier, self._ensure_engine, self._context, self.reload,
                            key_changed=self.source_changed)
        self.expiry = ExpiryWatch(
            notifier, clock, state=lambda: self.state, engine=self._ensure_engine,
            context=self._context,
            reissue=lambda role: self._issue(role, fresh=True, activate=False),
            settled=lambda role: self._set_role(role, lambda s: replace(s, working=False)),
            guarded=lambda job: self._guarded(job, None),
            submit=self._executor.submit, redraw=self._notify_listeners)
        self.scheduler = self.expiry.scheduler
        self.remembered = Remembered(self._update, self._executor.submit)
        self.handover = HandOver(issue=self._issue, state=lambda: self.state,
                                 context=self._context, notifier=notifier,
                                 clipboard=self._clipboard, remembered=self.remembered,
                                 expiry=self.expiry)
        self.keycare = KeyCare(dialogs, notifier, self._context, self._update,
                               self._background, key_changed=self.source_changed)
        self.sso = SsoSignIns(dialogs, notifier, catalog=lambda: self._context().catalog,
                              reload=self.reload, update=self._update,
                              background=self._background, forget=self.forget)

    # -- state ----------------------------------------------------------------------
    @property
    def state(self) -> AppState:
        with self._lock:
            return self._state

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _update(self, change: Callable[[AppState], AppState]) -> None:
        with self._lock:
            before = self._state
            self._state = change(before)
            changed = self._state != before
        if changed:  # a caller reusing held credentials must not redraw the tray each time
            self._notify_listeners()

    def _notify_listeners(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a broken front end must not stop the service
                log.exception("state listener failed")

    def _set_role(self, name: str, change: Callable[[RoleState], RoleState]) -> None:
        self._update(lambda state: _with_role(state, name, change))

    # -- loading --------------------------------------------------------------------
    def start(self) -> Future[None]:
        """Read the roles and warm up the slow imports in the background."""
        self.scheduler.start()
        return self._executor.submit(self._load)

    def _load(self) -> None:
        # Only the files: boto3 and the keyring backend (about 20 MiB together) load on a
        # worker at the first click that needs them, so an idle tray stays small.
        self.remembered.load()
        self.reload()
        self.keycare.start()  # finish or roll back a rotation a crash left; check key ages
        if self._context().settings.app.clean_expired:
            self._guarded(self.expiry.clean_expired, None)

    def _context(self) -> Context:
        with self._lock:
            if self._ctx is None:
                self._ctx = Context()
            return self._ctx

    def _ensure_engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                # The deadline is read at each call: a reload applies a changed setting.
                self._engine = self._context().engine(self._dialogs.ask_mfa,
                                                      sts_deadline=self._sts_deadline)
            return self._engine

    def _sts_deadline(self) -> float:
        return self._context().settings.app.sts_timeout_seconds

    def reload(self) -> None:
        from traycreds.app import profiles

        fresh = Context()
        catalog, settings = fresh.catalog, fresh.settings
        with self._lock:
            self._ctx = fresh
            if self._engine is not None:
                old = self._engine.catalog.roles
                for name in set(old) | set(catalog.roles):
                    if old.get(name) != catalog.roles.get(name):
                        self._engine.forget(name)
                        self.scheduler.forget(name)
                self._engine.catalog = catalog
        known = set(catalog.roles)
        targets = profiles.write_targets(catalog.roles.values())

        def apply(state: AppState) -> AppState:
            return replace(
                state, loading=False,
                roles=tuple(catalog.roles[n] for n in sorted(catalog.roles, key=str.lower)),
                broken=tuple(catalog.broken.values()),
                problems=tuple(p for p in catalog.problems if p.role is None),
                states={n: s for n, s in state.states.items() if n in known},
                active=state.active if state.active in known else None,
                default_shell=default_shell(settings),
                warn_before_minutes=settings.app.warn_before_minutes,
                settings_path=settings.path, write_targets=targets)

        self._update(apply)
        self.sso.show_sessions()
        self.scheduler.set_thresholds(settings.app.warn_before_minutes)

    # -- commands -------------------------------------------------------------------
    def perform(self, action: Action) -> Future[Any] | None:
        """Run an action from a front end; slow work goes to the worker threads."""
        handlers: dict[str, Callable[[], Any]] = {
            "copy": lambda: self.copy(action.role or "", action.shell),
            "copy-active": self.copy_active,
            "write": lambda: self.write(action.role or ""),
            "whoami": lambda: self.whoami(action.role or ""),
            "window": lambda: self._background(
                lambda: self.windows.open(action.role or "", action.shell or "terminal")),
            "console": lambda: self.console(action.role or ""),
            "refresh": lambda: self.refresh(action.role or ""),
            "forget": lambda: self.forget(action.role or ""),
            "rotate-key": lambda: self._background(
                lambda: self.keycare.rotate(action.role or "")),
            "add-key": lambda: self._background(lambda: self.jobs.add_key(
                self._source_of(action.role) or "" if action.role else "")),
            "settings": lambda: self._background(self.jobs.edit_settings),
            "reload": lambda: self._background(self.reload),
            "open-settings": lambda: self._background(self.jobs.open_settings),
            "open-logs": lambda: self._background(self.jobs.open_logs),
            "about": lambda: self._dialogs.show_about(self.jobs.about_text()),
        }
        handler = handlers.get(action.kind) or self.sso.handler(action)
        if handler is None:
            log.warning("unknown action %s", action.kind)
            return None
        result = handler()
        return result if isinstance(result, Future) else None

    def _background(self, job: Callable[[], Any]) -> Future[Any]:
        return self._executor.submit(self._guarded, job, None)

    def _guarded(self, job: Callable[[], Any], role: str | None) -> Any:
        try:
            return job()
        except CancelledError:
            if role:
                self._set_role(role, lambda s: replace(s, working=False))
            return None
        except TraycredsError as error:
            failure = _failure(error)
        except Exception:
            log.exception("unexpected failure")
            failure = Failure("Internal error", "Something unexpected failed; details are "
                              f"in the log folder ({paths.log_dir()}).")
        if role:
            self._set_role(role, lambda s: s.failed(failure))
        self._notifier.notify(failure.title, failure.message)
        return None

    def _role_job(self, role: str, job: Callable[[], Any]) -> Future[Any] | None:
        """Run ``job`` for ``role`` unless a call for it is already in flight."""
        with self._lock:  # check and mark in one step: two clicks make one call
            current = self._state.states.get(role)
            if current is not None and current.working:
                log.debug("%s is busy; ignoring the second click", role)
                return None
            self._state = _with_role(self._state, role, RoleState.started)
        self._notify_listeners()
        return self._executor.submit(self._guarded, lambda: self.sso.retry(role, job), role)

    def _issue(self, role: str, *, fresh: bool = False, activate: bool = True) -> Issued:
        engine = self._ensure_engine()
        issued = engine.issue(role, fresh=fresh)  # checked there: never held unless passable
        now = self._clock()
        self._set_role(role, lambda s: s.succeeded(issued.credentials.expiration, now))
        if activate:
            self._update(lambda s: replace(s, active=role))
        self.expiry.track(role, issued.credentials.expiration)
        return issued

    def may_refresh_silently(self, role: str) -> bool:
        return self.expiry.may_refresh_silently(role)

    def copy(self, role: str, shell: str | None = None) -> Future[Any] | None:
        return self._role_job(role, lambda: self.handover.copy(role, shell))

    def copy_active(self) -> Future[Any] | None:
        """The icon's left click: the active role, handed over as it was last."""
        active = self.state.active
        return self._role_job(active, lambda: self.handover.again(active)) if active else None

    def write(self, role: str) -> Future[Any] | None:
        return self._role_job(role, lambda: self.handover.write(role))

    def whoami(self, role: str) -> Future[Any] | None:
        def job() -> None:
            engine = self._ensure_engine()
            self._issue(role, activate=False)  # a question, not a choice of the active role
            identity = engine.identity(role)
            self._notifier.notify(f"Who am I? {role}",
                                  f"{identity.arn} (account {identity.account})")

        return self._role_job(role, job)

    def console(self, role: str) -> Future[Any] | None:
        """The AWS console in the browser as ``role`` (the URL, a secret, kept off every
        command line: adapters/console.py)."""
        def job() -> None:
            issued = self._issue(role, activate=False)
            open_console_in_browser(IssuedCredentials(issued.credentials,
                                                      chained=issued.chained))

        return self._role_job(role, job)

    def refresh(self, role: str) -> Future[Any] | None:
        """New credentials, handed over again the way they last were; a role never handed
        over from the tray (only asked for by programs) is refreshed and nothing more."""
        def job() -> None:
            if role in self.state.handovers:
                self.handover.again(role, fresh=True)
            else:
                self._issue(role, fresh=True)

        return self._role_job(role, job)

    def forget(self, role: str) -> Future[Any] | None:
        self.tokens.forget(role)  # its windows get a refusal, never credentials, from now on
        with self._lock:
            if self._engine is not None:
                self._engine.forget(role)
        self._set_role(role, RoleState.forgotten)
        self.scheduler.forget(role)
        try:
            self._clipboard.clear_if(role)
        except TraycredsError as error:
            self._notifier.notify(error.title, error.message)
        return None

    def source_changed(self, source: str) -> list[str]:
        """A key was added, replaced, removed or imported: drop everything obtained with the
        old one (the cached key, its MFA sessions, the roles issued from it), so the next
        click uses the keyring's key without a restart. Returns the roles dropped."""
        with self._lock:
            engine = self._engine
        dropped = engine.forget_source(source) if engine is not None else []
        for name in dropped:
            self._set_role(name, RoleState.forgotten)
            self.scheduler.forget(name)
        # A failure shown for a role behind this key belongs to the old key: clear it too.
        stale = [name for name, held in self.state.states.items()
                 if held.error is not None and not held.working
                 and self._source_of(name) == source]
        for name in stale:
            self._set_role(name, lambda s: replace(s, error=None))
        log.info("key %r changed; dropped %d role(s) obtained with it", source, len(dropped))
        self.keycare.relist()
        return dropped

    def _source_of(self, role: str) -> str | None:
        from traycreds.core.roles import resolve_chain

        try:
            return resolve_chain(self._context().catalog, role).source_key
        except ConfigError:
            return None

    # -- callers on the local channel ---------------------------------------------------
    def issue_for_caller(self, role: str, *, fresh: bool = False) -> Issued:
        """Credentials for another program; the tray's state and warnings follow them."""
        try:
            return self.sso.for_caller(role, self._issue, role, fresh=fresh, activate=False)
        except TraycredsError as error:
            failure = _failure(error)
            self._set_role(role, lambda s: s.failed(failure))
            if isinstance(error, MfaError):  # the person typed codes into our dialog: tell them
                self._notifier.notify(error.title, error.message)
            raise

    def identity_for_caller(self, role: str) -> Identity:
        self.issue_for_caller(role)
        return self._ensure_engine().identity(role)

    def role(self, name: str) -> Role:
        """The role from the files (UnknownRoleError, ConfigError), even while loading."""
        return self._context().catalog.get(name)

    def source_key(self, source: str) -> Credentials:
        return self._ensure_engine().source_credentials(source)

    def held(self, role: str) -> Credentials | None:
        engine = self._engine
        return engine.held(role) if engine is not None else None

    # -- shutdown -----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Drop held credentials from memory and clear our clipboard content if unchanged."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.tokens.clear()
            if self._engine is not None:
                self._engine.forget()
        self.scheduler.stop()
        self.keycare.stop()
        try:
            self._clipboard.clear_if()
        except TraycredsError as error:
            log.warning("could not clear the clipboard: %s", error.title)
        self._executor.shutdown(wait=False, cancel_futures=True)
