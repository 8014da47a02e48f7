"""Fixtures for the lab core tests: fresh labs built from the example worlds, pipeline helpers,
and a guard that no lab process outlives its test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wsfclab import processes
from wsfclab.cmdlets import run_pipelines
from wsfclab.lab import Lab

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TWO_NODE = EXAMPLES / "two-node-iscsi.yml"
THREE_NODE = EXAMPLES / "three-node-sas.yml"


def _cleanup(lab: Lab) -> None:
    if (lab.state_dir / "state.json").exists():
        with lab.session() as state:
            processes.stop_all(state)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    built = Lab.open(tmp_path / "state", TWO_NODE)
    yield built
    _cleanup(built)


@pytest.fixture
def sas_lab(tmp_path: Path) -> Iterator[Lab]:
    built = Lab.open(tmp_path / "sas", THREE_NODE)
    yield built
    _cleanup(built)


def pipeline(
    name: str, *steps: tuple[str, dict[str, Any]], changes: bool = False, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "changes": changes,
        "steps": [{"cmdlet": c, "parameters": p} for c, p in steps],
        **extra,
    }


def run(lab: Lab, node: str, *pipelines: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    with lab.session() as state:
        return run_pipelines(lab, state, node, list(pipelines), check_mode)


def output(lab: Lab, node: str, cmdlet: str, parameters: dict[str, Any] | None = None, **extra: Any) -> Any:
    """Run one read-only step and return its output, failing the test on a pipeline error."""
    result = run(lab, node, pipeline("read", (cmdlet, parameters or {}), **extra))
    assert "failed" not in result, result
    return result["results"][0]["output"]


def change(lab: Lab, node: str, *steps: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return run(lab, node, pipeline("change", *steps, changes=True))


def connect_iscsi(lab: Lab, node: str) -> None:
    result = run(
        lab,
        node,
        pipeline("svc", ("Start-Service", {"Name": "MSiSCSI"}), changes=True),
        pipeline("portal", ("New-IscsiTargetPortal", {"TargetPortalAddress": "127.0.3.10"}), changes=True),
        pipeline(
            "login", ("Get-IscsiTarget", {}), ("Connect-IscsiTarget", {"IsPersistent": True}), changes=True
        ),
    )
    assert "failed" not in result, result
