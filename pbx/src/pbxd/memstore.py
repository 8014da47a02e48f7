"""An in-memory ``Store`` for tests and benchmarks (nothing survives the process).

It behaves as the database stores do as far as the SIP side can tell: bindings keyed by
(aor, contact), call records keyed by call_id, copies handed out so callers cannot change what
is stored behind its back.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from pbxd.sip import digest
from pbxd.store.base import Binding, CallRecord, Extension


class MemoryStore:
    def __init__(self, max_call_records: int | None = None) -> None:
        """``max_call_records`` keeps only the newest records (long benchmarks)."""
        self.extensions: dict[str, Extension] = {}
        self.bindings: dict[tuple[str, str], Binding] = {}
        self.call_records: OrderedDict[str, CallRecord] = OrderedDict()
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
        self.call_records[record.call_id] = replace(record)
        self.call_records.move_to_end(record.call_id)
        if self._max_call_records is not None:
            while len(self.call_records) > self._max_call_records:
                self.call_records.popitem(last=False)

    async def close(self) -> None:
        self.closed = True
