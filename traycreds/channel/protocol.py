"""The channel's messages: small versioned JSON documents. Pure: no I/O, no pickle.

Request:  {"v": 1, "op": "hello", "args": {...}}
Response: {"v": 1, "ok": true, "result": ...}
          {"v": 1, "ok": false, "error": {"title": "...", "message": "...", "code": 13}}

``code`` is the command line's exit code (ExitCode); the client rebuilds the matching
TraycredsError class, so ``except MfaError`` works across the channel. Unknown keys are
ignored (a newer peer may add some); a different ``v`` is refused with an error response.

Credentials cross the channel as core/document.py's IssuedCredentials (``encode_credentials``,
``decode_credentials``), never as lines to print: the command line checks the document and
renders it with core/shells.py itself.
"""

from __future__ import annotations

import re

from traycreds.channel import jsoncodec
from traycreds.core.document import IssuedCredentials
from traycreds.core.errors import ExitCode, TraycredsError

# Not typing.TYPE_CHECKING: importing typing (and dataclasses) costs credential_process ~7 ms
# a call; mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from typing import Any

    from traycreds.core.childenv import Endpoint
    from traycreds.core.models import Credentials as _Credentials
    from traycreds.core.models import Identity
else:

    class _Credentials:
        """core.models.Credentials' fields and constructor, for core/shells.py to render,
        without the dataclasses import (~6 ms of the fast path). mypy sees the real class."""

        __slots__ = ("access_key_id", "expiration", "secret_access_key", "session_token")

        def __init__(self, access_key_id, secret_access_key, session_token=None,
                     expiration=None):
            self.access_key_id, self.secret_access_key = access_key_id, secret_access_key
            self.session_token, self.expiration = session_token, expiration

        def __repr__(self):  # secrets stay out of it, as in the real class
            return f"Credentials(access_key_id={self.access_key_id!r}, ...)"

VERSION = 1
MAX_MESSAGE = 1024 * 1024  # bytes, either direction
_ERRORS_MODULE = TraycredsError.__module__
_OP = re.compile(r"[a-z][a-z0-9_-]{0,63}")


class ProtocolError(TraycredsError):
    title = "traycreds channel: bad message"


class BadCredentialsError(ProtocolError):
    title = "traycreds channel: bad credentials"


# RFC 3339 as format_expiration writes it, plus fractions and offsets; no spaces, no "T" swap.
_EXPIRATION = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3}|\.\d{6})?(?:Z|[+-]\d\d:\d\d)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def encode_credentials(issued: IssuedCredentials) -> dict[str, Any]:
    """The document the tray sends for ``issued`` (``decode_credentials`` reads it back)."""
    from traycreds.core.shells import credentials_fields

    document: dict[str, Any] = credentials_fields(issued.credentials)
    if issued.region:
        document["Region"] = issued.region
    if issued.notes:
        document["Notes"] = list(issued.notes)
    if issued.default_shell:
        document["DefaultShell"] = issued.default_shell
    if issued.chained:
        document["Chained"] = True  # absent (an older tray) reads as not chained
    return document


def decode_credentials(document: Any, *, temporary: bool = True) -> IssuedCredentials:
    """The credentials in a document the tray sent, or BadCredentialsError: every field of
    the right type, the key id, secret and token shaped like AWS's (core/shells.check_shapes),
    the expiration RFC 3339. ``temporary``: a role's credentials, which must have a session
    token and an expiration."""
    from traycreds.core.errors import UnsafeValueError
    from traycreds.core.shells import check_shapes

    if not isinstance(document, dict):
        raise _bad("it is not a JSON object")
    key_id, secret = _text(document, "AccessKeyId"), _text(document, "SecretAccessKey")
    token, expiration = (_text(document, "SessionToken") if temporary
                         else _optional(document, "SessionToken"),
                         _text(document, "Expiration") if temporary
                         else _optional(document, "Expiration"))
    region, shell = _optional(document, "Region"), _optional(document, "DefaultShell")
    notes = document.get("Notes", [])
    if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
        raise _bad("its Notes are not a list of strings")
    chained = document.get("Chained", False)
    if not isinstance(chained, bool):
        raise _bad("its Chained is not true or false")
    credentials = _Credentials(key_id, secret, token or None,
                               _expiration(expiration) if expiration else None)
    try:
        check_shapes(credentials)
    except UnsafeValueError:
        raise _bad("its AccessKeyId, SecretAccessKey or SessionToken is not shaped like "
                   "an AWS credential") from None
    # Notes go to stderr as they are: no control characters (terminal escapes) on the way.
    return IssuedCredentials(credentials, region,
                             tuple(_CONTROL.sub("?", note) for note in notes), shell, chained)


_IDENTITY_FIELDS = ("account", "arn", "user_id")


def encode_identity(identity: Identity) -> dict[str, str]:
    return {"account": identity.account, "arn": identity.arn, "user_id": identity.user_id}


def decode_identity(answer: Any) -> Identity:
    """The tray's 'whoami' answer, checked: three texts, no control characters (a terminal
    would act on escape sequences)."""
    from traycreds.core.models import Identity

    values = [answer.get(name) if isinstance(answer, dict) else None
              for name in _IDENTITY_FIELDS]
    if not all(isinstance(value, str) and value.isprintable() for value in values):
        raise ProtocolError("The tray's answer to 'whoami' is not an identity (account, arn, "
                            "user_id), so nothing was printed. Quit the tray and start it "
                            "again.")
    return Identity(*(str(value) for value in values))


_ENDPOINT_URI = re.compile(r"http://127\.0\.0\.1:[0-9]{1,5}/role/[A-Za-z0-9._~%-]{1,400}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,200}")


def decode_endpoint(answer: Any) -> Endpoint:
    """The tray's answer to 'endpoint-token', checked: a loopback http URI (the SDKs accept
    nothing else without TLS) and a URL-safe token, since both go into a child's environment."""
    from traycreds.core.childenv import Endpoint

    fields = answer if isinstance(answer, dict) else {}
    uri, token, region = fields.get("uri"), fields.get("token"), fields.get("region")
    if not (isinstance(uri, str) and _ENDPOINT_URI.fullmatch(uri)
            and isinstance(token, str) and _TOKEN.fullmatch(token)
            and (region is None or (isinstance(region, str) and region.isprintable()))):
        raise ProtocolError("The tray's answer to 'endpoint-token' is not a loopback URI and "
                            "a token. Quit the tray and start it again.")
    return Endpoint(uri, token, region or None)


def _optional(document: dict[str, Any], name: str) -> str | None:
    return None if document.get(name) is None else _text(document, name)


def _text(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise _bad(f"its {name} is {'missing' if value is None else 'not a text'}")
    if _CONTROL.search(value):
        raise _bad(f"its {name} holds a control character")
    return value


def _expiration(text: str) -> datetime:
    if TYPE_CHECKING:
        from datetime import datetime, timezone
    else:
        try:  # the C module itself, as core/shells.py does: datetime.py costs ~1 ms more
            from _datetime import datetime, timezone
        except ImportError:  # pragma: no cover - an interpreter without the C module
            from datetime import datetime, timezone

    if not _EXPIRATION.fullmatch(text):
        raise _bad("its Expiration is not an RFC 3339 time")
    try:  # Python 3.10's fromisoformat does not read "Z"
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise _bad("its Expiration is not a valid time") from None
    return when.astimezone(timezone.utc)


def _bad(problem: str) -> BadCredentialsError:
    return BadCredentialsError(
        f"The tray's answer is not a credentials document ({problem}), so nothing was "
        "printed. Quit the tray and start it again; if this persists, report it.")


class Request:
    """One decoded request: the operation and its arguments."""

    __slots__ = ("args", "op")

    def __init__(self, op: str, args: dict[str, Any]) -> None:
        self.op, self.args = op, args


def encode_request(op: str, args: Mapping[str, Any] | None = None) -> bytes:
    _check_op(op)
    return _dump({"v": VERSION, "op": op, "args": dict(args or {})}, "request")


def decode_request(data: bytes) -> Request:
    message = _load(data, "request")
    op, args = message.get("op"), message.get("args", {})
    if not isinstance(op, str):
        raise ProtocolError("The request names no operation ('op').")
    _check_op(op)
    if not isinstance(args, dict):
        raise ProtocolError("The request's 'args' must be an object.")
    return Request(op, args)


def encode_result(result: Any) -> bytes:
    return _dump({"v": VERSION, "ok": True, "result": result}, "answer")


def encode_error(error: TraycredsError) -> bytes:
    body = {"title": error.title, "message": error.message, "code": int(error.exit_code)}
    return _dump({"v": VERSION, "ok": False, "error": body}, "answer")


def decode_response(data: bytes) -> Any:
    """The result, or raise the TraycredsError the server sent (same title, message, code)."""
    message = _load(data, "answer")
    if message.get("ok") is True:
        return message.get("result")
    error = message.get("error")
    if message.get("ok") is not False or not isinstance(error, dict):
        raise ProtocolError("The answer is neither a result nor an error.")
    title, text, code = error.get("title"), error.get("message"), error.get("code")
    if not (isinstance(title, str) and isinstance(text, str)
            and isinstance(code, int) and not isinstance(code, bool)):
        raise ProtocolError("The error in the answer lacks a title, message or code.")
    raise rebuild_error(title, text, code)


def rebuild_error(title: str, message: str, code: int) -> TraycredsError:
    error = error_class(code)(message, title=title)
    try:
        exit_code = ExitCode(code)
    except ValueError:  # not one of ours: keep the class's code
        return error
    if error.exit_code != exit_code:
        error.exit_code = exit_code
    return error


def error_class(code: int) -> type[TraycredsError]:
    """The most general class in traycreds.core.errors with this exit code, breadth first
    (5 is KeyringError, not SourceKeyMissingError); TraycredsError for unknown codes."""
    queue: list[type[TraycredsError]] = [TraycredsError]
    while queue:
        cls = queue.pop(0)
        if int(cls.exit_code) == code:
            return cls
        queue += [sub for sub in cls.__subclasses__() if sub.__module__ == _ERRORS_MODULE]
    return TraycredsError


def _check_op(op: str) -> None:
    if not _OP.fullmatch(op):
        raise ProtocolError(f"{op[:64]!r} is not an operation name.")


def _dump(message: dict[str, Any], what: str) -> bytes:
    data = jsoncodec.dumps(message).encode("utf-8")
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"The {what} is too large ({len(data)} bytes; the channel carries "
                            f"at most {MAX_MESSAGE}).")
    return data


def _load(data: bytes, what: str) -> dict[str, Any]:
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"The {what} is too large ({len(data)} bytes).")
    try:
        message = jsoncodec.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
        raise ProtocolError(f"The {what} is not JSON.") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"The {what} is not a JSON object.")
    version = message.get("v")
    if version != VERSION or isinstance(version, bool):
        raise ProtocolError(
            f"The {what} uses channel protocol version {version!r}; this traycreds speaks "
            f"{VERSION}. After an upgrade, quit the tray and start it again.",
            title="traycreds versions differ")
    return message
