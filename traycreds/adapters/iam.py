"""IAM's access key calls (rotation, key age), each with a deadline and typed errors.

A botocore client, not stswire's parts: these calls are rare (a rotation, a key listing)
and never on a cold ``traycreds export``, so the client's import and build cost does not
matter, and stswire is shaped around STS's model. The client comes from
``sts.boto_session()`` (no AWS_PROFILE, no shared files), so the endpoint follows the
environment as for the AWS CLI: AWS_ENDPOINT_URL_IAM, else AWS_ENDPOINT_URL (both off with
AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true). IAM is global: signed for us-east-1.

botocore's DEBUG logging would print CreateAccessKey's answer, secret included
(botocore #2626): adapters/sts.py caps botocore's loggers at WARNING, imported here.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any, NamedTuple

from traycreds.adapters import sts
from traycreds.core import errors
from traycreds.core.models import Credentials

IAM_REGION = "us-east-1"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
MAX_ATTEMPTS = 4


class AccessKey(NamedTuple):
    key_id: str
    status: str  # Active or Inactive
    created: datetime | None


class NewAccessKey(NamedTuple):
    key_id: str
    secret: str


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or not value.isprintable():
        raise errors.BadResponseError(f"IAM answered without a usable {what}. Check that "
                                      "AWS_ENDPOINT_URL_IAM or AWS_ENDPOINT_URL point at IAM.")
    return value


def translate(exc: Any, *, action: str, caller: str,
              secrets: tuple[str | None, ...]) -> errors.TraycredsError:
    """An IAM error answer as a traycreds error with advice; no secret survives."""
    response = getattr(exc, "response", {}) or {}
    code = str(response.get("Error", {}).get("Code", "Unknown"))
    message = sts.redact(str(response.get("Error", {}).get("Message", "")), secrets)
    if code in ("AccessDenied", "AccessDeniedException"):
        return errors.AccessDeniedError(
            f"{caller} may not {action}. AWS says: {sts._sentence(message)} Ask an "
            "administrator to allow iam:ListAccessKeys, iam:GetAccessKeyLastUsed, "
            "iam:CreateAccessKey, iam:UpdateAccessKey and iam:DeleteAccessKey on your own user "
            "(arn:aws:iam::*:user/${aws:username}); if the policy asks for MFA, name the "
            "device as mfa_serial in a profile that uses this key.")
    if code == "LimitExceeded":
        return errors.KeyRotationError(
            f"IAM refused to {action}: the user already has two access keys. Delete the one "
            "you do not use in the IAM console, then try again.", title="Two access keys")
    if code == "NoSuchEntity":
        return errors.NoSuchKeyError(f"IAM does not know that key or user ({message}).")
    return sts.translate_client_error(exc, action=action, target="", caller=caller,
                                      secrets=secrets, now=datetime.now(timezone.utc))


class BotoIam:
    """The IAM port. ``deadline``: seconds one call may take, its retries included."""

    def __init__(self, deadline: float = sts.DEFAULT_DEADLINE) -> None:
        self._deadline = deadline

    def _client(self, creds: Credentials) -> Any:
        from botocore.config import Config

        config = Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
                        user_agent_appid="traycreds")
        return sts.boto_session().client(
            "iam", region_name=IAM_REGION, config=config,
            aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token)

    def _call(self, creds: Credentials, operation: str, *, action: str, caller: str,
              **params: Any) -> dict[str, Any]:
        """One call on a thread of its own: the caller stops waiting at the deadline (a
        botocore read timeout bounds each read, not a call that trickles)."""
        from botocore import exceptions as bx

        secrets = (creds.secret_access_key, creds.session_token)
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["result"] = getattr(self._client(creds), operation)(**params)
            except Exception as exc:  # handed to the caller, who translates it
                outcome["error"] = exc

        worker = threading.Thread(target=work, name="traycreds-iam", daemon=True)
        worker.start()
        worker.join(self._deadline)
        if worker.is_alive():
            raise errors.NetworkError(
                f"No answer from IAM within {self._deadline:g} s to {action}. Check the "
                "network, VPN or proxy, and AWS_ENDPOINT_URL_IAM / AWS_ENDPOINT_URL.")
        error = outcome.get("error")
        if isinstance(error, bx.ClientError):
            raise translate(error, action=action, caller=caller, secrets=secrets) from None
        if isinstance(error, (bx.EndpointConnectionError, bx.ConnectTimeoutError,
                              bx.ReadTimeoutError, bx.ConnectionClosedError)):
            raise errors.NetworkError(
                f"No answer from IAM to {action} ({type(error).__name__}). Check the network, "
                "VPN or proxy, and AWS_ENDPOINT_URL_IAM / AWS_ENDPOINT_URL.") from None
        if isinstance(error, bx.BotoCoreError):
            raise errors.TraycredsError(sts.redact(str(error), secrets),
                                        title="AWS SDK error") from None
        if error is not None:
            raise error
        result: dict[str, Any] = outcome["result"]
        return result

    def list_access_keys(self, creds: Credentials, user: str, caller: str) -> list[AccessKey]:
        answer = self._call(creds, "list_access_keys", UserName=user, caller=caller,
                            action=f"list the access keys of {user}")
        found = answer.get("AccessKeyMetadata")
        return [AccessKey(_text(item.get("AccessKeyId"), "access key id"),
                          str(item.get("Status", "?")), _utc(item.get("CreateDate")))
                for item in (found if isinstance(found, list) else []) if isinstance(item, dict)]

    def last_used(self, creds: Credentials, key_id: str, caller: str) -> datetime | None:
        answer = self._call(creds, "get_access_key_last_used", AccessKeyId=key_id,
                            caller=caller, action=f"read when key {key_id} was last used")
        used = answer.get("AccessKeyLastUsed")
        return _utc(used.get("LastUsedDate")) if isinstance(used, dict) else None

    def create_access_key(self, creds: Credentials, user: str, caller: str) -> NewAccessKey:
        answer = self._call(creds, "create_access_key", UserName=user, caller=caller,
                            action=f"create an access key for {user}")
        made = answer.get("AccessKey")
        made = made if isinstance(made, dict) else {}
        return NewAccessKey(_text(made.get("AccessKeyId"), "access key id"),
                            _text(made.get("SecretAccessKey"), "secret access key"))

    def update_access_key(self, creds: Credentials, user: str, key_id: str, status: str,
                          caller: str) -> None:
        self._call(creds, "update_access_key", UserName=user, AccessKeyId=key_id,
                   Status=status, caller=caller, action=f"set key {key_id} {status}")

    def delete_access_key(self, creds: Credentials, user: str, key_id: str,
                          caller: str) -> None:
        self._call(creds, "delete_access_key", UserName=user, AccessKeyId=key_id,
                   caller=caller, action=f"delete key {key_id}")
