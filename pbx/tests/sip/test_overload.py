"""Load shedding: the gauge's decisions, and the endpoint's stateless 503 for new work only."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pbxd.endpoint import Endpoint, Incoming
from pbxd.overload import (
    BEHIND_SAMPLES,
    CPU_BUSY_SHED,
    DB_DELAY_SHED_S,
    LAG_CALM_S,
    MAX_DB_BACKLOG,
    RETRY_AFTER_S,
    LoadGauge,
)
from pbxd.sip.message import Request, Response, make_response
from pbxd.throttle import SourceGuard
from pbxd.transport import Peer

from .test_endpoint import RecordingTransports

SOURCE = Peer("udp", "127.0.0.9", 5062)


class FakeBacklog:
    def __init__(self, backlog: int = 0, waited: float = 0.0) -> None:
        self.backlog = backlog
        self.waited = waited

    def oldest_wait(self, now: float) -> float:
        return self.waited


class FakeCpu:
    """A thread CPU clock the test moves by hand."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def saturate(
    gauge: LoadGauge, cpu: FakeCpu, samples: int, busy: float, start: float = 0.0, *, lag: float | None = None
) -> float:
    """Feed ``samples`` half-second samples at ``busy`` share of CPU, the ticker ``lag`` late
    (by default, late enough to show a backlog once the loop is saturated); returns the clock."""
    if lag is None:
        lag = LAG_CALM_S if busy >= CPU_BUSY_SHED else 0.0
    now = start
    gauge.sample(now, lag=lag)
    for _ in range(samples):
        now += 0.5
        cpu.seconds += 0.5 * busy
        gauge.requests = 100  # traffic enough for the loop's load to be the PBX's
        gauge.sample(now, lag=lag)
    return now


def test_a_database_that_is_behind_sheds_new_registers_only() -> None:
    database = FakeBacklog(backlog=40, waited=DB_DELAY_SHED_S + 0.1)
    gauge = LoadGauge(database)
    assert gauge.under_pressure(0.0)
    assert gauge.shed_reason(0.0, "REGISTER", continues_work=False) is not None
    # Calls do not wait for a write; answers to a challenge continue work already started.
    assert gauge.shed_reason(0.0, "INVITE", continues_work=False) is None
    assert gauge.shed_reason(0.0, "REGISTER", continues_work=True) is None
    database.waited = DB_DELAY_SHED_S / 2
    assert not gauge.under_pressure(0.0)
    assert gauge.shed_reason(0.0, "REGISTER", continues_work=False) is None


def test_a_commit_that_stalls_for_most_of_a_second_sheds_nothing() -> None:
    """A shared disk's sync can stall the writes for half a second or more (seen at 500
    registrations/s in the side-by-side bench): phones retransmit and get their 200 once it
    is over. Refusing them with 503 for it would turn a stall into failed registrations."""
    gauge = LoadGauge(FakeBacklog(backlog=250, waited=0.8))
    assert not gauge.under_pressure(0.0)
    assert gauge.shed_reason(0.0, "REGISTER", continues_work=False) is None


def test_the_backlog_bound_refuses_every_new_request() -> None:
    gauge = LoadGauge(FakeBacklog(backlog=MAX_DB_BACKLOG, waited=0.0))
    for method in ("REGISTER", "INVITE", "MESSAGE"):
        for continues_work in (False, True):
            assert gauge.shed_reason(0.0, method, continues_work=continues_work) is not None


def test_a_saturated_loop_sheds_a_growing_share_and_stops_when_calm() -> None:
    cpu = FakeCpu()
    gauge = LoadGauge(cpu_clock=cpu, chance=lambda: 0.15)
    now = saturate(gauge, cpu, 1, busy=0.5)
    assert gauge.share == 0 and not gauge.under_pressure(now)
    now = saturate(gauge, cpu, BEHIND_SAMPLES - 1, busy=1.0, start=now)
    assert gauge.share == 0  # not yet: a pause of the loop looks like this too
    now = saturate(gauge, cpu, 1, busy=1.0, start=now)
    assert gauge.share == pytest.approx(0.1)
    assert gauge.shed_reason(now, "INVITE", continues_work=False) is None  # 0.15 >= 0.1: taken
    now = saturate(gauge, cpu, 1, busy=1.0, start=now)
    assert gauge.share == pytest.approx(0.2)
    assert gauge.shed_reason(now, "INVITE", continues_work=False) is not None
    assert gauge.shed_reason(now, "INVITE", continues_work=True) is None
    saturate(gauge, cpu, 2, busy=0.3, start=now)
    assert gauge.share == 0


def test_the_share_falls_once_the_pbx_keeps_up_however_busy_it_is() -> None:
    """Near its knee, shedding a share is enough for the loop to be punctual again while it
    stays busy all the time: the share must fall then, or it refuses a tenth of new work until
    the load ends."""
    cpu = FakeCpu()
    gauge = LoadGauge(cpu_clock=cpu, chance=lambda: 0.0)
    now = saturate(gauge, cpu, BEHIND_SAMPLES, busy=1.0)
    assert gauge.share == pytest.approx(0.1)
    saturate(gauge, cpu, 1, busy=0.95, start=now, lag=0.005)
    assert gauge.share == 0


def test_registered_phones_are_shed_only_for_what_strangers_cannot_make_up() -> None:
    """After a failover every phone re-registers at once, and nearly every new request comes
    from a registered phone's address. Sparing those outright let such a storm through unshed
    (the 4x REGISTER step: 14,336 of 40,000 failed as the kernel dropped what pbxd could not
    read, and nothing was shed). Strangers still go first while there are any."""
    cpu = FakeCpu()
    gauge = LoadGauge(cpu_clock=cpu, chance=lambda: 0.3)
    now = saturate(gauge, cpu, BEHIND_SAMPLES + 4, busy=1.0)
    assert gauge.share == pytest.approx(0.5)

    def shed(registered: bool) -> bool:
        return gauge.shed_reason(now, "REGISTER", continues_work=False, registered=registered) is not None

    # Nothing is known yet of who sends: registered phones are spared.
    assert [shed(registered=True) for _ in range(100)] == [False] * 100
    now = saturate(gauge, cpu, 1, busy=1.0, start=now)  # that sample: registered phones only
    assert gauge.share == pytest.approx(0.6) and gauge.strangers == 0.0
    assert shed(registered=True)  # 0.3 < 0.6: the storm is shed like any other load
    # A flood of strangers beside the phones: strangers make up the share, phones keep service.
    for _ in range(80):
        shed(registered=False)
    for _ in range(19):
        shed(registered=True)
    now = saturate(gauge, cpu, 1, busy=1.0, start=now)
    assert gauge.share == pytest.approx(0.7) and gauge.strangers == pytest.approx(0.8)
    assert not shed(registered=True) and shed(registered=False)
    # Calm again: the next episode starts by sparing registered phones.
    saturate(gauge, cpu, 4, busy=0.3, start=now)
    assert gauge.share == 0 and gauge.strangers == 1.0


def test_a_saturated_loop_that_is_still_punctual_sheds_nothing() -> None:
    """At its knee the loop is on the CPU all the time and still answers at once: shedding
    then would refuse calls it can take (the side-by-side bench lost a tenth of its knee)."""
    cpu = FakeCpu()
    gauge = LoadGauge(cpu_clock=cpu, chance=lambda: 0.0)
    saturate(gauge, cpu, 4, busy=1.0, lag=0.005)
    assert gauge.share == 0


def test_a_late_loop_or_retransmitting_clients_count_as_not_keeping_up() -> None:
    cpu = FakeCpu()  # the thread is hardly on the CPU: the host does not give it any
    gauge = LoadGauge(cpu_clock=cpu, chance=lambda: 0.0)
    gauge.sample(0.0)
    for tick in range(1, 26):
        gauge.sample(tick * 0.02, lag=0.08)
    assert gauge.share == 0  # no traffic: a late loop is the host's doing, not overload
    for sample in range(1, BEHIND_SAMPLES + 1):
        gauge.requests = 60
        for tick in range(25 * sample + 1, 25 * sample + 26):
            gauge.sample(tick * 0.02, lag=0.08)
    assert gauge.share == pytest.approx(0.1) and "ms late" in gauge.why
    now = (25 * BEHIND_SAMPLES + 25) * 0.02 + 0.6
    gauge.retransmissions, gauge.requests = 30, 100
    gauge.sample(now, lag=0.0)
    assert gauge.share == pytest.approx(0.2) and gauge.why == "30 of 130 requests were retransmissions"
    reason = gauge.shed_reason(now, "INVITE", continues_work=False)
    assert reason == "not keeping up (30 of 130 requests were retransmissions), shedding 20% of new requests"
    gauge.retransmissions, gauge.requests = 3, 500  # a few lost datagrams: calm
    gauge.sample(now + 0.6, lag=0.0)
    assert gauge.share == 0


def test_one_pause_of_the_loop_and_the_retransmissions_it_causes_shed_nothing() -> None:
    """A pause (a collection, a commit, a host that took the CPU away) makes one sample late and
    the next one full of retransmissions, once the clients' T1 has run out: they make the pause
    good. Seen at 450 calls/s on a busy host that sustained 500/s: 138 of 4,500 calls refused."""
    cpu = FakeCpu()
    gauge = LoadGauge(cpu_clock=cpu, chance=lambda: 0.0)
    now = saturate(gauge, cpu, 2, busy=0.8, lag=0.0)
    now = saturate(gauge, cpu, 1, busy=0.9, start=now, lag=0.065)
    gauge.retransmissions = 170
    now = saturate(gauge, cpu, 1, busy=0.9, start=now, lag=0.0)
    assert gauge.share == 0
    saturate(gauge, cpu, 2, busy=0.8, start=now, lag=0.0)
    assert gauge.share == 0 and gauge.episode is None


def test_the_endpoint_counts_new_requests_and_retransmissions() -> None:
    async def scenario() -> None:
        endpoint, _, _, gauge = shedding_endpoint()
        gauge.share = 0.0
        endpoint.start()
        try:
            endpoint.receive(request("INVITE", "one"), SOURCE)
            endpoint.receive(request("INVITE", "one"), SOURCE)
            endpoint.receive(request("OPTIONS", "two"), SOURCE)
            assert (gauge.requests, gauge.retransmissions) == (2, 1)
        finally:
            await endpoint.stop()

    asyncio.run(scenario())


def test_an_episode_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = FakeBacklog(backlog=10, waited=5.0)
    gauge = LoadGauge(database)
    gauge.sample(0.0)
    with caplog.at_level(logging.WARNING, logger="pbxd.overload"):
        for _ in range(100):
            assert gauge.shed_reason(0.1, "REGISTER", continues_work=False)
        gauge.sample(0.6)  # something was shed since the last sample: the episode goes on
        database.backlog, database.waited = 0, 0.0
        gauge.sample(1.1)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("overloaded (database behind: 10 operations waiting")
    assert lines[1] == "load back to normal: shed 100 new requests with 503 in 1.0 s"
    assert gauge.total_shed == 100 and gauge.episode is None


# --- the endpoint ---------------------------------------------------------------------------


class RecordingHandler:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.acks: list[Request] = []

    def on_request(self, incoming: Incoming) -> None:
        self.requests.append(incoming.request)

    def on_cancel(self, cancel: Incoming, invite: Incoming | None) -> None:
        self.requests.append(cancel.request)

    def on_ack(self, ack: Request, source: Peer) -> None:
        self.acks.append(ack)

    def on_stray_response(self, response: Response, source: Peer) -> None: ...


def request(method: str, branch: str, *, to_tag: str | None = None, extra: tuple[str, ...] = ()) -> Request:
    headers = [
        ("via", f"SIP/2.0/UDP {SOURCE.host}:{SOURCE.port};branch=z9hG4bK{branch}"),
        ("from", "<sip:1001@pbx.test>;tag=caller"),
        ("to", "<sip:1002@pbx.test>" + (f";tag={to_tag}" if to_tag else "")),
        ("call-id", f"call-{branch}"),
        ("cseq", f"1 {method}"),
        ("max-forwards", "70"),
    ]
    headers += [(name, 'Digest username="1001"') for name in extra]
    return Request(method, "sip:1002@pbx.test", headers)


def shedding_endpoint() -> tuple[Endpoint, RecordingTransports, RecordingHandler, LoadGauge]:
    gauge = LoadGauge(chance=lambda: 0.0)
    gauge.share = 1.0  # saturated: every new request without credentials is shed
    transports = RecordingTransports()
    endpoint = Endpoint(transports, load=gauge)
    handler = RecordingHandler()
    endpoint.handler = handler
    return endpoint, transports, handler, gauge


def statuses(transports: RecordingTransports) -> list[int]:
    return [message.status for message, _ in transports.sent if isinstance(message, Response)]


def test_new_work_gets_a_stateless_503_with_retry_after_and_its_ack_is_absorbed() -> None:
    async def scenario() -> None:
        endpoint, transports, handler, _ = shedding_endpoint()
        endpoint.start()
        try:
            invite = request("INVITE", "new")
            endpoint.receive(invite, SOURCE)
            [(response, dest)] = transports.sent
            assert isinstance(response, Response) and response.status == 503
            assert dest == SOURCE
            low, high = RETRY_AFTER_S
            assert low <= int(response.get("retry-after") or "") <= high
            assert endpoint.transaction_counts == (0, 0)  # no state kept for refused work
            assert handler.requests == []
            # The caller's ACK of that 503 matches no transaction and is not routed anywhere.
            ack = request("ACK", "new", to_tag=response.tag("to"))
            ack.headers[4] = ("cseq", "1 ACK")
            endpoint.receive(ack, SOURCE)
            assert handler.acks == []
        finally:
            await endpoint.stop()

    asyncio.run(scenario())


def test_a_bye_for_the_dialog_of_a_503_is_answered_481_statelessly_and_goes_nowhere() -> None:
    """SIPp, and any client that takes an unexpected final response for the start of a
    dialog, sends a BYE with the 503's To tag when its REGISTER is shed. No dialog has that
    tag: relayed to the phone the Request-URI names (SIPp's own, which ignores it), the BYE
    would be retransmitted for 32 s, some ten datagrams and a kept transaction for every
    request shed, in the very overload that shed it."""

    async def scenario() -> None:
        endpoint, transports, handler, _ = shedding_endpoint()
        endpoint.start()
        try:
            endpoint.receive(request("REGISTER", "shed"), SOURCE)
            [(refusal, _)] = transports.sent
            assert isinstance(refusal, Response) and refusal.status == 503
            bye = request("BYE", "bye", to_tag=refusal.tag("to"))
            bye.headers[4] = ("cseq", "2 BYE")
            endpoint.receive(bye, SOURCE)
            assert statuses(transports) == [503, 481]
            assert transports.sent[-1][1] == SOURCE
            assert handler.requests == []
            assert endpoint.transaction_counts == (0, 0)
            # A retransmission is answered afresh, still without state.
            endpoint.receive(bye, SOURCE)
            assert statuses(transports) == [503, 481, 481]
            assert endpoint.transaction_counts == (0, 0)
        finally:
            await endpoint.stop()

    asyncio.run(scenario())


def test_503s_to_unauthenticated_sources_are_capped_like_their_challenges() -> None:
    """A 503 is an answer to an unauthenticated request: with forged source addresses, a PBX
    that sheds would reflect one for every request it is sent. The cap on answers per source
    (``SourceGuard``) applies to them as it does to challenges."""

    async def scenario() -> None:
        endpoint, transports, handler, _ = shedding_endpoint()
        guard = SourceGuard(port_rate=(3.0, 0.001), host_rate=(100.0, 0.001))
        endpoint.may_answer_unauthenticated = lambda host, port: guard.allow(host, port, 0.0)
        endpoint.start()
        try:
            for number in range(10):
                endpoint.receive(request("INVITE", f"flood{number}"), SOURCE)
            assert statuses(transports) == [503, 503, 503]
            assert endpoint.transaction_counts == (0, 0) and handler.requests == []
        finally:
            await endpoint.stop()

    asyncio.run(scenario())


def test_options_in_dialog_requests_cancel_and_answers_to_challenges_are_never_shed() -> None:
    async def scenario() -> None:
        endpoint, transports, handler, _ = shedding_endpoint()
        endpoint.start()
        try:
            kept = [
                request("OPTIONS", "probe"),
                request("BYE", "bye", to_tag="callee"),
                request("INVITE", "reinvite", to_tag="callee"),
                request("INVITE", "authorized", extra=("proxy-authorization",)),
                request("REGISTER", "registered", extra=("authorization",)),
            ]
            for message in kept:
                endpoint.receive(message, SOURCE)
            assert [r.method for r in handler.requests] == ["OPTIONS", "BYE", "INVITE", "INVITE", "REGISTER"]
            assert 503 not in statuses(transports)
        finally:
            await endpoint.stop()

    asyncio.run(scenario())


def test_a_retransmission_of_work_taken_before_the_overload_is_never_refused() -> None:
    async def scenario() -> None:
        endpoint, transports, handler, gauge = shedding_endpoint()
        gauge.share = 0.0
        endpoint.start()
        try:
            invite = request("INVITE", "early")
            endpoint.receive(invite, SOURCE)
            assert len(handler.requests) == 1 and statuses(transports) == [100]
            gauge.share = 1.0
            endpoint.receive(request("INVITE", "early"), SOURCE)  # the same branch: a retransmission
            assert statuses(transports) == [100, 100]  # answered by its transaction, not 503
            endpoint.receive(request("INVITE", "later"), SOURCE)
            assert statuses(transports) == [100, 100, 503]
            # The transaction answers with what the handler decided.
            incoming = next(iter(endpoint._server.values()))
            endpoint.respond(incoming, make_response(incoming.request, 486, to_tag="busy"))
            assert statuses(transports)[-1] == 486
        finally:
            await endpoint.stop()

    asyncio.run(scenario())


def test_the_share_shed_spares_registered_phones_but_not_a_database_that_is_behind() -> None:
    async def scenario() -> None:
        endpoint, transports, handler, gauge = shedding_endpoint()
        endpoint.registered_source = lambda host, port: (host, port) == (SOURCE.host, SOURCE.port)
        endpoint.start()
        try:
            endpoint.receive(request("INVITE", "phone"), SOURCE)  # from a registered phone
            assert [r.method for r in handler.requests] == ["INVITE"]
            stranger = Peer("udp", "127.0.0.10", 5062)
            endpoint.receive(request("INVITE", "stranger"), stranger)
            assert statuses(transports)[-1] == 503
            gauge.share = 0.0
            gauge.database = FakeBacklog(backlog=10, waited=DB_DELAY_SHED_S * 2)
            endpoint.receive(request("REGISTER", "refresh"), SOURCE)  # the database decides
            assert statuses(transports)[-1] == 503 and len(handler.requests) == 1
        finally:
            await endpoint.stop()

    asyncio.run(scenario())
