"""Attacks found against a running PBX, each answered the way RFC 3261 and a careful operator
expect: numbers that are not ASCII digits, TCP connections held open or trickled into, relaying
for strangers, forged hang-ups and reused Call-IDs in the call records, and unauthenticated
floods."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest
from pbxd.server import PbxServer
from pbxd.sip.dialog import Dialog
from pbxd.sip.message import Request, make_response
from pbxd.throttle import PORT_BURST, SourceGuard

from .harness import free_port, make_config, running, store_with
from .phone import Call, Phone
from .test_robustness import HOST, options, run, udp_exchange


def register(port: int, branch: str) -> bytes:
    return (
        f"REGISTER sip:{HOST}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {HOST}:9;branch=z9hG4bK{branch};rport\r\n"
        f"From: <sip:1001@{HOST}>;tag=r\r\nTo: <sip:1001@{HOST}>\r\nCall-ID: {branch}\r\n"
        f"CSeq: 1 REGISTER\r\nContact: <sip:1001@{HOST}:5062>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def invite(port: int, branch: str) -> bytes:
    return (
        f"INVITE sip:1001@{HOST}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {HOST}:9;branch=z9hG4bK{branch};rport\r\nMax-Forwards: 70\r\n"
        f"From: <sip:1002@{HOST}>;tag=i\r\nTo: <sip:1001@{HOST}>\r\nCall-ID: {branch}\r\n"
        f"CSeq: 1 INVITE\r\nContact: <sip:1002@{HOST}:9>\r\nContent-Length: 0\r\n\r\n"
    ).encode()


# (what to send, the field the 400 names): "²" passes str.isdigit() and fails int().
_BAD_NUMBERS = [
    (
        lambda p: options(p, "cl").replace(b"Content-Length: 0", "Content-Length: ²".encode()),
        "Content-Length",
    ),
    (lambda p: options(p, "cs").replace(b"CSeq: 1", "CSeq: ²".encode()), "CSeq"),
    (lambda p: register(p, "ex").replace(b"Expires: 60", "Expires: ²".encode()), "Expires"),
    (lambda p: invite(p, "mf").replace(b"Max-Forwards: 70", "Max-Forwards: ²".encode()), "Max-Forwards"),
    (lambda p: invite(p, "ru").replace(f"{HOST}:{p} SIP".encode(), f"{HOST}:²  SIP".encode()), "Request-URI"),
    (lambda p: options(p, "vp").replace(b":9;branch", ":²;branch".encode()), "Via"),
]


@pytest.mark.parametrize(("build", "field"), _BAD_NUMBERS)
def test_a_number_that_is_not_ascii_digits_gets_400_over_udp(build: object, field: str) -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            data = build(port)  # type: ignore[operator]
            answer = await udp_exchange(port, data, expect_answer=field != "Via")
            if field == "Via":
                assert answer is None  # nowhere to send a 400
            else:
                assert answer is not None and answer[0] == 400 and field in answer[1], answer
            assert await udp_exchange(port, options(port, "after")) == (200, "OK")
            assert server.healthy()

    run(scenario())


def test_a_contact_port_that_is_not_ascii_digits_gets_400_once_authenticated() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            phone = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            request = phone.new_request("REGISTER", f"sip:{HOST}:{port}")
            request.set("contact", f"<sip:1001@{HOST}:506²>")
            final = (await phone.request_with_auth(request))[-1]
            assert final.status == 400 and "Contact" in final.reason and "port" in final.reason
            assert server.registrar.lookup("1001") == []
            assert (await phone.register()).status == 200
            await phone.close()

    run(scenario())


@pytest.mark.parametrize("value", ["²", "-1", "1e3"])
def test_a_content_length_that_is_not_a_number_gets_400_and_the_tcp_connection_stays_open(value: str) -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            reader, writer = await asyncio.open_connection(HOST, port)
            bad = options(port, "cl", "TCP").replace(
                b"Content-Length: 0", f"Content-Length: {value}".encode()
            )
            writer.write(bad)
            answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            assert answer.startswith(b"SIP/2.0 400 Bad Request (Content-Length")
            writer.write(options(port, "after", "TCP"))
            answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            assert answer.startswith(b"SIP/2.0 200 OK")
            writer.close()
            assert server.healthy()

    run(scenario())


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Whether the PBX closes the connection within ``seconds`` (what it sent before is read)."""
    try:
        await asyncio.wait_for(reader.read(), seconds)
    except TimeoutError:
        return False
    return reader.at_eof()


def test_one_address_cannot_take_every_tcp_connection() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            server.transports.max_connections_per_address = 2
            held = [await asyncio.open_connection(HOST, port, local_addr=("127.0.0.24", 0)) for _ in range(2)]
            await asyncio.sleep(0.05)
            extra_reader, extra_writer = await asyncio.open_connection(
                HOST, port, local_addr=("127.0.0.24", 0)
            )
            assert await _closed_within(extra_reader, 2)
            extra_writer.close()
            # Another address still gets in and is served.
            reader, writer = await asyncio.open_connection(HOST, port, local_addr=("127.0.0.25", 0))
            writer.write(options(port, "other", "TCP"))
            assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)).startswith(b"SIP/2.0 200 OK")
            # A slot of the first address freed is usable again.
            held[0][1].close()
            await asyncio.sleep(0.1)
            again_reader, again_writer = await asyncio.open_connection(
                HOST, port, local_addr=("127.0.0.24", 0)
            )
            again_writer.write(options(port, "again", "TCP"))
            assert (await asyncio.wait_for(again_reader.readuntil(b"\r\n\r\n"), 2)).startswith(b"SIP/2.0 200")
            for _, other in [*held[1:], (reader, writer), (again_reader, again_writer)]:
                other.close()

    run(scenario())


def test_a_message_trickled_in_byte_by_byte_is_cut_off_at_the_message_timeout() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            server.transports.message_timeout = 0.4
            reader, writer = await asyncio.open_connection(HOST, port)
            data = options(port, "slow", "TCP")
            closed = asyncio.ensure_future(_closed_within(reader, 5))
            for index in range(len(data)):  # one byte every 50 ms: the whole would take ~10 s
                if closed.done():
                    break
                writer.write(data[index : index + 1])
                await asyncio.sleep(0.05)
            assert await closed
            assert index < len(data) - 1  # cut off before the message was complete
            writer.close()
            assert server.transports.connections == {}

    run(scenario())


def test_idle_and_silent_tcp_connections_are_closed_and_busy_ones_kept() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            server.transports.first_message_timeout = 0.4
            server.transports.idle_timeout = 1.5
            silent_reader, silent_writer = await asyncio.open_connection(HOST, port)
            busy_reader, busy_writer = await asyncio.open_connection(HOST, port)
            busy_writer.write(options(port, "busy", "TCP"))
            assert await _closed_within(silent_reader, 2)  # never sent a message
            for _ in range(4):  # keepalives keep a used connection open past the idle timeout
                busy_writer.write(b"\r\n\r\n")
                await asyncio.sleep(0.5)
            assert not busy_reader.at_eof() and len(server.transports.connections) == 1
            assert await _closed_within(busy_reader, 3)  # then silence: idle
            for writer in (silent_writer, busy_writer):
                writer.close()

    run(scenario())


# --- in-dialog requests: no open relay, and call records that cannot be forged ------------------


def in_dialog(port: int, method: str, target: str, route: str, call_id: str = "relay-1") -> bytes:
    """A request with a To tag (so: in a dialog) and a Route naming the PBX."""
    return (
        f"{method} {target} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {HOST}:9;branch=z9hG4bK{method}{call_id};rport\r\nMax-Forwards: 70\r\n"
        f"Route: {route}\r\nFrom: <sip:spam@{HOST}>;tag=a\r\nTo: <sip:victim@127.0.0.26>;tag=b\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def test_the_pbx_relays_in_dialog_requests_only_along_routes_it_recorded_and_signed() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            loop = asyncio.get_running_loop()
            third_party = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            third_party.bind(("127.0.0.26", 0))
            third_party.setblocking(False)
            target = f"sip:victim@127.0.0.26:{third_party.getsockname()[1]}"
            alice, bob = await _phones(port, "1001", "1002")
            call = await alice.call("1002")
            signed = call.route_set[0]  # the PBX's signed Record-Route of a real call
            routes = [
                f"<sip:{HOST}:{port};lr>",  # what an attacker writes
                signed.replace(";pbxd=", ";pbxd=0"),  # a tampered signature
                signed,  # a real signature, but of another call
            ]
            for index, route in enumerate(routes):
                for method in ("MESSAGE", "INVITE"):
                    answer = await udp_exchange(port, in_dialog(port, method, target, route, f"r{index}"))
                    assert answer == (403, "Forbidden (not a dialog this PBX record-routed)"), (route, method)
            with contextlib.suppress(TimeoutError):
                leaked = await asyncio.wait_for(loop.sock_recv(third_party, 65535), 0.3)
                raise AssertionError(f"the third party got {leaked[:60]!r}")
            # Addressed to the PBX, but routed on to the third party: refused as well.
            for method in ("MESSAGE", "INVITE"):
                via_route = in_dialog(port, method, f"sip:1001@{HOST}:{port}", f"<{target};lr>", "onward")
                assert await udp_exchange(port, via_route) == (403, "Forbidden (not routed here)")
            with contextlib.suppress(TimeoutError):
                leaked = await asyncio.wait_for(loop.sock_recv(third_party, 65535), 0.3)
                raise AssertionError(f"the third party got {leaked[:60]!r}")
            third_party.close()
            assert (await alice.hang_up(call)).status == 200  # the real dialog is relayed
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


def test_a_call_survives_a_failover_because_the_nodes_share_the_route_key() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1002")
        config = make_config(HOST, port)
        first = PbxServer(config, store)
        await first.start()
        alice, bob = await _phones(port, "1001", "1002")
        call = await alice.call("1002")
        assert call.final is not None and call.final.status == 200
        await first.stop()
        async with running(config, store):  # the other node, on the same address and database
            assert (await alice.hang_up(call)).status == 200
            await bob.next_request("BYE")
        for phone in (alice, bob):
            await phone.close()

    run(scenario())


async def _phones(port: int, *numbers: str, host: str = HOST) -> list[Phone]:
    result = []
    for number in numbers:
        phone = await Phone(number, f"pw-{number}", host=host, pbx=(HOST, port)).start()
        assert (await phone.register()).status == 200
        result.append(phone)
    return result


async def _settled(server: PbxServer) -> None:
    await asyncio.sleep(0.1)
    await server.recorder.flush()


def test_a_forged_bye_that_the_callee_refuses_leaves_the_call_record_open() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1002")
        async with running(make_config(HOST, port), store) as server:
            alice, bob = await _phones(port, "1001", "1002")
            call = await alice.call("1002")
            await _settled(server)
            attacker = await Phone("6666", "none", host="127.0.0.28", pbx=(HOST, port)).start()
            forged = attacker.new_request(
                "BYE", f"sip:1002@{HOST}:{port}", to=f"<sip:1002@{HOST}>;tag=made-up", call_id=call.call_id
            )
            assert (await attacker.transact(forged))[-1].status == 481  # the callee knows no such dialog
            await _settled(server)
            assert server.recorder.active_calls == 1
            assert store.call_records[call.call_id].disposition is None
            assert (await alice.hang_up(call)).status == 200
            await _settled(server)
            assert store.call_records[call.call_id].disposition == "answered"
            assert server.recorder.active_calls == 0
            for phone in (alice, bob, attacker):
                await phone.close()

    run(scenario())


def test_a_bye_in_the_dialog_of_a_stateless_refusal_is_answered_481_and_reaches_no_phone() -> None:
    """A client that takes a challenge or refusal for the start of a dialog ends it with a BYE
    carrying that response's To tag (SIPp does when a REGISTER meets an unexpected 401 or
    403). No dialog has the tag pbxd gives its stateless answers: routed by its Request-URI,
    the BYE would reach the phone it names and, unanswered there, be retransmitted for 32 s."""

    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")) as server:
            (bob,) = await _phones(port, "1002")
            client = await Phone("1001", "wrong", host="127.0.0.28", pbx=(HOST, port)).start()
            register = client.new_request("REGISTER", f"sip:{HOST}:{port}")
            [challenge] = await client.transact(register)
            assert challenge.status == 401
            to = challenge.get("to") or ""
            assert challenge.tag("to") == server.proxy.auth.challenge_tag
            bye = client.new_request("BYE", f"sip:1002@{HOST}:{port}", to=to, call_id=register.call_id)
            assert [r.status for r in await client.transact(bye)] == [481]
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(bob.next_request("BYE"), 0.5)
            assert server.endpoint.transaction_counts[1] == 0  # nothing relayed, nothing to retransmit
            for phone in (bob, client):
                await phone.close()

    run(scenario())


def test_a_reused_call_id_gets_a_record_of_its_own_and_never_rewrites_a_finished_one() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1002")
        async with running(make_config(HOST, port), store) as server:
            alice, bob = await _phones(port, "1001", "1002")
            call = await alice.call("1002")
            assert (await alice.hang_up(call)).status == 200
            await _settled(server)
            bob.answer = [486]
            uri = f"sip:1002@{HOST}:{port}"
            again = alice.new_request("INVITE", uri, to=f"<sip:1002@{HOST}:{port}>", call_id=call.call_id)
            sent, responses = await alice.send_with_auth(again)
            alice._conclude(sent, responses)
            assert responses[-1].status == 486
            await _settled(server)
            records = [r for r in store.records.values() if r.call_id == call.call_id]
            assert [r.disposition for r in records] == ["answered", "busy"]
            assert records[0].answer is not None and records[0].duration is not None
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


def _answer_late(bob: Phone, ringing: Request) -> None:
    """Bob answers 200 as if the answer crossed the PBX's CANCEL (and 487s nothing)."""
    tag = bob._tags[ringing.call_id]
    ok = make_response(ringing, 200, to_tag=tag)
    ok.headers.append(("contact", bob.contact))
    dialog = Dialog.as_callee(ringing, tag)
    dialog.confirm(ok)
    bob.calls[ringing.call_id] = Call(ringing, final=ok, dialog=dialog)
    bob.send(ok)


@pytest.mark.parametrize("gives_up", ["caller cancels", "ring timeout"])
def test_an_answer_that_crosses_the_cancel_is_recorded_as_answered(gives_up: str) -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1002")
        config = make_config(HOST, port, ring_timeout=1 if gives_up == "ring timeout" else 30)
        async with running(config, store) as server:
            alice, bob = await _phones(port, "1001", "1002")
            bob.answer = [180]
            invite, _ = await alice.start_call("1002")
            ringing = await bob.next_request("INVITE")
            bob._ringing.clear()  # bob's 200 is on its way: it will not answer the CANCEL 487
            if gives_up == "caller cancels":
                assert (await alice.cancel(invite)).status == 200
            await bob.next_request("CANCEL")
            _answer_late(bob, ringing)
            await _settled(server)
            assert store.call_records[invite.call_id].answer is not None
            assert store.call_records[invite.call_id].disposition is None
            assert (await bob.hang_up(bob.calls[ringing.call_id])).status == 200
            await _settled(server)
            assert store.call_records[invite.call_id].disposition == "answered"
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


# --- unauthenticated sources: stateless challenges, capped --------------------------------------


def test_a_challenge_is_sent_once_statelessly_and_never_retransmitted() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            loop = asyncio.get_running_loop()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((HOST, 0))
                sock.setblocking(False)
                await loop.sock_sendto(sock, invite(port, "noack"), (HOST, port))
                answers = []
                with contextlib.suppress(TimeoutError):
                    while True:  # Timer G would repeat a stateful 407 after 0.5 s and 1.5 s
                        answers.append(await asyncio.wait_for(loop.sock_recv(sock, 65535), 1.2))
            assert [a.split(b" ", 2)[1] for a in answers] == [b"407"]
            assert server.endpoint.transaction_counts == (0, 0)

    run(scenario())


HOST_CAP = 40.0


def test_a_flood_of_unauthenticated_requests_is_capped_without_locking_out_a_phone_behind_the_same_nat() -> (
    None
):
    async def scenario() -> None:
        port = free_port(HOST)
        nat = "127.0.0.27"
        async with running(make_config(HOST, port), store_with("1001", "1002")) as server:
            # A smaller cap per address than the default, refilled slowly: the test is no race.
            server.auth.guard = SourceGuard(host_rate=(HOST_CAP, 0.5))
            loop = asyncio.get_running_loop()
            (phone,) = await _phones(port, "1001", host=nat)  # authenticated from the NAT's address
            (callee,) = await _phones(port, "1002")
            sockets = []
            for _ in range(15):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.bind((nat, 0))
                sock.setblocking(False)
                sockets.append(sock)
            for index in range(25):
                for number, sock in enumerate(sockets):
                    sock.sendto(invite(port, f"flood{number}x{index}"), (HOST, port))
            await asyncio.sleep(0.5)
            answered = 0
            for sock in sockets:
                with contextlib.suppress(BlockingIOError):
                    while sock.recv(65535):
                        answered += 1
                sock.close()
            assert PORT_BURST <= answered <= HOST_CAP + 1  # of 375 sent
            assert (await phone.register()).status == 200
            call = await phone.call("1002")  # challenged and answered as ever
            assert call.final is not None and call.final.status == 200
            assert (await phone.hang_up(call)).status == 200
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:  # a new port: capped
                stranger.bind((nat, 0))
                stranger.setblocking(False)
                await loop.sock_sendto(stranger, invite(port, "stranger"), (HOST, port))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(loop.sock_recv(stranger, 65535), 0.3)
                    raise AssertionError("a source over the cap was answered")
            for each in (phone, callee):
                await each.close()

    run(scenario())


def test_a_busy_source_that_authenticates_is_never_capped() -> None:
    """SIPp, an SBC or a busy phone send everything from one socket, and each first attempt is
    challenged: once that source has authenticated, its challenges are not counted."""

    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")):
            (phone,) = await _phones(port, "1001")
            for _ in range(int(PORT_BURST) * 3):  # each one challenged first
                assert (await phone.register()).status == 200
            await phone.close()

    run(scenario())


def test_503s_while_shedding_are_capped_per_source_like_challenges() -> None:
    """Shedding answers new requests 503 statelessly; without the cap, a PBX under load would
    reflect one datagram for every request with a forged source address."""

    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            server.endpoint.load.share = 1.0  # saturated: every new request without credentials
            server.endpoint.load._chance = lambda: 0.0
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind((HOST, 0))
                sock.setblocking(False)
                for number in range(100):
                    sock.sendto(invite(port, f"shed{number}"), (HOST, port))
                await asyncio.sleep(0.3)
                answers = []
                with contextlib.suppress(BlockingIOError):
                    while True:
                        answers.append(sock.recv(65535).split(b" ", 2)[1])
            assert b"503" in answers
            assert len(answers) <= PORT_BURST + 1  # of 100 sent

    run(scenario())
