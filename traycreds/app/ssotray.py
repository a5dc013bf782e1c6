"""IAM Identity Center in the tray: sign-in when a click needs it, and the sessions' menu.

A click (or a program on the channel) on a role whose chain starts at an IAM Identity Center
role may find no usable token: the engine raises SsoSignInRequiredError. ``retry`` then runs
the device flow on the worker thread that met it (never the tray's): a notification and a
dialog show the code, the browser opens the page, and once the person approves, the original
job runs once more. One sign-in per session at a time: a second click on another role of the
same session waits for it and then uses its token instead of starting another.

The menu's "IAM Identity Center: NAME" items come here too: sign in, sign out, and a fresh
ListAccounts/ListAccountRoles whose cached result becomes roles (app/ssolisted.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from traycreds.app.ports import Dialogs, Notifier, SignInWindow
from traycreds.core.errors import ConfigError, SsoSignInRequiredError, TraycredsError
from traycreds.core.menu import Action
from traycreds.core.models import SsoTarget
from traycreds.core.roles import Catalog, resolve_chain
from traycreds.core.state import AppState

log = logging.getLogger(__name__)
T = TypeVar("T")
SIGN_IN_NOTE = "Sign in to IAM Identity Center"
KINDS = ("sso-sign-in", "sso-sign-out", "sso-refresh")
# A program on the channel waits 180 s for an answer (channel/remote.py TRAY_TIMEOUT): its
# sign-in stops polling before that, so the program hears why instead of nothing.
CALLER_LIMIT = 165.0


def _shown(text: str, limit: int = 200) -> str:
    """Text from the service, fit for a notification: printable and bounded."""
    return "".join(c for c in text if c.isprintable())[:limit]


class SsoSignIns:
    def __init__(self, dialogs: Dialogs, notifier: Notifier, *,
                 catalog: Callable[[], Catalog], reload: Callable[[], None],
                 update: Callable[[Callable[[AppState], AppState]], None],
                 background: Callable[[Callable[[], Any]], Future[Any]],
                 forget: Callable[[str], Any]) -> None:
        self._dialogs, self._notifier = dialogs, notifier
        self._catalog, self._reload, self._update = catalog, reload, update
        self._background, self._forget = background, forget
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._done: dict[str, int] = {}  # sign-ins finished per session: a waiter's check

    # -- a job that may need a sign-in ---------------------------------------------------
    def target_of(self, role: str) -> SsoTarget | None:
        """The IAM Identity Center role at the root of ``role``'s chain, if any."""
        try:
            root = resolve_chain(self._catalog(), role).root
        except ConfigError:
            return None
        return root.sso if root is not None else None

    def retry(self, role: str, job: Callable[[], T], *, limit: float | None = None) -> T:
        """``job``; when it needs a sign-in to ``role``'s session, sign in and run it once
        more (a second SsoSignInRequiredError is the caller's). ``limit``: seconds the
        sign-in may wait for the browser (default: app/sso.py's)."""
        target = self.target_of(role)
        if target is None:
            return job()
        before = self._finished(target)
        try:
            return job()
        except SsoSignInRequiredError:
            log.info("%s needs a sign-in to IAM Identity Center %s", role, target.login_name)
            self.sign_in(target, unless_since=before, limit=limit)
        return job()

    def for_caller(self, role: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``retry`` of ``call(*args, **kwargs)`` for a program on the channel: the sign-in
        ends before the program stops waiting."""
        return self.retry(role, lambda: call(*args, **kwargs), limit=CALLER_LIMIT)

    def _finished(self, target: SsoTarget) -> int:
        with self._guard:
            return self._done.get(target.login_name, 0)

    def _lock(self, target: SsoTarget) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(target.login_name, threading.Lock())

    def sign_in(self, target: SsoTarget, *, unless_since: int | None = None,
                limit: float | None = None) -> None:
        """The device flow with the dialog and a notification. With ``unless_since``: skip it
        when another sign-in to the session finished since (a click that waited for it)."""
        from traycreds.app.sso import SIGN_IN_LIMIT, SignInPrompt, sign_in

        with self._lock(target):
            if unless_since is not None and self._finished(target) != unless_since:
                return
            cancel = threading.Event()
            window: list[SignInWindow] = []

            def show(prompt: SignInPrompt) -> None:
                self._notifier.notify(
                    SIGN_IN_NOTE, f"Code {_shown(prompt.user_code, 20)} for {prompt.session}: "
                    f"check that the browser shows it, then approve. "
                    f"{_shown(prompt.verification_uri)}")
                window.append(self._dialogs.show_sign_in(prompt, cancel.set))

            try:
                sign_in(target, show, cancelled=cancel.is_set,
                        limit=SIGN_IN_LIMIT if limit is None else limit)
            finally:
                for opened in window:
                    opened.close()
            with self._guard:
                self._done[target.login_name] = self._done.get(target.login_name, 0) + 1
        self.show_sessions()

    # -- the menu ----------------------------------------------------------------------
    def show_sessions(self) -> None:
        """Each [sso-session]'s token expiry (or None) into the state, for the menu."""
        from traycreds.adapters import ssocache
        from traycreds.app.ssolisted import session_target

        found: dict[str, datetime | None] = {}
        for name, session in self._catalog().sessions.items():
            try:
                token = ssocache.load_token(session_target(session))
            except TraycredsError:
                token = None
            found[name] = token.expires_at if token is not None else None
        self._update(lambda state: replace(state, sso_sessions=found))

    def handler(self, action: Action) -> Callable[[], Any] | None:
        """The service's handler for the sessions' menu items, or None for other kinds."""
        if action.kind not in KINDS or not action.role:
            return None
        name = action.role
        jobs = {"sso-sign-in": self._menu_sign_in, "sso-sign-out": self._sign_out,
                "sso-refresh": self._refresh}
        job = jobs[action.kind]
        return lambda: self._background(lambda: job(name))

    def _session(self, name: str) -> SsoTarget:
        from traycreds.app.sso import target_for

        return target_for(self._catalog(), name)

    def _menu_sign_in(self, name: str) -> None:
        target = self._session(name)  # a second click while one runs waits, then stops
        self.sign_in(target, unless_since=self._finished(target))
        self._notifier.notify(SIGN_IN_NOTE, f"Signed in to {name}.")

    def _sign_out(self, name: str) -> None:
        from traycreds.app.sso import sign_out

        target = self._session(name)
        catalog = self._catalog()
        for role in list(catalog.roles):  # credentials got with the old token go too
            rooted = self.target_of(role)
            if rooted is not None and rooted.login_name == target.login_name:
                self._forget(role)
        sign_out(target)
        self._reload()
        self._notifier.notify("Signed out of IAM Identity Center", f"Signed out of {name}.")

    def _refresh(self, name: str) -> None:
        from traycreds.app.sso import IdentityCenter

        target = self._session(name)
        before = self._finished(target)
        try:
            accounts = IdentityCenter().accounts(target, refresh=True)
        except SsoSignInRequiredError:
            self.sign_in(target, unless_since=before)
            accounts = IdentityCenter().accounts(target, refresh=True)
        self._reload()
        count = sum(len(a.roles) for a in accounts)
        self._notifier.notify("IAM Identity Center roles",
                              f"{name}: {count} role(s) in {len(accounts)} account(s).")
