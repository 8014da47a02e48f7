"""Make the checkout importable as ``ansible_collections.pbxops.wsfc`` (``make setup`` links it)."""

from __future__ import annotations

import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[2] / "collections"
if not (COLLECTIONS / "ansible_collections" / "pbxops" / "wsfc").exists():
    raise RuntimeError(f"{COLLECTIONS} does not hold the collection link: run `make setup` first")
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
