"""A real STS/IAM endpoint on loopback: moto's server in a subprocess, with IAM auth enforced.

What this moto (5.x) enforces once the bootstrap calls are spent (verified by
tests/test_harness.py):

- unknown access key id                      -> ``InvalidClientTokenId`` (HTTP 403)
- known key id, wrong secret                 -> ``SignatureDoesNotMatch`` (HTTP 403)
- bogus session token with an ASIA key       -> ``InvalidClientTokenId``
- AssumeRole without an identity policy allowing ``sts:AssumeRole`` on that role
                                             -> ``AccessDenied`` (HTTP 403)
- AssumeRole allowed by policy but the role's trust policy does not name the caller
                                             -> ``AccessDenied``
- every other action (``sts:GetSessionToken`` included, unlike real AWS) needs an allowing
  policy; only ``sts:GetCallerIdentity`` is always allowed.

Trust principals are compared as exact strings, so a role ARN in a trust policy would never
match that role's sessions (``assumed-role/<role>/<session>``) as it does on AWS.
``make_role(trusted_arn=<role ARN>)`` therefore trusts ``"*"`` instead: role chaining is
still gated by the identity policy (``allow_assume(<that role>, ...)``).

ExternalId: with a trust condition ``{"StringEquals": {"sts:ExternalId": "x"}}`` a wrong
ExternalId is refused (AccessDenied); a missing one is NOT.

What it does NOT check: MFA token codes (any 6 digits pass), other trust-policy conditions
(aws:MultiFactorAuthPresent...), DurationSeconds above the role's maximum, a role that does
not exist (when a policy allows ``"*"``). GetSessionToken returns a fixed AKIA-style key.
For those error paths use the ``sts_errors`` fixture (tests/support/errorserver.py).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
# The bootstrap makes exactly this many unauthenticated calls (CreateUser, PutUserPolicy,
# CreateAccessKey); moto authenticates every call after that.
BOOTSTRAP_CALLS = 3
STARTUP_TIMEOUT = 15.0


@dataclass(frozen=True)
class User:
    """An IAM user with one access key. It has no permissions until granted."""

    name: str
    arn: str
    key_id: str
    secret: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.key_id, self.secret)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _is_role_arn(arn: str) -> bool:
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/")


def _allow_statement(actions: str | list[str], resource: str | list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
        }
    )


class MotoSts:
    """moto_server on 127.0.0.1:<free port>, started as a subprocess.

    Use ``MotoSts.start()`` (the ``moto`` fixture does) and ``stop()`` when done.
    Every helper call is made with the bootstrap admin's key, so it is authenticated too.
    Tests get isolation from unique names; never POST /moto-api/reset, which would delete
    the admin user and break every later test.
    """

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.admin_key: tuple[str, str] = ("", "")
        self.admin_arn = ""
        self._session = boto3.session.Session(region_name=REGION)
        self._session_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        log_dir: Path,
        *,
        attempts: int = 3,
        account_id: str | None = None,
        enforce_auth: bool = True,
    ) -> MotoSts:
        """Start the server, wait until it answers, and run the unauthenticated bootstrap.

        ``account_id``: every request is served in this account (moto's MOTO_ACCOUNT_ID), so
        ARNs can match a documented layout. ``enforce_auth=False`` serves any signature: for
        flows moto's auth cannot carry, such as MFA (its GetSessionToken returns a key its own
        auth rejects); keys made by ``make_user`` are still known, so GetCallerIdentity still
        names their user.
        """
        log_dir.mkdir(parents=True, exist_ok=True)
        last_error: Exception | None = None
        for _ in range(attempts):  # a free port can be taken between probe and bind
            port = _free_port()
            log_path = log_dir / "moto-server.log"
            env = dict(os.environ)
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(BOOTSTRAP_CALLS)
            if not enforce_auth:
                env.pop("INITIAL_NO_AUTH_ACTION_COUNT")
            if account_id is not None:
                env["MOTO_ACCOUNT_ID"] = account_id
            env.pop("MOTO_CALL_RESET_API", None)
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            server = cls(process, port, log_path)
            try:
                server._wait_ready(STARTUP_TIMEOUT)
            except RuntimeError as exc:
                server.stop()
                last_error = exc
                continue
            server._bootstrap(check_auth=enforce_auth)
            return server
        raise RuntimeError(f"moto server did not start: {last_error}")

    def _wait_ready(self, timeout: float) -> None:
        # /moto-api/data.json is served by moto itself and does not count as an IAM action,
        # so polling it does not spend the unauthenticated bootstrap budget.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"moto server exited with {self.process.returncode}; "
                    f"log: {self.log_path}\n{self._log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"moto server not ready after {timeout:.0f}s; log: {self.log_path}\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _bootstrap(self, *, check_auth: bool = True) -> None:
        # Exactly BOOTSTRAP_CALLS unauthenticated calls; the dummy key below is never checked.
        iam = self._client("iam", "bootstrap", "bootstrap")
        name = unique_name("traycreds-admin")
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        iam.put_user_policy(
            UserName=name, PolicyName="allow-all", PolicyDocument=_allow_statement("*", "*")
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        self.admin_key = (key["AccessKeyId"], key["SecretAccessKey"])
        self.admin_arn = arn
        if not check_auth:
            return
        # Prove the budget is spent: from here on, an unknown key must be refused.
        probe = self.sts("unknown-key-id-for-probe", "not-a-secret")
        try:
            probe.get_caller_identity()
        except probe.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] == "InvalidClientTokenId":
                return
            raise
        raise RuntimeError("moto accepted an unknown access key: IAM auth is not enforced")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    # -- clients ---------------------------------------------------------------------------

    def _client(
        self, service: str, key_id: str, secret: str, session_token: str | None = None
    ) -> Any:
        # Explicit keys on every client: no credential from the environment or ~/.aws leaks
        # in. One shared session keeps client creation cheap (5 ms, not 70 ms: it caches the
        # service models); boto3 sessions are not thread-safe, hence the lock.
        with self._session_lock:
            return self._session.client(
                service,
                endpoint_url=self.url,
                region_name=REGION,
                aws_access_key_id=key_id,
                aws_secret_access_key=secret,
                aws_session_token=session_token,
            )

    def iam(self) -> Any:
        """An IAM client authenticated as the bootstrap admin."""
        return self._client("iam", *self.admin_key)

    def sts(self, key_id: str, secret: str, session_token: str | None = None) -> Any:
        return self._client("sts", key_id, secret, session_token)

    # -- fixtures for tests ----------------------------------------------------------------

    def make_user(self, name: str | None = None) -> User:
        """A new IAM user with one access key and no permissions."""
        name = name or unique_name("user")
        iam = self.iam()
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return User(name=name, arn=arn, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])

    def make_role(
        self,
        name: str | None = None,
        *,
        trusted_arn: str,
        max_session_duration: int = 3600,
        condition: dict[str, Any] | None = None,
    ) -> str:
        """A role whose trust policy lets ``trusted_arn`` call sts:AssumeRole; returns its ARN.

        ``trusted_arn``: a user ARN, ``"*"``, or a role ARN (for chaining; becomes ``"*"``,
        see the module docstring). ``condition`` goes into the trust statement as is, e.g.
        ``{"StringEquals": {"sts:ExternalId": "x"}}``.
        """
        name = name or unique_name("role")
        principal = "*" if _is_role_arn(trusted_arn) else trusted_arn
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "sts:AssumeRole",
        }
        if condition:
            statement["Condition"] = condition
        role = self.iam().create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [statement]}
            ),
            MaxSessionDuration=max_session_duration,
        )
        arn: str = role["Role"]["Arn"]
        return arn

    def allow(
        self,
        principal: User | str,
        actions: str | list[str],
        resource: str | list[str] = "*",
    ) -> None:
        """Attach an inline Allow policy to a user (``User``) or a role (name or ARN)."""
        document = _allow_statement(actions, resource)
        policy_name = unique_name("allow")
        iam = self.iam()
        if isinstance(principal, User):
            iam.put_user_policy(
                UserName=principal.name, PolicyName=policy_name, PolicyDocument=document
            )
        else:
            iam.put_role_policy(
                RoleName=principal.rsplit("/", 1)[-1],
                PolicyName=policy_name,
                PolicyDocument=document,
            )

    def allow_assume(self, principal: User | str, role_arn: str) -> None:
        """Allow a user (``User``) or a role (name or ARN, for chaining) to assume role_arn."""
        self.allow(principal, "sts:AssumeRole", role_arn)

    def allow_session_token(self, user: User) -> None:
        """moto, unlike AWS, wants a policy for sts:GetSessionToken."""
        self.allow(user, "sts:GetSessionToken", "*")

    def make_mfa_device(self, user: User) -> str:
        """A virtual MFA device enabled for ``user``; returns its serial (an ARN).

        moto does not check codes: any six digits are accepted as TokenCode.
        """
        iam = self.iam()
        device = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique_name(user.name))
        serial: str = device["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(
            UserName=user.name,
            SerialNumber=serial,
            AuthenticationCode1="123456",
            AuthenticationCode2="654321",
        )
        return serial
