"""The ``pbxd`` fixture: the command line, in process, against a migrated SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.cli_helpers import Pbxd, write_config


@pytest.fixture
def pbxd(tmp_path: Path) -> Pbxd:
    """``pbxd`` against a migrated, empty SQLite database."""
    tool = Pbxd(write_config(tmp_path), tmp_path / "pbx.db")
    assert tool("db", "migrate").code == 0
    return tool
