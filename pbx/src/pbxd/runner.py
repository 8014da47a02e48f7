"""``pbxd run``: open the database, start the PBX, watch its health, stop on request.

The cluster judges a Generic Service only by "the service controller says it runs", so the
process must end (non-zero) when the PBX cannot serve: the watchdog checks the server and the
database every second and ends the run after a few failed checks in a row. A stop request
(SIGTERM, SIGINT, or the Windows service's stop event) closes the sockets and the database
within about two seconds, before the cluster takes the shared disk away.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import signal
import threading
from dataclasses import dataclass
from typing import Protocol

from pbxd.config import PbxConfig
from pbxd.logs import setup_logging
from pbxd.store import open_store
from pbxd.store.async_store import SqlStore
from pbxd.store.url import redact_url

log = logging.getLogger("pbxd.runner")

# Stop budget: the server, then the database, well inside two seconds together.
SERVER_STOP_TIMEOUT_S = 1.2
STORE_CLOSE_TIMEOUT_S = 0.6


class Outcome(enum.IntEnum):
    """How a run ended; the value is the process exit code (and the Windows service's
    service-specific exit code)."""

    STOPPED = 0
    STARTUP_FAILED = 1
    SERVER_UNHEALTHY = 3
    DATABASE_UNREACHABLE = 4


@dataclass(frozen=True, slots=True)
class WatchdogSettings:
    interval_s: float = 1.0
    # Consecutive failed checks before giving up: rides out a slow checkpoint or a brief lock.
    failures_allowed: int = 3
    ping_timeout_s: float = 2.0


class StopRequest:
    """A stop request that any thread may make (a signal handler, the service controller's
    thread) and the event loop awaits. A request made before the loop runs is kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requested = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def request(self) -> None:
        with self._lock:
            self._requested = True
            loop, event = self._loop, self._event
        if loop is not None and event is not None:
            loop.call_soon_threadsafe(event.set)

    async def wait(self) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._event = asyncio.Event()
            if self._requested:
                self._event.set()
        await self._event.wait()


class _Server(Protocol):
    """What the runner needs of ``pbxd.server.PbxServer`` (typed here to keep the import lazy)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def healthy(self) -> bool: ...


async def _watch(server: _Server, store: SqlStore, settings: WatchdogSettings) -> Outcome:
    """Return when the server or the database failed ``failures_allowed`` checks in a row."""
    server_failures = database_failures = 0
    while True:
        await asyncio.sleep(settings.interval_s)
        server_failures = 0 if server.healthy() else server_failures + 1
        try:
            await asyncio.wait_for(store.ping(), settings.ping_timeout_s)
            database_failures = 0
        except Exception as exc:  # any failure to answer counts, whatever the driver raised
            database_failures += 1
            log.warning(
                "database check failed (%d in a row): %s", database_failures, exc or type(exc).__name__
            )
        if server_failures:
            log.warning("server reports unhealthy (%d in a row)", server_failures)
        if database_failures >= settings.failures_allowed:
            log.error("the database stopped answering: stopping so that the cluster restarts or moves pbxd")
            return Outcome.DATABASE_UNREACHABLE
        if server_failures >= settings.failures_allowed:
            log.error("the server is unhealthy (a socket closed?): stopping so that the cluster notices")
            return Outcome.SERVER_UNHEALTHY


async def serve(config: PbxConfig, stop: StopRequest, watchdog: WatchdogSettings | None = None) -> Outcome:
    """Run the PBX until ``stop`` is requested or the watchdog gives up."""
    from pbxd.server import PbxServer  # noqa: PLC0415  (keeps `pbxd --help` and admin commands light)

    watchdog = watchdog or WatchdogSettings()
    log.info("opening the database %s", redact_url(config.database.url))
    try:
        store = await asyncio.to_thread(open_store, config.database.url)
    except Exception as exc:
        log.error("cannot open the database: %s", exc)
        return Outcome.STARTUP_FAILED
    try:
        server: _Server = PbxServer(config, store)
        await server.start()
    except Exception as exc:
        log.error("cannot start the PBX: %s", exc, exc_info=not isinstance(exc, OSError | ValueError))
        await store.close()
        return Outcome.STARTUP_FAILED
    listen = ", ".join(f"{x.transport}:{x.host}:{x.port}" for x in config.sip.listen)
    log.info("pbxd is serving on %s", listen)

    stopped = asyncio.create_task(stop.wait())
    watching = asyncio.create_task(_watch(server, store, watchdog))
    await asyncio.wait({stopped, watching}, return_when=asyncio.FIRST_COMPLETED)
    outcome = watching.result() if watching.done() else Outcome.STOPPED
    if outcome is Outcome.STOPPED:
        log.info("stop requested")
    for task in (stopped, watching):
        task.cancel()
    await _shutdown(server, store)
    return outcome


async def _shutdown(server: _Server, store: SqlStore) -> None:
    try:
        await asyncio.wait_for(server.stop(), SERVER_STOP_TIMEOUT_S)
    except TimeoutError:
        log.warning(
            "the server did not stop within %.1f s; closing the database anyway", SERVER_STOP_TIMEOUT_S
        )
    except Exception:
        log.exception("stopping the server failed; closing the database anyway")
    try:
        await asyncio.wait_for(store.close(), STORE_CLOSE_TIMEOUT_S)
    except TimeoutError:
        log.error("the database did not close within %.1f s", STORE_CLOSE_TIMEOUT_S)
    log.info("pbxd stopped")


def run(config: PbxConfig) -> int:
    """``pbxd run``: the foreground process, stopped by SIGTERM or SIGINT (Ctrl+C)."""
    setup_logging(config.log)
    stop = StopRequest()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.request())
    return int(asyncio.run(serve(config, stop)))
