"""Trunks to peer PBXes: where a trunk call goes, who may send calls in over a trunk, and
whether each trunk is up (an OPTIONS probe every ``keepalive_interval`` seconds; a probe left
unanswered until the next one is due, or timing out, marks the trunk down).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from pbxd.auth import Hashes
from pbxd.config import Trunk
from pbxd.endpoint import Endpoint
from pbxd.sip import digest
from pbxd.sip.message import Request, Response, new_tag
from pbxd.transport import Peer

log = logging.getLogger("pbxd.trunks")


@dataclass(slots=True, eq=False)
class TrunkState:
    config: Trunk
    up: bool = True  # optimistic until the first probe says otherwise
    probe_pending: bool = False
    probes: int = field(default=0)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def trusted_by_address(self) -> bool:
        """Calls from the trusted sources need no digest (the operator opted in)."""
        return self.config.username is None and self.config.trust_source_address

    @property
    def peer(self) -> Peer:
        return Peer(self.config.transport, self.config.host, self.config.port)

    def request_uri(self, number: str) -> str:
        transport = ";transport=tcp" if self.config.transport == "tcp" else ""
        return f"sip:{number}@{self.config.host}:{self.config.port}{transport}"

    def hashes(self, realm: str) -> Hashes | None:
        """HA1 values that an inbound peer must authenticate with (None: no digest required)."""
        if self.config.username is None or self.config.password is None:
            return None
        username, password = self.config.username, self.config.password
        return Hashes(
            digest.ha1("MD5", username, realm, password),
            digest.ha1("SHA-256", username, realm, password),
        )


class Trunks:
    def __init__(
        self,
        trunks: tuple[Trunk, ...],
        endpoint: Endpoint,
        *,
        call_id: Callable[[Callable[[], str]], str] = lambda make: make(),
    ) -> None:
        """``call_id`` picks the Call-ID of a probe from those ``make`` offers (a worker
        process needs one whose answer comes back to it: ``pbxd.workers.wire.call_id_for``)."""
        self.endpoint = endpoint
        self._call_id = call_id
        self._by_name = {trunk.name: TrunkState(trunk) for trunk in trunks}
        self._tasks: list[asyncio.Task[None]] = []

    def __getitem__(self, name: str) -> TrunkState:
        return self._by_name[name]

    def from_source(self, host: str) -> TrunkState | None:
        """The trunk whose trusted sources include ``host``."""
        for state in self._by_name.values():
            if host in state.config.trusted_sources:
                return state
        return None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        # keepalive_interval 0 turns probing off: such a trunk is always taken to be up.
        self._tasks = [
            loop.create_task(self._keepalive(state))
            for state in self._by_name.values()
            if state.config.keepalive_interval > 0
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _keepalive(self, state: TrunkState) -> None:
        while True:
            if state.probe_pending:
                self._mark(state, up=False, why="the last OPTIONS probe got no answer")
            self._probe(state)
            await asyncio.sleep(state.config.keepalive_interval)

    def _probe(self, state: TrunkState) -> None:
        state.probe_pending = True
        state.probes += 1
        peer = state.peer
        host, port = self.endpoint.transports.advertised(peer.transport)
        target = f"sip:{peer.host}:{peer.port}"
        headers = [
            ("via", self.endpoint.via(peer.transport)),
            ("max-forwards", "70"),
            ("from", f"<sip:pbxd@{host}:{port}>;tag={new_tag()}"),
            ("to", f"<{target}>"),
            ("call-id", self._call_id(lambda: f"{new_tag()}{new_tag()}@{host}")),
            ("cseq", f"{state.probes} OPTIONS"),
        ]

        def answered(response: Response) -> None:
            if response.status >= 200:
                state.probe_pending = False
                self._mark(state, up=True, why=f"OPTIONS answered {response.status}")

        def timed_out() -> None:
            self._mark(state, up=False, why="OPTIONS timed out")

        self.endpoint.send_request(Request("OPTIONS", target, headers), peer, answered, timed_out)

    @staticmethod
    def _mark(state: TrunkState, *, up: bool, why: str) -> None:
        if state.up != up:
            log.warning("trunk %s is %s (%s)", state.name, "up" if up else "down", why)
        state.up = up
