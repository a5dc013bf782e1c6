"""The quick start as a newcomer meets it: scripts/demo.sh and scripts/setup-lib.sh, run by
real bash (and, for the keyring case, a real gnome-keyring on a private D-Bus session)."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import posix_only, require_program

pytestmark = posix_only("scripts/demo.sh and scripts/setup-lib.sh are bash scripts for "
                        "Linux and macOS (apt, python3-tk, gnome-keyring)")

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV = REPO_ROOT / ".venv"


def setup_lib(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in bash after sourcing scripts/setup-lib.sh as the scripts do."""
    prelude = (f"set -euo pipefail; repo_root={shlex.quote(str(REPO_ROOT))}; "
               f"cd \"$repo_root\"; die() {{ echo \"die: $*\" >&2; exit 1; }}; "
               "source scripts/setup-lib.sh; ")
    return subprocess.run(["bash", "-c", prelude + script], env=env, capture_output=True,
                          text=True, timeout=60)


def test_setup_builds_on_the_distributions_python_with_its_tk() -> None:
    """What pipx and a newcomer use on Debian/Ubuntu, whose python3 has no tkinter unless
    python3-tk is installed; a pyenv Python first on PATH must not hide that."""
    if not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("no distribution python3 here: setup-lib uses python3 on PATH")
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"}
    result = setup_lib('echo "$python"; system_packages', env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "/usr/bin/python3"
    assert {"python3-tk", "python3-venv", "python3-dev"} <= set(lines[1:])
    # PYTHON still chooses another interpreter, and then no Debian python packages.
    other = setup_lib('echo "$python"; system_packages', {**env, "PYTHON": "/bin/false"})
    assert other.stdout.splitlines()[0] == "/bin/false"
    assert "python3-tk" not in other.stdout


def test_install_venv_says_it_takes_a_while_and_lets_pip_show_progress(tmp_path: Path) -> None:
    """A fake venv python records how pip is called: not -q, after a line saying what
    happens and that it takes a minute or two."""
    calls = tmp_path / "calls"
    fake = tmp_path / "venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        "#!/bin/bash\n"
        f'if [ "${{1:-}}" = -m ]; then echo "$*" >>{shlex.quote(str(calls))}; exit 0; fi\n'
        # real_base: the same interpreter as $python, so the venv is not rebuilt
        f'if [ "${{1:-}}" = -c ] && [ -n "${{2:-}}" ]; then exec "$FAKE_BASE" "$@"; fi\n'
        'if [ "${1:-}" = -VV ]; then echo "Python 3.0 (fake)"; fi\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    base = os.environ.get("PYTHON") or "/usr/bin/python3"
    result = setup_lib(f"venv={shlex.quote(str(tmp_path / 'venv'))}; install_venv demo,linux",
                       {**os.environ, "FAKE_BASE": base, "PYTHON": base})
    assert result.returncode == 0, result.stderr
    assert "a minute or two" in result.stderr
    pip = calls.read_text().splitlines()
    assert len(pip) == 1 and pip[0].startswith("-m pip install ")
    assert "-q" not in pip[0].split() and "--quiet" not in pip[0]


@pytest.mark.usefixtures("desktop")
def test_demo_sh_with_a_keyring_that_has_no_default_collection(aws_env: Any) -> None:
    """gnome-keyring running without a login keyring would open a "choose password" window
    and the demo would wait on it, silent. demo.sh says so and uses a private keyring; its
    last lines say how to run traycreds afterwards."""
    for program in ("dbus-run-session", "gnome-keyring-daemon", "dbus-send"):
        require_program(program, "demo.sh's keyring check")
    fresh = aws_env.home.parent / "session"
    (fresh / "run").mkdir(parents=True, mode=0o700)
    env = {**aws_env.env, "XDG_DATA_HOME": str(fresh / "data"),
           "XDG_RUNTIME_DIR": str(fresh / "run")}
    env.pop("DISPLAY", None)
    session = (
        "gnome-keyring-daemon --foreground --components=secrets >/dev/null 2>&1 & "
        "keyring=$!; trap 'kill $keyring' EXIT; "
        "for _ in $(seq 100); do dbus-send --session --print-reply --dest=org.freedesktop.DBus "
        "/org/freedesktop/DBus org.freedesktop.DBus.ListNames | grep -q freedesktop.secrets "
        "&& break; sleep 0.1; done; "
        f"bash {shlex.quote(str(REPO_ROOT / 'scripts' / 'demo.sh'))} --no-tray")
    result = subprocess.run(["dbus-run-session", "--", "bash", "-c", session], env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "has no default collection" in result.stderr
    assert "using a private keyring for the demo instead" in result.stderr
    assert ":assumed-role/demo-deploy/" in result.stdout
    last = result.stderr.rstrip().splitlines()[-4:]
    assert f"    {VENV}/bin/traycreds            the tray" in last, last
    assert f"source {VENV}/bin/activate" in last[-1]
