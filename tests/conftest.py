"""Shared fixtures: a real STS (moto), a scripted STS (errors), an isolated AWS user
environment, the real Secret Service keyring and the real notification daemon.

Run the suite with ``bash scripts/test.sh``: it starts the private desktop session that the
``secret_service`` and ``notifications`` fixtures need. Outside it they skip, loudly; with
CI=true they fail instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import (
    ARTIFACTS,
    HARNESS_VARS,
    NOTIFY_LOG,
    AwsEnv,
    NotificationLog,
    in_desktop_session,
    not_tested,
    require_program,
)
from tests.support.dripserver import SOURCE_KEY, DripServer
from tests.support.errorserver import StsErrorServer
from tests.support.stsserver import MotoSts

if sys.platform != "win32":
    import pwd


def require_desktop_session(what: str) -> None:
    """Skip (fail under CI=true) unless we run inside scripts/desktop-session.sh."""
    if in_desktop_session():
        return
    if sys.platform == "win32":  # a deliberate platform skip, kept under CI=true
        pytest.skip(f"POSIX only ({what}): the Linux desktop session (D-Bus, Secret Service, "
                    "dunst, trayer) does not exist on Windows")
    not_tested(what, "needs the private desktop session (Xvfb, D-Bus, gnome-keyring, dunst, "
               "trayer). Run `bash scripts/test.sh` instead of bare pytest.")


@pytest.fixture
def other_user() -> Iterator[pwd.struct_passwd]:
    """A second Unix user, made for the test and removed after it (needs root, as in CI)."""
    if os.geteuid() != 0:
        not_tested("another Unix user", "needs root to add a user")
    for program in ("useradd", "userdel"):
        require_program(program, "another Unix user")
    name = f"tcx{os.getpid() % 100000}{next(_users)}"
    subprocess.run(["useradd", "-M", "-s", "/bin/sh", name], check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


_users = itertools.count()


@pytest.fixture(scope="session")
def desktop() -> None:
    """Require the private desktop session (X display, tray host, D-Bus services)."""
    require_desktop_session("the X display and tray host")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Directory kept by CI for screenshots and logs."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def moto(artifacts: Path) -> Iterator[MotoSts]:
    """moto's server in a subprocess with IAM authentication enforced (see MotoSts)."""
    server = MotoSts.start(artifacts / "moto")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sts_error_server() -> Iterator[StsErrorServer]:
    """The scripted STS server for the whole session; tests use ``sts_errors``."""
    server = StsErrorServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sts_errors(sts_error_server: StsErrorServer) -> Iterator[StsErrorServer]:
    """The scripted STS server, reset: no script, no recorded requests."""
    sts_error_server.reset()
    yield sts_error_server
    sts_error_server.reset()


@pytest.fixture
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AwsEnv:
    """An AWS user with nothing configured: fresh HOME and XDG dirs, no AWS_* variables.

    Keeps DISPLAY, DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR (keyring and tray need them).
    """
    home = tmp_path / "home"
    dirs = {
        "XDG_CONFIG_HOME": tmp_path / "xdg-config",
        "XDG_DATA_HOME": tmp_path / "xdg-data",
        "XDG_STATE_HOME": tmp_path / "xdg-state",
        "XDG_CACHE_HOME": tmp_path / "xdg-cache",
    }
    for path in (home, *dirs.values()):
        path.mkdir(parents=True, exist_ok=True)

    for name in list(os.environ):
        if name.startswith("AWS_") or (name.startswith("TRAYCREDS_") and name not in HARNESS_VARS):
            monkeypatch.delenv(name)

    aws_config = home / ".aws" / "config"
    aws_credentials = home / ".aws" / "credentials"
    monkeypatch.setenv("HOME", str(home))
    if sys.platform == "win32":  # Windows' home ("~", Path.home()) is USERPROFILE
        monkeypatch.setenv("USERPROFILE", str(home))
        # traycreds' settings, key index, logs and channel key (paths.windows_local_folder)
        local = tmp_path / "localappdata"
        local.mkdir()
        monkeypatch.setenv("LOCALAPPDATA", str(local))
    for name, path in dirs.items():
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    return AwsEnv(
        home=home,
        aws_config=aws_config,
        aws_credentials=aws_credentials,
        config_home=dirs["XDG_CONFIG_HOME"],
        data_home=dirs["XDG_DATA_HOME"],
        state_home=dirs["XDG_STATE_HOME"],
        cache_home=dirs["XDG_CACHE_HOME"],
        env=dict(os.environ),
    )


@pytest.fixture(scope="session")
def secret_service() -> Any:
    """The OS keyring traycreds will meet, checked to be the active backend and working: the
    Secret Service (gnome-keyring in the private desktop session) on Linux; on Windows (the
    wine lane, whose prefix is thrown away after each run) the real Credential Manager."""
    import keyring

    if sys.platform == "win32":
        from keyring.backends import Windows

        active = keyring.get_keyring()
        assert isinstance(active, Windows.WinVaultKeyring), f"keyring's backend is {active!r}"
        return _probed(active)
    require_desktop_session("the Secret Service keyring")
    from keyring.backends import SecretService, chainer

    active = keyring.get_keyring()
    first = active
    if isinstance(active, chainer.ChainerBackend):
        backends = list(active.backends)
        assert backends, "keyring's ChainerBackend has no backends"
        first = backends[0]
    assert isinstance(first, SecretService.Keyring), (
        f"keyring's active backend is {active!r} (first: {first!r}), not SecretService; "
        "is gnome-keyring running with --components=secrets?"
    )
    return _probed(first)


def _probed(backend: Any) -> Any:
    """``backend`` once a store, read and delete worked: a locked Secret Service collection
    fails here, clearly, instead of prompting in a test and being dismissed."""
    probe = ("traycreds-test-probe", "probe")
    backend.set_password(*probe, "ok")
    assert backend.get_password(*probe) == "ok", f"{backend!r} did not return what we stored"
    backend.delete_password(*probe)
    return backend


@pytest.fixture
def notifications() -> NotificationLog:
    """Notifications sent from now on, as the real notification daemon received them."""
    require_desktop_session("desktop notifications")
    assert NOTIFY_LOG, "TRAYCREDS_TEST_NOTIFY_LOG is not set by the desktop session"
    return NotificationLog(Path(NOTIFY_LOG))


@pytest.fixture
def drip() -> Iterator[DripServer]:
    """A loopback endpoint that misbehaves at the socket level (see dripserver.py)."""
    server = DripServer().start()
    yield server
    server.stop()


@pytest.fixture
def drip_keys(tmp_path: Path) -> Any:
    """A key store holding SOURCE_KEY as ``me`` (for dripserver.engine_at)."""
    from traycreds.adapters.keystore import KeyStore

    store = KeyStore(tmp_path / "sources.json")
    store.put("me", SOURCE_KEY)
    return store



# Test modules that import POSIX-only modules at the top, so Windows CPython cannot even
# collect them (scripts/test-windows.sh). Each is POSIX through and through; the reason is
# printed at the end of the run, so what Windows does not run is never silent.
POSIX_MODULES = {
    "test_channel.py": "the Unix-socket channel (imports pwd)",
    "test_channel_trust.py": "the Unix channel's trust checks: SO_PEERCRED, modes (imports pwd)",
    "test_hardening.py": "core dumps, dumpability, rlimits (imports resource)",
}


_not_collected: set[str] = set()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if sys.platform == "win32" and collection_path.name in POSIX_MODULES:
        # Reported only when asked for (pytest also offers a requested file's neighbours).
        asked = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
                 for arg in config.args]
        if any(collection_path == a or a in collection_path.parents for a in asked):
            _not_collected.add(collection_path.name)
        return True
    return None


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for name in sorted(_not_collected):
        terminalreporter.write_line(
            f"NOT COLLECTED on Windows: tests/{name}: POSIX only: {POSIX_MODULES[name]}")


@pytest.fixture
def user_settings(aws_env: AwsEnv) -> Path:
    """Where the user's own settings.toml is: under aws_env's XDG_CONFIG_HOME on Linux, under
    its %LOCALAPPDATA% on Windows."""
    if sys.platform == "win32":
        return Path(os.environ["LOCALAPPDATA"]) / "traycreds" / "settings.toml"
    return aws_env.config_home / "traycreds" / "settings.toml"


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TRAYCREDS_RUNTIME_DIR: a short path (Unix sockets allow ~100 bytes) below a private
    temporary folder; ``folder`` is also what XDG_RUNTIME_DIR=base would give. Not created."""
    base = Path(tempfile.mkdtemp(prefix="tc-", dir="/tmp" if os.path.isdir("/tmp") else None))
    folder = base / "traycreds"
    monkeypatch.setenv("TRAYCREDS_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(base, ignore_errors=True)



@pytest.fixture(autouse=True)
def _core_limit_kept() -> Iterator[None]:
    """A test that runs a command in pytest's own process must not let it lower the core
    dump limit (harden_process) for good: the hard limit cannot be raised again, so every
    later test whose child raises its own (test_hardening, test_fastpath's tray) would fail
    far from the cause. Fail the test that did it instead."""
    if not sys.platform.startswith("linux"):
        yield
        return
    import resource

    before = resource.getrlimit(resource.RLIMIT_CORE)
    yield
    after = resource.getrlimit(resource.RLIMIT_CORE)
    assert after == before, (
        f"this test lowered pytest's own RLIMIT_CORE from {before} to {after}: patch "
        "traycreds.adapters.hardening.harden_process (see tests/test_provider.py unhardened)")
