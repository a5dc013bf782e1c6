"""'Open cmd.exe / PowerShell / terminal as ROLE': a shell window whose SDKs run as the role.

The window gets the tray's endpoint and a token of its own (core/childenv.py), so every SDK
and the AWS CLI in it fetch fresh credentials for as long as it is open; forgetting the role
or quitting the tray ends the token. With ``[app] window_static_keys = true`` it also gets
static variables for tools that read only those: they win over the endpoint in the SDKs and
end at AWS_CREDENTIAL_EXPIRATION, so they are off by default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from traycreds.adapters import terminal
from traycreds.app.tokens import TokenRegistry
from traycreds.core import childenv
from traycreds.core.errors import TraycredsError
from traycreds.core.models import Credentials, Role
from traycreds.core.shells import environment

Launch = Callable[[str, str, Mapping[str, str]], None]


class WindowOpener:
    """``uri_of`` is the running endpoint's ``uri``; the tray sets it once it listens."""

    def __init__(self, tokens: TokenRegistry, role_of: Callable[[str], Role],
                 static_keys: Callable[[], bool], issue: Callable[[str], Credentials], *,
                 launch: Launch = terminal.open_window,
                 parent: Callable[[], Mapping[str, str]] = lambda: os.environ) -> None:
        self._tokens, self._role_of = tokens, role_of
        self._static_keys, self._issue = static_keys, issue
        self._launch, self._parent = launch, parent
        self.uri_of: Callable[[str], str] | None = None

    def open(self, name: str, kind: str) -> None:
        role = self._role_of(name)  # an unknown role's error says which names are close
        if self.uri_of is None:
            raise TraycredsError(
                "The tray's credentials endpoint is not running (see the log), so a window "
                f"would have nothing to ask. Use 'traycreds exec {role.name} -- SHELL' in a "
                "window of your own; it falls back to static credentials.",
                title="Cannot open a window")
        static = self._issue(role.name) if self._static_keys() else None  # MFA asked first
        token = self._tokens.issue(role.name)
        env = childenv.with_endpoint(
            self._parent(), role.name,
            childenv.Endpoint(self.uri_of(role.name), token, role.region))
        if static is not None:
            env.update(environment(static, role.region))
        try:
            self._launch(kind, f"traycreds: {role.display_name}", env)
        except TraycredsError:
            self._tokens.revoke(token)  # nobody holds it: it must not stay valid
            raise
