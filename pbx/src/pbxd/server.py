"""The composition root: one ``PbxServer`` wires transports, transaction layer, registrar,
proxy, dial plan, trunks and call records together around a ``Store``.

The command line (``pbxd run``) and the Windows service create it, ``start`` it, and ``stop`` it;
``healthy`` tells a supervisor whether every socket is still bound.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math

from pbxd.auth import Authenticator
from pbxd.cdr import CallRecorder
from pbxd.config import PbxConfig
from pbxd.dialplan import DialPlan
from pbxd.endpoint import Endpoint
from pbxd.identity import LocalAddresses
from pbxd.overload import Backlog, LoadGauge
from pbxd.proxy import Proxy
from pbxd.registrar import Registrar
from pbxd.router import Router
from pbxd.routesign import SECRET_NAME
from pbxd.store.base import Store
from pbxd.throttle import FailureThrottle, SourceGuard
from pbxd.transport import SipTransport, Transports
from pbxd.trunks import Trunks
from pbxd.udpdrops import drop_counter
from pbxd.workers.wire import call_id_for

log = logging.getLogger("pbxd.server")

# How often expired registrations and stale call records are cleaned up.
SWEEP_INTERVAL = 30.0

# Garbage collector thresholds while serving. A busy PBX holds tens of thousands of finished
# transactions (RFC 3261 keeps them 32 s); with the default thresholds the collector walks all
# of them every few seconds, stalling the event loop long enough for UDP receive buffers to
# overflow (measured: 700 calls/s fell behind, 800/s keeps up with these). The SIP code breaks
# its own reference cycles, so little is left for the collector to find.
GC_THRESHOLDS = (50_000, 20, 100)


class PbxServer:
    """``worker``: (index, count) when this server is one of several worker processes
    (``pbxd.workers``), whose ``transports`` relay through the front; its throttles then take
    their share of the configured limits, and the requests it starts get Call-IDs that fall to it."""

    def __init__(
        self,
        config: PbxConfig,
        store: Store,
        *,
        transports: SipTransport | None = None,
        worker: tuple[int, int] = (0, 1),
    ) -> None:
        sip = config.sip
        self.config = config
        self.store = store
        # Built here (not in start) so that a bad dial plan fails before any socket is bound.
        self.dialplan = DialPlan(config.dialplan, config.trunks)
        self.transports = transports or Transports(sip.listen, fallback_host=sip.domain)
        index, count = worker
        # The database store reports its queue (the load shedder reads it); the in-memory one has none.
        backlog: Backlog | None = store if hasattr(store, "backlog") else None  # type: ignore[assignment]
        self.load = LoadGauge(backlog, drops=drop_counter(sip.listen))
        self.endpoint = Endpoint(self.transports, load=self.load)
        self.local = LocalAddresses(sip)
        throttle = FailureThrottle(math.ceil(sip.auth_failures_per_minute / count))
        self.auth = Authenticator(
            sip.realm,
            sip.nonce_ttl,
            store,
            throttle=throttle,
            guard=SourceGuard.share_of(count),
            algorithms=sip.digest_algorithms,
        )
        self.registrar = Registrar(sip, store, self.auth)
        self.recorder = CallRecorder(store)
        self.trunks = Trunks(
            config.trunks, self.endpoint, call_id=lambda make: call_id_for(index, count, make)
        )
        self.proxy = Proxy(
            settings=sip,
            endpoint=self.endpoint,
            registrar=self.registrar,
            auth=self.auth,
            dialplan=self.dialplan,
            trunks=self.trunks,
            recorder=self.recorder,
            local=self.local,
        )
        self.router = Router(self.endpoint, self.registrar, self.proxy, self.local)
        self.endpoint.registered_source = lambda host, port: self.registrar.by_address(host, port) is not None
        # The guard's buckets run on the authenticator's clock, which its challenges use too.
        self.endpoint.may_answer_unauthenticated = lambda host, port: self.auth.guard.allow(
            host, port, self.auth.clock()
        )
        self.endpoint.handler = self.router
        self._started = False
        self._sweeper: asyncio.Task[None] | None = None
        self._previous_gc: tuple[int, int, int] | None = None

    async def start(self) -> None:
        """Reload registrations, bind every listen address, start timers and trunk probes."""
        await self.registrar.load()
        # Shared by every node through the database: calls record-routed by one node are
        # relayed by the node that takes over after a failover.
        self.proxy.use_route_key(await self.store.shared_secret(SECRET_NAME))
        try:
            await self.transports.start()
        except OSError:
            await self.transports.stop()
            raise
        self.endpoint.start()
        self.recorder.start()
        self.trunks.start()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())
        if self._previous_gc is None:
            self._previous_gc = gc.get_threshold()
            gc.set_threshold(*GC_THRESHOLDS)
        self._started = True
        log.info("pbxd started")

    async def stop(self) -> None:
        """Close sockets and cancel timers. The store stays open: its owner closes it."""
        self._started = False
        if self._sweeper is not None:
            self._sweeper.cancel()
        await self.trunks.stop()
        await self.router.stop()
        await self.proxy.stop()
        await self.transports.stop()
        await self.endpoint.stop()
        try:
            await asyncio.wait_for(self.recorder.flush(), timeout=0.5)
        except TimeoutError:
            log.warning("stopped before every call record was written")
        await self.recorder.stop()
        if self._previous_gc is not None:
            gc.set_threshold(*self._previous_gc)
            self._previous_gc = None
        log.info("pbxd stopped")

    def healthy(self) -> bool:
        return self.health_problem() is None

    def health_problem(self) -> str | None:
        """None while the PBX serves, else why it does not (for the watchdog's log)."""
        if not self._started:
            return "the SIP server is not started"
        if not self.transports.bound:
            return f"a listening socket was closed (configured: {self.config.sip.listen_text})"
        return None

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            try:
                await self.registrar.sweep()
                self.recorder.expire()
            except Exception:
                log.exception("cleanup of expired registrations failed")
