"""One way to get credentials for every front end (maestral's daemon proxy is the model).

A ``Provider`` issues a role's credentials, renders them for a shell, says whose they are
and serves a stored source key. ``LocalProvider`` runs the engine in this process;
``channel/remote.TrayProvider`` asks the running tray, which answers with its own engine.
The command line picks one per command (``cli/providers.py``): the tray's when one runs,
else this process's, and falls back once, on the first call, never per call.

A feature that consumes credentials (a shell's lines, credential_process JSON, a profile
in ~/.aws/credentials, a console sign-in URL) is one core function fed by ``issue``.
This module stays light: the fast path (tray running) imports it before anything else.
"""

from __future__ import annotations

import sys

from traycreds.core import shells
from traycreds.core.document import IssuedCredentials, Rendered
from traycreds.core.errors import NotRunningError

TYPE_CHECKING = False  # typing's import costs the fast path; mypy treats this name as true
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    from traycreds.app.context import Context
    from traycreds.app.engine import Engine, MfaPrompt
    from traycreds.core.models import Identity

    _T = TypeVar("_T")


class Provider:
    """What every provider answers; ``render`` is the same for all of them."""

    def issue(self, role: str, *, fresh: bool = False) -> IssuedCredentials:
        raise NotImplementedError

    def identity(self, role: str) -> Identity:
        raise NotImplementedError

    def source_key(self, source: str) -> IssuedCredentials:
        """The stored long-term key itself (no STS call): for 'credential-process --source'."""
        raise NotImplementedError

    def console_url(self, role: str, *, destination: str | None = None,
                    region: str | None = None, duration: int | None = None) -> str:
        """A sign-in URL for the AWS console as ``role`` (a secret: never log it)."""
        from traycreds.core import console

        dest = console.destination(destination, region)  # a bad option fails before STS
        return signin_url(self.issue(role), dest, duration)

    def render(self, role: str, shell: str | None = None, *, fresh: bool = False) -> Rendered:
        """The role's credentials as lines for ``shell`` (the default shell of the settings
        where they were issued when None), or credential_process JSON for "json"."""
        chosen = shells.normalize_shell(shell) if shell else None  # a typo fails before STS
        issued = self.issue(role, fresh=fresh)
        chosen = chosen or shells.normalize_shell(
            shells.default_shell(sys.platform, issued.default_shell))
        return Rendered(shells.render(chosen, issued.credentials, issued.region), chosen, issued)


class LocalProvider(Provider):
    """The engine in this process: keys from the keyring, MFA asked by ``prompt``."""

    def __init__(self, context: Context, prompt: MfaPrompt) -> None:
        self._context, self._prompt = context, prompt
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._context.engine(self._prompt)
        return self._engine

    def issue(self, role: str, *, fresh: bool = False) -> IssuedCredentials:
        issued = self.engine.issue(role, fresh=fresh)
        return IssuedCredentials(issued.credentials, issued.region, issued.notes,
                                 self._context.settings.app.default_shell, issued.chained)

    def identity(self, role: str) -> Identity:
        return self.engine.identity(role)

    def source_key(self, source: str) -> IssuedCredentials:
        return IssuedCredentials(self.engine.source_credentials(source))

    def source_identity(self, source: str) -> Identity:
        return self.engine.source_identity(source)


class FallbackProvider(Provider):
    """``primary`` (the tray) until it says it is not there, then ``fallback()`` for good."""

    def __init__(self, primary: Provider, fallback: Callable[[], Provider]) -> None:
        self._primary: Provider | None = primary
        self._make_fallback = fallback
        self._fallback: Provider | None = None

    @property
    def chosen(self) -> Provider:
        """The provider that answers now (the fallback once the primary was found absent)."""
        if self._primary is not None:
            return self._primary
        if self._fallback is None:
            self._fallback = self._make_fallback()
        return self._fallback

    def _ask(self, call: Callable[[Provider], _T]) -> _T:
        if self._primary is not None:
            try:
                return call(self._primary)
            except NotRunningError:  # no tray, or one that failed the checks (it warned)
                self._primary = None
        return call(self.chosen)

    def issue(self, role: str, *, fresh: bool = False) -> IssuedCredentials:
        return self._ask(lambda provider: provider.issue(role, fresh=fresh))

    def identity(self, role: str) -> Identity:
        return self._ask(lambda provider: provider.identity(role))

    def source_key(self, source: str) -> IssuedCredentials:
        return self._ask(lambda provider: provider.source_key(source))


def signin_url(issued: IssuedCredentials, destination: str, duration: int | None = None) -> str:
    """The console sign-in URL for issued credentials: getSigninToken, then the login URL."""
    from traycreds.adapters import console as outside
    from traycreds.core import console

    url = outside.federation_url()
    query = console.signin_token_query(
        issued, console.session_duration(duration, chained=issued.chained))
    return console.login_url(url, outside.fetch_signin_token(url, query), destination)


def open_console_in_browser(issued: IssuedCredentials) -> None:
    """The tray's "Open AWS console as ROLE": the default destination in the browser, through
    the private page (adapters/console.py), which a timer in this long-lived process removes."""
    from traycreds.adapters.console import open_in_browser, remove_later
    from traycreds.core.console import DEFAULT_DESTINATION

    remove_later(open_in_browser(signin_url(issued, DEFAULT_DESTINATION)), detached=False)
