"""Source keys in the real keyring (Secret Service), and the Windows rules up to keyring's
interface."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from keyring.backends import fail, null

from tests.support.fakes import WinVaultKeyring
from traycreds.adapters.keystore import SERVICE, KeyStore, check_secure
from traycreds.core.errors import KeyringError, SourceKeyMissingError
from traycreds.core.models import Credentials

KEY = Credentials("AKID" + "K" * 16, "abc/DEF+" * 5)


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


def test_windows_keys_stay_on_this_machine(tmp_path: Path) -> None:
    backend = WinVaultKeyring()
    store = KeyStore(tmp_path / "s.json", backend=backend)
    store.put("me", KEY)
    assert backend.calls == [("set_password", SERVICE, "me", "local machine")]
    assert store.get("me") == KEY


def test_windows_size_limit_is_checked_before_writing(tmp_path: Path) -> None:
    backend = WinVaultKeyring()
    store = KeyStore(tmp_path / "s.json", backend=backend)
    with pytest.raises(KeyringError, match="2560 bytes"):
        store.put("me", Credentials("AKID" + "K" * 16, "s" * 1300))
    assert backend.calls == []  # refused before Credential Manager saw it


def test_chainer_with_only_insecure_backends_is_refused() -> None:
    class ChainerBackend:
        backends = (null.Keyring(),)

    with pytest.raises(KeyringError):
        check_secure(ChainerBackend())
