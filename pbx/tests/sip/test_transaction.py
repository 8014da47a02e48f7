"""The transaction state machines driven by a fake clock (RFC 3261 §17, RFC 6026)."""

from __future__ import annotations

from pbxd.sip.message import Request, Response, make_response, parse_message
from pbxd.sip.transaction import (
    ClientTransaction,
    Deliver,
    Event,
    ServerTransaction,
    State,
    Timeout,
    Transmit,
    build_ack,
    transaction_key,
)


def request(method: str = "INVITE", branch: str = "z9hG4bK-1") -> Request:
    data = (
        f"{method} sip:2000@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch={branch}\r\n"
        f"Route: <sip:pbx;lr>\r\nFrom: <sip:1000@pbx>;tag=f\r\nTo: <sip:2000@pbx>\r\nCall-ID: c1\r\n"
        f"CSeq: 1 {method}\r\nMax-Forwards: 70\r\n\r\n"
    ).encode()
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def sent(events: list[Event]) -> list[str]:
    """What was transmitted, as start lines."""
    out = []
    for event in events:
        if isinstance(event, Transmit):
            out.append(event.message.to_bytes().split(b"\r\n", 1)[0].decode())
    return out


def state_of(tx: ServerTransaction | ClientTransaction) -> State:
    """The current state (a call, so that type checkers do not narrow it across steps)."""
    return tx.state


def fire_until(tx: ServerTransaction | ClientTransaction, end: float) -> list[tuple[float, list[Event]]]:
    """Call on_timer at every deadline up to ``end``: the fake clock."""
    fired = []
    while tx.deadline is not None and tx.deadline <= end:
        now = tx.deadline
        fired.append((now, tx.on_timer(now)))
    return fired


def test_invite_server_absorbs_retransmissions_and_retransmits_its_final_until_ack() -> None:
    invite = request()
    tx = ServerTransaction(invite, 0.0, reliable=False)
    trying = make_response(invite, 100)
    assert sent(tx.respond(trying, 0.0)) == ["SIP/2.0 100 Trying"]
    assert sent(tx.on_request(invite, 0.2)) == ["SIP/2.0 100 Trying"]  # retransmission: last response again
    busy = make_response(invite, 486, to_tag="t")
    assert sent(tx.respond(busy, 1.0)) == ["SIP/2.0 486 Busy Here"]
    assert state_of(tx) is State.COMPLETED
    fired = fire_until(tx, 5.0)
    # Timer G: T1, 2T1, 4T1 capped at T2 -> at 1.5, 2.5, 4.5 seconds.
    assert [round(at, 2) for at, events in fired if sent(events)] == [1.5, 2.5, 4.5]
    assert sent(tx.on_request(invite, 5.0)) == ["SIP/2.0 486 Busy Here"]
    ack = build_ack(invite, busy)
    assert tx.on_request(ack, 5.1) == []
    assert state_of(tx) is State.CONFIRMED
    fire_until(tx, 5.1 + 5.0)  # Timer I = T4
    assert tx.terminated


def test_invite_server_without_ack_times_out_after_64_t1() -> None:
    invite = request()
    tx = ServerTransaction(invite, 0.0, reliable=False)
    tx.respond(make_response(invite, 404, to_tag="t"), 0.0)
    fired = fire_until(tx, 100.0)
    assert any(isinstance(e, Timeout) for _, events in fired for e in events)
    assert tx.terminated and fired[-1][0] == 32.0


def test_invite_server_2xx_goes_to_accepted_and_passes_retransmitted_2xx() -> None:
    invite = request()
    tx = ServerTransaction(invite, 0.0, reliable=False)
    ok = make_response(invite, 200, to_tag="t")
    assert sent(tx.respond(ok, 0.0)) == ["SIP/2.0 200 OK"]
    assert state_of(tx) is State.ACCEPTED
    assert tx.on_request(invite, 0.5) == []  # a retransmitted INVITE is absorbed
    assert sent(tx.respond(ok, 1.0)) == ["SIP/2.0 200 OK"]
    fire_until(tx, 32.0)  # Timer L
    assert tx.terminated


def test_non_invite_server_keeps_its_final_for_timer_j_and_not_over_tcp() -> None:
    register = request("REGISTER")
    tx = ServerTransaction(register, 0.0, reliable=False)
    assert tx.on_request(register, 0.1) == []  # nothing to repeat yet
    tx.respond(make_response(register, 200, to_tag="t"), 0.2)
    assert sent(tx.on_request(register, 10.0)) == ["SIP/2.0 200 OK"]
    assert sent(tx.respond(make_response(register, 500), 10.0)) == []  # one final only
    fire_until(tx, 32.3)
    assert tx.terminated
    reliable = ServerTransaction(register, 0.0, reliable=True)
    reliable.respond(make_response(register, 200), 0.0)
    fire_until(reliable, 0.0)
    assert reliable.terminated


def test_a_finished_non_invite_server_transaction_keeps_only_its_response_and_request_name() -> None:
    """Kept 32 s at thousands per second under load: its size must not grow with the request."""
    register = request("REGISTER")
    register.headers.append(("contact", "<sip:1000@10.0.0.1:5060>;" + "x" * 500))
    tx = ServerTransaction(register, 0.0, reliable=False)
    tx.respond(make_response(register, 200, to_tag="t"), 0.1)
    assert [name for name, _ in tx.request.headers] == ["call-id", "cseq"]
    assert (tx.request.method, tx.request.uri, tx.request.call_id) == ("REGISTER", "sip:2000@pbx", "c1")
    assert tx.last_response is not None and tx.last_response.headers == []  # kept as bytes
    assert sent(tx.on_request(register, 5.0)) == ["SIP/2.0 200 OK"]


def test_invite_client_retransmits_with_timer_a_and_gives_up_with_timer_b() -> None:
    tx = ClientTransaction(request(), reliable=False)
    assert sent(tx.start(0.0)) == ["INVITE sip:2000@pbx SIP/2.0"]
    fired = fire_until(tx, 40.0)
    retransmits = [at for at, events in fired if sent(events)]
    assert retransmits == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert isinstance(fired[-1][1][0], Timeout) and fired[-1][0] == 32.0


def test_invite_client_acks_non_2xx_itself_and_absorbs_its_retransmission() -> None:
    invite = request()
    tx = ClientTransaction(invite, reliable=False)
    tx.start(0.0)
    ringing = make_response(invite, 180, to_tag="t")
    assert [type(e) for e in tx.on_response(ringing, 0.1)] == [Deliver]
    assert tx.deadline is None  # no retransmissions once something answered
    busy = make_response(invite, 486, to_tag="t")
    events = tx.on_response(busy, 0.2)
    assert sent(events) == ["ACK sip:2000@pbx SIP/2.0"]
    assert any(isinstance(e, Deliver) for e in events)
    ack = next(e.message for e in events if isinstance(e, Transmit))
    assert ack.get_all("via") == invite.get_all("via")[:1] and ack.get("route") == "<sip:pbx;lr>"
    assert ack.cseq == (1, "ACK") and ack.tag("to") == "t"
    again = tx.on_response(busy, 0.3)
    assert sent(again) == ["ACK sip:2000@pbx SIP/2.0"] and not any(isinstance(e, Deliver) for e in again)
    fire_until(tx, 32.2)  # Timer D
    assert tx.terminated


def test_invite_client_passes_every_2xx_up_until_timer_m() -> None:
    invite = request()
    tx = ClientTransaction(invite, reliable=True)
    tx.start(0.0)
    ok: Response = make_response(invite, 200, to_tag="t")
    assert [type(e) for e in tx.on_response(ok, 0.1)] == [Deliver]
    assert [type(e) for e in tx.on_response(ok, 0.2)] == [Deliver]
    fire_until(tx, 40.0)
    assert tx.terminated


def test_timer_c_and_give_up_by_bound_a_ringing_branch() -> None:
    invite = request()
    tx = ClientTransaction(invite, reliable=True, timer_c=180.0)
    tx.start(0.0)
    tx.on_response(make_response(invite, 180, to_tag="t"), 1.0)
    assert tx.deadline == 181.0
    tx.give_up_by(33.0)
    fired = fire_until(tx, 100.0)
    assert fired[-1][0] == 33.0 and isinstance(fired[-1][1][0], Timeout)


def test_non_invite_client_timer_e_caps_at_t2_and_timer_k_after_final() -> None:
    register = request("REGISTER")
    tx = ClientTransaction(register, reliable=False)
    tx.start(0.0)
    fired = fire_until(tx, 12.0)
    assert [at for at, events in fired if sent(events)] == [0.5, 1.5, 3.5, 7.5, 11.5]
    tx.on_response(make_response(register, 200), 12.0)
    assert state_of(tx) is State.COMPLETED
    fire_until(tx, 17.0)
    assert tx.terminated


def test_transaction_keys_match_ack_and_cancel_to_their_invite() -> None:
    invite = request()
    cancel = request("CANCEL")
    assert transaction_key(invite, "INVITE") == transaction_key(cancel, "INVITE")
    assert transaction_key(cancel, "CANCEL") != transaction_key(invite, "INVITE")
    old_style = request(branch="1234")
    assert transaction_key(old_style, "INVITE")[0] == "2543"
