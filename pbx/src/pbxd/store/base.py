"""What the SIP side needs from the database, and the records it stores.

The SIP core never sees SQL: it talks to a ``Store``. Registrations are written through on
every change so that a pbxd started on another cluster node (after a failover) reloads them
and keeps routing calls to phones that registered before the failover.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

Disposition = Literal["answered", "busy", "no_answer", "cancelled", "failed"]


@dataclass(frozen=True, slots=True)
class Extension:
    """A local extension. Only digest hashes are stored, never the password.

    ``ha1_md5`` is MD5("number:realm:password") and ``ha1_sha256`` the SHA-256 of the same
    string (RFC 7616, RFC 8760), both as lowercase hex, for the realm the PBX was configured
    with when the password was set.
    """

    number: str
    display_name: str
    realm: str
    ha1_md5: str
    ha1_sha256: str
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Binding:
    """One registered contact of an extension (RFC 3261 section 10).

    ``source`` is where the REGISTER came from, as "transport:host:port" (for example
    "udp:127.0.0.1:5062"), so that requests reach phones behind NAT (RFC 3581). ``expires_at``
    is a Unix timestamp.
    """

    aor: str
    contact: str
    expires_at: float
    call_id: str
    cseq: int
    source: str
    user_agent: str = ""


@dataclass(slots=True)
class CallRecord:
    """A call detail record, written when the call is answered and when it ends.

    ``route`` is "local" or "trunk:<name>". ``disposition`` is None while the call is in
    progress. ``duration`` counts seconds from answer to end (0 when never answered).
    ``record_id`` identifies the record: the Call-ID is the caller's choice and may come again,
    and a finished record (one with a disposition) is never written over.
    """

    call_id: str
    caller: str
    callee: str
    route: str
    start: datetime
    answer: datetime | None = None
    end: datetime | None = None
    duration: float | None = None
    disposition: Disposition | None = None
    record_id: str = field(default_factory=lambda: secrets.token_hex(16))


class Store(Protocol):
    """The database as the running PBX uses it. Implementations: SQLite and PostgreSQL."""

    async def get_extension(self, number: str) -> Extension | None: ...

    async def load_bindings(self) -> list[Binding]:
        """Every stored binding, expired ones included (the caller drops those)."""
        ...

    async def put_binding(self, binding: Binding) -> None:
        """Insert or replace the binding identified by (aor, contact)."""
        ...

    async def delete_binding(self, aor: str, contact: str) -> None: ...

    async def delete_bindings(self, aor: str) -> None: ...

    async def put_call_record(self, record: CallRecord) -> None:
        """Insert the record identified by record_id, or update it while it is unfinished
        (a record that has a disposition is kept as it is)."""
        ...

    async def put_call_records(self, records: Sequence[CallRecord]) -> list[BaseException | None]:
        """``put_call_record`` of each, submitted together so that they can share a commit:
        per record, None or the error that writing it raised."""
        ...

    async def shared_secret(self, name: str) -> bytes:
        """The secret called ``name`` that every PBX using this database shares, made (at
        random, 32 bytes) by the first one to ask."""
        ...

    async def close(self) -> None: ...
