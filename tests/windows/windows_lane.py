"""pytest plugin of the Windows lane (scripts/test-windows.sh loads it with -p windows_lane).

Counts the tests that ran on Windows CPython and, of those, the ones that still used a
recording fake (a class of tests/support/fakes.py was instantiated while the test ran), and
writes the counts as JSON to the path in TRAYCREDS_WINDOWS_LANE_SUMMARY.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import pytest

_fake_used: set[str] = set()  # names of fake classes instantiated during the current test
_results: dict[str, dict[str, Any]] = {}


def _watch_fakes() -> None:
    from tests.support import fakes

    for name, value in vars(fakes).items():
        if isinstance(value, type) and value.__module__ == fakes.__name__:
            init = value.__init__

            @functools.wraps(init)
            def watched(self: Any, *args: Any, __init: Any = init, __name: str = name,
                        **kwargs: Any) -> None:
                _fake_used.add(__name)
                __init(self, *args, **kwargs)

            value.__init__ = watched  # type: ignore[misc]


def pytest_configure(config: pytest.Config) -> None:
    _watch_fakes()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    _fake_used.clear()
    return (yield)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _results.setdefault(report.nodeid, {"outcome": "passed", "fakes": []})
    if report.skipped and report.when in ("setup", "call"):
        entry["outcome"] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
    elif report.failed:
        entry["outcome"] = "error" if report.when != "call" else "failed"
    elif report.passed and report.when == "call" and hasattr(report, "wasxfail"):
        entry["outcome"] = "xpassed"
    if report.when == "teardown":
        entry["fakes"] = sorted(_fake_used)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _results[report.nodeid] = {"outcome": "error", "fakes": []}


def _not_collected() -> dict[str, str]:
    """The modules tests/conftest.py left out because Windows cannot import them, and why."""
    for module in list(sys.modules.values()):
        modules, left_out = (getattr(module, name, None)
                             for name in ("POSIX_MODULES", "_not_collected"))
        if isinstance(modules, dict) and isinstance(left_out, set):
            return {str(name): str(modules[name]) for name in sorted(left_out)}
    return {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("TRAYCREDS_WINDOWS_LANE_SUMMARY")
    if not target:
        return
    counts: dict[str, int] = {}
    for entry in _results.values():
        counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
    ran = [e for e in _results.values() if e["outcome"] in ("passed", "failed", "xpassed")]
    summary = {
        "python": sys.version,
        "platform": f"{sys.platform} {platform.platform()}",
        "collected": len(_results),
        "counts": counts,
        "ran": len(ran),
        "ran_with_fake": sum(1 for e in ran if e["fakes"]),
        "ran_with_fake_by_class": {
            name: sum(1 for e in ran if name in e["fakes"])
            for name in sorted({n for e in ran for n in e["fakes"]})
        },
        "not_collected": _not_collected(),
        "exitstatus": int(exitstatus),
        "tests": _results,
    }
    Path(target).write_text(json.dumps(summary, indent=1), encoding="utf-8")
