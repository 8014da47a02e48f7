"""The transports: a peer named by host name is resolved off the event loop, bursts are read whole."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest
from pbxd import transport
from pbxd.config import Listen
from pbxd.sip.message import Request
from pbxd.transport import Peer, Transports

HOST = "127.0.0.26"


def options() -> Request:
    headers = [
        ("via", f"SIP/2.0/UDP {HOST}:5060;branch=z9hG4bKname"),
        ("from", "<sip:pbxd@x>;tag=a"),
        ("to", "<sip:peer.test>"),
        ("call-id", "by-name"),
        ("cseq", "1 OPTIONS"),
    ]
    return Request("OPTIONS", "sip:peer.test", headers)


def test_a_peer_named_by_host_name_is_resolved_without_stalling_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Route or Request-URI may name a host (even one chosen by whoever sent the request):
    a resolver that takes half a second must not stop the PBX for half a second."""
    real_getaddrinfo = socket.getaddrinfo

    def slow_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "peer.test":
            time.sleep(0.5)
            host = HOST
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            peer.bind((HOST, 0))
            peer.setblocking(False)
            transports = Transports((Listen("udp", HOST, 0),), fallback_host=HOST)
            await transports.start()
            try:
                before = loop.time()
                transports.send(options(), Peer("udp", "peer.test", peer.getsockname()[1]))
                assert loop.time() - before < 0.1  # not waiting for the resolver
                data = await asyncio.wait_for(loop.sock_recv(peer, 65535), 2)
                assert data.startswith(b"OPTIONS sip:peer.test SIP/2.0")
            finally:
                await transports.stop()

    asyncio.run(scenario())


def test_bursts_of_datagrams_are_read_in_full_and_in_order() -> None:
    """Datagrams are read in batches per wake-up of the loop: none of a burst larger than a
    batch may be lost or reordered, and a bad one among them must not stop the rest. (Bursts
    of 80, more than a batch of 64 and well within the system's receive buffer.)"""
    received: list[str] = []
    bad: list[str] = []

    async def scenario() -> None:
        transports = Transports((Listen("udp", HOST, 0),), fallback_host=HOST)
        arrived = asyncio.Condition()

        def deliver(message: Any, peer: Peer) -> None:
            received.append(message.call_id)
            asyncio.get_running_loop().create_task(notify())

        async def notify() -> None:
            async with arrived:
                arrived.notify_all()

        transports.deliver = deliver
        transports.on_bad_message = lambda error, peer: bad.append(error.reason)
        await transports.start()
        try:
            udp = transports._udp[transports.listens[0]].transport
            assert udp is not None
            port = udp.get_extra_info("sockname")[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for burst in range(3):
                    for number in range(burst * 80, (burst + 1) * 80):
                        request = options()
                        request.set("call-id", f"burst-{number}")
                        sender.sendto(request.to_bytes(), (HOST, port))
                        if number == 100:
                            sender.sendto(b"not SIP at all\r\n\r\n", (HOST, port))
                    expected = (burst + 1) * 80
                    async with arrived:
                        await asyncio.wait_for(arrived.wait_for(lambda n=expected: len(received) >= n), 5)
        finally:
            await transports.stop()

    asyncio.run(scenario())
    assert received == [f"burst-{number}" for number in range(240)]
    assert len(bad) == 1


def test_the_udp_socket_asks_for_a_receive_buffer_that_rides_out_a_pause() -> None:
    """Phones and trunks send in bursts; a pause of the loop of a few tens of milliseconds at
    the knee overflowed the system's default buffer (208 KiB on Linux, 64 KiB on Windows) and
    the kernel dropped requests. pbxd asks for UDP_RECEIVE_BUFFER; the system may grant less
    (Linux caps it at net.core.rmem_max), so the test compares with what it grants a socket
    that asks the same."""

    async def scenario() -> tuple[int, int]:
        transports = Transports((Listen("udp", HOST, 0),), fallback_host=HOST)
        await transports.start()
        try:
            udp = transports._udp[transports.listens[0]].transport
            assert udp is not None
            granted = udp.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        finally:
            await transports.stop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as reference:
            reference.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, transport.UDP_RECEIVE_BUFFER)
            return granted, reference.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    granted, expected = asyncio.run(scenario())
    assert transport.UDP_RECEIVE_BUFFER >= 1024 * 1024
    assert granted == expected
