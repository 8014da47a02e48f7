"""The transaction layer without sockets: timers are driven, finished transactions are freed,
and the timer heap does not keep stale entries for minutes."""

from __future__ import annotations

import asyncio

from pbxd.config import Listen
from pbxd.endpoint import Endpoint
from pbxd.sip.message import Message, Request, Response, make_response
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
