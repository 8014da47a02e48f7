"""A running PBX whose database falls behind: new registrations get 503 with Retry-After,
work already taken is finished, OPTIONS is still answered, and service resumes at once."""

from __future__ import annotations

import asyncio
import time

from pbxd.memstore import MemoryStore
from pbxd.overload import DB_DELAY_SHED_S
from pbxd.store.base import Binding

from .harness import free_port, make_config, running, store_with
from .phone import Phone

HOST = "127.0.0.26"


class StalledStore(MemoryStore):
    """A store whose binding writes wait while ``gate`` is clear (a disk that fell behind),
    and which reports its queue as the database store does."""

    def __init__(self, base: MemoryStore) -> None:
        super().__init__()
        self.extensions = base.extensions
        self.gate = asyncio.Event()
        self._submitted: list[float] = []

    @property
    def backlog(self) -> int:
        return len(self._submitted)

    def oldest_wait(self, now: float) -> float:
        return now - self._submitted[0] if self._submitted else 0.0

    async def put_binding(self, binding: Binding) -> None:
        self._submitted.append(time.monotonic())
        try:
            await self.gate.wait()
            await super().put_binding(binding)
        finally:
            self._submitted.pop(0)


def test_registrations_beyond_what_the_database_takes_are_shed_and_service_resumes() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = StalledStore(store_with("1001", "1002"))
        async with running(make_config(HOST, port), store):
            first = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            second = await Phone("1002", "pw-1002", host=HOST, pbx=(HOST, port)).start()
            register = first.new_request("REGISTER", f"sip:{HOST}:{port}")
            challenge = (await first.transact(register))[-1]
            answer = first.authorize(register, challenge)
            taken = asyncio.create_task(first.transact(answer))
            while store.backlog == 0:
                await asyncio.sleep(0.01)
            await asyncio.sleep(DB_DELAY_SHED_S + 0.1)  # the write has now waited too long

            shed = (await second.transact(second.new_request("REGISTER", f"sip:{HOST}:{port}")))[-1]
            assert shed.status == 503
            assert int(shed.get("retry-after") or "0") >= 1
            first.send(answer)  # a retransmission of the REGISTER being written
            probe = (await second.transact(second.new_request("OPTIONS", f"sip:{HOST}:{port}")))[-1]
            assert probe.status == 200

            store.gate.set()
            assert [r.status for r in await taken] == [200]  # never 503 for work it has
            assert (await second.register()).status == 200  # and new work is taken again
            assert {b.aor for b in store.bindings.values()} == {"1001", "1002"}
            await first.close()
            await second.close()

    asyncio.run(asyncio.wait_for(scenario(), 20))
