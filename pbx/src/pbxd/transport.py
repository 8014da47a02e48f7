"""The network edge: asyncio UDP and TCP sockets that carry SIP messages (RFC 3261 §18).

Incoming bytes are framed and parsed here and handed up as messages with the ``Peer`` they came
from; outgoing messages are serialised and sent to a ``Peer``. TCP connections are kept in a
table keyed by the peer's address so that responses and later requests reuse them. Works with
the Proactor event loop on Windows (no POSIX-only calls).

The same class serves the front process of a PBX with several SIP workers (``pbxd.workers``):
there it hands up the bytes of each message unparsed (``deliver_raw``) and reports its TCP
connections opening and closing (``on_connection``), so that the workers can be told.

TCP connections are bounded so that one address cannot starve the others: a limit in total and
per remote address, a deadline for a message once its first byte has arrived (a sender that
trickles a message in to hold the connection, "slowloris"), and an idle timeout.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable, Container, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pbxd.config import Listen
from pbxd.sip.message import Message, Request, Response, SipParseError, parse_message
from pbxd.sip.stream import BadMessage, FramingError, KeepalivePing, StreamParser

try:  # present wherever pbxd is compiled with mypyc (pbx/README.md, "Compiled build")
    from mypy_extensions import mypyc_attr
except ImportError:  # the pure-Python build, which mypyc's class attributes do not concern
    _Class = TypeVar("_Class", bound=type)

    def mypyc_attr(*_attrs: str, **_settings: bool) -> Callable[[_Class], _Class]:  # type: ignore[misc]
        return lambda cls: cls


log = logging.getLogger("pbxd.transport")

# Listening on every address is the operator's choice (config); here we only recognise it.
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]"})  # noqa: S104

# TCP connections held open at once. Beyond this, new inbound connections are closed at once:
# each one costs a socket and up to one message of buffer, and running out of file handles
# would also stop the PBX from reaching its database.
MAX_TCP_CONNECTIONS = 2000
# Inbound connections from one address: a NAT may hide a whole office, but it must not be able
# to take every connection there is.
MAX_TCP_CONNECTIONS_PER_ADDRESS = 100
# Seconds from the first byte of a message to its last (phones send a message in one go).
TCP_MESSAGE_TIMEOUT = 10.0
# Seconds a connection may stay silent in both directions before it is closed. Phones that
# register over TCP send a keepalive or a re-REGISTER well within this (RFC 5626 §4.4.1).
TCP_IDLE_TIMEOUT = 600.0
# Seconds an inbound connection may stay open before its first complete message.
TCP_FIRST_MESSAGE_TIMEOUT = 30.0
# UDP: datagrams read per wake-up of the event loop at most (others' callbacks wait meanwhile),
# and the largest datagram read (bigger than any message accepted, so an oversized one is seen
# as such).
UDP_READ_BATCH = 64
UDP_READ_SIZE = 65_536
# Bytes of receive buffer asked for each UDP socket. Requests arrive in bursts, and at the knee
# a pause of the loop of a few tens of milliseconds (a garbage collection, a burst of commits)
# overflowed the system's default (208 KiB on Linux, 64 KiB on Windows): the kernel dropped
# requests and the clients retransmitted them 500 ms later. 1 MiB holds about 0.3 s of work at
# the knee, less than T1, so what waits in it is still answered before a retransmission.
UDP_RECEIVE_BUFFER = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Peer:
    """Where a message came from or goes to."""

    transport: str  # "udp" or "tcp"
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport}:{self.host}:{self.port}"


MessageSink = Callable[[Request | Response, Peer], None]
RawSink = Callable[[bytes, Peer], None]
ErrorSink = Callable[[SipParseError, Peer], None]
UnreachableSink = Callable[[Peer], None]
ConnectionSink = Callable[[Peer, bool], None]


class SipTransport(Protocol):
    """What the SIP layer (``pbxd.endpoint``, ``pbxd.server``) needs of its transports: the
    sockets themselves (``Transports``) or, in a worker process, the link to the process that
    holds them (``pbxd.workers.worker.RelayedTransports``)."""

    deliver: MessageSink
    on_bad_message: ErrorSink
    on_unreachable: UnreachableSink

    @property
    def connections(self) -> Container[tuple[str, int]]:
        """The (host, port) of every open TCP connection."""
        ...

    @property
    def bound(self) -> bool: ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def advertised(self, transport: str) -> tuple[str, int]: ...
    def send(self, message: Message, peer: Peer) -> None: ...


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: Transports) -> None:
        self._owner = owner
        self.transport: asyncio.DatagramTransport | None = None
        self.sock: socket.socket | None = None  # the socket itself, to share with workers

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        peer = Peer("udp", str(addr[0]), int(addr[1]))
        if len(data) <= 4 and not data.strip(b"\r\n\x00 "):
            return  # a keepalive datagram (RFC 5626: CRLF; some phones send a few bytes)
        raw = self._owner.deliver_raw
        if raw is not None:
            raw(data, peer)
            return
        try:
            message = parse_message(data)
        except SipParseError as error:
            self._owner.on_bad_message(error, peer)
            return
        self._owner.deliver(message, peer)

    def error_received(self, exc: Exception) -> None:
        # An ICMP "port unreachable" from a phone that went away: nothing to do but note it.
        log.debug("UDP error: %s", exc)

    def read_waiting(self, sock: socket.socket) -> None:
        """Read the datagrams waiting on ``sock``, up to ``UDP_READ_BATCH`` (the reader of
        selector event loops: asyncio's own reads one datagram per wake-up, so under load
        every datagram cost a poll of the selector as well as its read)."""
        for _ in range(UDP_READ_BATCH):
            try:
                data, addr = sock.recvfrom(UDP_READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.error_received(exc)
                return
            self.datagram_received(data, addr)


class _TcpConnection(asyncio.Protocol):
    def __init__(self, owner: Transports, peer: Peer | None = None) -> None:
        self._owner = owner
        self._parser = StreamParser(parse=owner.deliver_raw is None)
        self.peer = peer
        self.inbound = peer is None
        self.transport: asyncio.Transport | None = None
        self._pending: list[bytes] = []
        self.opened = self.last_activity = _now()
        self.message_started: float | None = None  # when the unfinished message began
        self.complete_messages = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.peer is None:
            host, port = transport.get_extra_info("peername")[:2]
            refusal = self._owner.refusal(str(host))
            if refusal is not None:
                if not self._owner.refusing:  # once per episode: a flood must not flood the log
                    self._owner.refusing = True
                    log.warning("refusing TCP connections (from %s:%s on): %s", host, port, refusal)
                transport.abort()
                return
            self._owner.refusing = False
            self.peer = Peer("tcp", str(host), int(port))
            self._owner.count_inbound(self.peer.host, +1)
        self._owner.connections[(self.peer.host, self.peer.port)] = self
        self._owner.on_connection(self.peer, True)
        for data in self._pending:
            transport.write(data)
        self._pending.clear()

    def send(self, data: bytes) -> None:
        self.last_activity = _now()
        if self.transport is None:
            self._pending.append(data)
        else:
            self.transport.write(data)

    def expired(self, now: float) -> str | None:
        """Why this connection must be closed now, or None."""
        owner = self._owner
        if self.message_started is not None and now - self.message_started > owner.message_timeout:
            return f"a message took longer than {owner.message_timeout:g} s to arrive"
        if self.inbound and not self.complete_messages and now - self.opened > owner.first_message_timeout:
            return f"no message within {owner.first_message_timeout:g} s of connecting"
        if now - self.last_activity > owner.idle_timeout:
            return f"idle for {owner.idle_timeout:g} s"
        return None

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None and self.transport is not None
        now = self.last_activity = _now()
        try:
            events = self._parser.feed(data)
        except FramingError as error:
            log.info("closing TCP connection from %s: %s", self.peer, error)
            self.transport.close()
            return
        if self._parser.buffered:
            if self.message_started is None or events:
                self.message_started = now
        else:
            self.message_started = None
        self.complete_messages += len(events)
        for event in events:
            if isinstance(event, KeepalivePing):
                self.transport.write(b"\r\n")
            elif isinstance(event, BadMessage):
                self._owner.on_bad_message(event.error, self.peer)
            elif isinstance(event, bytes):
                self._owner.deliver_raw(event, self.peer)  # type: ignore[misc]  # set: raw framing
            else:
                self._owner.deliver(event, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            key = (self.peer.host, self.peer.port)
            if self._owner.connections.get(key) is self:
                del self._owner.connections[key]
                if self.transport is not None:  # it had opened: it was announced
                    self._owner.on_connection(self.peer, False)
            if self.inbound:
                self._owner.count_inbound(self.peer.host, -1)
                self.inbound = False  # counted once, however often asyncio reports the loss


def _now() -> float:
    return asyncio.get_running_loop().time()


# Tests record what an endpoint sends with a subclass, which a compiled class must allow.
@mypyc_attr(allow_interpreted_subclasses=True)
class Transports:
    """Every socket of one PBX. ``deliver``, ``on_bad_message`` and ``on_unreachable`` (a TCP
    connection could not be opened: what was queued for it is lost) are set by the endpoint;
    ``deliver_raw`` and ``on_connection`` by the front of a PBX with several workers."""

    def __init__(self, listens: tuple[Listen, ...], fallback_host: str) -> None:
        self.listens = listens
        self.fallback_host = fallback_host
        self.deliver: MessageSink = lambda message, peer: None
        self.on_bad_message: ErrorSink = lambda error, peer: None
        self.on_unreachable: UnreachableSink = lambda peer: None
        # Set before start: messages are then handed up as bytes, framed but not parsed.
        self.deliver_raw: RawSink | None = None
        self.on_connection: ConnectionSink = lambda peer, opened: None
        self.connections: dict[tuple[str, int], _TcpConnection] = {}
        self.max_connections = MAX_TCP_CONNECTIONS
        self.max_connections_per_address = MAX_TCP_CONNECTIONS_PER_ADDRESS
        self.message_timeout = TCP_MESSAGE_TIMEOUT
        self.idle_timeout = TCP_IDLE_TIMEOUT
        self.first_message_timeout = TCP_FIRST_MESSAGE_TIMEOUT
        self.refusing = False  # inbound connections are being refused (the limit is reached)
        self._inbound_by_host: dict[str, int] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._udp: dict[Listen, _UdpProtocol] = {}
        self._tcp_servers: dict[Listen, asyncio.Server] = {}
        self._connecting: set[asyncio.Task[None]] = set()  # connections and name look-ups
        self._udp_sender: asyncio.DatagramTransport | None = None  # the socket UDP goes out on

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for listen in self.listens:
            if listen.transport == "udp":
                self._udp[listen] = await _open_udp(loop, self, listen)
            else:
                self._tcp_servers[listen] = await loop.create_server(
                    lambda: _TcpConnection(self), listen.host, listen.port
                )
            log.info("listening on %s:%s:%s", listen.transport, listen.host, listen.port)
        if self._tcp_servers:
            self._reaper = loop.create_task(self._reap_forever())

    def refusal(self, host: str) -> str | None:
        """Why a new inbound connection from ``host`` is refused, or None."""
        if len(self.connections) >= self.max_connections:
            return f"{len(self.connections)} are open, the limit"
        if self._inbound_by_host.get(host, 0) >= self.max_connections_per_address:
            return f"{host} holds {self.max_connections_per_address}, the limit for one address"
        return None

    def count_inbound(self, host: str, change: int) -> None:
        count = self._inbound_by_host.get(host, 0) + change
        if count > 0:
            self._inbound_by_host[host] = count
        else:
            self._inbound_by_host.pop(host, None)

    async def _reap_forever(self) -> None:
        """Close connections that hold a slot without using it (see ``_TcpConnection.expired``)."""
        while True:
            await asyncio.sleep(min(1.0, self.message_timeout / 2, self.first_message_timeout / 2))
            now = asyncio.get_running_loop().time()
            for connection in list(self.connections.values()):
                why = connection.expired(now)
                if why is not None and connection.transport is not None:
                    log.info("closing TCP connection with %s: %s", connection.peer, why)
                    connection.transport.abort()

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for protocol in self._udp.values():
            if protocol.transport is not None:
                protocol.transport.close()
        for server in self._tcp_servers.values():
            server.close()
        for connection in list(self.connections.values()):
            if connection.transport is not None:
                connection.transport.abort()
        for task in list(self._connecting):
            task.cancel()
        self._udp.clear()
        self._udp_sender = None
        self._tcp_servers.clear()
        self.connections.clear()
        self._inbound_by_host.clear()

    @property
    def bound(self) -> bool:
        udp_ok = all(p.transport is not None and not p.transport.is_closing() for p in self._udp.values())
        tcp_ok = all(server.is_serving() for server in self._tcp_servers.values())
        return udp_ok and tcp_ok and len(self._udp) + len(self._tcp_servers) == len(self.listens)

    def advertised(self, transport: str) -> tuple[str, int]:
        return advertised(self.listens, self.fallback_host, transport)

    def listen_for(self, transport: str) -> Listen:
        return listen_for(self.listens, transport)

    def udp_socket(self) -> socket.socket | None:
        """The socket that UDP goes out on (``listen_for("udp")``), if one is open."""
        udp = [listen for listen in self.listens if listen.transport == "udp"]
        protocol = self._udp.get(udp[0]) if udp else None
        return protocol.sock if protocol is not None else None

    def send(self, message: Message, peer: Peer) -> None:
        self.send_bytes(message.to_bytes(), peer)

    def send_bytes(self, data: bytes, peer: Peer) -> None:
        """Send a serialised message (the front sends what its workers wrote)."""
        if peer.transport == "udp":
            if is_ip_literal(peer.host):
                self._send_datagram(data, peer.host.removeprefix("[").removesuffix("]"), peer.port)
            else:
                # A datagram socket would resolve the name itself, blocking the event loop for
                # as long as DNS takes (and the name may come from an unauthenticated request).
                listen = self.listen_for("udp")  # no UDP socket: fail here, as for an address
                family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
                self._track(self._resolve_and_send(data, peer, family))
            return
        connection = self.connections.get((peer.host, peer.port))
        if connection is None:
            connection = _TcpConnection(self, peer)
            self.connections[(peer.host, peer.port)] = connection
            self._track(self._connect(connection, peer))
        connection.send(data)

    def _send_datagram(self, data: bytes, host: str, port: int) -> None:
        if self._udp_sender is None:
            self._udp_sender = self._udp[self.listen_for("udp")].transport
        if self._udp_sender is not None:
            self._udp_sender.sendto(data, (host, port))

    async def _resolve_and_send(self, data: bytes, peer: Peer, family: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(peer.host, peer.port, family=family, type=socket.SOCK_DGRAM)
        except OSError as error:
            log.info("cannot resolve %s: %s", peer, error)
            self.on_unreachable(peer)
            return
        self._send_datagram(data, str(found[0][4][0]), peer.port)

    def _track(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a connection or resolution in the background; ``stop`` cancels it."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect(self, connection: _TcpConnection, peer: Peer) -> None:
        local = self.listen_for("tcp")
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: connection, peer.host, peer.port, local_addr=(local.host, 0))
        except OSError as error:
            log.info("cannot connect to %s: %s", peer, error)
            if self.connections.get((peer.host, peer.port)) is connection:
                del self.connections[(peer.host, peer.port)]
            self.on_unreachable(peer)


def advertised(listens: tuple[Listen, ...], fallback_host: str, transport: str) -> tuple[str, int]:
    """The host and port that Via and Record-Route name for ``transport``: the listen
    address, or ``fallback_host`` when listening on every address (0.0.0.0 or ::)."""
    listen = listen_for(listens, transport)
    host = fallback_host if listen.host in _WILDCARD_HOSTS else listen.host
    return host, listen.port


def listen_for(listens: tuple[Listen, ...], transport: str) -> Listen:
    """The socket that sends on ``transport`` (its address goes into Via and Record-Route)."""
    for listen in listens:
        if listen.transport == transport:
            return listen
    raise LookupError(f"no {transport} listen address is configured")


async def _open_udp(loop: asyncio.AbstractEventLoop, owner: Transports, listen: Listen) -> _UdpProtocol:
    """A UDP socket bound to ``listen``, read in batches where the event loop allows it
    (selector loops: Linux, and Windows when configured so; the Proactor loop, Windows'
    default, reads through asyncio's own transport), with a receive buffer of
    ``UDP_RECEIVE_BUFFER`` where the system grants it."""
    infos = await loop.getaddrinfo(listen.host, listen.port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        _ask_receive_buffer(sock, listen)
        sock.bind(address)
        sock.setblocking(False)
        _, protocol = await loop.create_datagram_endpoint(lambda: _UdpProtocol(owner), sock=sock)
        protocol.sock = sock
    except BaseException:
        sock.close()
        raise
    # The transport's own reader is swapped for the batch reader. asyncio refuses to do this
    # through add_reader for a socket a transport holds, so the selector loop's underlying
    # methods are used; a loop without them (Proactor) keeps asyncio's reader.
    remove_reader = getattr(loop, "_remove_reader", None)
    add_reader = getattr(loop, "_add_reader", None)
    if remove_reader is not None and add_reader is not None:
        remove_reader(sock.fileno())
        add_reader(sock.fileno(), protocol.read_waiting, sock)
    return protocol


def _ask_receive_buffer(sock: socket.socket, listen: Listen) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    except OSError as error:
        log.info("udp:%s:%s keeps the system's receive buffer: %s", listen.host, listen.port, error)
        return
    # Linux reports twice what it grants (its bookkeeping included) and caps the request at
    # net.core.rmem_max; Windows grants what is asked.
    if granted < UDP_RECEIVE_BUFFER:
        log.info(
            "udp:%s:%s has a receive buffer of %d KiB, not the %d KiB asked for: bursts of requests "
            "may be dropped near the knee (on Linux, raise net.core.rmem_max)",
            listen.host,
            listen.port,
            granted // 1024,
            UDP_RECEIVE_BUFFER // 1024,
        )


def is_ip_literal(host: str) -> bool:
    # Asked for every datagram sent, mostly about the same few addresses: remembered, since
    # parsing the address each time was a measurable share of the cost of sending.
    known = _IP_LITERALS.get(host)
    if known is None:
        try:
            ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
            known = True
        except ValueError:
            known = False
        if len(_IP_LITERALS) >= _IP_LITERALS_LIMIT:
            _IP_LITERALS.clear()
        _IP_LITERALS[host] = known
    return known


_IP_LITERALS: dict[str, bool] = {}
_IP_LITERALS_LIMIT = 10_000
