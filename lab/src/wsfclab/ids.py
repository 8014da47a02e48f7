"""Identifiers the lab derives from names, and the clock: stable hex ids, GUIDs, timestamps.

Deterministic ids keep a rebuilt lab identical to the last one (the same world gives the same disk
UniqueIds and GUIDs), which the build, the cmdlets and the cluster all rely on.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime


def stable_hex(*parts: str, length: int = 32) -> str:
    """A deterministic upper-case hex identifier (disk UniqueIds, GUIDs) derived from names."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length].upper()


def guid(*parts: str) -> str:
    """A deterministic GUID string "{8-4-4-4-12}" (lower case, as Windows prints them)."""
    h = stable_hex(*parts).lower()
    return "{" + f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}" + "}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
