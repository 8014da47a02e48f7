"""The throttle of sources that keep failing authentication."""

from __future__ import annotations

import logging

import pytest
from pbxd.throttle import FailureThrottle


def test_throttle_blocks_after_the_limit_for_the_rest_of_the_minute_and_stays_bounded() -> None:
    throttle = FailureThrottle(limit_per_minute=2, max_sources=3)
    for _ in range(2):
        throttle.record_failure("10.0.0.1", 0.0)
    assert not throttle.blocked("10.0.0.1", 1.0)
    throttle.record_failure("10.0.0.1", 2.0)
    assert throttle.blocked("10.0.0.1", 59.0)
    assert not throttle.blocked("10.0.0.1", 61.0)
    assert not throttle.blocked("10.0.0.2", 1.0)
    for index in range(10):
        throttle.record_failure(f"10.0.1.{index}", 3.0)
    assert len(throttle._windows) == 3


def test_throttling_is_logged_once_per_minute_and_source(caplog: pytest.LogCaptureFixture) -> None:
    throttle = FailureThrottle(limit_per_minute=1)
    with caplog.at_level(logging.WARNING, logger="pbxd.auth"):
        for second in range(10):
            throttle.record_failure("10.0.0.9", float(second))
    assert [r.getMessage() for r in caplog.records] == [
        "10.0.0.9 failed authentication 2 times within a minute: refusing it for the rest of the minute"
    ]
