"""Attacks found against a running PBX, each answered the way RFC 3261 and a careful operator
expect: numbers that are not ASCII digits, TCP connections held open or trickled into."""

from __future__ import annotations

import asyncio

import pytest

from .harness import free_port, make_config, running, store_with
from .phone import Phone
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
