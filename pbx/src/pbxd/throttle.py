"""Throttling of sources that keep failing authentication (password guessing).

A source address that fails more than ``limit`` times within one minute is refused without its
credentials being checked until that minute has passed. Memory is bounded: at most
``max_sources`` addresses are tracked, the oldest forgotten first.
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
        self._windows: OrderedDict[str, _Window] = OrderedDict()

    def blocked(self, source: str, now: float) -> bool:
        window = self._windows.get(source)
        if window is None:
            return False
        if now - window.started >= WINDOW:
            del self._windows[source]
            return False
        return window.failures > self._limit

    def record_failure(self, source: str, now: float) -> None:
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
                "%s failed authentication %d times within a minute: refusing it for the rest of the minute",
                source,
                window.failures,
            )
