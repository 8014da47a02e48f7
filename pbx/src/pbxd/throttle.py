"""Throttling of sources that keep failing authentication (password guessing), and a cap on
what unauthenticated sources can make the PBX do.

A source address that fails more than ``limit`` times within one minute for one user name is
refused for that user name without its credentials being checked until that minute has passed:
someone guessing one extension's password behind an office NAT does not lock out the others.
Memory is bounded: at most ``max_sources`` keys are tracked, the oldest forgotten first.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

log = logging.getLogger("pbxd.auth")

WINDOW = 60.0


@dataclass(slots=True)
class _Window:
    started: float
    failures: int = 0
    logged: bool = False


class FailureThrottle:
    def __init__(self, limit_per_minute: int, max_sources: int = 10_000) -> None:
        self._limit = limit_per_minute
        self._max_sources = max_sources
        self._windows: OrderedDict[tuple[str, str], _Window] = OrderedDict()

    def blocked(self, source: tuple[str, str], now: float) -> bool:
        """Whether ``source`` (address, user name) is refused now."""
        window = self._windows.get(source)
        if window is None:
            return False
        if now - window.started >= WINDOW:
            del self._windows[source]
            return False
        return window.failures > self._limit

    def record_failure(self, source: tuple[str, str], now: float) -> None:
        window = self._windows.get(source)
        if window is None or now - window.started >= WINDOW:
            window = _Window(now)
            self._windows[source] = window
            self._windows.move_to_end(source)
            while len(self._windows) > self._max_sources:
                self._windows.popitem(last=False)
        window.failures += 1
        if window.failures > self._limit and not window.logged:
            window.logged = True
            log.warning(
                "%s failed authentication as %r %d times within a minute: "
                "refusing it for the rest of the minute",
                source[0],
                source[1],
                window.failures,
            )


# Answers to unauthenticated requests (challenges, refusals): per source address and port, and
# per address for all its ports together. A phone needs one per registration or call.
PORT_BURST, PORT_RATE = 20.0, 5.0  # answers, answers per second
HOST_BURST, HOST_RATE = 200.0, 50.0
# How long a source address and port that authenticated stays exempt from the per-address cap.
KNOWN_SECONDS = 3600.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class SourceGuard:
    """A cap on the answers the PBX gives to requests that did not authenticate, so that it
    cannot be used as a reflection amplifier (a forged source address makes the PBX send its
    challenges to a victim) nor be kept busy by one source.

    Two token buckets: one per source address and port, one per address. A source address and
    port that authenticated within the last hour is not capped: a flood from one machine behind
    a NAT does not lock out the phones behind the same NAT (each phone has its own port there),
    and a busy peer that sends every request from one socket (an SBC, a load generator) is not
    slowed down by its first attempts, which are always challenged. Memory is bounded: the
    oldest entries are forgotten first.
    """

    def __init__(
        self,
        max_sources: int = 50_000,
        *,
        port_rate: tuple[float, float] = (PORT_BURST, PORT_RATE),
        host_rate: tuple[float, float] = (HOST_BURST, HOST_RATE),
    ) -> None:
        """``port_rate`` and ``host_rate`` are (burst, answers per second) of the buckets."""
        self._max_sources = max_sources
        self._port_rate = port_rate
        self._host_rate = host_rate
        self._ports: OrderedDict[tuple[str, int], _Bucket] = OrderedDict()
        self._hosts: OrderedDict[str, _Bucket] = OrderedDict()
        self._known: OrderedDict[tuple[str, int], float] = OrderedDict()
        self._logged: set[str] = set()

    @classmethod
    def share_of(cls, count: int) -> SourceGuard:
        """The guard of one of ``count`` worker processes: each sees about 1/count of a
        source's requests (they are spread by Call-ID), so each allows 1/count of the answers."""
        return cls(
            port_rate=(max(1.0, PORT_BURST / count), PORT_RATE / count),
            host_rate=(max(1.0, HOST_BURST / count), HOST_RATE / count),
        )

    def allow(self, host: str, port: int, now: float) -> bool:
        """Whether an unauthenticated request from ``host:port`` may be answered now."""
        known = self._known.get((host, port))
        if known is not None and now - known < KNOWN_SECONDS:
            return True
        if not _take(
            self._ports,
            (host, port),
            now,
            burst=self._port_rate[0],
            rate=self._port_rate[1],
            limit=self._max_sources,
        ):
            self._log(host, f"{host}:{port}")
            return False
        if not _take(
            self._hosts, host, now, burst=self._host_rate[0], rate=self._host_rate[1], limit=self._max_sources
        ):
            self._log(host, host)
            return False
        self._logged.discard(host)
        return True

    def authenticated(self, host: str, port: int, now: float) -> None:
        self._known[(host, port)] = now
        self._known.move_to_end((host, port))
        while len(self._known) > self._max_sources:
            self._known.popitem(last=False)

    def _log(self, host: str, source: str) -> None:
        if host not in self._logged and len(self._logged) < 1000:
            self._logged.add(host)
            log.warning("%s sends more unauthenticated requests than it may: dropping them", source)


def _take[K](
    buckets: OrderedDict[K, _Bucket], key: K, now: float, *, burst: float, rate: float, limit: int
) -> bool:
    bucket = buckets.get(key)
    if bucket is None:
        bucket = buckets[key] = _Bucket(burst, now)
        while len(buckets) > limit:
            buckets.popitem(last=False)
    else:
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        buckets.move_to_end(key)
    if bucket.tokens < 1.0:
        return False
    bucket.tokens -= 1.0
    return True
