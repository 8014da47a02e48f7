"""An in-memory ``Store`` for tests and benchmarks (nothing survives the process).

It behaves as the database stores do as far as the SIP side can tell: bindings keyed by
(aor, contact), call records keyed by record_id and never rewritten once finished, copies
handed out so callers cannot change what is stored behind its back.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

from pbxd.sip import digest
from pbxd.store.base import Binding, CallRecord, Extension


class MemoryStore:
    def __init__(self, max_call_records: int | None = None) -> None:
        """``max_call_records`` keeps only the newest records (long benchmarks)."""
        self.extensions: dict[str, Extension] = {}
        self.bindings: dict[tuple[str, str], Binding] = {}
        self.records: OrderedDict[str, CallRecord] = OrderedDict()  # by record_id
        self.secrets: dict[str, bytes] = {}
        self._max_call_records = max_call_records
        self.closed = False

    def add_extension(self, number: str, password: str, realm: str, display_name: str = "") -> Extension:
        """Create an extension from a password (only its hashes are kept)."""
        extension = Extension(
            number=number,
            display_name=display_name,
            realm=realm,
            ha1_md5=digest.ha1("MD5", number, realm, password),
            ha1_sha256=digest.ha1("SHA-256", number, realm, password),
        )
        self.extensions[number] = extension
        return extension

    async def get_extension(self, number: str) -> Extension | None:
        return self.extensions.get(number)

    async def load_bindings(self) -> list[Binding]:
        return list(self.bindings.values())

    async def put_binding(self, binding: Binding) -> None:
        self.bindings[(binding.aor, binding.contact)] = binding

    async def delete_binding(self, aor: str, contact: str) -> None:
        self.bindings.pop((aor, contact), None)

    async def delete_bindings(self, aor: str) -> None:
        for key in [key for key in self.bindings if key[0] == aor]:
            del self.bindings[key]

    async def put_call_record(self, record: CallRecord) -> None:
        stored = self.records.get(record.record_id)
        if stored is not None and stored.disposition is not None:
            return
        self.records[record.record_id] = replace(record)
        self.records.move_to_end(record.record_id)
        if self._max_call_records is not None:
            while len(self.records) > self._max_call_records:
                self.records.popitem(last=False)

    async def put_call_records(self, records: Sequence[CallRecord]) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = []
        for record in records:
            try:
                await self.put_call_record(record)
                outcomes.append(None)
            except Exception as error:  # handed back per record, as the SQL store does
                outcomes.append(error)
        return outcomes

    @property
    def call_records(self) -> dict[str, CallRecord]:
        """The latest record of each Call-ID (for tests that follow one call)."""
        return {record.call_id: record for record in self.records.values()}

    async def shared_secret(self, name: str) -> bytes:
        return self.secrets.setdefault(name, secrets.token_bytes(32))

    async def close(self) -> None:
        self.closed = True
