# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Watching a PBX as its phones see it while something happens to it (a failover, a move).

Phones register, then the PBX is probed with OPTIONS every ``interval`` seconds; an outage is
the time from the last answered probe before a run of unanswered ones to the first answered
probe after it, as a phone would notice it. At the end every phone is called without having
registered again: a phone that cannot be reached lost its registration.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_phone import Address
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_scenario import (
    Exchange,
    Report,
    call,
    register,
    unregister,
)
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_transport import UdpNetwork

# Long enough to outlast any drill, short enough that a forgotten phone goes away by itself.
WATCH_EXPIRES = 900


@dataclass
class Outages:
    """The probe timeline folded into outages: (began, ended) seconds since the first probe."""

    began_at: float | None = None
    last_answer: float | None = None
    spans: list[tuple[float, float]] = field(default_factory=list)

    def answered(self, at: float) -> None:
        if self.began_at is not None:
            self.spans.append((self.began_at, at))
            self.began_at = None
        self.last_answer = at

    def missed(self, at: float) -> None:
        if self.began_at is None:
            self.began_at = self.last_answer if self.last_answer is not None else at

    def finish(self, at: float) -> None:
        """An outage still running at the end counts up to the end."""
        if self.began_at is not None:
            self.spans.append((self.began_at, at))
            self.began_at = None

    @property
    def longest(self) -> float:
        return max((end - start for start, end in self.spans), default=0.0)


@dataclass
class WatchResult:
    probes: int = 0
    answered: int = 0
    outages: Outages = field(default_factory=Outages)
    registered: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "probes": self.probes,
            "answered": self.answered,
            "outage_ms": round(self.outages.longest * 1000),
            "outages": [{"began_s": round(a, 3), "ended_s": round(b, 3)} for a, b in self.outages.spans],
            "registered": self.registered,
            "lost_registrations": len(self.lost),
            "lost": self.lost,
        }


def watch(
    server: Address,
    phones: list[tuple[str, str]],
    *,
    local_host: str,
    duration: float,
    interval: float,
    settle: float,
    timeout: float,
) -> WatchResult:
    """Register ``phones`` (number, password), probe for up to ``duration`` seconds (ending
    ``settle`` seconds after an outage is over), then call every phone from the first one."""
    result = WatchResult()
    with UdpNetwork() as network:
        probe = network.phone("watch", "", local_host=local_host, server=server)
        watched = [network.phone(n, p, local_host=local_host, server=server) for n, p in phones]
        report = Report()
        for phone in watched:
            network.run(register(report, phone, timeout, WATCH_EXPIRES), timeout)
        result.failures = [f"{c.name}: {c.detail}" for c in report.checks if not c.ok]
        result.registered = [p.number for p, c in zip(watched, report.checks, strict=False) if c.ok]
        if result.failures:
            return result
        start = time.monotonic()
        while (now := time.monotonic()) - start < duration:
            outcome = network.exchange(Exchange(probe, probe.options()), timeout=interval)
            at = time.monotonic() - start
            result.probes += 1
            if outcome.final is not None and outcome.final.status == 200:
                result.answered += 1
                result.outages.answered(at)
                if result.outages.spans and at - result.outages.spans[-1][1] >= settle:
                    break
            else:
                result.outages.missed(at)
            time.sleep(max(0.0, interval - (time.monotonic() - now)))
        result.outages.finish(time.monotonic() - start)
        caller, others = watched[0], watched[1:]
        for callee in others:
            checked = Report()
            network.run(
                call(checked, caller, callee, f"call {caller.number} -> {callee.number}", timeout), timeout
            )
            if not checked.ok:
                result.lost.append(callee.number)
        network.run(unregister(watched), timeout)
    return result
