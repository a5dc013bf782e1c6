"""``traycreds demo``: the whole product against a local STS/IAM, no AWS account needed.

It starts moto's server on loopback, creates a demo IAM user with an access
key and three roles (plain, behind MFA, chained), stores the key in the real
OS keyring under ``traycreds-demo`` and points traycreds at a demo settings
file, so nothing of the user's own AWS setup is read or changed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from traycreds.adapters import paths
from traycreds.adapters.atomic import write_atomic
from traycreds.core.errors import TraycredsError

SOURCE = "traycreds-demo"
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
        "demo-deploy": {"role_arn": arns["demo-deploy"], "source_profile": "demo-readonly",
                        "label": "Deploy (chained)", "group": "Demo", "colour": "#1565c0"},
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
    lines = ["# Written by 'traycreds demo' for its local STS; rewritten on every demo run.",
             "", "[app]", 'default_shell = "bash"', ""]
    for name, fields in roles.items():
        lines.append(f"[roles.{name}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in fields.items()]
        lines.append("")
    return "\n".join(lines)


def prepare(url: str) -> Path:
    """Provision the demo and point this process at it; returns the demo folder."""
    from traycreds.adapters.keystore import KeyStore
    from traycreds.core.models import Credentials

    folder = paths.data_dir() / "demo"
    key_id, secret, roles = provision(url)
    KeyStore(paths.data_dir() / "sources.json").put(SOURCE, Credentials(key_id, secret))
    write_atomic(folder / "settings.toml", settings_text(roles))
    write_atomic(folder / "aws-config", "# The demo reads no AWS profiles of yours.\n")
    os.environ["TRAYCREDS_SETTINGS"] = str(folder / "settings.toml")
    os.environ["AWS_CONFIG_FILE"] = str(folder / "aws-config")
    os.environ["AWS_ENDPOINT_URL_STS"] = url
    return folder


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(*, tray: bool = True) -> int:
    server, url = start_server()
    try:
        prepare(url)
        sys.stdout.write(f"traycreds demo: local STS at {url}, key stored as {SOURCE!r}.\n"
                         "The demo STS accepts any six-digit MFA code.\n\n")
        if tray and has_display():
            sys.stdout.write("Starting the tray: click its icon, pick a role, choose "
                             "'Copy for ...', and paste. Quit from its menu to end the demo.\n")
            sys.stdout.flush()
            from traycreds.tray.main import run_tray

            return run_tray()
        if tray:
            sys.stdout.write("No display here, so no tray: this is what the command line "
                             "gives on the same engine.\n\n")
        return _print_walkthrough()
    finally:
        server.stop()


def _print_walkthrough() -> int:
    from traycreds.cli.main import main

    for argv in (["roles"], ["export", "demo-readonly", "--shell", "bash"],
                 ["export", "demo-deploy", "--shell", "cmd"], ["whoami", "demo-deploy"]):
        sys.stdout.write(f"$ traycreds {' '.join(argv)}\n")
        sys.stdout.flush()
        code = main(argv)
        if code:
            return code
        sys.stdout.write("\n")
    return 0
