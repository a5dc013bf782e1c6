"""``traycreds demo``: the whole product against a local STS/IAM, no AWS account needed.

It starts moto's server on loopback, creates a demo IAM user with an access
key and three roles (plain, behind MFA, chained), stores the key in the real
OS keyring under ``traycreds-demo`` and points traycreds at a demo settings
file and demo AWS files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE in a demo
folder), so nothing of the user's own AWS setup is read or changed. When it
ends it removes the demo key from the keyring and says so in one line.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traycreds.adapters import paths
from traycreds.adapters.atomic import write_atomic
from traycreds.core.errors import TraycredsError

if TYPE_CHECKING:
    from collections.abc import Callable

    from traycreds.cli.common import TrayFront

SOURCE = "traycreds-demo"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


def _trust(principal_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole"}]})


def _allow_assume(arns: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arns}]})


def start_server() -> tuple[Any, str]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise TraycredsError("The demo needs moto's server: pip install 'traycreds[demo]'.",
                             title="Demo not installed") from None
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on the console
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def provision(url: str) -> tuple[str, str, dict[str, dict[str, Any]]]:
    """Create the demo user, key and roles; returns (key id, secret, settings roles)."""
    from traycreds.adapters.sts import boto_session

    iam = boto_session().client("iam", region_name="us-east-1", endpoint_url=url,
                       aws_access_key_id="demo", aws_secret_access_key="demo")
    user = iam.create_user(UserName="demo-user")["User"]
    key = iam.create_access_key(UserName="demo-user")["AccessKey"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="demo-phone")
    serial = device["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="demo-user", SerialNumber=serial,
                          AuthenticationCode1="123456", AuthenticationCode2="654321")
    arns = {}
    for name in ("demo-readonly", "demo-admin"):
        arns[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(user["Arn"]),
                                     MaxSessionDuration=43200)["Role"]["Arn"]
    deploy = iam.create_role(RoleName="demo-deploy",
                             AssumeRolePolicyDocument=_trust(arns["demo-readonly"]))
    arns["demo-deploy"] = deploy["Role"]["Arn"]
    iam.put_user_policy(UserName="demo-user", PolicyName="assume-demo-roles",
                        PolicyDocument=_allow_assume([arns["demo-readonly"], arns["demo-admin"]]))
    roles = {
        "demo-readonly": {"role_arn": arns["demo-readonly"], "source_profile": SOURCE,
                          "region": "eu-west-1", "label": "Read-only", "group": "Demo",
                          "colour": "#2e7d32", "favourite": True},
        "demo-admin": {"role_arn": arns["demo-admin"], "source_profile": SOURCE,
                       "mfa_serial": serial, "duration_seconds": 7200, "region": "us-east-1",
                       "label": "Admin (MFA)", "group": "Demo", "colour": "#c62828"},
        # A region on every role: the AWS CLI lines the demo advises need one.
        "demo-deploy": {"role_arn": arns["demo-deploy"], "source_profile": "demo-readonly",
                        "region": REGION, "label": "Deploy (chained)", "group": "Demo",
                        "colour": "#1565c0"},
    }
    for fields in roles.values():
        fields["endpoint_url"] = url
    return key["AccessKeyId"], key["SecretAccessKey"], roles


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def settings_text(roles: dict[str, dict[str, Any]]) -> str:
    # No default_shell: the demo's tray copies for the platform's shell (cmd.exe on Windows),
    # as a real install does.
    lines = ["# Written by 'traycreds demo' for its local STS; rewritten on every demo run.",
             "", "[app]", ""]
    for name, fields in roles.items():
        lines.append(f"[roles.{name}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in fields.items()]
        lines.append("")
    return "\n".join(lines)


def demo_environment(folder: Path, url: str) -> dict[str, str]:
    """The variables that point traycreds and the AWS tools at the demo's files and STS.

    AWS_ENDPOINT_URL (every service, not only STS) keeps an AWS CLI line copied from the
    demo away from real AWS whatever service it calls; moto answers them all.
    """
    return {
        "TRAYCREDS_SETTINGS": str(folder / "settings.toml"),
        "AWS_CONFIG_FILE": str(folder / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "aws-credentials"),
        "AWS_ENDPOINT_URL": url,
    }


def environment_lines(env: dict[str, str]) -> str:
    """``export`` lines for bash/zsh that give another terminal the demo's setup."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())


def prepare(url: str) -> Path:
    """Provision the demo and point this process at it; returns the demo folder."""
    from traycreds.adapters.keystore import KeyStore
    from traycreds.core.models import Credentials

    folder = paths.data_dir() / "demo"
    key_id, secret, roles = provision(url)
    KeyStore(paths.data_dir() / "sources.json").put(SOURCE, Credentials(key_id, secret))
    write_atomic(folder / "settings.toml", settings_text(roles))
    write_atomic(folder / "aws-config", "# The demo's AWS config: it reads no profiles of "
                                        "yours. Rewritten on every demo run.\n")
    # Emptied on every run: "Write to credentials profile" writes here, not ~/.aws.
    write_atomic(folder / "aws-credentials", "")
    os.environ.update(demo_environment(folder, url))
    return folder


def remove_demo_key() -> str:
    """Remove the demo key from the keyring; returns the line that says what happened."""
    from traycreds.adapters.keystore import KeyStore

    store = KeyStore(paths.data_dir() / "sources.json")
    try:
        if SOURCE not in store.index():  # the demo failed before storing it
            return "traycreds demo: ended; no demo key was stored.\n"
        store.remove(SOURCE)
    except TraycredsError as error:
        return (f"traycreds demo: ended, but the demo key {SOURCE!r} is still in the keyring "
                f"({error.message}); remove it with: traycreds keys remove {SOURCE}\n")
    return (f"traycreds demo: ended; the demo key {SOURCE!r} is removed from the keyring "
            "and your ~/.aws files were not touched.\n")


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(run_command_line: Callable[[list[str]], int], tray: TrayFront | None) -> int:
    """The demo with ``tray`` (when a display can show it), else the command line's
    walkthrough, each command run by ``run_command_line`` as the console script runs it."""
    server, url = start_server()
    try:
        return _run_prepared(url, run_command_line, tray)
    finally:
        server.stop()
        sys.stdout.write(remove_demo_key())
        sys.stdout.flush()


def _run_prepared(url: str, run_command_line: Callable[[list[str]], int],
                  tray: TrayFront | None) -> int:
    folder = prepare(url)
    sys.stdout.write(
        f"traycreds demo: local STS at {url}, key stored as {SOURCE!r}, AWS files in {folder}.\n"
        "The demo STS accepts any six-digit MFA code.\n"
        "To follow the demo's advice (aws --profile ..., pasted exports) in another terminal "
        "while it runs, first paste these lines there:\n"
        + "".join("    " + line + "\n"
                  for line in environment_lines(demo_environment(folder, url)).splitlines())
        + "\n")
    if tray and has_display() and not _no_tray_host():
        sys.stdout.write("Starting the tray: click its icon, pick a role, choose "
                         "'Copy for ...', and paste. Quit from its menu to end the demo.\n")
        sys.stdout.flush()
        return tray.run()
    if tray:
        sys.stdout.write("No display here, so no tray: this is what the command line "
                         "gives on the same engine.\n\n")
    return _print_walkthrough(run_command_line)


def _no_tray_host() -> bool:
    """True (after saying so) when nothing would draw the tray's icon on this display."""
    from traycreds.adapters.desktop import tray_host_running

    if tray_host_running() is not False:
        return False
    sys.stdout.write(
        "No tray host runs on this display (no StatusNotifier watcher on D-Bus, no XEmbed "
        "system tray), so the tray's icon would be invisible. On GNOME, turn on the "
        "'AppIndicator and KStatusNotifierItem Support' extension; elsewhere start a panel "
        "with a tray (e.g. trayer), then run the demo again. Meanwhile, this is what the "
        "command line gives on the same engine.\n\n")
    return True


def _print_walkthrough(run_command_line: Callable[[list[str]], int]) -> int:
    for argv in (["roles"], ["export", "demo-readonly", "--shell", "bash"],
                 ["export", "demo-deploy", "--shell", "cmd"], ["whoami", "demo-deploy"],
                 ["write", "demo-readonly"]):
        sys.stdout.write(f"$ traycreds {' '.join(argv)}\n")
        sys.stdout.flush()
        code = run_command_line(argv)
        if code:
            return code
        sys.stdout.write("\n")
    return 0
