"""Version, help on every command, and the settings-file commands."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from traycreds import __version__
from traycreds.cli import config
from traycreds.cli.main import build_parser


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "traycreds", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def run_input(env: dict[str, str], stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "traycreds", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


def _commands(parser: argparse.ArgumentParser | None = None,
              prefix: tuple[str, ...] = ()) -> list[list[str]]:
    """Every command and sub-command the parser knows, found by walking it."""
    parser = parser or build_parser()
    found = [list(prefix)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*prefix, name))
    return found


def test_version(aws_env: Any) -> None:
    result = run(aws_env.env, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"traycreds {__version__}"


def _summaries(parser: argparse.ArgumentParser | None = None,
               prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Each subcommand's one-line summary, as its parent's command list shows it."""
    parser = parser or build_parser()
    found: dict[tuple[str, ...], str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: str(choice.help) for choice in action._choices_actions}
            for name, child in action.choices.items():
                found[(*prefix, name)] = helps.get(name, "")
                found.update(_summaries(child, (*prefix, name)))
    return found


SUMMARIES = _summaries()


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "top")
def test_help_on_every_command(aws_env: Any, command: list[str]) -> None:
    result = run(aws_env.env, *command, "--help")
    assert result.returncode == 0 and "usage: traycreds" in result.stdout
    if command:  # says what the command does, not only its usage
        summary = SUMMARIES[tuple(command)]
        assert summary, f"'traycreds {' '.join(command)}' has no help text"
        described = result.stdout.split("\n\n")[1].replace("\n", " ").lower()
        assert summary.lower().rstrip(".") in described, result.stdout


def test_help_lists_every_exit_code() -> None:
    from traycreds.cli.main import EPILOG
    from traycreds.core.errors import ExitCode

    listed = {int(n) for n in re.findall(r"(?<![\w-])(\d{1,2}) [A-Za-z]", EPILOG)}
    assert listed == {int(code) for code in ExitCode}


def test_messages_name_only_readme_sections_that_exist() -> None:
    """A message that sends the user to "README, 'X'" must find a section X there."""
    root = Path(__file__).resolve().parents[1]
    headings = {line.lstrip("#").strip() for line in
                (root / "README.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("#")}
    sources = "".join(p.read_text(encoding="utf-8") for p in (root / "traycreds").rglob("*.py"))
    named = set(re.findall(r"README, '([^']+)'", sources))
    assert named, "no message names a README section any more: drop this test"
    assert named <= headings, named - headings


def test_config_path_and_edit_create_a_commented_template(
        aws_env: Any, user_settings: Path) -> None:
    path = run(aws_env.env, "config", "path").stdout.strip()
    assert path == str(user_settings)
    # $EDITOR as users write it on each system. POSIX: a program in a folder with a space
    # (the whole value names the file) and a shell-style command line. Windows: a command
    # line with a quoted path full of backslashes, as CreateProcess reads it.
    folder = aws_env.home / "My Editor"
    folder.mkdir()
    if sys.platform == "win32":
        show = '"%s" -c "import sys; print(open(sys.argv[-1], encoding=\'utf-8\').read())"'
        editors = [show % sys.executable]  # and unquoted, as C:\tools\vim\gvim.exe is set:
        editors += [(show % sys.executable)[1:].replace('"', "", 1)] * (" " not in sys.executable)
    else:
        program = folder / "show"
        program.write_text('#!/bin/sh\nfor last; do :; done\nexec cat "$last"\n')
        program.chmod(0o755)
        editors = [str(program), f"{shlex.quote(str(program))} --ignored"]
    for editor in editors:
        result = run(dict(aws_env.env, EDITOR=editor), "config", "edit")
        assert result.returncode == 0, (editor, result.stderr)
        assert "[roles.sandbox]" in result.stdout, editor
    override = aws_env.home / "elsewhere.toml"
    assert run(dict(aws_env.env, TRAYCREDS_SETTINGS=str(override)), "config", "path") \
        .stdout.strip() == str(override)


def test_editor_command_reads_editor_as_each_system_does(tmp_path: Path) -> None:
    settings = r"C:\Users\Ana Lima\AppData\Roaming\traycreds\traycreds.toml"
    npp = r'"C:\Program Files\Notepad++\notepad++.exe" -multiInst'
    assert config.editor_command(npp, settings, platform="win32") == (
        r'"C:\Program Files\Notepad++\notepad++.exe" -multiInst '
        r'"C:\Users\Ana Lima\AppData\Roaming\traycreds\traycreds.toml"')
    assert config.editor_command("code --wait", "/home/a/x.toml", platform="linux") == [
        "code", "--wait", "/home/a/x.toml"]
    program = tmp_path / "My Editor.exe"
    program.write_bytes(b"")
    for platform in ("win32", "linux"):
        assert config.editor_command(str(program), "x.toml", platform=platform) == [
            str(program), "x.toml"]


def test_an_editor_that_cannot_start_is_named(aws_env: Any, user_settings: Path) -> None:
    result = run(dict(aws_env.env, EDITOR="no-such-editor-here --wait"), "config", "edit")
    assert result.returncode == 2, result.stderr
    assert "Cannot start the editor in $EDITOR (no-such-editor-here --wait)" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_check_reports_settings_problems(aws_env: Any, user_settings: Path) -> None:
    settings = user_settings
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('[app]\ndefault_shell = bash\n')
    result = run(aws_env.env, "config", "check")
    assert result.returncode == 3
    assert f"{settings}, line 2" in result.stdout


def test_no_roles_explains_where_to_add_them(aws_env: Any) -> None:
    result = run(aws_env.env, "roles")
    assert result.returncode == 0 and "No roles yet" in result.stdout


class _NoDialogs:
    """The Dialogs port for a tray nobody clicks: these tests ask the person nothing."""

    def _asked(self, *args: Any) -> Any:
        raise AssertionError(f"the tray asked the person something: {args!r}")

    ask_mfa = ask_new_key = ask_settings = show_about = _asked


class _Notes:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def notify(self, title: str, message: str) -> None:
        self.sent.append((title, message))


@pytest.fixture
def tray_with_other_files(aws_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The running tray's service and channel, started (as the demo starts it) with its own
    settings file and AWS config; yields that settings file. The test's command line runs
    with the user's own, empty files."""
    from traycreds.app.service import AppService
    from traycreds.channel.server import ChannelServer
    from traycreds.channel.serving import handlers

    base = Path(tempfile.mkdtemp(prefix="tc-", dir="/tmp"))  # sockets want a short path
    folder = aws_env.home / "demo"
    folder.mkdir()
    settings = folder / "settings.toml"
    settings.write_text('[roles.demo-admin]\nrole_arn = "arn:aws:iam::111122223333:role/Admin"\n'
                        'source_profile = "demo"\n')
    (folder / "aws-config").write_text("")
    monkeypatch.setenv("TRAYCREDS_RUNTIME_DIR", str(base / "traycreds"))
    monkeypatch.setenv("TRAYCREDS_SETTINGS", str(settings))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder / "aws-config"))
    service = AppService(_NoDialogs(), _Notes())
    service.start().result(timeout=30)
    assert [role.name for role in service.state.roles] == ["demo-admin"]
    try:
        with ChannelServer(handlers(service)):
            yield settings
    finally:
        service.shutdown()
        shutil.rmtree(base, ignore_errors=True)


def test_roles_shows_what_a_tray_started_with_other_files_serves(
        aws_env: Any, tray_with_other_files: Path, user_settings: Path) -> None:
    env = dict(aws_env.env, TRAYCREDS_RUNTIME_DIR=os.environ["TRAYCREDS_RUNTIME_DIR"])
    result = run(env, "roles")
    assert result.returncode == 0, result.stderr
    assert "No roles yet" not in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("demo-admin "))
    assert "served by the running tray" in row
    assert str(tray_with_other_files) in result.stderr  # the tray's files, named
    assert str(user_settings) in result.stderr  # ours
    data = json.loads(run(env, "roles", "--json").stdout)
    assert [r["name"] for r in data] == ["demo-admin"]
    # Asked not to use the tray, it reads only its own files, as before.
    alone = run(env, "--no-tray", "roles")
    assert alone.returncode == 0 and "No roles yet" in alone.stdout


@pytest.mark.usefixtures("desktop", "secret_service")
def test_export_copy_says_the_expiry_in_local_time(moto: Any, aws_env: Any) -> None:
    """The tray says 'Expires 14:05' in local time; 'export --copy' says the same."""
    user = moto.make_user()
    arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, arn)
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(f"[profile dev]\nrole_arn = {arn}\nsource_profile = me\n")
    zone = "Asia/Kolkata"  # UTC+05:30: never the same wall-clock time as UTC
    env = dict(aws_env.env, AWS_ENDPOINT_URL_STS=moto.url, TRAYCREDS_NO_TRAY="1", TZ=zone)
    added = run_input(env, f"{user.key_id}\n{user.secret}\n", "keys", "add", "me")
    assert added.returncode == 0, added.stderr
    result = run(env, "export", "dev", "--shell", "bash", "--copy")
    assert result.returncode == 0, result.stderr
    pasted = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                            text=True, timeout=10).stdout
    stamp = re.search(r"AWS_CREDENTIAL_EXPIRATION='([^']+)'", pasted)
    assert stamp, pasted[:40]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    expires = datetime.fromisoformat(stamp.group(1).replace("Z", "+00:00"))
    local = expires.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    assert f"they expire at {local} (" in result.stderr, result.stderr
    assert stamp.group(1) not in result.stderr  # not the UTC form


@pytest.mark.usefixtures("secret_service")
def test_who_am_i_names_the_question_and_leaves_the_active_role(
        aws_env: Any, sts_errors: Any) -> None:
    """The tray's "Who am I?" (the service the menu calls) against the scripted STS."""
    from traycreds.adapters import paths
    from traycreds.adapters.keystore import KeyStore
    from traycreds.app.service import AppService
    from traycreds.core.models import Credentials

    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(
        "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/Dev\nsource_profile = me\n"
        f"region = us-east-1\nendpoint_url = {sts_errors.url}\n")
    keys = KeyStore(paths.data_dir() / "sources.json")
    keys.put("me", Credentials("AKIA" + "WHOAMITEST" + "Q" * 6, "s" * 40))
    notes = _Notes()
    service = AppService(_NoDialogs(), notes)
    try:
        service.start().result(timeout=30)
        job = service.whoami("dev")
        assert job is not None
        job.result(timeout=60)
        assert notes.sent[-1][0] == "Who am I? dev", notes.sent
        assert notes.sent[-1][1].startswith("arn:aws:iam::123456789012:")
        assert service.state.active is None  # asking is not choosing
    finally:
        service.shutdown()
        keys.remove("me")


class _PystrayGtkIcon:
    """What the tray's Notifications is given on Linux: a pystray gtk icon, of which only
    the notification part is used here (pystray's own D-Bus notifier and its icon file)."""

    HAS_NOTIFICATION = True

    def __init__(self, icon_path: Path) -> None:
        from pystray._util.notify_dbus import Notifier

        self._notifier = Notifier()
        self._icon_path = str(icon_path)

    def notify(self, message: str, title: str | None = None) -> None:
        self._notifier.notify(title, message, self._icon_path)


@pytest.mark.usefixtures("desktop")
def test_tray_notifications_carry_the_app_name(notifications: Any, tmp_path: Path) -> None:
    """Notification servers show and group by app name; pystray sends an empty one."""
    from traycreds.core.state import Status
    from traycreds.tray.app import Notifications
    from traycreds.tray.icon import draw_icon

    icon_path = tmp_path / "icon.png"
    draw_icon(Status.FRESH, 64).save(icon_path)
    sender = Notifications()
    sender.icon = _PystrayGtkIcon(icon_path)
    sender.notify("Who am I? dev", "arn:aws:iam::123456789012:user/me")
    note = notifications.wait_for("Who am I? dev", timeout=10)
    assert note.app_name == "traycreds"
    assert note.body == "arn:aws:iam::123456789012:user/me"
