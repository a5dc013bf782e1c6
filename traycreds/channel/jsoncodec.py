"""The channel's JSON through CPython's C accelerator, without importing the json package.

``json`` costs the fast path about 1.3 ms of its own (its three modules compile regular
expressions the accelerator never uses); ``_json`` is what ``json.dumps`` and ``json.loads``
call for the settings the protocol uses, so the results are the same (tests/test_jsoncodec.py
holds them to json's). traycreds runs on CPython, whose every build has ``_json``.
"""

from __future__ import annotations

from _json import encode_basestring as _escape
from _json import make_encoder as _make_encoder
from _json import make_scanner as _make_scanner

TYPE_CHECKING = False  # typing's import costs the fast path; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

_WHITESPACE = " \t\n\r"  # what JSON allows around a value (json's WHITESPACE)
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Decoding:
    """The attributes the accelerator's scanner reads from a json.JSONDecoder() (defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def _unserializable(value: object) -> object:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def loads(text: str) -> Any:
    """``json.loads(text)``; ValueError (or RecursionError) when it is not one JSON value."""
    if text.startswith("\ufeff"):
        raise ValueError("Unexpected UTF-8 BOM")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _make_scanner(_Decoding)(text, start)  # type: ignore[arg-type]
    except StopIteration:
        raise ValueError("Expecting value") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError("Extra data")
    return value


def dumps(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))``."""
    encode = _make_encoder({}, _unserializable, _escape, None, ":", ",", False, False, False)
    return "".join(encode(value, 0))
