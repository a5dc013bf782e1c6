"""Errors as values with a title and a message that says what to do.

Adapters turn library exceptions into these at the boundary; front ends show
``title`` and ``message`` and exit with ``exit_code``. Messages never carry secrets.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of the command line (README, "Exit codes")."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    CONFIG = 3
    UNKNOWN_ROLE = 4
    KEYRING = 5
    UNSAFE_VALUE = 6
    CANCELLED = 7
    FILE = 8
    INVALID_KEY = 10
    WRONG_SECRET = 11
    ACCESS_DENIED = 12
    MFA = 13
    EXPIRED_TOKEN = 14
    REGION_DISABLED = 15
    THROTTLED = 16
    NETWORK = 17
    NOT_RUNNING = 18
    BAD_RESPONSE = 19


class TraycredsError(Exception):
    """Base of every error the user may see."""

    title = "traycreds failed"
    exit_code = ExitCode.FAILURE

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return f"{self.title}: {self.message}"


class UsageError(TraycredsError):
    title = "Invalid arguments"
    exit_code = ExitCode.USAGE


class ConfigError(TraycredsError):
    title = "Configuration problem"
    exit_code = ExitCode.CONFIG


class UnknownRoleError(TraycredsError):
    title = "Unknown role"
    exit_code = ExitCode.UNKNOWN_ROLE


class KeyringError(TraycredsError):
    title = "Keyring unavailable"
    exit_code = ExitCode.KEYRING


class SourceKeyMissingError(KeyringError):
    title = "No access key stored"


class UnsafeValueError(TraycredsError):
    title = "Value cannot be written safely"
    exit_code = ExitCode.UNSAFE_VALUE


class CancelledError(TraycredsError):
    title = "Cancelled"
    exit_code = ExitCode.CANCELLED


class FileError(TraycredsError):
    title = "File problem"
    exit_code = ExitCode.FILE


class InvalidKeyError(TraycredsError):
    title = "Access key rejected"
    exit_code = ExitCode.INVALID_KEY


class WrongSecretError(TraycredsError):
    title = "Signature rejected"
    exit_code = ExitCode.WRONG_SECRET


class AccessDeniedError(TraycredsError):
    title = "Access denied"
    exit_code = ExitCode.ACCESS_DENIED


class MfaError(TraycredsError):
    title = "MFA failed"
    exit_code = ExitCode.MFA


class ExpiredTokenError(TraycredsError):
    title = "Session expired"
    exit_code = ExitCode.EXPIRED_TOKEN


class RegionDisabledError(TraycredsError):
    title = "Region disabled"
    exit_code = ExitCode.REGION_DISABLED


class ThrottledError(TraycredsError):
    title = "AWS is throttling requests"
    exit_code = ExitCode.THROTTLED


class NetworkError(TraycredsError):
    title = "Cannot reach AWS"
    exit_code = ExitCode.NETWORK


class NotRunningError(TraycredsError):
    title = "traycreds is not running"
    exit_code = ExitCode.NOT_RUNNING


class BadResponseError(TraycredsError):
    """The endpoint answered, but not with an STS response (a captive portal, a proxy)."""

    title = "STS answered with something that is not an STS response"
    exit_code = ExitCode.BAD_RESPONSE


class KeyRotationError(TraycredsError):
    """An access key rotation stopped (app/rotation.py): the message says what was changed,
    if anything, and what to do."""

    title = "Access key not rotated"


class NoSuchKeyError(TraycredsError):
    """IAM does not know the access key (or user) named: a delete already done, say."""

    title = "No such access key"


class SsoBadAnswerError(BadResponseError):
    """IAM Identity Center (sso-oidc or the portal) answered something unusable."""

    title = "IAM Identity Center answered with something unusable"


class SsoSignInRequiredError(ExpiredTokenError):
    """IAM Identity Center: no usable token for the session (never signed in, expired, revoked)."""

    title = "Sign in to IAM Identity Center"
