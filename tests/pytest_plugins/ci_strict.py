"""pytest plugin: under CI=true a skipped test is a failure.

A missing lab part, a test that "is not there yet", an opt-in left off: in CI each of these would
hide a broken step behind a green run. A test that a machine may legitimately skip (a property of
the machine, not of the lab) says so with ``@pytest.mark.ci_may_skip("why")`` and is then only
listed by ``-rs``. Loaded by the Makefile: ``pytest -p ci_strict``.
"""

from __future__ import annotations

import os

import pytest


def _strict() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "ci_may_skip(reason): the test may skip under CI=true, for the reason given")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (_strict() and report.skipped) or hasattr(report, "wasxfail"):
        return
    if item.get_closest_marker("ci_may_skip") is not None:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = "skipped under CI=true, which allows no skip: %s" % reason
