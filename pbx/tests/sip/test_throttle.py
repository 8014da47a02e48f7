"""The throttle of sources that keep failing authentication, and the cap on answers to
unauthenticated sources."""

from __future__ import annotations

import logging

import pytest
from pbxd.throttle import HOST_BURST, KNOWN_SECONDS, PORT_BURST, PORT_RATE, FailureThrottle, SourceGuard


def test_throttle_blocks_after_the_limit_for_the_rest_of_the_minute_and_stays_bounded() -> None:
    throttle = FailureThrottle(limit_per_minute=2, max_sources=3)
    guesser = ("10.0.0.1", "1001")
    for _ in range(2):
        throttle.record_failure(guesser, 0.0)
    assert not throttle.blocked(guesser, 1.0)
    throttle.record_failure(guesser, 2.0)
    assert throttle.blocked(guesser, 59.0)
    assert not throttle.blocked(guesser, 61.0)
    assert not throttle.blocked(("10.0.0.2", "1001"), 1.0)
    for index in range(10):
        throttle.record_failure((f"10.0.1.{index}", "1001"), 3.0)
    assert len(throttle._windows) == 3


def test_a_guesser_behind_a_nat_does_not_lock_out_the_other_extensions_there() -> None:
    throttle = FailureThrottle(limit_per_minute=2)
    for second in range(5):
        throttle.record_failure(("192.0.2.1", "1001"), float(second))
    assert throttle.blocked(("192.0.2.1", "1001"), 5.0)
    assert not throttle.blocked(("192.0.2.1", "1002"), 5.0)


def test_throttling_is_logged_once_per_minute_and_source(caplog: pytest.LogCaptureFixture) -> None:
    throttle = FailureThrottle(limit_per_minute=1)
    with caplog.at_level(logging.WARNING, logger="pbxd.auth"):
        for second in range(10):
            throttle.record_failure(("10.0.0.9", "1001"), float(second))
    assert [r.getMessage() for r in caplog.records] == [
        "10.0.0.9 failed authentication as '1001' 2 times within a minute: "
        "refusing it for the rest of the minute"
    ]


def test_one_source_gets_a_burst_of_answers_then_its_rate() -> None:
    guard = SourceGuard()
    answered = sum(guard.allow("198.51.100.7", 5060, 0.0) for _ in range(100))
    assert answered == PORT_BURST
    assert not guard.allow("198.51.100.7", 5060, 0.0)
    assert guard.allow("198.51.100.7", 5060, 1.0 / PORT_RATE)  # refilled by one
    assert guard.allow("198.51.100.8", 5060, 0.0)  # another address is not affected


def test_a_flood_from_one_address_spares_the_phones_that_authenticated_behind_it() -> None:
    guard = SourceGuard()
    nat = "203.0.113.5"
    guard.authenticated(nat, 5062, 0.0)  # a phone behind the NAT
    # A flood on many ports of the same address exhausts the address's bucket...
    flood = sum(guard.allow(nat, 10_000 + port, 1.0) for port in range(1000))
    assert flood == HOST_BURST
    assert not guard.allow(nat, 20_000, 1.0)
    # ...but the phone, known by its port, is still answered, however busy it is.
    assert all(guard.allow(nat, 5062, 1.0) for _ in range(int(PORT_BURST) * 10))
    later = 1.0 + KNOWN_SECONDS + 10  # known for an hour only
    sum(guard.allow(nat, 30_000 + port, later) for port in range(1000))
    assert not guard.allow(nat, 5062, later)


def test_the_guard_is_bounded_in_memory() -> None:
    guard = SourceGuard(max_sources=10)
    for index in range(100):
        guard.allow(f"10.1.0.{index}", 5060, 0.0)
        guard.authenticated(f"10.1.0.{index}", 5060, 0.0)
    assert len(guard._ports) <= 10 and len(guard._hosts) <= 10 and len(guard._known) <= 10
