"""The fake host runs on the executor's contract, as the lab does: set_properties, prompts, refusals."""

from __future__ import annotations

from typing import Any

import pytest
from fake_windows import FakeWindows
from wsfclab.manifest import CmdletCallError


def _fake() -> FakeWindows:
    return FakeWindows(
        {
            "Get-Cluster": lambda params, piped: [{"Name": "PBXCL", "SameSubnetDelay": 1000}],
            "Remove-ClusterNode": lambda params, piped: [],
        }
    )


def _call(fake: FakeWindows, *steps: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    pipelines = [{"name": "p", "changes": True, "steps": list(steps)}]
    return fake.execute_module("pbxops.wsfc.cmdlet_pipelines", {"pipelines": pipelines}, check_mode)


def test_set_properties_assigns_and_passes_the_objects_on() -> None:
    result = _call(
        _fake(), {"cmdlet": "Get-Cluster", "parameters": {}}, {"set_properties": {"SameSubnetDelay": 2000}}
    )
    assert result["results"][0]["output"] == [{"Name": "PBXCL", "SameSubnetDelay": 2000}]
    assert result["changed"] is True


def test_set_properties_of_a_missing_property_fails_as_powershell_fails() -> None:
    result = _call(_fake(), {"cmdlet": "Get-Cluster", "parameters": {}}, {"set_properties": {"Nope": 1}})
    assert (result["step"], result["cmdlet"], result["error_id"]) == (2, "set_properties", "PropertyNotFound")


def test_set_properties_cannot_open_a_pipeline() -> None:
    result = _call(_fake(), {"set_properties": {"SameSubnetDelay": 2000}})
    assert result["msg"] == "pipeline 'p' starts with set_properties; a cmdlet must output the objects first"


def test_a_prompting_cmdlet_fails_unless_confirm_false_or_force() -> None:
    refused = _call(_fake(), {"cmdlet": "Remove-ClusterNode", "parameters": {"Name": "N2"}})
    assert refused["error_id"] == "InvalidOperation,Remove-ClusterNode"
    for parameters in ({"Name": "N2", "Confirm": False}, {"Name": "N2", "Force": True}):
        assert "failed" not in _call(_fake(), {"cmdlet": "Remove-ClusterNode", "parameters": parameters})


def test_every_step_is_still_checked_against_the_manifest() -> None:
    with pytest.raises(CmdletCallError, match="Numbr"):
        _call(_fake(), {"cmdlet": "Get-Cluster", "parameters": {"Numbr": 1}})
