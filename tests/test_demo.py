"""The quick start's demo: a whole round trip on the built-in local STS."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest


@pytest.mark.usefixtures("secret_service")
def test_demo_runs_end_to_end_without_touching_the_users_aws_files(aws_env: Any) -> None:
    aws_env.aws_config.parent.mkdir(parents=True)
    aws_env.aws_config.write_text("[profile mine]\nregion = eu-north-1\n")
    before = aws_env.aws_config.read_bytes()
    result = subprocess.run([sys.executable, "-m", "traycreds", "demo", "--no-tray"],
                            env=aws_env.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "demo-readonly" in out and "traycreds-demo > demo-readonly" in out
    assert "export AWS_SESSION_TOKEN='" in out and 'set "AWS_SESSION_TOKEN=' in out
    assert ":assumed-role/demo-deploy/" in out
    assert aws_env.aws_config.read_bytes() == before
    assert not aws_env.aws_credentials.exists()
