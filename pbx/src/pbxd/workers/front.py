"""The front of a PBX with several workers: it holds the sockets and hands each message to the
worker its Call-ID falls to (see ``pbxd.workers``).

It starts the workers, waits until every one is ready, and from then on watches them: a worker
that exits ends the front too (``Front.failed``), since a PBX that lost the calls of one worker
must be restarted or moved by the cluster, as one process would be. Messages that arrive while a
worker is starting wait for it; if a worker falls so far behind that its link holds
``MAX_LINK_BACKLOG`` bytes, datagrams for it are dropped (their senders retransmit, and the
worker's own shedder answers 503 to what it cannot take), never TCP messages.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import multiprocessing
import secrets
import sys
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path

from pbxd.config import PbxConfig
from pbxd.runner import Outcome, WatchdogSettings
from pbxd.transport import Peer, Transports
from pbxd.workers.link import Link
from pbxd.workers.wire import Frame, Kind, worker_for
from pbxd.workers.worker import WorkerSpec, main

log = logging.getLogger("pbxd.workers")

MAX_LINK_BACKLOG = 4 * 1024 * 1024
STARTUP_TIMEOUT_S = 60.0  # opening the database and loading every registration
STOP_TIMEOUT_S = 1.9  # within the service's two seconds; a worker still running is killed


class WorkerStartError(RuntimeError):
    def __init__(self, message: str, outcome: Outcome) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(slots=True)
class _Worker:
    index: int
    process: BaseProcess
    link: Link | None = None
    ready: bool = False
    # Frames for the worker before it is ready.
    waiting: list[tuple[Kind, Peer | None, bytes]] = field(default_factory=list)
    waiting_bytes: int = 0
    dropping: bool = False  # an episode of dropped datagrams is under way (logged once)
    dropped: int = 0


class Front:
    def __init__(self, config: PbxConfig, count: int, watchdog: WatchdogSettings) -> None:
        self.config = config
        self.count = count
        self.watchdog = watchdog
        self.transports = Transports(config.sip.listen, fallback_host=config.sip.domain)
        self.transports.deliver_raw = self._received
        self.transports.on_connection = self._connection
        self.transports.on_unreachable = self._unreachable
        self.failed: asyncio.Future[Outcome] | None = None
        self._token = secrets.token_hex(16).encode()
        self._workers: list[_Worker] = []
        self._by_link: dict[Link, _Worker] = {}
        self._links: set[Link] = set()
        self.failure = "a worker ended"
        self._server: asyncio.Server | None = None
        self._stopping = False

    async def start(self) -> None:
        """Bind the listen addresses, start the workers and wait until each is ready.
        Raises ``WorkerStartError`` (with the outcome to exit with) or ``OSError``."""
        loop = asyncio.get_running_loop()
        self.failed = loop.create_future()
        await self.transports.start()
        self._server = await loop.create_server(
            lambda: Link(self._from_worker, self._link_lost), "127.0.0.1", 0
        )
        link_port = self._server.sockets[0].getsockname()[1]
        context = multiprocessing.get_context("spawn")
        _use_python_exe(context)
        udp_socket = self.transports.udp_socket()
        for index in range(self.count):
            spec = WorkerSpec(
                self.config, index, self.count, link_port, self._token, udp_socket, self.watchdog
            )
            process = context.Process(target=main, args=(spec,), name=f"pbxd-worker-{index}", daemon=True)
            process.start()
            self._workers.append(_Worker(index, process))
        log.info("started %d workers; waiting until each has opened the database", self.count)
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT_S):
                while not all(worker.ready for worker in self._workers):
                    if self.failed.done():
                        raise WorkerStartError(self.failure, Outcome.STARTUP_FAILED)
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise WorkerStartError(
                f"the workers were not ready within {STARTUP_TIMEOUT_S:g} s", Outcome.STARTUP_FAILED
            ) from None

    async def stop(self) -> None:
        """Close the sockets, ask every worker to stop, and kill those that do not in time."""
        self._stopping = True
        await self.transports.stop()
        for worker in self._workers:
            if worker.link is not None:
                worker.link.send_now(Kind.QUIT)
        deadline = asyncio.get_running_loop().time() + STOP_TIMEOUT_S
        for worker in self._workers:
            left = max(0.0, deadline - asyncio.get_running_loop().time())
            await asyncio.to_thread(worker.process.join, left)
            if worker.process.exitcode is None:
                log.warning("worker %d did not stop within %.1f s: killing it", worker.index, STOP_TIMEOUT_S)
                worker.process.kill()
                await asyncio.to_thread(worker.process.join, 1.0)
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.close()

    def health_problem(self) -> str | None:
        if not self.transports.bound:
            return f"a listening socket was closed (configured: {self.config.sip.listen_text})"
        return None

    # -- from the sockets to the workers ------------------------------------------------------

    def _received(self, data: bytes, peer: Peer) -> None:
        worker = self._workers[worker_for(data, self.count)] if self._workers else None
        if worker is None:
            return
        if worker.link is not None and worker.ready:
            if peer.transport == "udp" and worker.link.buffered > MAX_LINK_BACKLOG:
                self._drop(worker)
                return
            if worker.dropping:
                worker.dropping = False
                log.warning("worker %d keeps up again (%d datagrams dropped)", worker.index, worker.dropped)
            worker.link.send(Kind.MESSAGE, peer, data)
        else:
            self._hold(worker, Kind.MESSAGE, peer, data)

    def _drop(self, worker: _Worker) -> None:
        worker.dropped += 1
        if not worker.dropping:
            worker.dropping = True
            log.warning(
                "worker %d is more than %d MB behind: dropping datagrams for it until it catches up",
                worker.index,
                MAX_LINK_BACKLOG // (1024 * 1024),
            )

    def _hold(self, worker: _Worker, kind: Kind, peer: Peer | None, data: bytes) -> None:
        if peer is not None and peer.transport == "udp" and worker.waiting_bytes > MAX_LINK_BACKLOG:
            self._drop(worker)
            return
        worker.waiting.append((kind, peer, data))
        worker.waiting_bytes += len(data)

    def _broadcast(self, kind: Kind, peer: Peer | None, data: bytes = b"", *, but: int | None = None) -> None:
        for worker in self._workers:
            if worker.index == but:
                continue
            if worker.link is not None and worker.ready:
                worker.link.send(kind, peer, data)
            else:
                self._hold(worker, kind, peer, data)

    def _connection(self, peer: Peer, opened: bool) -> None:
        self._broadcast(Kind.OPENED if opened else Kind.CLOSED, peer)

    def _unreachable(self, peer: Peer) -> None:
        self._broadcast(Kind.UNREACHABLE, peer)

    # -- from the workers ---------------------------------------------------------------------

    def _from_worker(self, link: Link, frame: Frame) -> None:
        worker = self._by_link.get(link)
        if worker is None:
            self._introduce(link, frame)
        elif frame.kind is Kind.MESSAGE and frame.peer is not None:
            self.transports.send_bytes(frame.data, frame.peer)
        elif frame.kind is Kind.BINDING:
            self._broadcast(Kind.BINDING, None, frame.data, but=worker.index)
        elif frame.kind is Kind.LOG:
            _log_for(worker.index, frame.data)
        elif frame.kind is Kind.READY:
            for kind, peer, data in worker.waiting:
                link.send(kind, peer, data)
            worker.waiting.clear()
            worker.waiting_bytes = 0
            worker.ready = True
            log.info("worker %d is ready", worker.index)

    def _introduce(self, link: Link, frame: Frame) -> None:
        """The first frame of a link must be a worker's hello with the token."""
        self._links.add(link)
        token, index_text = frame.data[: len(self._token)], frame.data[len(self._token) :]
        index = int(index_text) if index_text.isdigit() and len(index_text) < 3 else -1
        if (
            frame.kind is not Kind.HELLO
            or not hmac.compare_digest(token, self._token)
            or not 0 <= index < len(self._workers)
            or self._workers[index].link is not None
        ):
            log.warning("closing a link that did not introduce itself as one of the workers")
            link.close()
            return
        self._workers[index].link = link
        self._by_link[link] = self._workers[index]

    def _link_lost(self, link: Link) -> None:
        self._links.discard(link)
        worker = self._by_link.get(link)
        if worker is None or self._stopping or self.failed is None or self.failed.done():
            return
        asyncio.get_running_loop().create_task(self._worker_ended(worker))

    async def _worker_ended(self, worker: _Worker) -> None:
        await asyncio.to_thread(worker.process.join, 2.0)
        code = worker.process.exitcode
        outcome = (
            Outcome.DATABASE_UNREACHABLE if code == Outcome.DATABASE_UNREACHABLE else Outcome.SERVER_UNHEALTHY
        )
        if not worker.ready:
            outcome = Outcome.STARTUP_FAILED
        if self.failed is not None and not self.failed.done():
            worker_code = "still running" if code is None else f"exit code {code}"
            self.failure = f"worker {worker.index} ended ({worker_code})"
            self.failed.set_result(outcome)


def _log_for(index: int, data: bytes) -> None:
    try:
        record = json.loads(data)
        level, name, message = int(record["level"]), str(record["name"]), str(record["message"])
    except (ValueError, KeyError, TypeError):
        log.warning("worker %d sent a log record that is not one", index)
        return
    logging.getLogger(name).log(level, "[worker %d] %s", index, message)


def _use_python_exe(context: multiprocessing.context.SpawnContext) -> None:
    """Under pywin32's service host, ``sys.executable`` is pythonservice.exe, which cannot run a
    worker: use the python.exe beside it (where ``pbxd service install`` puts the host)."""
    executable = Path(sys.executable)
    if executable.name.lower() == "pythonservice.exe":
        context.set_executable(str(executable.with_name("python.exe")))
