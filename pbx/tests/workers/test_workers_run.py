"""``pbxd run`` with ``sip.workers = 2``: a real front and two worker processes, driven by test
phones over UDP and TCP. Each test picks Call-IDs that fall to a chosen worker, so that what
one worker learnt (a registration) is proved to reach the other, and what belongs to one
transaction (a retransmission, a CANCEL) is proved to reach the worker that holds it."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from pbxd.workers.wire import worker_of_call_id
from peers.harness import Pbx, PbxFactory, wait_until
from service.phone import Phone

WORKERS = 2


def call_id_on(worker: int) -> str:
    """A fresh Call-ID that the front hands to ``worker``."""
    for _ in itertools.count():
        call_id = f"{secrets.token_hex(8)}@127.0.0.1"
        if worker_of_call_id(call_id, WORKERS) == worker:
            return call_id
    raise AssertionError("unreachable")


@pytest.fixture
def pbx(tmp_path: Path) -> Iterator[Pbx]:
    factory = PbxFactory(tmp_path / "pbx")
    try:
        pbx = factory("a", "127.0.0.1", extra_sip=f"workers = {WORKERS}")
        for number in ("201", "202"):
            pbx.add_extension(number, f"secret-{number}")
        pbx.start()
        yield pbx
    finally:
        factory.close()


def worker_pids(pbx: Pbx) -> list[int]:
    """The worker processes of a running pbxd (children started by multiprocessing)."""
    assert pbx.process is not None
    children = Path(f"/proc/{pbx.process.pid}/task/{pbx.process.pid}/children").read_text().split()
    return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def phones(pbx: Pbx, caller_transport: str = "udp", callee_transport: str = "udp") -> tuple[Phone, Phone]:
    address = (pbx.host, pbx.port)
    return (
        Phone("201", "secret-201", host="127.0.0.1", pbx=address, transport=caller_transport),
        Phone("202", "secret-202", host="127.0.0.1", pbx=address, transport=callee_transport),
    )


@pytest.mark.parametrize(("register_on", "call_on"), [(0, 1), (1, 0)])
def test_a_phone_registered_on_one_worker_is_called_through_the_other(
    pbx: Pbx, register_on: int, call_on: int
) -> None:
    async def scenario() -> tuple[int, int, int]:
        caller, callee = phones(pbx)
        await caller.start()
        await callee.start()
        try:
            registered = await callee.register(call_id=call_id_on(register_on))
            # At once: the 200 OK went out only after the other worker was told.
            call = await caller.call("202", call_id=call_id_on(call_on))
            assert call.final is not None
            bye = await caller.hang_up(call)
            return registered.status, call.final.status, bye.status
        finally:
            await caller.close()
            await callee.close()

    assert asyncio.run(scenario()) == (200, 200, 200)
    wait_until(lambda: any(c["disposition"] == "answered" for c in pbx.calls()), 5, "the call record")
    log = pbx.log_text()
    assert "[worker 0]" in log and "[worker 1]" in log
    assert "with 2 workers" in log


def test_an_unregistration_on_one_worker_is_known_to_the_other(pbx: Pbx) -> None:
    async def scenario() -> int:
        caller, callee = phones(pbx)
        await caller.start()
        await callee.start()
        try:
            assert (await callee.register(call_id=call_id_on(0))).status == 200
            assert (await callee.register(expires=0, call_id=call_id_on(0))).status == 200
            call = await caller.call("202", call_id=call_id_on(1))
            assert call.final is not None
            return call.final.status
        finally:
            await caller.close()
            await callee.close()

    assert asyncio.run(scenario()) == 480  # nobody registered: not routed to the old contact


@pytest.mark.parametrize("worker", [0, 1])
def test_a_retransmitted_invite_and_its_cancel_reach_the_worker_that_holds_the_call(
    pbx: Pbx, worker: int
) -> None:
    async def scenario() -> tuple[int, int, int]:
        caller, callee = phones(pbx)
        callee.answer = [180]  # rings until cancelled
        await caller.start()
        await callee.start()
        try:
            assert (await callee.register(call_id=call_id_on(1 - worker))).status == 200
            invite, responses = await caller.start_call("202", call_id=call_id_on(worker))
            await callee.next_request("INVITE")
            caller.send(invite)  # a retransmission: absorbed, not a second call
            ringing = await asyncio.wait_for(responses.get(), 5)
            while ringing.status < 180:
                ringing = await asyncio.wait_for(responses.get(), 5)
            await asyncio.sleep(0.3)
            invites = sum(1 for r in list(callee.incoming._queue) if r.method == "INVITE")  # type: ignore[attr-defined]
            cancelled = await caller.cancel(invite)
            final = await asyncio.wait_for(responses.get(), 5)
            while final.status < 200:
                final = await asyncio.wait_for(responses.get(), 5)
            return invites, cancelled.status, final.status
        finally:
            await caller.close()
            await callee.close()

    assert asyncio.run(scenario()) == (0, 200, 487)
    wait_until(lambda: [c["disposition"] for c in pbx.calls()] == ["cancelled"], 5, "the call record")


@pytest.mark.parametrize(
    ("caller_transport", "callee_transport"), [("tcp", "udp"), ("udp", "tcp"), ("tcp", "tcp")]
)
def test_calls_over_tcp_are_carried_by_the_front(
    pbx: Pbx, caller_transport: str, callee_transport: str
) -> None:
    async def scenario() -> list[int]:
        caller, callee = phones(pbx, caller_transport, callee_transport)
        await caller.start()
        await callee.start()
        statuses = []
        try:
            assert (await callee.register(call_id=call_id_on(0))).status == 200
            for worker in (0, 1):
                call = await caller.call("202", call_id=call_id_on(worker))
                assert call.final is not None
                statuses.append(call.final.status)
                statuses.append((await caller.hang_up(call)).status)
            return statuses
        finally:
            await caller.close()
            await callee.close()

    assert asyncio.run(scenario()) == [200, 200, 200, 200]


def test_a_worker_that_dies_ends_the_pbx_so_that_the_cluster_notices(pbx: Pbx) -> None:
    pids = worker_pids(pbx)
    assert len(pids) == WORKERS
    os.kill(pids[1], signal.SIGKILL)
    assert pbx.process is not None
    code = pbx.process.wait(timeout=15)
    pbx.process = None
    assert code == 3
    assert "worker 1 ended (exit code -9)" in pbx.log_text()
    wait_until(lambda: not Path(f"/proc/{pids[0]}").exists(), 5, "the other worker to stop")


def test_a_stop_request_stops_every_worker(pbx: Pbx) -> None:
    pids = worker_pids(pbx)
    assert pbx.stop(timeout=10) == 0
    for pid in pids:
        wait_until(lambda pid=pid: not Path(f"/proc/{pid}").exists(), 5, f"worker {pid} to end")
    log = pbx.log_text()
    assert "stop requested" in log
    assert "did not stop" not in log
