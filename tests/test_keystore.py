"""Source keys in the real keyring: the Secret Service on Linux, Credential Manager through
keyring's WinVaultKeyring on Windows (the wine lane). Elsewhere the Windows rules are checked
against the recording fake shaped like WinVaultKeyring (tests/support/fakes.py)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from keyring.backends import fail, null

from tests.support import WINDOWS, windows_only
from tests.support.fakes import WinVaultKeyring
from traycreds.adapters.keystore import SERVICE, KeyStore, check_secure
from traycreds.core.errors import KeyringError, SourceKeyMissingError
from traycreds.core.models import Credentials

KEY = Credentials("AKID" + "K" * 16, "abc/DEF+" * 5)
WORK_KEY = Credentials("AKID" + "W" * 16, "xyz/UVW+" * 5)


def test_round_trip_in_the_real_secret_service(secret_service: Any, tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "sources.json")
    store.put("me", KEY)
    assert store.get("me") == KEY
    assert store.index()["me"]["key_id"] == KEY.access_key_id
    assert KEY.secret_access_key not in (tmp_path / "sources.json").read_text()
    # What the keyring holds is ours: a small versioned document under our service.
    assert secret_service.get_password(SERVICE, "me").startswith('{"v": 1')
    assert store.remove("me") is True
    with pytest.raises(SourceKeyMissingError, match="traycreds keys add me"):
        store.get("me")
    assert store.remove("me") is False and store.index() == {}


def test_entry_written_by_someone_else_is_explained(secret_service: Any, tmp_path: Path) -> None:
    secret_service.set_password(SERVICE, "odd", "not json")
    with pytest.raises(KeyringError, match="not one traycreds wrote"):
        KeyStore(tmp_path / "s.json").get("odd")
    secret_service.delete_password(SERVICE, "odd")


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()])
def test_plaintext_or_null_backends_are_refused(backend: Any) -> None:
    with pytest.raises(KeyringError, match="Secret Service"):
        check_secure(backend)


# -- Windows Credential Manager: the real one on Windows (wine), the recording fake elsewhere --

CRED_TYPE_GENERIC = 1
CRED_PERSIST_LOCAL_MACHINE = 2  # wincred.h: stays on this computer, does not roam


@pytest.fixture
def vault() -> Iterator[Any]:
    """keyring's WinVaultKeyring over the real Credential Manager on Windows; elsewhere the
    recording fake shaped like it. Entries the test leaves behind are deleted."""
    if not WINDOWS:
        yield WinVaultKeyring()
        return
    from keyring.backends.Windows import WinVaultKeyring as RealWinVaultKeyring

    backend = RealWinVaultKeyring()
    yield backend
    for user in ("me", "work", "big"):
        with contextlib.suppress(Exception):
            backend.delete_password(SERVICE, user)


def stored(backend: Any, source: str) -> tuple[str, int] | None:
    """(the stored document, its persistence) as Credential Manager holds the source's entry,
    read with CredRead (Windows) or from the fake's record; None if there is none."""
    if not WINDOWS:
        persist = {"local machine": CRED_PERSIST_LOCAL_MACHINE}.get(str(backend.persist), 3)
        password = backend.store.get((SERVICE, source))
        return None if password is None else (password, persist)
    from win32ctypes.pywin32 import pywintypes, win32cred

    # keyring keeps the newest entry under the service name, older ones as "user@service".
    for target in (SERVICE, f"{source}@{SERVICE}"):
        try:
            cred = win32cred.CredRead(Type=CRED_TYPE_GENERIC, TargetName=target)
        except pywintypes.error:
            continue
        if cred["UserName"] == source:
            blob = bytes(cred["CredentialBlob"]).decode("utf-16-le")
            return blob, int(cred["Persist"])
    return None


def test_windows_keys_stay_on_this_machine(vault: Any, tmp_path: Path) -> None:
    """keyring's default persistence (enterprise) roams the entry to every machine of the
    domain profile; traycreds asks for CRED_PERSIST_LOCAL_MACHINE, read back with CredRead."""
    store = KeyStore(tmp_path / "s.json", backend=vault)
    store.put("me", KEY)
    store.put("work", WORK_KEY)  # keyring moves "me" to the target "me@traycreds"
    for source, key in (("me", KEY), ("work", WORK_KEY)):
        entry = stored(vault, source)
        assert entry is not None, source
        assert json.loads(entry[0])["secret"] == key.secret_access_key
        assert entry[1] == CRED_PERSIST_LOCAL_MACHINE, source
        assert store.get(source) == key
    assert store.remove("me") is True
    assert stored(vault, "me") is None and store.get("work") == WORK_KEY
    with pytest.raises(SourceKeyMissingError, match="traycreds keys add me"):
        store.get("me")
    assert store.remove("me") is False  # keyring's PasswordDeleteError: nothing there


def test_windows_size_limit_is_checked_before_writing(vault: Any, tmp_path: Path) -> None:
    """Credential Manager keeps at most CRED_MAX_CREDENTIAL_BLOB_SIZE (5 * 512 bytes) per
    entry: Microsoft, "CREDENTIALW structure (wincred.h)",
    https://learn.microsoft.com/en-us/windows/win32/api/wincred/ns-wincred-credentialw.
    wine does not enforce it (it stores 3000 bytes), so the refusal here is traycreds' own,
    made before Credential Manager sees the secret."""
    store = KeyStore(tmp_path / "s.json", backend=vault)
    with pytest.raises(KeyringError, match="2560 bytes"):
        store.put("big", Credentials("AKID" + "K" * 16, "s" * 1300))
    assert stored(vault, "big") is None
    assert store.index() == {}


@windows_only("keyring's own choice on Windows is the real Credential Manager")
def test_windows_default_backend_is_credential_manager_kept_local(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "s.json")
    assert type(store.backend).__name__ == "WinVaultKeyring"
    try:
        store.put("me", KEY)
        entry = stored(store.backend, "me")
        assert entry is not None and entry[1] == CRED_PERSIST_LOCAL_MACHINE
        assert KeyStore(tmp_path / "s.json").get("me") == KEY  # a fresh backend reads it
    finally:
        store.remove("me")
    assert stored(store.backend, "me") is None


def test_chainer_with_only_insecure_backends_is_refused() -> None:
    class ChainerBackend:
        backends = (null.Keyring(),)

    with pytest.raises(KeyringError):
        check_secure(ChainerBackend())


# -- the backend: keyring's own choice, without its discovery ---------------------------------


def test_default_backend_is_keyrings_own_choice(secret_service: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """What keyring's discovery picks (its env var, config file, then priority), computed
    afresh: the same backend, or keyring's chain led by it whose other members share its
    store (libsecret behind the Secret Service)."""
    from keyring import core

    from traycreds.adapters.keystore import default_backend

    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    ours, theirs = default_backend(), core._detect_backend()
    members = list(getattr(theirs, "backends", [theirs]))
    if type(theirs).__name__ == "ChainerBackend":
        assert [type(b).__name__ for b in members[1:]] in ([], ["Keyring"]), members
        assert all(type(b).__module__ == "keyring.backends.libsecret" for b in members[1:])
    assert type(members[0]) is type(ours)


def _discovery(monkeypatch: pytest.MonkeyPatch) -> object:
    """keyring's full discovery, replaced by a marker: which way default_backend() went."""
    import keyring

    marker = object()
    monkeypatch.setattr(keyring, "get_keyring", lambda: marker)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    return marker


def test_a_third_party_backend_leaves_the_choice_to_keyring(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """It may outrank the platform's backend (keyring sorts by priority): keyring decides."""
    from keyring.compat.py312 import metadata

    from traycreds.adapters.keystore import default_backend

    real = metadata.entry_points
    other = metadata.EntryPoint(name="other", value="keyrings.other.backend",
                                group="keyring.backends")

    def entry_points(**selection: Any) -> Any:
        found = list(real(**selection))
        return [*found, other] if selection.get("group") == "keyring.backends" else found

    marker = _discovery(monkeypatch)
    monkeypatch.setattr(metadata, "entry_points", entry_points)
    assert default_backend() is marker


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="KWallet is a Linux backend")
def test_kwallet_possible_leaves_the_choice_to_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """With dbus-python importable keyring's KWallet backend may be viable (and on KDE it
    outranks the Secret Service): keyring decides."""
    import importlib.machinery
    import types

    from traycreds.adapters.keystore import default_backend

    marker = _discovery(monkeypatch)
    dbus = types.ModuleType("dbus")
    dbus.__spec__ = importlib.machinery.ModuleSpec("dbus", None)
    monkeypatch.setitem(sys.modules, "dbus", dbus)
    assert default_backend() is marker
