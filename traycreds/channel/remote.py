"""The running tray as a Provider: each call is one request on the local channel.

Whatever comes back is checked (channel/protocol.py decodes it) before anyone prints it.
A tray that is not running, or fails the client's checks (another user's folder, key file
or process: named in a one-line warning), raises NotRunningError, which is what
``FallbackProvider`` waits for. Imports neither boto3 nor the keyring, nor typing.
"""

from __future__ import annotations

from traycreds.app.provider import Provider
from traycreds.channel import client
from traycreds.channel.protocol import decode_credentials, decode_endpoint, decode_identity
from traycreds.core.errors import NotRunningError

TYPE_CHECKING = False  # typing's import costs the fast path; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

    from traycreds.core.childenv import Endpoint
    from traycreds.core.document import IssuedCredentials
    from traycreds.core.models import Identity

# A request may wait for the person to type an MFA code into the tray's dialog.
TRAY_TIMEOUT = 180.0


class TrayProvider(Provider):
    def __init__(self, timeout: float = TRAY_TIMEOUT) -> None:
        self._timeout = timeout

    def issue(self, role: str, *, fresh: bool = False) -> IssuedCredentials:
        request: dict[str, object] = {"role": role, "fresh": True} if fresh else {"role": role}
        return decode_credentials(self._request("credentials", request))

    def identity(self, role: str) -> Identity:
        return decode_identity(self._request("whoami", {"role": role}))

    def source_key(self, source: str) -> IssuedCredentials:
        return decode_credentials(self._request("source-credentials", {"source": source}),
                                  temporary=False)

    def endpoint(self, role: str) -> Endpoint:
        """A token for the tray's credentials endpoint, for one child (``traycreds exec``)."""
        return decode_endpoint(self._request("endpoint-token", {"role": role}))

    def _request(self, op: str, args: dict[str, object]) -> Any:
        try:
            return client.request(op, args, timeout=self._timeout)
        except client.UntrustedTrayError as error:
            client.warn_untrusted(error)
            raise NotRunningError(error.message, title=error.title) from None
