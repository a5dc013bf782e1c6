"""STS through botocore (stswire.py, no boto3 client), with every failure a traycreds error.

botocore's DEBUG logging prints raw response bodies, secrets included
(botocore #2626); traycreds never enables it and caps botocore's loggers.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from traycreds.core import errors
from traycreds.core.endpoints import Endpoint
from traycreds.core.models import Credentials, Identity, utc_now

# Skew beyond this makes SigV4 fail; AWS allows 5 minutes.
SKEW_TOLERANCE = 300.0
# One operation, retries included, ends by then whatever the server does (the setting
# sts_timeout_seconds; botocore's read_timeout alone bounds each socket read, not a call).
DEFAULT_DEADLINE = 30.0
# The most of an answer read (stscall.py): STS answers are a few KiB; more is abandoned.
MAX_STS_RESPONSE = 1024 * 1024

for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "<redacted>")
    return text


def _skew_seconds(response: dict[str, Any], now: datetime) -> float | None:
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if not date:
        return None
    try:
        server = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return None
    return (now - server).total_seconds()


def _describe_skew(seconds: float) -> str:
    minutes = abs(seconds) / 60
    direction = "ahead of" if seconds > 0 else "behind"
    return f"{minutes:.0f} min {direction}" if minutes >= 1 else f"{abs(seconds):.0f} s {direction}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def translate_client_error(exc: Any, *, action: str, target: str, caller: str,
                           secrets: Iterable[str | None], now: datetime) -> errors.TraycredsError:
    """Map an STS error response to a typed error with advice; no secret survives."""
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    aws_message = redact(str(error.get("Message", "")), secrets)
    skew = _skew_seconds(response, now)
    if skew is not None and abs(skew) > SKEW_TOLERANCE and code in (
            "SignatureDoesNotMatch", "RequestExpired", "InvalidSignatureException"):
        return errors.WrongSecretError(
            f"This computer's clock is {_describe_skew(skew)} AWS's. Requests are signed with "
            "the time, so AWS rejects them: set the clock right (enable automatic time "
            "synchronisation) and try again.", title="Clock is off")
    if code == "SignatureDoesNotMatch":
        return errors.WrongSecretError(
            f"AWS rejected the signature of {caller}: the secret access key is wrong. "
            f"Store the right one with 'traycreds keys add' (the clock is fine).")
    if code in ("InvalidClientTokenId", "UnrecognizedClientException"):
        return errors.InvalidKeyError(
            f"AWS does not recognise {caller}: the access key was deleted or deactivated, or "
            "the session token is invalid. Create a new access key in IAM and store it with "
            "'traycreds keys add'.")
    if code == "ExpiredToken":
        return errors.ExpiredTokenError(
            f"The session behind {caller} has expired. Refresh it (traycreds asks for a new "
            "MFA code when one is needed) and try again.")
    if code == "AccessDenied" and "MultiFactorAuthentication" in aws_message.replace(" ", ""):
        return errors.MfaError(
            f"AWS did not accept the MFA code to {action} {target}. Codes are single-use and "
            "change every 30 seconds: wait for the next code and try again; check the device "
            "is the one named by mfa_serial.")
    if code == "AccessDenied":
        return errors.AccessDeniedError(
            f"{caller} may not {action} {target}. AWS says: {_sentence(aws_message)} "
            "Ask an administrator to allow sts:AssumeRole for this caller in its IAM policy "
            "and in the role's trust policy (check external_id and MFA conditions too).")
    if code == "RegionDisabledException":
        return errors.RegionDisabledError(
            f"STS is not enabled in this region for the account ({aws_message}). Activate the "
            "region in the account settings, or set region to an enabled one for this role.")
    if code in ("Throttling", "ThrottlingException", "RequestLimitExceeded"):
        return errors.ThrottledError(
            "AWS kept throttling the request after several retries. Wait a minute and try "
            "again.")
    return errors.TraycredsError(
        f"AWS answered {code} to {action} {target}: {aws_message}", title=f"AWS error {code}")


def _where(call: Any, endpoint: Endpoint) -> str:
    return str(call.url or endpoint.url or f"STS in {endpoint.region}")


def _utc(value: Any) -> datetime | None:
    """An answer's Expiration as aware UTC (botocore parses it; a string is parsed here)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    moment: datetime = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _deadline_error(where: str, seconds: float) -> errors.NetworkError:
    return errors.NetworkError(
        f"No complete answer from {where} within {seconds:g} s (retries included), so "
        "traycreds stopped waiting. Check the network, VPN or proxy, and the endpoint "
        "settings (AWS_ENDPOINT_URL_STS, endpoint_url); on a slow link raise "
        "sts_timeout_seconds under [app] in the settings ('traycreds config edit').")


def bad_answer(where: str, reason: str) -> errors.BadResponseError:
    return errors.BadResponseError(
        f"{where} answered {reason}. Check that AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or the "
        "profile's endpoint_url point at STS, and that no proxy or captive portal (a Wi-Fi "
        "sign-in page) rewrites answers; then try again.")


def boto_session() -> Any:
    """A boto3 session that reads neither AWS_PROFILE nor the shared AWS files (the demo's IAM
    client; STS calls go through stswire.py, which reads the same settings, without boto3).

    AWS_PROFILE may name a profile only traycreds knows (botocore would raise
    ProfileNotFound), and traycreds always passes credentials explicitly. botocore parses
    ~/.aws/config and ~/.aws/credentials whole on the first client, and one bad line there
    ("Unable to parse config file") would stop every role: traycreds reads the config itself
    (a bad line breaks only its role) and resolves the region and endpoint itself
    (core/endpoints.py), so botocore gets empty files. Environment variables still apply.
    """
    import boto3.session
    import botocore.session
    from botocore.configprovider import ConstantProvider

    core = botocore.session.Session()
    core.get_component("config_store").set_config_provider("profile", ConstantProvider(None))
    for variable in ("config_file", "credentials_file"):
        core.set_config_variable(variable, os.devnull)
    return boto3.session.Session(botocore_session=core)


class BotoSts:
    """The STS port, on botocore. Import cost is paid on first use, not at import.

    ``deadline``: seconds one operation may take, retries included (a number, or a
    callable read at each call so a reloaded setting applies to the next one).
    """

    def __init__(self, clock: Any = utc_now,
                 deadline: float | Callable[[], float] = DEFAULT_DEADLINE) -> None:
        self._clock = clock
        self._deadline = deadline
        self._lock = threading.Lock()
        self._service: Any = None

    def deadline_seconds(self) -> float:
        return self._deadline() if callable(self._deadline) else self._deadline

    def _wire(self) -> Any:
        """STS's model and rules (stswire.Service), loaded on the first call only."""
        with self._lock:
            if self._service is None:
                from traycreds.adapters import stswire

                self._service = stswire.Service()
            return self._service

    def _call(self, creds: Credentials, endpoint: Endpoint, operation: str, *, action: str,
              target: str, caller: str, **params: Any) -> dict[str, Any]:
        from botocore import exceptions as bx

        from traycreds.adapters import stscall, stswire

        secrets = (creds.secret_access_key, creds.session_token, params.get("TokenCode"))
        keys = stswire.Keys(creds.access_key_id, creds.secret_access_key, creds.session_token)
        call = stscall.Call(self.deadline_seconds(), MAX_STS_RESPONSE)
        try:
            return stscall.perform(call, self._wire, keys, endpoint, operation, params)
        except stscall.DeadlineExceeded:
            raise _deadline_error(_where(call, endpoint), call.seconds) from None
        except stscall.BadAnswer as exc:
            raise bad_answer(_where(call, endpoint), exc.reason) from None
        except bx.ClientError as exc:
            raise translate_client_error(exc, action=action, target=target, caller=caller,
                                         secrets=secrets, now=self._clock()) from None
        except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError,
                bx.ConnectionClosedError) as exc:
            raise errors.NetworkError(
                f"No answer from {_where(call, endpoint)} ({type(exc).__name__}). Check the "
                "network, VPN or proxy, and the endpoint settings (AWS_ENDPOINT_URL_STS, "
                "endpoint_url).") from None
        except bx.BotoCoreError as exc:
            raise errors.TraycredsError(redact(str(exc), secrets),
                                        title="AWS SDK error") from None

    def _credentials(self, result: dict[str, Any], endpoint: Endpoint) -> Credentials:
        raw = result.get("Credentials")
        raw = raw if isinstance(raw, dict) else {}
        names = ("AccessKeyId", "SecretAccessKey", "SessionToken")
        values = [raw.get(name) for name in names]
        expiration = _utc(raw.get("Expiration"))
        if not all(isinstance(v, str) and v for v in values) or expiration is None:
            raise bad_answer(endpoint.url or f"STS in {endpoint.region}",
                             "without usable credentials (AccessKeyId, SecretAccessKey, "
                             "SessionToken and Expiration)")
        key_id, secret, token = (str(v) for v in values)
        return Credentials(key_id, secret, token, expiration)

    def assume_role(self, creds: Credentials, *, role_arn: str, session_name: str,
                    duration: int, endpoint: Endpoint, caller: str,
                    external_id: str | None = None, mfa_serial: str | None = None,
                    token_code: str | None = None) -> Credentials:
        params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name,
                                  "DurationSeconds": duration}
        if external_id:
            params["ExternalId"] = external_id
        if mfa_serial and token_code:
            params.update(SerialNumber=mfa_serial, TokenCode=token_code)
        result = self._call(creds, endpoint, "assume_role", action="assume", target=role_arn,
                            caller=caller, **params)
        return self._credentials(result, endpoint)

    def get_session_token(self, creds: Credentials, *, duration: int, endpoint: Endpoint,
                          caller: str, mfa_serial: str, token_code: str) -> Credentials:
        result = self._call(creds, endpoint, "get_session_token", action="start an MFA session",
                            target=f"with {mfa_serial}", caller=caller, DurationSeconds=duration,
                            SerialNumber=mfa_serial, TokenCode=token_code)
        return self._credentials(result, endpoint)

    def get_caller_identity(self, creds: Credentials, *, endpoint: Endpoint,
                            caller: str) -> Identity:
        result = self._call(creds, endpoint, "get_caller_identity", action="identify",
                            target="itself", caller=caller)
        values = [result.get(name) for name in ("Account", "Arn", "UserId")]
        if not all(isinstance(v, str) and v for v in values):
            raise bad_answer(endpoint.url or f"STS in {endpoint.region}",
                             "without the caller's identity (Account, Arn and UserId)")
        account, arn, user_id = (str(v) for v in values)
        return Identity(account, arn, user_id)
