"""Load shedding: decide, cheaply and early, which new requests the PBX cannot take.

A PBX that takes more work than it can finish gets slower for everyone, until clients give up
and retransmit, which is more work again. pbxd refuses new work instead, with
``503 Service Unavailable`` and ``Retry-After``, while it is overloaded:

- **The database is behind**: the oldest database operation still waiting has waited
  ``DB_DELAY_SHED_S`` or more (a REGISTER's 200 waits for its write: by then the phone has
  retransmitted once): new REGISTERs are shed, calls are not (they do not wait for a
  write). Shorter waits are left alone: a disk's sync can stall every write for half a
  second, and the phones' retransmissions, which their transactions absorb, ride that out.
  A flood of registrations (every phone re-registering after a failover) is the usual cause.
  At ``MAX_DB_BACKLOG`` waiting operations, every new request is shed: the bound on the queue.
- **The PBX does not keep up**: over a sample with ``MIN_REQUESTS`` requests or more, the
  loop's thread was on the CPU for ``CPU_BUSY_SHED`` of the time and its ticker woke
  ``LAG_CALM_S`` late on average (saturated, and work has started to queue: a loop that is
  busy all the time but still punctual is at its knee, and takes what it gets), or its ticker
  woke ``LAG_SHED_S`` late (the process does not get the CPU it needs: a busy host), or
  clients retransmitted more than ``RETRANSMIT_SHARE_SHED`` of the requests received (they
  waited longer than T1 for an answer). Then a share of new requests is shed, raised while
  this lasts and lowered once the PBX is calm again, so that it settles near its capacity.
  The three measures work alike on Windows and Linux. On Linux, datagrams the kernel
  dropped on the PBX's UDP sockets (``pbxd.udpdrops``) count too: when the PBX does not get
  the CPU to read its sockets, the requests it never sees are the clearest sign.
  Shedding starts once these signs last ``BEHIND_SAMPLES`` samples in a row. One pause of the
  loop (a garbage collection, a slow commit, a host that took the CPU away) shows as a late
  sample, then as drops and retransmissions in the next one, when the clients' T1 (500 ms)
  runs out: those retransmissions make the pause good, and shedding for it would turn tens
  of milliseconds into failed calls (seen just below the knee on a busy host).

Only new work is shed: a request that answers a challenge (it carries credentials) continues
work already started, and is refused only when the database backlog is at its hard limit.
The share shed for not keeping up is taken from strangers first (a flood, a scanner), so that
a phone behind the same NAT as a flood keeps its service: the addresses of registered phones
are refused only for what strangers cannot make up, measured over the last sample. When every
phone re-registers at once, which is what follows a failover or a network blip, nearly all
new requests come from registered addresses, and they are then shed like any other (sparing
them outright let such a storm through unshed: the kernel dropped what pbxd could not read).
Retransmissions never reach this decision (their transaction answers them), nor do OPTIONS,
ACK, CANCEL or in-dialog requests: the endpoint asks only about out-of-dialog requests.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("pbxd.overload")

DB_DELAY_SHED_S = 1.0
MAX_DB_BACKLOG = 5000
CPU_BUSY_SHED = 0.97  # saturated: raise the share shed
LAG_SHED_S = 0.05  # mean lateness of the 20 ms ticker
LAG_CALM_S = 0.02
RETRANSMIT_SHARE_SHED = 0.10  # retransmissions among requests received in a sample
RETRANSMIT_SHARE_CALM = 0.02
RETRANSMIT_MIN = 20  # a few lost datagrams are not overload
DROPS_MIN = 10  # datagrams dropped by the kernel in a sample (Linux)
BEHIND_SAMPLES = 3  # samples in a row that show the PBX behind before shedding starts
# Requests received in a sample below which the PBX is not taken as overloaded, however slow
# its loop: without traffic, a slow loop is the host's doing, and shedding would not help.
MIN_REQUESTS = 50
SAMPLE_S = 0.5
SHARE_STEP_UP = 0.1
SHARE_STEP_DOWN = 0.2
# Retry-After is spread over a few seconds so that shed phones do not all come back at once.
RETRY_AFTER_S = (2, 6)
# While shedding, a summary line at most this often (a flood must not flood the log).
REPORT_EVERY_S = 10.0


class Backlog(Protocol):
    """What the gauge needs of the store: its queue of database operations."""

    @property
    def backlog(self) -> int: ...

    def oldest_wait(self, now: float) -> float: ...


@dataclass(slots=True)
class Episode:
    """One stretch of shedding, for the log."""

    started: float
    reason: str
    shed: int = 0
    reported: float = 0.0
    reported_shed: int = 0


class LoadGauge:
    """Answers ``shed_reason`` for each new out-of-dialog request; ``sample`` is called
    periodically (by the endpoint's ticker) with the loop's clock."""

    def __init__(
        self,
        database: Backlog | None = None,
        *,
        cpu_clock: Callable[[], float] = time.thread_time,
        chance: Callable[[], float] = random.random,
        drops: Callable[[], int] | None = None,
    ) -> None:
        self.database = database
        self._drops = drops  # the kernel's count of datagrams dropped on our sockets, if known
        self._drops_at = drops() if drops is not None else 0
        self._behind = 0  # samples in a row that showed the PBX behind
        self._cpu_clock = cpu_clock
        self._chance = chance
        self._sample_at: float | None = None
        self._cpu_at = 0.0
        self.busy = 0.0  # share of wall time the loop's thread spent on the CPU, last sample
        self.lag = 0.0  # mean lateness of the ticker, last sample
        self.share = 0.0  # share of new requests shed because the PBX does not keep up
        self.why = ""  # what the last sample found
        # Counted by the endpoint since the last sample: requests that matched a transaction
        # (retransmissions) and requests that did not.
        self.retransmissions = 0
        self.requests = 0
        self._lag_total = 0.0
        self._lag_count = 0
        self.episode: Episode | None = None
        self.total_shed = 0
        # New requests that could be shed since the last sample, and how many of them came from
        # registered phones' addresses; from them, the share of strangers among such requests.
        self._offered = 0
        self._offered_registered = 0
        self.strangers = 1.0

    # --- measuring --------------------------------------------------------------------------
    def sample(self, now: float, lag: float = 0.0) -> None:
        """Called on every tick with how late the tick was; once per ``SAMPLE_S``, measure
        the loop's CPU use, lateness and retransmissions, and adjust the share shed."""
        self._lag_total += lag
        self._lag_count += 1
        cpu = self._cpu_clock()
        if self._sample_at is None:
            self._sample_at, self._cpu_at = now, cpu
            return
        elapsed = now - self._sample_at
        if elapsed < SAMPLE_S:
            return
        self.busy = min(1.0, (cpu - self._cpu_at) / elapsed)
        self.lag = self._lag_total / self._lag_count
        retransmissions, received = self.retransmissions, self.retransmissions + self.requests
        dropped = 0
        if self._drops is not None:
            drops = self._drops()
            dropped, self._drops_at = max(0, drops - self._drops_at), drops
        self._sample_at, self._cpu_at = now, cpu
        self._lag_total, self._lag_count, self.retransmissions, self.requests = 0.0, 0, 0, 0
        if self._offered:
            self.strangers = 1.0 - self._offered_registered / self._offered
        self._offered = self._offered_registered = 0
        busy_enough = received >= MIN_REQUESTS  # an idle PBX on a slow host is not overloaded
        behind = []
        if busy_enough and self.busy >= CPU_BUSY_SHED and self.lag >= LAG_CALM_S:
            behind.append(f"event loop {self.busy:.0%} busy, {self.lag * 1000:.0f} ms late")
        if busy_enough and self.lag >= LAG_SHED_S:
            behind.append(f"event loop {self.lag * 1000:.0f} ms late")
        if retransmissions >= RETRANSMIT_MIN and retransmissions >= RETRANSMIT_SHARE_SHED * received:
            behind.append(f"{retransmissions} of {received} requests were retransmissions")
        if dropped >= DROPS_MIN:
            behind.append(f"{dropped} datagrams dropped by the kernel")
        self._behind = self._behind + 1 if behind else 0
        # Keeping up, however busy: a loop that sheds a share and is then busy all the time but
        # punctual, with clients that do not retransmit, takes all it gets (at its knee, a
        # share kept up for being busy refused a tenth of the calls until the load ended).
        calm = not dropped and (
            not busy_enough
            or (
                self.lag < LAG_CALM_S
                and retransmissions <= max(RETRANSMIT_MIN // 4, RETRANSMIT_SHARE_CALM * received)
            )
        )
        if behind and (self.share or self._behind >= BEHIND_SAMPLES):
            self.share = min(1.0, self.share + SHARE_STEP_UP)
            self.why = ", ".join(behind)
        elif calm:
            self.share = max(0.0, self.share - SHARE_STEP_DOWN)
        if not self.share:
            self.strangers = 1.0  # the next episode starts by sparing registered phones
        self._report(now)

    def _database_reason(self, now: float, *, hard_only: bool) -> str | None:
        """Why the database cannot take more; with ``hard_only``, only the backlog's bound."""
        if self.database is None:
            return None
        backlog = self.database.backlog
        if backlog >= MAX_DB_BACKLOG:
            return f"database backlog {backlog} operations (the limit)"
        if hard_only or not backlog:
            return None
        waited = self.database.oldest_wait(now)
        if waited >= DB_DELAY_SHED_S:
            return f"database behind: {backlog} operations waiting, the oldest for {waited:.1f} s"
        return None

    # --- deciding ---------------------------------------------------------------------------
    def under_pressure(self, now: float) -> bool:
        """A quick first test, on every new request: False when nothing is behind."""
        if self.share:
            return True
        database = self.database
        if database is None or not database.backlog:
            return False
        return database.backlog >= MAX_DB_BACKLOG or database.oldest_wait(now) >= DB_DELAY_SHED_S

    def shed_reason(
        self, now: float, method: str, *, continues_work: bool, registered: bool = False
    ) -> str | None:
        """Why this new request must be refused now, or None to take it. ``continues_work``
        is True for a request that answers a challenge (it carries credentials), ``registered``
        for one from the address of a registered phone."""
        reason = self._database_reason(now, hard_only=continues_work or method != "REGISTER")
        if not continues_work:
            self._offered += 1
            self._offered_registered += registered
            if reason is None and self.share and self._chance() < self._share_of(registered=registered):
                reason = f"not keeping up ({self.why}), shedding {self.share:.0%} of new requests"
        if reason is None:
            return None
        self.total_shed += 1
        if self.episode is None:
            self.episode = Episode(started=now, reason=reason, reported=now)
            log.warning("overloaded (%s): answering new requests 503 with Retry-After", reason)
        self.episode.shed += 1
        return reason

    def _share_of(self, *, registered: bool) -> float:
        """The chance of shedding a new request from a stranger or from a registered phone, so
        that ``share`` of all is shed, strangers first (their share of new requests last
        sample: ``strangers``)."""
        strangers = self.strangers
        if registered:
            return 0.0 if strangers >= 1.0 else max(0.0, (self.share - strangers) / (1.0 - strangers))
        return 1.0 if strangers <= 0.0 else min(1.0, self.share / strangers)

    def retry_after(self) -> int:
        low, high = RETRY_AFTER_S
        return low + int(self._chance() * (high - low + 1))

    def _report(self, now: float) -> None:
        """Close the episode once nothing was shed for a sample and no signal is up; while it
        lasts, say every REPORT_EVERY_S how much was shed."""
        episode = self.episode
        if episode is None:
            return
        still = self.share > 0 or self._database_reason(now, hard_only=False) is not None
        if not still and episode.shed == episode.reported_shed:
            log.warning(
                "load back to normal: shed %d new requests with 503 in %.1f s",
                episode.shed,
                now - episode.started,
            )
            self.episode = None
            return
        if now - episode.reported >= REPORT_EVERY_S:
            log.warning(
                "still overloaded: shed %d new requests with 503 in %.1f s so far",
                episode.shed,
                now - episode.started,
            )
            episode.reported = now
        episode.reported_shed = episode.shed
