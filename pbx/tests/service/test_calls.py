"""Calls through a running PBX over real sockets: answer and hang up, CANCEL, busy, unknown
and unregistered numbers, forking to several phones, ring timeout, call records."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from pbxd.memstore import MemoryStore
from pbxd.server import PbxServer
from pbxd.sip.message import Request, Response, make_response

from .harness import free_port, make_config, running, store_with, unsigned
from .phone import Phone, offered_algorithms

HOST = "127.0.0.22"


def run(coroutine: Awaitable[None]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coroutine, 20)

    asyncio.run(bounded())


async def phones(port: int, *numbers: str, transport: str = "udp") -> list[Phone]:
    result = []
    for number in numbers:
        phone = await Phone(number, f"pw-{number}", host=HOST, pbx=(HOST, port), transport=transport).start()
        assert (await phone.register()).status == 200
        result.append(phone)
    return result


async def settle(server: PbxServer) -> None:
    await asyncio.sleep(0.1)
    await server.recorder.flush()


def test_call_is_answered_and_hung_up_through_the_pbx_with_call_records() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1002")
        async with running(make_config(HOST, port), store) as server:
            alice, bob = await phones(port, "1001", "1002")
            call = await alice.call("1002")
            assert call.statuses == [100, 180, 200]
            assert unsigned(call.route_set) == [f"<sip:{HOST}:{port};lr>"]
            invite = await bob.next_request("INVITE")
            assert int(invite.get("max-forwards") or 0) == 69
            assert invite.uri == f"sip:1002@{HOST}:{bob.port}"
            await bob.next_request("ACK")  # the end-to-end ACK came through the PBX
            await settle(server)
            answered = store.call_records[call.call_id]
            assert answered.answer is not None and answered.disposition is None
            assert (answered.caller, answered.callee, answered.route) == ("1001", "1002", "local")
            assert (await alice.hang_up(call)).status == 200
            await bob.next_request("BYE")
            await settle(server)
            ended = store.call_records[call.call_id]
            assert ended.disposition == "answered" and ended.end is not None and ended.duration is not None
            assert server.recorder.active_calls == 0
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


def test_callee_can_hang_up_along_the_recorded_route() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1002")
        async with running(make_config(HOST, port), store) as server:
            alice, bob = await phones(port, "1001", "1002")
            call = await alice.call("1002")
            assert call.final is not None and call.final.status == 200
            await bob.next_request("ACK")
            bob_call = bob.calls[call.call_id]
            assert (await bob.hang_up(bob_call)).status == 200
            await alice.next_request("BYE")
            await settle(server)
            assert store.call_records[call.call_id].disposition == "answered"
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


def test_invite_without_credentials_is_challenged_with_407() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            (alice,) = await phones(port, "1001")
            invite = alice.new_request("INVITE", f"sip:1002@{HOST}:{port}", to=f"<sip:1002@{HOST}>")
            responses = await alice.transact(invite)
            # Answered at once, so no 100 Trying first (RFC 3261 §17.2.1).
            assert [r.status for r in responses] == [407]
            assert offered_algorithms(responses[-1]) == ["MD5"]
            await alice.close()

    run(scenario())


def test_busy_callee_is_relayed_and_recorded_busy() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1002")
        async with running(make_config(HOST, port), store) as server:
            alice, bob = await phones(port, "1001", "1002")
            bob.answer = [486]
            call = await alice.call("1002")
            assert call.statuses[-1] == 486
            await settle(server)
            assert store.call_records[call.call_id].disposition == "busy"
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


def test_unknown_number_is_404_and_unregistered_extension_is_480() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1003")
        async with running(make_config(HOST, port), store) as server:
            (alice,) = await phones(port, "1001")
            assert (await alice.call("1999")).statuses[-1] == 404
            unregistered = await alice.call("1003")
            assert unregistered.statuses[-1] == 480
            await settle(server)
            assert store.call_records[unregistered.call_id].disposition == "failed"
            await alice.close()

    run(scenario())


def test_cancel_gets_200_then_487_and_is_passed_to_the_ringing_phone() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1002")
        async with running(make_config(HOST, port), store) as server:
            alice, bob = await phones(port, "1001", "1002")
            bob.answer = [180]
            invite, responses = await alice.start_call("1002")
            await bob.next_request("INVITE")
            while (await asyncio.wait_for(responses.get(), 5)).status != 180:
                pass
            assert (await alice.cancel(invite)).status == 200
            while (final := await asyncio.wait_for(responses.get(), 5)).status < 200:
                pass
            assert final.status == 487
            await bob.next_request("CANCEL")
            await settle(server)
            assert store.call_records[invite.call_id].disposition == "cancelled"
            assert server.proxy.attempts_in_progress == 0
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


def test_cancel_for_an_unknown_transaction_is_481() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")):
            (alice,) = await phones(port, "1001")
            invite = alice.new_request("INVITE", f"sip:1002@{HOST}:{port}")
            assert (await alice.cancel(invite)).status == 481
            await alice.close()

    run(scenario())


def test_a_call_forks_to_every_contact_and_the_others_are_cancelled() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1002")
        async with running(make_config(HOST, port), store) as server:
            (alice,) = await phones(port, "1001")
            desk, mobile = await phones(port, "1002", "1002")
            desk.answer = [180]
            mobile.answer = [180, 200]
            call = await alice.call("1002")
            assert call.statuses[-1] == 200
            await desk.next_request("INVITE")
            await mobile.next_request("INVITE")
            await desk.next_request("CANCEL")
            assert call.final is not None and call.final.get("contact") == mobile.contact
            await alice.hang_up(call)
            await mobile.next_request("BYE")
            await settle(server)
            assert store.call_records[call.call_id].disposition == "answered"
            for phone in (alice, desk, mobile):
                await phone.close()

    run(scenario())


def test_forked_call_rejected_everywhere_gets_the_most_useful_answer() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            (alice,) = await phones(port, "1001")
            desk, mobile = await phones(port, "1002", "1002")
            desk.answer = [480]
            mobile.answer = [486]
            assert (await alice.call("1002")).statuses[-1] == 486
            desk.answer = [603]
            mobile.answer = [486]
            assert (await alice.call("1002")).statuses[-1] == 603
            for phone in (alice, desk, mobile):
                await phone.close()

    run(scenario())


def test_ring_timeout_cancels_the_phone_and_answers_408() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1002")
        async with running(make_config(HOST, port, ring_timeout=1), store) as server:
            alice, bob = await phones(port, "1001", "1002")
            bob.answer = [180]
            call = await alice.call("1002")
            assert call.statuses[-1] == 408
            await bob.next_request("CANCEL")
            await settle(server)
            assert store.call_records[call.call_id].disposition == "no_answer"
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


def test_call_over_tcp_phones() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            alice, bob = await phones(port, "1001", "1002", transport="tcp")
            call = await alice.call("1002")
            assert call.statuses[-1] == 200
            assert unsigned(call.route_set) == [f"<sip:{HOST}:{port};transport=tcp;lr>"]
            assert (await alice.hang_up(call)).status == 200
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


def test_options_to_the_pbx_is_answered_200() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), MemoryStore()) as server:
            assert server.healthy()
            probe = await Phone("monitor", "", host=HOST, pbx=(HOST, port)).start()
            response = (await probe.transact(probe.new_request("OPTIONS", f"sip:{HOST}:{port}")))[-1]
            assert response.status == 200 and "INVITE" in (response.get("allow") or "")
            await probe.close()
        assert not server.healthy()

    run(scenario())


def test_registrations_survive_a_restart_and_calls_still_reach_the_phone() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001", "1002")
        config = make_config(HOST, port)
        async with running(config, store):
            alice, bob = await phones(port, "1001", "1002")
        async with running(config, store):
            call = await alice.call("1002")
            assert call.statuses[-1] == 200
            await bob.next_request("INVITE")
            assert (await alice.hang_up(call)).status == 200
        for phone in (alice, bob):
            await phone.close()

    run(scenario())


def test_a_callee_that_drops_record_route_still_gets_the_bye_but_strangers_are_not_relayed() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            alice, bob = await phones(port, "1001", "1002")
            bob.copy_record_route = False
            call = await alice.call("1002")
            assert call.statuses[-1] == 200 and call.route_set == []
            await bob.next_request("ACK")
            assert (await alice.hang_up(call)).status == 200
            await bob.next_request("BYE")
            assert call.dialog is not None
            call.dialog.remote_target = "sip:someone@127.0.0.99:5999"
            assert (await alice.hang_up(call)).status == 403
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


def test_a_call_between_a_tcp_phone_and_a_udp_phone_is_record_routed_twice() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            (alice,) = await phones(port, "1001", transport="tcp")
            (bob,) = await phones(port, "1002")
            call = await alice.call("1002")
            assert call.statuses[-1] == 200
            # Alice reaches the PBX over TCP, Bob over UDP: one Record-Route each (RFC 5658).
            assert unsigned(call.route_set) == [
                f"<sip:{HOST}:{port};transport=tcp;lr>",
                f"<sip:{HOST}:{port};lr>",
            ]
            await bob.next_request("ACK")
            assert (await alice.hang_up(call)).status == 200
            await bob.next_request("BYE")
            # And the callee hangs up the next call, back along both routes.
            again = await alice.call("1002")
            await bob.next_request("ACK")
            assert (await bob.hang_up(bob.calls[again.call_id])).status == 200
            await alice.next_request("BYE")
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


def test_a_new_request_the_pbx_does_not_handle_gets_405_with_allow() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            (alice,) = await phones(port, "1001")
            message = alice.new_request("MESSAGE", f"sip:1002@{HOST}:{port}", to=f"<sip:1002@{HOST}>")
            response = (await alice.transact(message))[-1]
            assert response.status == 405
            allowed = {method.strip() for method in (response.get("allow") or "").split(",")}
            assert {"INVITE", "REGISTER", "OPTIONS", "BYE"} <= allowed and "MESSAGE" not in allowed
            await alice.close()

    run(scenario())


def test_a_call_to_a_tcp_phone_that_cannot_be_reached_fails_at_once() -> None:
    """RFC 3261 §17.1.4: a transport error ends the client transaction; the caller must not
    wait for Timer B (32 s)."""

    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            (alice,) = await phones(port, "1001")
            (bob,) = await phones(port, "1002", transport="tcp")
            await bob.close()  # its connection and its contact address are gone
            await asyncio.sleep(0.1)
            loop = asyncio.get_running_loop()
            started = loop.time()
            call = await alice.call("1002")
            assert call.statuses[-1] == 408
            assert loop.time() - started < 2.0
            await alice.close()

    run(scenario())


def test_an_answer_for_a_tcp_caller_whose_connection_closed_goes_to_its_via_port() -> None:
    """RFC 3261 §18.2.2: with the connection gone, a response goes over a new connection to
    the address it came from and the port of the Via's sent-by."""

    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            (bob,) = await phones(port, "1002")
            bob.answer = [180]  # rings; answered below
            (alice,) = await phones(port, "1001", transport="tcp")
            arrived: asyncio.Queue[bytes] = asyncio.Queue()

            async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                arrived.put_nowait(await reader.read(65535))
                writer.close()

            listener = await asyncio.start_server(accept, HOST, 0)
            alice.port = listener.sockets[0].getsockname()[1]  # where alice's Via says it listens
            _, responses = await alice.start_call("1002")
            invite = await bob.next_request("INVITE")
            while (await asyncio.wait_for(responses.get(), 2)).status != 180:
                pass
            await alice.close()  # the connection the INVITE came on is gone
            await asyncio.sleep(0.1)
            answer = make_response(invite, 200, to_tag=bob._tags[invite.call_id])
            answer.headers.append(("contact", bob.contact))
            bob.send(answer)
            assert (await asyncio.wait_for(arrived.get(), 2)).startswith(b"SIP/2.0 200 OK")
            listener.close()
            await bob.close()

    run(scenario())


def test_the_callers_credentials_never_reach_the_callee_however_they_are_spelled() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            alice, bob = await phones(port, "1001", "1002")
            pbx = f"{HOST}:{port}"
            invite = alice.new_request("INVITE", f"sip:1002@{pbx}", to=f"<sip:1002@{pbx}>")
            challenge = (await alice.transact(invite))[-1]
            retry = alice.authorize(invite, challenge)
            answer = retry.get("proxy-authorization") or ""
            retry.set("proxy-authorization", answer.replace('realm="pbx.test"', "realm=pbx.test"))
            responses = await alice.transact(retry)
            assert responses[-1].status == 200
            forwarded = await bob.next_request("INVITE")
            assert forwarded.get("proxy-authorization") is None
            await alice.close()
            await bob.close()

    run(scenario())


def test_a_cancelled_re_invite_is_cancelled_at_the_callee_and_the_call_stays_up() -> None:
    """RFC 3261 §9 and §16.10: the CANCEL of a re-INVITE goes on to where the re-INVITE
    went. Answered 487 here instead, the callee would go on, answer, never get an ACK and
    hang the call up."""

    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            alice, bob = await phones(port, "1001", "1002")
            call = await alice.call("1002")
            assert call.statuses[-1] == 200
            answer_normally = bob._on_message

            def ring_on_re_invite(message: Request | Response) -> None:
                if isinstance(message, Request) and message.method == "INVITE" and message.tag("to"):
                    bob.incoming.put_nowait(message)
                    bob._ringing[message.top_via.branch] = message  # the CANCEL answers 487
                    bob.send(make_response(message, 180))
                    return
                answer_normally(message)

            bob._on_message = ring_on_re_invite  # type: ignore[method-assign]
            re_invite = alice.in_dialog(call, "INVITE")
            answered = asyncio.create_task(alice.transact(re_invite))
            await bob.next_request("INVITE")
            await asyncio.sleep(0.1)  # the 180 has reached the PBX
            assert (await alice.cancel(re_invite)).status == 200
            await asyncio.wait_for(bob.next_request("CANCEL"), 2)
            assert (await asyncio.wait_for(answered, 2))[-1].status == 487
            bob._on_message = answer_normally  # type: ignore[method-assign]
            assert (await alice.hang_up(call)).status == 200
            await alice.close()
            await bob.close()

    run(scenario())


def test_a_2xx_the_callee_repeats_reaches_the_caller_again_after_the_call_is_set_up() -> None:
    """The callee repeats its 200 until it sees the ACK (RFC 3261 §13.3.1.4); the proxy passes
    every copy upstream (RFC 6026 §8.2), however little it keeps of the call once answered."""

    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")) as server:
            alice, bob = await phones(port, "1001", "1002")
            invite, responses = await alice.start_call("1002")
            arrived = await bob.next_request("INVITE")
            while (await asyncio.wait_for(responses.get(), 5)).status != 200:
                pass
            assert server.proxy.attempts_in_progress == 0  # answered: the attempt is closed
            again = make_response(arrived, 200, to_tag=bob._tags[arrived.call_id])
            again.headers.append(("contact", bob.contact))
            bob.send(again)
            repeated = await asyncio.wait_for(responses.get(), 5)
            assert repeated.status == 200 and repeated.call_id == invite.call_id
            assert repeated.top_via.branch == invite.top_via.branch  # the caller's own Via on top
            assert repeated.cseq == invite.cseq
            for phone in (alice, bob):
                await phone.close()

    run(scenario())
