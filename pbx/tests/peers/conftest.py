"""Fixtures for tests with real peers: pbxd processes and SIPp runs, cleaned up afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from peers.harness import PbxFactory, Sipp


@pytest.fixture
def pbxes(tmp_path: Path) -> Iterator[PbxFactory]:
    factory = PbxFactory(tmp_path / "pbx")
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def sipp(tmp_path: Path) -> Iterator[Sipp]:
    folder = tmp_path / "sipp"
    folder.mkdir()
    runner = Sipp(folder)
    try:
        yield runner
    finally:
        runner.close()
