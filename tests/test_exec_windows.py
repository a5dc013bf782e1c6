"""``traycreds exec`` on Windows CPython (the wine lane) without a tray: ``cmd /c`` runs a
Windows-CPython boto3 child that reads the static variables exec put in its environment
and asks moto's STS who it is. The argument list goes to CreateProcess as given."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.support import AwsEnv, windows_only

pytestmark = windows_only("cmd.exe as the command of traycreds exec")

WHO = """import boto3, os
arn = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Arn"]
print(arn, os.environ["TRAYCREDS_ROLE"], os.environ["AWS_CREDENTIAL_EXPIRATION"],
      "AWS_PROFILE" in os.environ)
"""


def test_exec_without_a_tray_runs_cmd_as_the_role(
        moto: Any, aws_env: AwsEnv, runtime: Path, tmp_path: Path) -> None:
    user = moto.make_user()
    role_arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, role_arn)
    source = f"exec-{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, AWS_ENDPOINT_URL_STS=moto.url, TRAYCREDS_RUNTIME_DIR=str(runtime),
               AWS_PROFILE="someone-else")
    added = subprocess.run([sys.executable, "-m", "traycreds", "keys", "add", source,
                            "--no-verify"], env=env, input=f"{user.key_id}\n{user.secret}\n",
                           capture_output=True, text=True, timeout=120, check=False)
    assert added.returncode == 0, added.stdout + added.stderr
    aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
    aws_env.aws_config.write_text(f"[default]\nregion = us-east-1\n\n[profile dev]\n"
                                  f"role_arn = {role_arn}\nsource_profile = {source}\n")
    script = tmp_path / "who.py"
    script.write_text(WHO)

    ran = subprocess.run([sys.executable, "-m", "traycreds", "--no-tray", "exec", "dev", "--",
                          "cmd", "/c", sys.executable, str(script)], env=env,
                         capture_output=True, text=True, timeout=180, check=False)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    arn, role, expiration, profile = ran.stdout.split()
    assert f":assumed-role/{role_arn.rsplit('/', 1)[1]}/" in arn
    assert role == "dev" and expiration.endswith("Z") and profile == "False"

    code = subprocess.run([sys.executable, "-m", "traycreds", "--no-tray", "exec", "dev", "--",
                           "cmd", "/c", "exit 5"], env=env, capture_output=True, text=True,
                          timeout=180, check=False)
    assert code.returncode == 5, code.stderr
