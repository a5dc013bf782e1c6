"""The channel's JSON (channel/jsoncodec.py, on CPython's _json accelerator) gives what the
json package gives for the protocol's settings: the same text out, the same values in, and
a ValueError wherever json refuses."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traycreds.channel import jsoncodec

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=30)


def reference_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_the_same_text_as_json_and_back(value: Any) -> None:
    text = jsoncodec.dumps(value)
    assert text == reference_dumps(value)
    assert jsoncodec.loads(text) == json.loads(text)
    assert jsoncodec.loads(f" \n{text}\t\r ") == json.loads(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_read_as_json_reads_it_or_refused_as_json_refuses_it(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            jsoncodec.loads(text)
        return
    got = jsoncodec.loads(text)
    assert got == expected or (isinstance(got, float) and math.isnan(got)
                               and math.isnan(expected))


@pytest.mark.parametrize("text", ["", "   ", "{", '{"a":1} x', '{"a":1}{}', "\ufeff{}", "[1,]",
                                  "{'a':1}", '"\\ud800', '{"a":"\x01"}', "01"])
def test_what_json_refuses_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        jsoncodec.loads(text)


def test_deep_nesting_stops_as_json_does() -> None:
    with pytest.raises(RecursionError):
        jsoncodec.loads("[" * 100_000)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": object()}, {1j: 1}])
def test_what_json_cannot_write_is_refused(value: Any) -> None:
    with pytest.raises((ValueError, TypeError)) as ours:
        jsoncodec.dumps(value)
    with pytest.raises(type(ours.value)):
        reference_dumps(value)


def test_the_fast_path_imports_no_json_package() -> None:
    import subprocess
    import sys

    code = ("import sys, traycreds.channel.remote, traycreds.cli.fast; "
            "print(sorted(m for m in sys.modules if m == 'json' or m.startswith('json.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
