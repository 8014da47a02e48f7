"""The ``Store`` the running PBX uses: a ``Database`` driven from one worker thread.

Database calls block (disk, network, lock waits), so they run on a dedicated thread and the
event loop only awaits their result. One thread means one connection used in order, which is
what both SQLite and a psycopg connection require, and writes keep the order the PBX issued
them in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from pbxd.store.base import Binding, CallRecord, Extension
from pbxd.store.database import Database


class SqlStore:
    """Implements ``pbxd.store.base.Store`` (and ``ping`` for the health watchdog)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pbxd-db")
        self._closed = False

    async def _run[T](self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, call)

    async def get_extension(self, number: str) -> Extension | None:
        return await self._run(partial(self.database.get_extension, number))

    async def load_bindings(self) -> list[Binding]:
        return await self._run(self.database.load_bindings)

    async def put_binding(self, binding: Binding) -> None:
        await self._run(partial(self.database.put_binding, binding))

    async def delete_binding(self, aor: str, contact: str) -> None:
        await self._run(partial(self.database.delete_binding, aor, contact))

    async def delete_bindings(self, aor: str) -> None:
        await self._run(partial(self.database.delete_bindings, aor))

    async def put_call_record(self, record: CallRecord) -> None:
        await self._run(partial(self.database.put_call_record, record))

    async def ping(self) -> None:
        """Raise ``StoreError`` if the database stopped answering."""
        await self._run(self.database.ping)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._run(self.database.close)
        self._worker.shutdown(wait=False)
