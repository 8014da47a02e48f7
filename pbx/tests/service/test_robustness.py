"""Hostile and unusual input against a running PBX: malformed and oversized messages,
retransmissions, several messages in one TCP segment, and a prompt stop."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import Awaitable

from pbxd.server import GC_THRESHOLDS, PbxServer

from .harness import free_port, make_config, running, store_with
from .phone import Phone

HOST = "127.0.0.23"


def run(coroutine: Awaitable[None]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coroutine, 20)

    asyncio.run(bounded())


def options(port: int, branch: str, transport: str = "UDP") -> bytes:
    return (
        f"OPTIONS sip:{HOST}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {HOST}:9;branch=z9hG4bK{branch};rport\r\n"
        f"From: <sip:probe@{HOST}>;tag=p\r\nTo: <sip:{HOST}>\r\nCall-ID: {branch}\r\nCSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def udp_exchange(port: int, data: bytes, *, expect_answer: bool = True) -> tuple[int, str] | None:
    """Send ``data``; the status and reason of the answer (None: no answer)."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.setblocking(False)
        await loop.sock_sendto(sock, data, (HOST, port))
        try:
            reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), 1.0 if expect_answer else 0.3)
        except TimeoutError:
            return None
    # Not parse_message: a 400 echoes the very CSeq that was malformed.
    _, status, reason = reply.split(b"\r\n", 1)[0].decode().split(" ", 2)
    return int(status), reason


def test_malformed_requests_get_400_and_garbage_is_dropped_without_harm() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            bad_cseq = options(port, "bad").replace(b"CSeq: 1 OPTIONS", b"CSeq: one OPTIONS")
            assert await udp_exchange(port, bad_cseq) == (
                400,
                "Bad Request (CSeq 'one OPTIONS' is not '<number> <METHOD>')",
            )
            no_call_id = options(port, "nocid").replace(b"Call-ID: nocid\r\n", b"")
            assert await udp_exchange(port, no_call_id) == (
                400,
                "Bad Request (mandatory header Call-ID is missing)",
            )
            for garbage in (b"\x00\xff" * 100, b"HELLO WORLD\r\n\r\n", b"INVITE sip:x SIP/2.0\r\nVia: x\r\n"):
                assert await udp_exchange(port, garbage, expect_answer=False) is None
            assert await udp_exchange(port, b"X" * 65_000, expect_answer=False) is None
            assert await udp_exchange(port, options(port, "after")) == (200, "OK")
            assert server.healthy()

    run(scenario())


def test_a_retransmitted_request_gets_the_same_response_again() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            phone = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            request = phone.new_request("REGISTER", f"sip:{HOST}")
            challenge = (await phone.transact(request))[-1]
            authorized = phone.authorize(request, challenge)
            first = (await phone.transact(authorized))[-1]
            again = (await phone.transact(authorized))[-1]
            assert first.status == again.status == 200
            assert first.to_bytes() == again.to_bytes()
            assert server.endpoint.transaction_counts[0] >= 1  # kept to absorb retransmissions
            await phone.close()

    run(scenario())


def test_a_retransmitted_invite_is_not_forwarded_twice() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001", "1002")):
            alice = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
            bob = await Phone("1002", "pw-1002", host=HOST, pbx=(HOST, port)).start()
            for phone in (alice, bob):
                assert (await phone.register()).status == 200
            bob.answer = [180]
            invite, responses = await alice.start_call("1002")
            await bob.next_request("INVITE")
            alice.send(invite)  # the retransmission
            await asyncio.sleep(0.2)
            invites = [r for r in _drain(bob.incoming) if r.method == "INVITE"]
            assert invites == []
            statuses = [r.status for r in _drain(responses)]
            assert statuses == [100, 180, 180]  # the retransmission got the last provisional again
            await alice.cancel(invite)
            for phone in (alice, bob):
                await phone.close()

    run(scenario())


def _drain[T](queue: asyncio.Queue[T]) -> list[T]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


def test_tcp_stream_with_two_messages_in_one_segment_and_keepalives() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(b"\r\n\r\n" + options(port, "one", "TCP") + options(port, "two", "TCP"))
            await writer.drain()
            pong = await asyncio.wait_for(reader.readexactly(2), 2)
            assert pong == b"\r\n"
            data = b""
            while data.count(b"SIP/2.0 200 OK") < 2:
                data += await asyncio.wait_for(reader.read(65535), 2)
            assert b"Call-ID: one" in data and b"Call-ID: two" in data
            writer.write(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 999999\r\n\r\n")
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 2) == b""  # framing lost: closed
            writer.close()
            assert server.healthy()

    run(scenario())


def test_stop_is_prompt_leaves_the_store_open_and_restores_the_collector() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        store = store_with("1001")
        config = make_config(HOST, port)
        before = gc.get_threshold()
        server = PbxServer(config, store)
        await server.start()
        assert server.healthy()
        assert gc.get_threshold() == GC_THRESHOLDS
        phone = await Phone("1001", "pw-1001", host=HOST, pbx=(HOST, port)).start()
        assert (await phone.register()).status == 200
        await asyncio.wait_for(server.stop(), 1.0)
        assert not server.healthy() and not store.closed
        assert gc.get_threshold() == before
        await phone.close()
        again = PbxServer(config, store)  # the port is free again at once
        await again.start()
        await again.stop()

    run(scenario())


def test_tcp_connections_beyond_the_limit_are_closed_at_once() -> None:
    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")) as server:
            server.transports.max_connections = 3
            held = [await asyncio.open_connection(HOST, port) for _ in range(3)]
            await asyncio.sleep(0.05)
            extra_reader, extra_writer = await asyncio.open_connection(HOST, port)
            assert await asyncio.wait_for(extra_reader.read(), 2) == b""  # refused: closed
            extra_writer.close()
            assert len(server.transports.connections) == 3
            _, writer = held.pop()
            writer.close()
            await asyncio.sleep(0.05)
            reader, writer = await asyncio.open_connection(HOST, port)  # a slot is free again
            writer.write(options(port, "after", "TCP"))
            assert b"SIP/2.0 200 OK" in await asyncio.wait_for(reader.read(65535), 2)
            for _, other in [*held, (reader, writer)]:
                other.close()
            assert server.healthy()

    run(scenario())


def test_a_received_or_rport_value_the_sender_wrote_itself_does_not_redirect_the_answer() -> None:
    """RFC 3261 §18.2.1 and RFC 3581 §4: those parameters are the server's to write. Taken
    from the sender, they would aim answers (and their retransmissions) at someone else."""

    async def scenario() -> None:
        port = free_port(HOST)
        async with running(make_config(HOST, port), store_with("1001")):
            loop = asyncio.get_running_loop()
            for forged in (";received=127.0.0.77", ";rport=9;received=127.0.0.77", ";rport=9"):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.bind((HOST, 0))
                    sock.setblocking(False)
                    own_port = sock.getsockname()[1]
                    branch = f"forged{len(forged)}"
                    request = options(port, branch).replace(
                        f"{HOST}:9;branch=z9hG4bK{branch};rport".encode(),
                        f"{HOST}:{own_port};branch=z9hG4bK{branch}{forged}".encode(),
                    )
                    assert forged.encode() in request
                    await loop.sock_sendto(sock, request, (HOST, port))
                    reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), 1.0)
                    assert reply.startswith(b"SIP/2.0 200 OK"), forged

    run(scenario())
