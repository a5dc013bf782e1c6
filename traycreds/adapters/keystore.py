"""Long-term access keys in the OS keyring, and nowhere else.

Each source key is one keyring entry (service ``traycreds``, user = the source
name) holding a small JSON document. Because keyring cannot list entries, a
non-secret index (source name -> access key id) sits in the data folder.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from traycreds.adapters import paths
from traycreds.adapters.atomic import write_atomic
from traycreds.core.errors import FileError, KeyringError, SourceKeyMissingError
from traycreds.core.models import Credentials

SERVICE = "traycreds"
# Windows Credential Manager: CRED_MAX_CREDENTIAL_BLOB_SIZE, and keyring stores UTF-16.
WINDOWS_BLOB_LIMIT = 2560

_INSECURE = (
    "keyring.backends.fail.Keyring",
    "keyring.backends.null.Keyring",
    "keyrings.alt.file.PlaintextKeyring",
)

HOW_TO_GET_A_KEYRING = (
    "traycreds keeps access keys only in the OS keyring. On Linux install and unlock a "
    "Secret Service (gnome-keyring or KWallet; e.g. 'apt install gnome-keyring' and log in "
    "to a desktop session); Windows and macOS have one built in. 'traycreds doctor' shows "
    "which keyring was found; README, 'Install', lists what to install."
)


# The backend keyring itself would pick on each platform when nothing is configured.
_PLATFORM_BACKENDS = {
    "linux": ("keyring.backends.SecretService", "Keyring"),
    "win32": ("keyring.backends.Windows", "WinVaultKeyring"),
    "darwin": ("keyring.backends.macOS", "Keyring"),
}
# keyring's own backends register under its entry-point group, as third-party ones do.
_KEYRING_OWN = "keyring.backends."


def _only_keyrings_own_backends() -> bool:
    """No third-party backend is installed (it could outrank the platform's) and, on Linux,
    KWallet cannot be viable: keyring's KWallet backend needs dbus-python, and on KDE it
    outranks the Secret Service. keyring's discovery loads this same entry-point group."""
    from keyring.compat.py312 import metadata

    entry_points = metadata.entry_points(group="keyring.backends")
    if any(not str(ep.value).startswith(_KEYRING_OWN) for ep in entry_points):
        return False
    return sys.platform != "linux" or importlib.util.find_spec("dbus") is None


def default_backend() -> Any:
    """keyring's choice, reached without its entry-point discovery where possible.

    ``keyring.get_keyring()`` imports every installed backend (about 75 ms, a third
    of a cold ``traycreds export``). keyring takes PYTHON_KEYRING_BACKEND, else
    keyringrc.cfg, else the viable backend of highest priority, chaining all viable
    ones when there are several (keyring/core.py, backends/chainer.py). When nothing is
    configured and only keyring's own backends are installed, that is the platform's
    backend: the only one on Windows and macOS; on Linux the Secret Service (priority 5),
    chained at most with libsecret (4.8), which reads and writes the same Secret Service
    items after it. If the platform backend is not viable (say no Secret Service), or
    anything else could be chosen, keyring's full discovery decides.
    """
    import keyring
    from keyring.util import platform_

    configured = os.environ.get("PYTHON_KEYRING_BACKEND") or \
        (platform_.config_root() / "keyringrc.cfg").exists()
    choice = _PLATFORM_BACKENDS.get(sys.platform)
    if not configured and choice is not None and _only_keyrings_own_backends():
        try:
            cls = getattr(importlib.import_module(choice[0]), choice[1])
            if cls.priority > 0:
                return cls()
        except Exception:  # not viable here: fall through to keyring's discovery
            pass
    return keyring.get_keyring()


def backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def effective_backends(backend: Any) -> list[Any]:
    inner = getattr(backend, "backends", None)
    if type(backend).__name__ == "ChainerBackend" and inner is not None:
        return list(inner)
    return [backend]


def check_secure(backend: Any) -> None:
    """Refuse backends that would keep keys in plain text or not at all."""
    usable = [b for b in effective_backends(backend) if backend_name(b) not in _INSECURE]
    if not usable:
        names = ", ".join(backend_name(b) for b in effective_backends(backend)) or "none"
        raise KeyringError(f"No secure keyring is available (found: {names}). "
                           + HOW_TO_GET_A_KEYRING)


def prepare_backend(backend: Any) -> None:
    """On Windows keep keys on this machine: keyring's default persistence roams them."""
    for item in effective_backends(backend):
        if type(item).__name__ == "WinVaultKeyring":
            item.persist = "local machine"


def check_size(backend: Any, payload: str) -> None:
    on_windows = any(type(b).__name__ == "WinVaultKeyring" for b in effective_backends(backend))
    if on_windows and len(payload.encode("utf-16-le")) > WINDOWS_BLOB_LIMIT:
        raise KeyringError(
            f"The key is too large for Windows Credential Manager ({WINDOWS_BLOB_LIMIT} bytes). "
            "Check that you pasted only the access key id and the secret access key."
        )


def _translate(exc: Exception, action: str) -> KeyringError:
    name = type(exc).__name__
    if name == "KeyringLocked":
        return KeyringError(f"The keyring is locked, so traycreds cannot {action}. "
                            "Unlock it (log in to your desktop session or open your keyring "
                            "manager) and try again.", title="Keyring locked")
    if name in ("NoKeyringError", "InitError"):
        return KeyringError(f"No keyring is available to {action}. " + HOW_TO_GET_A_KEYRING)
    return KeyringError(f"The keyring failed to {action} ({name}). Check that your keyring "
                        "service is running and unlocked, then try again.")


def _parse(raw: str) -> Credentials:
    """A keyring entry as traycreds writes it; ValueError for anything else."""
    try:
        data = json.loads(raw)
        return Credentials(access_key_id=data["id"], secret_access_key=data["secret"])
    except (ValueError, KeyError, TypeError):
        raise ValueError("not a traycreds entry") from None


class KeyStore:
    """Source keys in the keyring; ``backend`` is injectable for tests of the Windows rules."""

    def __init__(self, index_path: Path, backend: Any = None) -> None:
        self._index_path = index_path
        self._chosen = backend
        self._backend: Any = None

    @property
    def backend(self) -> Any:
        """keyring's choice (its env var, config file, then priority), checked and prepared."""
        if self._backend is None:
            backend = self._chosen
            if backend is None:
                try:
                    backend = default_backend()
                except Exception as exc:  # keyring raises plain exceptions on broken setups
                    raise _translate(exc, "start") from None
            check_secure(backend)
            prepare_backend(backend)
            self._backend = backend
        return self._backend

    def _read(self, entry: str, what: str) -> Credentials | None:
        """The entry's key; None when absent or not written by traycreds (``_parse``)."""
        try:
            raw = self.backend.get_password(SERVICE, entry)
        except KeyringError:
            raise
        except Exception as exc:
            raise _translate(exc, f"read {what}") from None
        return None if raw is None else _parse(raw)

    def get(self, source: str) -> Credentials:
        try:
            creds = self._read(source, f"the key {source!r}")
        except ValueError:
            raise KeyringError(f"The keyring entry for {source!r} is not one traycreds wrote. "
                               f"Remove and add it again: 'traycreds keys remove {source}' then "
                               f"'traycreds keys add {source}'.") from None
        if creds is None:
            raise SourceKeyMissingError(
                f"No access key is stored for {source!r}. Add it with "
                f"'traycreds keys add {source}', or move it out of ~/.aws/credentials with "
                f"'traycreds keys import {source}'."
            )
        return creds

    def _write(self, entry: str, creds: Credentials, what: str) -> None:
        payload = json.dumps({"v": 1, "id": creds.access_key_id,
                              "secret": creds.secret_access_key})
        backend = self.backend
        check_size(backend, payload)
        try:
            backend.set_password(SERVICE, entry, payload)
        except Exception as exc:
            raise _translate(exc, f"store {what}") from None

    def put(self, source: str, creds: Credentials) -> None:
        self._write(source, creds, f"the key {source!r}")
        index = self.index()
        index[source] = {"key_id": creds.access_key_id,
                         "added": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        self._write_index(index)

    def remove(self, source: str) -> bool:
        index = self.index()
        existed = source in index
        try:
            self.backend.delete_password(SERVICE, source)
            existed = True
        except Exception as exc:
            if type(exc).__name__ != "PasswordDeleteError":
                raise _translate(exc, f"remove the key {source!r}") from None
        index.pop(source, None)
        self._write_index(index)
        return existed

    def index(self) -> dict[str, dict[str, str]]:
        raw = paths.read_bounded(self._index_path, paths.KEY_INDEX_LIMIT, FileError)
        if raw is None:
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError too: an unreadable index lists nothing
            return {}
        return data if isinstance(data, dict) else {}

    def _write_index(self, index: dict[str, dict[str, str]]) -> None:
        write_atomic(self._index_path, json.dumps(index, indent=2, sort_keys=True))

    # A rotation's keys beside a source's own entry (app/rotation.py): the new key until it
    # is proven, the old one until IAM deletes it. Not in the index (``keys list`` shows
    # sources); the names hold ':', which no source name may (core/keys.py), so they never
    # collide with one.
    @staticmethod
    def aside_entry(kind: str, source: str) -> str:
        return f"rotation-{kind}:{source}"

    def put_aside(self, kind: str, source: str, creds: Credentials) -> None:
        self._write(self.aside_entry(kind, source), creds, f"the {kind} key of {source!r}")

    def get_aside(self, kind: str, source: str) -> Credentials | None:
        try:
            return self._read(self.aside_entry(kind, source), f"the {kind} key of {source!r}")
        except ValueError:
            return None  # not ours: as if absent (rotation then rolls back or stops)

    def drop_aside(self, kind: str, source: str) -> None:
        try:
            self.backend.delete_password(SERVICE, self.aside_entry(kind, source))
        except Exception as exc:
            if type(exc).__name__ != "PasswordDeleteError":
                raise _translate(exc, f"remove the {kind} key of {source!r}") from None
