"""Fixtures for the lab core tests: fresh labs built from the example worlds, and a guard that no lab
process outlives its test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wsfclab import processes
from wsfclab.lab import Lab

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _cleanup(lab: Lab) -> None:
    if (lab.state_dir / "state.json").exists():
        with lab.session() as state:
            processes.stop_all(state)


@pytest.fixture
def two_node_world() -> Path:
    return EXAMPLES / "two-node-iscsi.yml"


@pytest.fixture
def three_node_world() -> Path:
    return EXAMPLES / "three-node-sas.yml"


@pytest.fixture
def lab(tmp_path: Path, two_node_world: Path) -> Iterator[Lab]:
    built = Lab.open(tmp_path / "state", two_node_world)
    yield built
    _cleanup(built)


@pytest.fixture
def sas_lab(tmp_path: Path, three_node_world: Path) -> Iterator[Lab]:
    built = Lab.open(tmp_path / "sas", three_node_world)
    yield built
    _cleanup(built)
