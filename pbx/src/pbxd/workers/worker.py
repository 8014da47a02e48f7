"""A worker process: a whole ``PbxServer`` whose sockets are the front's (see ``pbxd.workers``).

The front starts ``main`` in a new process (``spawn``). The worker connects back over the link,
introduces itself with the front's token, opens the database and starts its server; it says it
is ready only then, and the front holds the worker's messages until it is. It stops when the
front says so or the link closes (the front is gone), and exits with the ``Outcome`` of its
run, which the front passes on. Stop signals are left to the front, which stops the workers in
order: a Ctrl+C or a service stop reaches the whole process group at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
from collections.abc import Callable, Container
from dataclasses import asdict, dataclass

from pbxd.config import Listen, PbxConfig
from pbxd.logs import RedactingFilter
from pbxd.runner import Outcome, WatchdogSettings, shut_down, watch
from pbxd.sip.message import Message, Response, SipParseError, parse_message
from pbxd.store import open_store
from pbxd.store.base import Binding
from pbxd.transport import MessageSink, Peer, advertised, is_ip_literal
from pbxd.workers.link import Link
from pbxd.workers.wire import Frame, Kind

log = logging.getLogger("pbxd.workers")

BindingChange = Callable[[str, str, Binding | None], None]


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What the front gives a worker it starts (pickled into the new process)."""

    config: PbxConfig
    index: int
    count: int
    link_port: int
    token: bytes
    # The front's socket of ``listen_for("udp")``, shared so that datagrams go out from it.
    udp_socket: socket.socket | None
    watchdog: WatchdogSettings


class RelayedTransports:
    """``SipTransport`` for a worker: UDP datagrams to IP addresses go out directly on the
    front's socket; the rest (TCP, host names) is sent by the front. What the front received
    arrives as ``MESSAGE`` frames, parsed here."""

    def __init__(
        self, link: Link, listens: tuple[Listen, ...], fallback_host: str, udp_socket: socket.socket | None
    ) -> None:
        self.deliver: MessageSink = lambda message, peer: None
        self.on_bad_message: Callable[[SipParseError, Peer], None] = lambda error, peer: None
        self.on_unreachable: Callable[[Peer], None] = lambda peer: None
        self._link = link
        self._listens = listens
        self._fallback_host = fallback_host
        self._udp = udp_socket
        if udp_socket is not None:
            udp_socket.setblocking(False)
        self._connections: set[tuple[str, int]] = set()
        self.dropped_datagrams = 0

    @property
    def connections(self) -> Container[tuple[str, int]]:
        return self._connections

    @property
    def bound(self) -> bool:
        return not self._link.closed

    async def start(self) -> None:
        """Nothing to bind: the front holds the sockets."""

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()  # this process's handle only: the front's socket stays open
            self._udp = None

    def advertised(self, transport: str) -> tuple[str, int]:
        return advertised(self._listens, self._fallback_host, transport)

    def send(self, message: Message, peer: Peer) -> None:
        data = message.to_bytes()
        if peer.transport == "udp" and self._udp is not None and is_ip_literal(peer.host):
            if not _confirms_registration(message):
                self._send_datagram(data, peer)
                return
            # A 200 OK to a REGISTER goes through the front, after the news of the binding it
            # confirms: the phone cannot then place or receive a call that reaches a worker
            # which has not heard of it yet.
            self._link.send_now(Kind.MESSAGE, peer, data)
            return
        self._link.send(Kind.MESSAGE, peer, data)

    def _send_datagram(self, data: bytes, peer: Peer) -> None:
        assert self._udp is not None
        try:
            self._udp.sendto(data, (peer.host.removeprefix("[").removesuffix("]"), peer.port))
        except (BlockingIOError, InterruptedError):
            self.dropped_datagrams += 1  # the send buffer is full: as lost on the wire, SIP resends
        except OSError as error:
            log.debug("cannot send to %s: %s", peer, error)

    def announce(self, aor: str, contact: str, binding: Binding | None) -> None:
        change = {"aor": aor, "contact": contact, "binding": asdict(binding) if binding else None}
        self._link.send(Kind.BINDING, None, json.dumps(change).encode())

    def received(self, frame: Frame, on_binding: BindingChange) -> None:
        """A frame from the front (other than ``QUIT``)."""
        peer = frame.peer
        if frame.kind is Kind.MESSAGE and peer is not None:
            try:
                message = parse_message(frame.data, stream=peer.transport != "udp")
            except SipParseError as error:
                self.on_bad_message(error, peer)
                return
            self.deliver(message, peer)
        elif frame.kind is Kind.OPENED and peer is not None:
            self._connections.add((peer.host, peer.port))
        elif frame.kind is Kind.CLOSED and peer is not None:
            self._connections.discard((peer.host, peer.port))
        elif frame.kind is Kind.UNREACHABLE and peer is not None:
            self.on_unreachable(peer)
        elif frame.kind is Kind.BINDING:
            change = json.loads(frame.data)
            binding = change["binding"]
            on_binding(change["aor"], change["contact"], Binding(**binding) if binding else None)


def _confirms_registration(message: Message) -> bool:
    return isinstance(message, Response) and 200 <= message.status < 300 and message.cseq[1] == "REGISTER"


class _LinkLogHandler(logging.Handler):
    """Hands log records to the front, which writes them where the PBX logs."""

    def __init__(self, link: Link) -> None:
        super().__init__()
        self._link = link

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            payload = {"name": record.name, "level": record.levelno, "message": text}
            self._link.send(Kind.LOG, None, json.dumps(payload).encode())
        except Exception:
            self.handleError(record)


def main(spec: WorkerSpec) -> None:
    """The worker process (the target the front starts)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    sys.exit(int(asyncio.run(_work(spec))))


async def _work(spec: WorkerSpec) -> Outcome:
    from pbxd.server import PbxServer  # noqa: PLC0415  (after logging is forwarded)

    loop = asyncio.get_running_loop()
    quit_requested = asyncio.Event()
    transports: RelayedTransports | None = None
    on_binding: BindingChange = lambda aor, contact, binding: None  # noqa: E731  (until serving)

    def on_frame(link: Link, frame: Frame) -> None:
        if frame.kind is Kind.QUIT:
            quit_requested.set()
        elif transports is not None:
            transports.received(frame, on_binding)

    try:
        _, link = await loop.create_connection(
            lambda: Link(on_frame, lambda link: quit_requested.set()), "127.0.0.1", spec.link_port
        )
    except OSError as error:
        print(f"pbxd worker {spec.index}: cannot reach the front: {error}", file=sys.stderr)
        return Outcome.STARTUP_FAILED
    link.send_now(Kind.HELLO, None, spec.token + str(spec.index).encode())
    _forward_logging(link, spec.config.log.level)
    config = spec.config
    try:
        store = await asyncio.to_thread(
            open_store, config.database.url, migrate=False, synchronous=config.database.synchronous
        )
    except Exception as exc:
        log.error("cannot open the database: %s", exc)
        return await _ended(link, Outcome.STARTUP_FAILED)
    transports = RelayedTransports(link, config.sip.listen, config.sip.domain, spec.udp_socket)
    try:
        server = PbxServer(config, store, worker=(spec.index, spec.count), transports=transports)
        on_binding = server.registrar.apply
        server.registrar.on_change = transports.announce
        await server.start()
    except Exception as exc:
        log.error("cannot start: %s", exc, exc_info=not isinstance(exc, OSError | ValueError))
        await store.close()
        return await _ended(link, Outcome.STARTUP_FAILED)
    link.send_now(Kind.READY)
    quitting = loop.create_task(quit_requested.wait())
    watching = loop.create_task(watch(server, store, spec.watchdog))
    await asyncio.wait({quitting, watching}, return_when=asyncio.FIRST_COMPLETED)
    outcome = watching.result() if watching.done() else Outcome.STOPPED
    for task in (quitting, watching):
        task.cancel()
    await shut_down(server, store)
    return await _ended(link, outcome)


async def _ended(link: Link, outcome: Outcome) -> Outcome:
    """Let the last log records reach the front before the process ends."""
    link.flush()
    if link.transport is not None and not link.closed:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.3):
                while link.buffered and not link.closed:
                    await asyncio.sleep(0.01)
        link.close()
    return outcome


def _forward_logging(link: Link, level: str) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = _LinkLogHandler(link)
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
