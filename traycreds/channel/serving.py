"""What the running tray answers on the local channel: the same service, other callers.

Credentials come from the tray's engine (held ones reused, MFA asked on the
desktop), so a ``credential_process`` call costs a socket round trip instead of
a fresh Python with boto3, and never hangs on a terminal that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from traycreds.adapters import paths
from traycreds.app.service import AppService
from traycreds.channel.protocol import encode_credentials, encode_identity
from traycreds.core.document import IssuedCredentials
from traycreds.core.errors import UsageError
from traycreds.core.keys import check_source_name
from traycreds.core.models import utc_now
from traycreds.core.shells import format_expiration

Handler = Callable[[dict[str, Any]], Any]


def _text(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise UsageError(f"The request needs '{key}'.")
    return value


def handlers(service: AppService) -> dict[str, Handler]:
    def credentials(args: dict[str, Any]) -> dict[str, Any]:
        """A document, never lines to print: the caller checks it and renders it itself.
        DefaultShell is the settings' default_shell, for 'export' without --shell."""
        issued = service.issue_for_caller(_text(args, "role"), fresh=bool(args.get("fresh")))
        return encode_credentials(IssuedCredentials(issued.credentials, issued.region,
                                                    issued.notes, service.state.default_shell,
                                                    issued.chained))

    def source_credentials(args: dict[str, Any]) -> dict[str, Any]:
        # The one answer that carries a long-term key: for 'credential-process --source'.
        return encode_credentials(IssuedCredentials(service.source_key(_text(args, "source"))))

    def whoami(args: dict[str, Any]) -> dict[str, str]:
        return encode_identity(service.identity_for_caller(_text(args, "role")))

    def state(args: dict[str, Any]) -> dict[str, Any]:
        snapshot, now = service.state, utc_now()
        return {
            "active": snapshot.active,
            # Every role the tray serves and the files it read them from: 'traycreds roles'
            # run with other files (another TRAYCREDS_SETTINGS, as the demo's) says so.
            "names": [role.name for role in snapshot.roles],
            "files": {"settings": str(paths.settings_file()),
                      "aws_config": str(paths.aws_config_file())},
            "roles": {name: {"status": snapshot.status(name, now).value,
                             "expiration": format_expiration(s.expiration)
                             if s.expiration and s.held else None}
                      for name, s in snapshot.states.items()},
        }

    def forget(args: dict[str, Any]) -> dict[str, Any]:
        role = args.get("role")
        names = [role] if isinstance(role, str) and role else [r.name for r in
                                                               service.state.roles]
        for name in names:
            service.forget(name)
        return {"forgotten": names}

    def keys_changed(args: dict[str, Any]) -> dict[str, Any]:
        """The command line changed a key in the keyring: the tray drops the old one."""
        return {"forgotten": service.source_changed(check_source_name(_text(args, "source")))}

    def reload(args: dict[str, Any]) -> dict[str, Any]:
        service.reload()
        snapshot = service.state
        return {"roles": len(snapshot.roles), "problems": len(snapshot.broken)}

    return {"credentials": credentials, "forget": forget, "reload": reload,
            "keys-changed": keys_changed,
            "source-credentials": source_credentials,
            "whoami": whoami, "state": state}
