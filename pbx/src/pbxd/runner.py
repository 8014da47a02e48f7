"""``pbxd run``: open the database, start the PBX, watch its health, stop on request.

The cluster judges a Generic Service only by "the service controller says it runs", so the
process must end (non-zero) when the PBX cannot serve: the watchdog checks the server and the
database every second and ends the run after a few failed checks in a row. The database check
asks whether the database makes progress, not whether one ping gets through the queue in time:
under a flood of registrations the queue is long, and that is load to shed (``pbxd.overload``),
not a reason to stop. A stop request (SIGTERM, SIGINT, or the Windows service's stop event)
closes the sockets and the database within about two seconds, before the cluster takes the
shared disk away.

While it runs, the process holds the SQLite database's lock (``pbxd.store.inuse``), and reports
``READY=1`` and ``STOPPING=1`` to a service controller that set ``NOTIFY_SOCKET``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import platform
import signal
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from pbxd.commands import build, version
from pbxd.config import PbxConfig
from pbxd.logs import setup_logging
from pbxd.notify import notify
from pbxd.store import open_database, open_store
from pbxd.store.async_store import SqlStore
from pbxd.store.inuse import ServerLock
from pbxd.store.url import SqliteUrl, parse_database_url, redact_url

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
    def health_problem(self) -> str | None: ...


class _Database(Protocol):
    """What the watchdog needs of ``pbxd.store.async_store.SqlStore``."""

    async def check(self, timeout: float) -> str | None: ...


async def watch(server: _Server, store: _Database | None, settings: WatchdogSettings) -> Outcome:
    """Return when the server or the database failed ``failures_allowed`` checks in a row
    (the front of a PBX with workers has no database of its own: ``store`` None)."""
    server_failures = database_failures = 0
    while True:
        await asyncio.sleep(settings.interval_s)
        server_problem = server.health_problem()
        server_failures = 0 if server_problem is None else server_failures + 1
        if server_problem is not None:
            log.warning("server check failed (%d in a row): %s", server_failures, server_problem)
        try:
            database_problem = None if store is None else await store.check(settings.ping_timeout_s)
        except Exception as exc:  # a check that cannot even run counts as failed
            database_problem = str(exc) or type(exc).__name__
        database_failures = 0 if database_problem is None else database_failures + 1
        if database_problem is not None:
            log.warning("database check failed (%d in a row): %s", database_failures, database_problem)
        if database_failures >= settings.failures_allowed:
            log.error(
                "the database stopped answering (%s): stopping so that the cluster restarts or moves pbxd",
                database_problem,
            )
            return Outcome.DATABASE_UNREACHABLE
        if server_failures >= settings.failures_allowed:
            log.error("the server is unhealthy (%s): stopping so that the cluster notices", server_problem)
            return Outcome.SERVER_UNHEALTHY


async def serve(config: PbxConfig, stop: StopRequest, watchdog: WatchdogSettings | None = None) -> Outcome:
    """Run the PBX until ``stop`` is requested or the watchdog gives up."""
    watchdog = watchdog or WatchdogSettings()
    log.info("pbxd %s starting (Python %s, %s build)", version(), platform.python_version(), build())
    target = parse_database_url(config.database.url)
    lock = ServerLock(target.path) if isinstance(target, SqliteUrl) else None
    log.info("opening the database %s", redact_url(config.database.url))
    if config.sip.workers > 1:
        return await _serve_with_workers(config, stop, watchdog, lock)
    try:
        store = await asyncio.to_thread(
            open_store, config.database.url, synchronous=config.database.synchronous
        )
    except Exception as exc:
        log.error("cannot open the database: %s", exc)
        return Outcome.STARTUP_FAILED
    try:
        if lock is not None:
            lock.acquire("serve from it")
    except Exception as exc:
        log.error("cannot open the database: %s", exc)
        await store.close()
        return Outcome.STARTUP_FAILED
    try:
        return await _serve_with(config, store, stop, watchdog)
    finally:
        if lock is not None:
            lock.release()


async def _serve_with(
    config: PbxConfig, store: SqlStore, stop: StopRequest, watchdog: WatchdogSettings
) -> Outcome:
    from pbxd.server import PbxServer  # noqa: PLC0415  (keeps `pbxd --help` and admin commands light)

    try:
        server: _Server = PbxServer(config, store)
        await server.start()
    except Exception as exc:
        log.error("cannot start the PBX: %s", exc, exc_info=not isinstance(exc, OSError | ValueError))
        await store.close()
        return Outcome.STARTUP_FAILED
    listen = config.sip.listen_text
    log.info("pbxd is serving on %s", listen)
    notify(f"READY=1\nSTATUS=serving on {listen}")

    outcome = await _serve_until_end(server, store, stop, watchdog)
    await shut_down(server, store)
    return outcome


async def _serve_until_end(
    server: _Server,
    store: SqlStore | None,
    stop: StopRequest,
    watchdog: WatchdogSettings,
    failed: asyncio.Future[Outcome] | None = None,
) -> Outcome:
    """Wait for a stop request, the watchdog's verdict or ``failed`` (the front's: a worker
    ended), whichever comes first, and tell the service controller that pbxd is stopping."""
    stopped = asyncio.create_task(stop.wait())
    watching = asyncio.create_task(watch(server, store, watchdog))
    ends: set[asyncio.Future[Any]] = {stopped, watching}
    if failed is not None:
        ends.add(failed)
    await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
    if failed is not None and failed.done():
        outcome = failed.result()
    else:
        outcome = watching.result() if watching.done() else Outcome.STOPPED
    if outcome is Outcome.STOPPED:
        log.info("stop requested")
    notify("STOPPING=1")
    for task in (stopped, watching):
        task.cancel()
    return outcome


async def _serve_with_workers(
    config: PbxConfig, stop: StopRequest, watchdog: WatchdogSettings, lock: ServerLock | None
) -> Outcome:
    """The front of a PBX with ``sip.workers`` worker processes (``pbxd.workers``): the schema
    is brought up to date here, once, before the workers open the database."""
    from pbxd.workers.front import Front, WorkerStartError  # noqa: PLC0415

    try:
        database = await asyncio.to_thread(
            open_database, config.database.url, migrate=True, synchronous=config.database.synchronous
        )
        database.close()
        if lock is not None:
            lock.acquire("serve from it")
    except Exception as exc:
        log.error("cannot open the database: %s", exc)
        return Outcome.STARTUP_FAILED
    try:
        front = Front(config, config.sip.workers, watchdog)
        try:
            await front.start()
        except (WorkerStartError, OSError) as exc:
            log.error("cannot start the PBX: %s", exc)
            await front.stop()
            return exc.outcome if isinstance(exc, WorkerStartError) else Outcome.STARTUP_FAILED
        listen = config.sip.listen_text
        log.info("pbxd is serving on %s with %d workers", listen, config.sip.workers)
        notify(f"READY=1\nSTATUS=serving on {listen} with {config.sip.workers} workers")
        assert front.failed is not None
        outcome = await _serve_until_end(front, None, stop, watchdog, front.failed)
        if front.failed.done():
            log.error("%s: stopping so that the cluster restarts or moves pbxd", front.failure)
        await front.stop()
        log.info("pbxd stopped")
        return outcome
    finally:
        if lock is not None:
            lock.release()


async def shut_down(server: _Server, store: SqlStore) -> None:
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
