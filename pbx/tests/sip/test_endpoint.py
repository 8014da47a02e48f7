"""The transaction layer without sockets: timers are driven, finished transactions are freed,
and the timer heap does not keep stale entries for minutes."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
import weakref

import pytest
from pbxd.config import Listen
from pbxd.endpoint import Endpoint, Incoming
from pbxd.sip.message import Message, Request, Response, make_response, parse_message
from pbxd.transport import Peer, Transports

PEER = Peer("udp", "127.0.0.9", 5060)


class RecordingTransports(Transports):
    """Transports that only record what would be sent."""

    def __init__(self) -> None:
        super().__init__((Listen("udp", "127.0.0.8", 5060),), fallback_host="pbx.test")
        self.sent: list[tuple[Message, Peer]] = []

    def send(self, message: Message, peer: Peer) -> None:
        self.sent.append((message, peer))


def invite(endpoint: Endpoint, number: int) -> Request:
    headers = [
        ("via", endpoint.via("udp")),
        ("from", f"<sip:a@x>;tag={number}"),
        ("to", "<sip:b@x>"),
        ("call-id", f"call-{number}"),
        ("cseq", "1 INVITE"),
    ]
    return Request("INVITE", "sip:b@127.0.0.9", headers)


def test_answered_client_transactions_leave_no_stale_timer_entries_behind() -> None:
    async def scenario() -> None:
        transports = RecordingTransports()
        endpoint = Endpoint(transports)
        endpoint.start()
        answered: list[Response] = []
        try:
            for number in range(1500):
                request = invite(endpoint, number)
                outgoing = endpoint.send_request(request, PEER, answered.append, timer_c=180.0)
                tx_request = outgoing.tx.request
                endpoint.receive(make_response(tx_request, 180, to_tag="t"), PEER)
                endpoint.receive(make_response(tx_request, 200, to_tag="t"), PEER)
            assert len(answered) == 3000
            assert endpoint.transaction_counts == (0, 1500)  # kept 32 s for 2xx retransmissions
            endpoint.tick()
            # One live entry per transaction (Timer M); the stopped Timers A, B and C are gone.
            assert len(endpoint._heap) == 1500
            assert [m.to_bytes().split(b" ", 1)[0] for m, _ in transports.sent[:1]] == [b"INVITE"]
        finally:
            await endpoint.stop()

    asyncio.run(scenario())


def bye(endpoint: Endpoint, number: int) -> Request:
    headers = [
        ("via", endpoint.via("udp")),
        ("max-forwards", "69"),
        ("route", "<sip:127.0.0.9;lr>"),
        ("from", f"<sip:a@x>;tag={number}"),
        ("to", "<sip:b@x>;tag=callee"),
        ("call-id", f"call-{number}"),
        ("cseq", "2 BYE"),
        ("user-agent", "phone/1.0"),
    ]
    return Request("BYE", "sip:b@127.0.0.9", headers)


def test_a_finished_client_transaction_lets_go_of_its_owner_while_it_waits_out_timer_k() -> None:
    """A relayed BYE's client transaction stays 5 s after its 200 (Timer K) only to absorb
    repeats of it: the proxy's callbacks, and the call state they close over, must be freed at
    once (at 1,000 calls a second, 6 KB a call kept 5 s was 30 MB), and of the request only its
    name is kept."""

    class Owner:
        """Stands for what the proxy's callbacks close over (the branch, both requests)."""

    async def scenario() -> None:
        transports = RecordingTransports()
        endpoint = Endpoint(transports)
        endpoint.start()
        delivered: list[int] = []
        try:
            owner = Owner()
            alive = weakref.ref(owner)
            outgoing = endpoint.send_request(
                bye(endpoint, 1), PEER, lambda response, kept=owner: delivered.append(response.status)
            )
            sent = outgoing.tx.request
            del owner
            endpoint.receive(make_response(sent, 200), PEER)
            assert delivered == [200]
            assert endpoint.transaction_counts == (0, 1)  # Timer K: repeats of the 200 are absorbed
            gc.collect()
            assert alive() is None
            assert [name for name, _ in outgoing.tx.request.headers] == ["call-id", "cseq"]
            endpoint.receive(make_response(sent, 200), PEER)
            assert delivered == [200]
        finally:
            await endpoint.stop()

    asyncio.run(scenario())


class _Answers:
    """A handler that answers every request 200 at once (as the registrar does)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.requests = 0
        self.strays = 0

    def on_request(self, incoming: Incoming) -> None:
        self.requests += 1
        response = make_response(
            incoming.request, 200, to_tag="srv", extra=[("contact", "<sip:a@127.0.0.9>")]
        )
        self.endpoint.respond(incoming, response)

    def on_cancel(self, cancel: Incoming, invite: Incoming | None) -> None: ...

    def on_ack(self, ack: Request, source: Peer) -> None: ...

    def on_stray_response(self, response: Response, source: Peer) -> None:
        self.strays += 1


def register(number: int) -> bytes:
    return (
        f"REGISTER sip:127.0.0.8 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bK-{number};rport\r\n"
        f"From: <sip:u{number:06d}@127.0.0.8>;tag=t{number}\r\nTo: <sip:u{number:06d}@127.0.0.8>\r\n"
        f"Call-ID: reg-{number}@127.0.0.9\r\nCSeq: 2 REGISTER\r\n"
        f"Contact: <sip:u{number:06d}@127.0.0.9:5060>\r\n"
        f'Authorization: Digest username="u{number:06d}",realm="pbx.test",nonce="{"ab" * 20}",'
        f'uri="sip:127.0.0.8",response="{"cd" * 16}"\r\nMax-Forwards: 70\r\nExpires: 3600\r\n'
        "User-Agent: phone/1.0\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def answering_endpoint() -> tuple[RecordingTransports, Endpoint, _Answers]:
    """A started endpoint whose handler answers every request 200 at once."""
    transports = RecordingTransports()
    endpoint = Endpoint(transports)
    handler = _Answers(endpoint)
    endpoint.handler = handler
    endpoint.start()
    return transports, endpoint, handler


def test_a_finished_non_invite_transaction_repeats_its_response_for_32_s_then_is_gone() -> None:
    async def scenario() -> None:
        transports, endpoint, handler = answering_endpoint()
        try:
            endpoint.receive(parse_message(register(1)), PEER)
            [(first, dest)] = transports.sent
            assert endpoint.transaction_counts == (1, 0)
            endpoint.receive(parse_message(register(1)), PEER)  # a retransmission: the same bytes
            assert handler.requests == 1 and len(transports.sent) == 2
            assert transports.sent[1][0].to_bytes() == first.to_bytes() and transports.sent[1][1] == dest
            assert endpoint.load.retransmissions == 1
            endpoint._loop = _Later(endpoint._loop, 64 * 0.5 + 0.1)  # past Timer J
            endpoint.tick()
            assert endpoint.transaction_counts == (0, 0)
            endpoint.receive(parse_message(register(1)), PEER)  # now a new request
            assert handler.requests == 2
        finally:
            await endpoint.stop()

    asyncio.run(scenario())


class _Later:
    """The loop's clock moved on by ``seconds``."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None, seconds: float) -> None:
        assert loop is not None
        self._loop, self._seconds = loop, seconds

    def time(self) -> float:
        return self._loop.time() + self._seconds


def test_finished_non_invite_transactions_cost_a_small_fixed_amount_while_they_are_kept() -> None:
    """RFC 3261 keeps a non-INVITE server transaction 32 s over UDP to repeat its response: at
    3,000 registrations a second that is 96,000 of them, so each must cost little more than the
    response's bytes (the issue's bound: RSS under 200 MB in overload)."""
    count = 5000
    datagrams = [register(number) for number in range(count)]

    async def scenario() -> int:
        transports = RecordingTransports()
        transports.send = lambda message, peer: None  # type: ignore[method-assign]
        endpoint = Endpoint(transports)
        endpoint.handler = _Answers(endpoint)
        endpoint.start()
        try:
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            for data in datagrams:
                endpoint.receive(parse_message(data), PEER)
            endpoint.tick()
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            assert endpoint.transaction_counts == (count, 0)
            return held // count
        finally:
            await endpoint.stop()

    sample = parse_message(register(0))
    assert isinstance(sample, Request)
    contact = ("contact", "<sip:a@127.0.0.9>")
    response_bytes = len(make_response(sample, 200, to_tag="srv", extra=[contact]).to_bytes())
    per_transaction = asyncio.run(scenario())
    assert per_transaction < response_bytes + 650, (per_transaction, response_bytes)


def test_answers_kept_for_retransmissions_are_capped_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst of registrations must not hold 32 s of answers without bound: past the cap the
    oldest answer goes early, and a late retransmission of it is handled as a new request."""
    monkeypatch.setattr("pbxd.endpoint.MAX_ANSWERED", 100)

    async def scenario() -> None:
        _, endpoint, handler = answering_endpoint()
        try:
            for number in range(150):
                endpoint.receive(parse_message(register(number)), PEER)
            assert endpoint.transaction_counts == (100, 0)
            endpoint.receive(parse_message(register(149)), PEER)  # newest: still absorbed
            assert handler.requests == 150
            endpoint.receive(parse_message(register(0)), PEER)  # oldest: forgotten, handled again
            assert handler.requests == 151
            endpoint._loop = _Later(endpoint._loop, 64 * 0.5 + 0.1)
            endpoint.tick()
            assert endpoint.transaction_counts == (0, 0)
        finally:
            await endpoint.stop()

    asyncio.run(scenario())


def phone_invite(number: int) -> bytes:
    return (
        "INVITE sip:2000@127.0.0.8 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bK-i{number};rport\r\n"
        f"From: <sip:1000@127.0.0.8>;tag=f{number}\r\nTo: <sip:2000@127.0.0.8>\r\n"
        f"Call-ID: call-{number}@127.0.0.9\r\nCSeq: 1 INVITE\r\nContact: <sip:1000@127.0.0.9>\r\n"
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def test_invite_transactions_kept_after_their_2xx_are_capped_oldest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An answered call keeps two INVITE transactions for 32 s (RFC 6026 Accepted): a burst of
    calls must not hold them without bound. Past the cap the oldest end early: a late
    retransmission of its INVITE is then a new request, a late 2xx for it a stray response."""
    monkeypatch.setattr("pbxd.endpoint.MAX_ACCEPTED", 100)

    async def scenario() -> None:
        _, endpoint, handler = answering_endpoint()
        try:
            for number in range(60):  # answered 200 by the handler: server side Accepted
                endpoint.receive(parse_message(phone_invite(number)), PEER)
            relayed: list[Response] = []
            sent: list[Request] = []

            def relay_answered(number: int) -> None:
                sent.append(invite(endpoint, number))
                endpoint.send_request(sent[-1], PEER, relayed.append)
                endpoint.receive(make_response(sent[-1], 200, to_tag="t"), PEER)

            for number in range(60):  # relayed and answered 200: client side Accepted
                relay_answered(number)
            assert endpoint.transaction_counts == (40, 60)  # the 20 oldest went first
            endpoint.receive(parse_message(phone_invite(59)), PEER)  # still kept: absorbed
            assert handler.requests == 60
            endpoint.receive(parse_message(phone_invite(0)), PEER)  # ended early: new again
            assert handler.requests == 61
            for number in range(60, 100):
                relay_answered(number)
            assert endpoint.transaction_counts == (1, 99)
            endpoint.receive(make_response(sent[0], 200, to_tag="t"), PEER)
            assert handler.strays == 1 and len(relayed) == 100
            endpoint.receive(make_response(sent[-1], 200, to_tag="t"), PEER)
            assert handler.strays == 1 and len(relayed) == 101  # a kept one passes its 2xx on
            endpoint._loop = _Later(endpoint._loop, 64 * 0.5 + 0.1)
            endpoint.tick()
            assert endpoint.transaction_counts == (0, 0) and not endpoint._accepted
        finally:
            await endpoint.stop()

    asyncio.run(scenario())
