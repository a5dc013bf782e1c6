"""The channel's messages: small versioned JSON documents. Pure: no I/O, no pickle.

Request:  {"v": 1, "op": "hello", "args": {...}}
Response: {"v": 1, "ok": true, "result": ...}
          {"v": 1, "ok": false, "error": {"title": "...", "message": "...", "code": 13}}

``code`` is the command line's exit code (ExitCode); the client rebuilds the matching
TraycredsError class, so ``except MfaError`` works across the channel. Unknown keys are
ignored (a newer peer may add some); a different ``v`` is refused with an error response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from traycreds.core.errors import ExitCode, TraycredsError

# Not typing.TYPE_CHECKING: importing typing (and dataclasses) costs credential_process ~7 ms
# a call; mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VERSION = 1
MAX_MESSAGE = 1024 * 1024  # bytes, either direction
_ERRORS_MODULE = TraycredsError.__module__
_OP = re.compile(r"[a-z][a-z0-9_-]{0,63}")


class ProtocolError(TraycredsError):
    title = "traycreds channel: bad message"


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
    data = json.dumps(message, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"The {what} is too large ({len(data)} bytes; the channel carries "
                            f"at most {MAX_MESSAGE}).")
    return data


def _load(data: bytes, what: str) -> dict[str, Any]:
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"The {what} is too large ({len(data)} bytes).")
    try:
        message = json.loads(data.decode("utf-8"))
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
