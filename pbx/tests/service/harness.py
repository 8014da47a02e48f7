"""Starting a real ``PbxServer`` on a loopback address for a test, with the in-memory store."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pbxd.config import DatabaseSettings, DialRule, Listen, PbxConfig, SipSettings, Trunk
from pbxd.memstore import MemoryStore
from pbxd.server import PbxServer

REALM = "pbx.test"


def free_port(host: str) -> int:
    """A port free for both UDP and TCP on ``host``."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no free port on {host}")


def make_config(
    host: str,
    port: int,
    *,
    ring_timeout: int = 30,
    trunks: tuple[Trunk, ...] = (),
    dialplan: tuple[DialRule, ...] = (),
    nonce_ttl: int = 300,
    auth_failures_per_minute: int = 20,
    digest_algorithms: tuple[str, ...] = ("MD5",),
) -> PbxConfig:
    return PbxConfig(
        sip=SipSettings(
            listen=(Listen("udp", host, port), Listen("tcp", host, port)),
            realm=REALM,
            domain=host,
            nonce_ttl=nonce_ttl,
            ring_timeout=ring_timeout,
            auth_failures_per_minute=auth_failures_per_minute,
            digest_algorithms=digest_algorithms,
        ),
        database=DatabaseSettings("sqlite:///unused.db"),
        trunks=trunks,
        dialplan=dialplan,
    )


def store_with(*numbers: str) -> MemoryStore:
    """A store with extensions whose password is "pw-<number>"."""
    store = MemoryStore()
    for number in numbers:
        store.add_extension(number, f"pw-{number}", REALM)
    return store


@asynccontextmanager
async def running(config: PbxConfig, store: MemoryStore) -> AsyncIterator[PbxServer]:
    server = PbxServer(config, store)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def unsigned(routes: list[str]) -> list[str]:
    """Route values without the signature (and CSeq offset) a PBX writes into its Record-Route;
    each of these routes must carry a signature."""
    assert all(";pbxd=" in route for route in routes), routes
    return [re.sub(r";(?:pbxd|cs)=[^;>]*", "", route) for route in routes]
