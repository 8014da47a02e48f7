"""Two PBXes joined by a trunk work as one phone system (on 127.0.0.2 and 127.0.0.3), with
trunk authentication, loop protection and keepalive probes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable
from dataclasses import replace

from pbxd.config import DialRule, Trunk
from pbxd.memstore import MemoryStore
from pbxd.proxy import loop_hash_of
from pbxd.sip import digest
from pbxd.sip.message import Request, make_response, parse_message
from pbxd.store.base import Extension

from .harness import REALM, free_port, make_config, running, store_with, unsigned
from .phone import Phone

A, B = "127.0.0.2", "127.0.0.3"
PHONES_A, PHONES_B = "127.0.0.12", "127.0.0.13"


def run(coroutine: Awaitable[None]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coroutine, 20)

    asyncio.run(bounded())


def trunk_to(host: str, port: int, numbers: str, *, username: str | None = None, interval: int = 30) -> Trunk:
    return Trunk(
        name=f"to-{host}",
        host=host,
        port=port,
        transport="udp",
        numbers=(numbers,),
        trusted_sources=(host,),
        username=username,
        password="trunk-secret" if username else None,
        keepalive_interval=interval,
        trust_source_address=username is None,
    )


async def registered(number: str, host: str, pbx: tuple[str, int]) -> Phone:
    phone = await Phone(number, f"pw-{number}", host=host, pbx=pbx).start()
    assert (await phone.register()).status == 200
    return phone


def test_a_phone_on_one_pbx_calls_a_phone_on_the_other_across_the_trunk() -> None:
    async def scenario() -> None:
        port_a, port_b = free_port(A), free_port(B)
        store_a, store_b = store_with("1001"), store_with("2001")
        config_a = make_config(A, port_a, trunks=(trunk_to(B, port_b, r"2\d{3}"),))
        config_b = make_config(B, port_b, trunks=(trunk_to(A, port_a, r"1\d{3}"),))
        async with running(config_a, store_a) as pbx_a, running(config_b, store_b) as pbx_b:
            alice = await registered("1001", PHONES_A, (A, port_a))
            bob = await registered("2001", PHONES_B, (B, port_b))
            call = await alice.call("2001")
            assert call.statuses[-1] == 200
            assert unsigned(call.route_set) == [f"<sip:{A}:{port_a};lr>", f"<sip:{B}:{port_b};lr>"]
            invite = await bob.next_request("INVITE")
            assert int(invite.get("max-forwards") or 0) == 68
            await bob.next_request("ACK")
            assert (await alice.hang_up(call)).status == 200
            await bob.next_request("BYE")
            await asyncio.sleep(0.1)
            await pbx_a.recorder.flush()
            await pbx_b.recorder.flush()
            record_a, record_b = store_a.call_records[call.call_id], store_b.call_records[call.call_id]
            assert (record_a.route, record_a.disposition) == (f"trunk:to-{B}", "answered")
            assert (record_b.route, record_b.disposition, record_b.caller) == ("local", "answered", "1001")
            # And back the other way.
            back = await bob.call("1001")
            assert back.statuses[-1] == 200
            assert (await bob.hang_up(back)).status == 200
            await alice.close()
            await bob.close()

    run(scenario())


def test_trunk_with_a_username_authenticates_with_digest_in_both_directions() -> None:
    async def scenario() -> None:
        port_a, port_b = free_port(A), free_port(B)
        config_a = make_config(A, port_a, trunks=(trunk_to(B, port_b, r"2\d{3}", username="peer"),))
        config_b = make_config(B, port_b, trunks=(trunk_to(A, port_a, r"1\d{3}", username="peer"),))
        async with running(config_a, store_with("1001")), running(config_b, store_with("2001")):
            alice = await registered("1001", PHONES_A, (A, port_a))
            bob = await registered("2001", PHONES_B, (B, port_b))
            call = await alice.call("2001")
            assert call.statuses[-1] == 200
            invite = await bob.next_request("INVITE")
            assert invite.get("proxy-authorization") is None  # consumed by the PBXes
            # A answered B's challenge with a new INVITE, so one CSeq higher (RFC 3261 §22.2)...
            assert invite.cseq[0] == call.invite.cseq[0] + 1
            # ...and alice's later requests are renumbered the same way, their answers back: bob
            # would refuse a BYE numbered no higher than the INVITE (500, §12.2.2).
            bye = alice.in_dialog(call, "BYE")
            answer = (await alice.transact(bye))[-1]
            assert answer.status == 200 and answer.cseq == bye.cseq
            assert (await bob.next_request("BYE")).cseq[0] == bye.cseq[0] + 1
            await alice.close()
            await bob.close()

    run(scenario())


def test_a_trunk_peer_without_digest_is_trusted_by_its_address_only_with_the_opt_in() -> None:
    async def scenario() -> None:
        port_a = free_port(A)
        for trusted, expected in ((False, 407), (True, 480)):
            peer = replace(trunk_to(B, free_port(B), r"2\d{3}"), trust_source_address=trusted)
            async with running(make_config(A, port_a, trunks=(peer,)), store_with("1001")):
                loop = asyncio.get_running_loop()
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.bind((B, 0))  # the peer's address, any port
                    sock.setblocking(False)
                    invite = (
                        f"INVITE sip:1001@{A}:{port_a} SIP/2.0\r\n"
                        f"Via: SIP/2.0/UDP {B}:{sock.getsockname()[1]};branch=z9hG4bKpeer{trusted}\r\n"
                        f"Max-Forwards: 70\r\nFrom: <sip:2001@{B}>;tag=p\r\nTo: <sip:1001@{A}>\r\n"
                        f"Call-ID: peer-{trusted}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
                    ).encode()
                    await loop.sock_sendto(sock, invite, (A, port_a))
                    status = 100
                    while status < 200:
                        reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), 2)
                        status = parse_message(reply).status  # type: ignore[union-attr]
                    assert status == expected  # 480: let in, and 1001 is not registered

    run(scenario())


def test_trunk_with_wrong_password_is_refused() -> None:
    async def scenario() -> None:
        port_a, port_b = free_port(A), free_port(B)
        wrong = Trunk(
            name="to-b",
            host=B,
            port=port_b,
            transport="udp",
            numbers=(r"2\d{3}",),
            trusted_sources=(B,),
            username="peer",
            password="not-it",
        )
        config_a = make_config(A, port_a, trunks=(wrong,))
        config_b = make_config(B, port_b, trunks=(trunk_to(A, port_a, r"1\d{3}", username="peer"),))
        async with running(config_a, store_with("1001")), running(config_b, store_with("2001")):
            alice = await registered("1001", PHONES_A, (A, port_a))
            bob = await registered("2001", PHONES_B, (B, port_b))
            assert (await alice.call("2001")).statuses[-1] == 403
            await alice.close()
            await bob.close()

    run(scenario())


def test_a_call_from_a_trunk_never_goes_back_out_over_a_trunk() -> None:
    async def scenario() -> None:
        port_a, port_b = free_port(A), free_port(B)
        # Both PBXes think the other serves 3xxx: without protection the call would ping-pong.
        config_a = make_config(A, port_a, trunks=(trunk_to(B, port_b, r"3\d{3}"),))
        config_b = make_config(B, port_b, trunks=(trunk_to(A, port_a, r"3\d{3}"),))
        async with running(config_a, store_with("1001")), running(config_b, store_with("2001")):
            alice = await registered("1001", PHONES_A, (A, port_a))
            assert (await alice.call("3001")).statuses[-1] == 404
            await alice.close()

    run(scenario())


def test_a_request_that_comes_back_unchanged_is_a_loop_and_a_changed_one_a_spiral() -> None:
    """RFC 3261 §16.3 item 4: our Via alone does not make a loop; the request must also hash
    as it did when we forwarded it (the hash leads the branch of our Via, §16.6 item 8)."""

    async def scenario() -> None:
        port = free_port(A)
        async with running(make_config(A, port), store_with("1001")):
            alice = await registered("1001", PHONES_A, (A, port))
            looped = alice.new_request("INVITE", f"sip:1001@{A}:{port}")
            ours = f"SIP/2.0/UDP {A}:{port};branch=z9hG4bK{loop_hash_of(looped)}.x1;rport"
            looped.headers.insert(1, ("via", ours))
            assert (await alice.transact(looped))[-1].status == 482
            # The same Via on a request retargeted since (another number): a spiral, served.
            spiral = alice.new_request("INVITE", f"sip:1002@{A}:{port}", call_id=looped.call_id)
            spiral.set("from", looped.get("from") or "")
            spiral.headers.insert(1, ("via", ours))
            assert (await alice.transact(spiral))[-1].status == 407
            exhausted: Request = alice.new_request("INVITE", f"sip:1001@{A}:{port}")
            exhausted.set("max-forwards", "0")
            assert (await alice.transact(exhausted))[-1].status == 483
            await alice.close()

    run(scenario())


def test_a_trunk_whose_peer_does_not_answer_probes_is_down_and_calls_get_503() -> None:
    async def scenario() -> None:
        port_a, silent_port = free_port(A), free_port(B)
        config_a = make_config(A, port_a, trunks=(trunk_to(B, silent_port, r"2\d{3}", interval=1),))
        store = store_with("1001")
        async with running(config_a, store) as pbx_a:
            alice = await registered("1001", PHONES_A, (A, port_a))
            await asyncio.sleep(1.3)
            assert not pbx_a.trunks[f"to-{B}"].up
            call = await alice.call("2001")
            assert call.statuses[-1] == 503
            await asyncio.sleep(0.05)
            await pbx_a.recorder.flush()
            assert store.call_records[call.call_id].route == f"trunk:to-{B}"
            await alice.close()

    run(scenario())


def test_dial_rules_strip_prefix_and_reject() -> None:
    async def scenario() -> None:
        port_a, port_b = free_port(A), free_port(B)
        rules = (
            DialRule(pattern=r"9(2\d{3})", action=f"trunk:to-{B}", strip=1),
            DialRule(pattern=r"1\d{3}", action="local"),
            DialRule(pattern=r"0\d+", action="reject:403"),
        )
        config_a = make_config(A, port_a, trunks=(trunk_to(B, port_b, r"2\d{3}"),), dialplan=rules)
        config_b = make_config(B, port_b, trunks=(trunk_to(A, port_a, r"1\d{3}"),))
        async with running(config_a, store_with("1001")), running(config_b, store_with("2001")):
            alice = await registered("1001", PHONES_A, (A, port_a))
            bob = await registered("2001", PHONES_B, (B, port_b))
            call = await alice.call("92001")
            assert call.statuses[-1] == 200
            assert (await bob.next_request("INVITE")).uri.startswith("sip:2001@")
            await alice.hang_up(call)
            assert (await alice.call("0044123")).statuses[-1] == 403
            assert (await alice.call("2001")).statuses[-1] == 404  # no rule matches
            await alice.close()
            await bob.close()

    run(scenario())


def test_keepalive_interval_zero_turns_probes_off_and_the_trunk_stays_up() -> None:
    async def scenario() -> None:
        port_a, silent_port = free_port(A), free_port(B)
        config_a = make_config(A, port_a, trunks=(trunk_to(B, silent_port, r"2\d{3}", interval=0),))
        async with running(config_a, store_with("1001")) as pbx_a:
            await asyncio.sleep(0.2)
            state = pbx_a.trunks[f"to-{B}"]
            assert state.up and state.probes == 0

    run(scenario())


class SlowStore(MemoryStore):
    """Looks numbers up slowly, so that a CANCEL can arrive while the PBX waits."""

    async def get_extension(self, number: str) -> Extension | None:
        await asyncio.sleep(0.3)
        return await super().get_extension(number)


def test_a_call_cancelled_while_the_database_answers_goes_nowhere_and_leaves_no_record() -> None:
    async def scenario() -> None:
        port_a = free_port(A)
        peer = await Phone("peer", "", host=B, pbx=(A, port_a)).start()  # stands in for the trunk peer
        store = SlowStore()
        store.add_extension("1001", "pw-1001", REALM)
        config_a = make_config(A, port_a, trunks=(trunk_to(B, peer.port, r"2\d{3}", interval=0),))
        async with running(config_a, store) as pbx_a:
            alice = await registered("1001", PHONES_A, (A, port_a))
            invite, responses = await alice.start_call("2001")
            assert (await alice.cancel(invite)).status == 200
            while (final := await asyncio.wait_for(responses.get(), 5)).status < 200:
                pass
            assert final.status == 487
            await asyncio.sleep(0.5)  # past the lookup
            assert peer.incoming.empty()
            assert pbx_a.recorder.active_calls == 0 and pbx_a.proxy.attempts_in_progress == 0
            await alice.close()
        await peer.close()

    run(scenario())


def test_a_peer_that_prefers_an_algorithm_we_lack_is_answered_with_one_we_have() -> None:
    """RFC 8760 §2.4: a peer sends one challenge per algorithm, the strongest first."""

    async def scenario() -> None:
        port_a, port_b = free_port(A), free_port(B)
        trunk = trunk_to(B, port_b, r"2\d{3}", username="peer", interval=0)
        config_a = make_config(A, port_a, trunks=(trunk,))
        received: asyncio.Queue[Request] = asyncio.Queue()

        class Peer(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
                message = parse_message(data)
                assert isinstance(message, Request)
                received.put_nowait(message)

        loop = asyncio.get_running_loop()
        peer, _ = await loop.create_datagram_endpoint(Peer, local_addr=(B, port_b))
        async with running(config_a, store_with("1001")):
            alice = await registered("1001", PHONES_A, (A, port_a))
            calling = asyncio.create_task(alice.call("2001"))
            first = await asyncio.wait_for(received.get(), 2)
            challenges = [
                ("proxy-authenticate", digest.challenge("peer.test", "n1", algorithm))
                for algorithm in ("SHA-512-256", "MD5")
            ]
            peer.sendto(make_response(first, 407, to_tag="t1", extra=challenges).to_bytes(), (A, port_a))
            assert (await asyncio.wait_for(received.get(), 2)).method == "ACK"
            retry = await asyncio.wait_for(received.get(), 2)
            assert retry.method == "INVITE"
            credentials = digest.parse_credentials(retry.get("proxy-authorization") or "")
            assert credentials is not None and credentials.algorithm == "MD5"
            ha1 = digest.ha1("MD5", "peer", "peer.test", "trunk-secret")
            assert digest.check_response(credentials, ha1, "INVITE")
            peer.sendto(make_response(retry, 486, to_tag="t2").to_bytes(), (A, port_a))
            assert (await asyncio.wait_for(calling, 2)).statuses[-1] == 486
            await alice.close()
        peer.close()

    run(scenario())
