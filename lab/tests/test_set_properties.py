"""set_properties steps: ``$object.Name = value`` on every object, as PowerShell assigns it."""

from __future__ import annotations

from typing import Any

import pytest
from wsfclab.cmdlets.base import REGISTRY, Call, CimObject, CmdletDef
from wsfclab.errors import CmdletError, ErrorCategory
from wsfclab.lab import Lab
from wsfclab.testing import pipeline, run

SPARE = "Update-HostStorageCache"  # documented, not simulated: the tests give it a handler


def _assign(*steps: tuple[str, dict[str, Any]] | dict[str, Any], changes: bool = True) -> dict[str, Any]:
    return {
        "name": "assign",
        "changes": changes,
        "steps": [s if isinstance(s, dict) else {"cmdlet": s[0], "parameters": s[1]} for s in steps],
    }


@pytest.fixture
def settable(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """A cmdlet whose object has a settable Delay (1000-10000) and a read-only Id; what the setter
    applied is recorded."""
    applied: list[Any] = []

    def delay(value: Any) -> Any:
        if not isinstance(value, int) or not 1000 <= value <= 10000:
            raise CmdletError(
                "The value is outside the range 1000-10000.", "InvalidValue", ErrorCategory.InvalidArgument
            )
        applied.append(value)
        return value

    def handler(call: Call) -> list[CimObject]:
        return [CimObject("Demo", {"Id": 1, "Delay": 1000}, settable={"Delay": delay})]

    monkeypatch.setitem(REGISTRY, SPARE.lower(), CmdletDef(SPARE, handler))
    return applied


def test_a_settable_property_is_assigned_and_the_object_goes_on(lab: Lab, settable: list[Any]) -> None:
    result = run(lab, "PBX-N1", _assign((SPARE, {}), {"set_properties": {"delay": 2000}}))
    assert "failed" not in result, result
    assert result["changed"] is True
    assert result["results"][0]["output"] == [{"Id": 1, "Delay": 2000}]
    assert settable == [2000]


def test_the_setter_refuses_a_bad_value_with_its_windows_error(lab: Lab, settable: list[Any]) -> None:
    result = run(lab, "PBX-N1", _assign((SPARE, {}), {"set_properties": {"Delay": 5}}))
    assert (result["error_id"], result["step"], result["cmdlet"]) == ("InvalidValue", 2, "set_properties")
    assert result["changed"] is True  # the step before it ran in a changing pipeline
    assert settable == []


def test_a_read_only_property_fails_as_powershell_fails(lab: Lab) -> None:
    result = run(
        lab, "PBX-N1", _assign(("Get-Disk", {"Number": 0}), {"set_properties": {"FriendlyName": "x"}})
    )
    assert result["msg"].endswith("'FriendlyName' is a ReadOnly property.")
    assert (result["error_id"], result["error_category"]) == (
        "PropertyAssignmentException",
        "InvalidOperation",
    )


def test_a_missing_property_fails_as_powershell_fails(lab: Lab) -> None:
    result = run(lab, "PBX-N1", _assign(("Get-Disk", {"Number": 0}), {"set_properties": {"Colour": "red"}}))
    assert result["msg"].endswith(
        "The property 'Colour' cannot be found on this object. "
        "Verify that the property exists and can be set."
    )
    assert result["error_id"] == "PropertyNotFound"


def test_a_name_that_is_not_a_property_name_is_thrown_before_anything_is_assigned(
    lab: Lab, settable: list[Any]
) -> None:
    result = run(lab, "PBX-N1", _assign((SPARE, {}), {"set_properties": {"Delay": 2000, "$(calc)": 1}}))
    assert result["error_id"] == "'$(calc)' is not a property name"
    assert settable == []


def test_set_properties_cannot_open_a_pipeline_and_nothing_runs(lab: Lab, settable: list[Any]) -> None:
    result = run(lab, "PBX-N1", pipeline("first", (SPARE, {})), _assign({"set_properties": {"Delay": 2000}}))
    assert result == {
        "failed": True,
        "msg": "pipeline 'assign' starts with set_properties; a cmdlet must output the objects first",
        "pipeline": "assign",
        "changed": False,
        "results": [],
    }


def test_set_properties_changes_the_host(lab: Lab, settable: list[Any]) -> None:
    undeclared = run(lab, "PBX-N1", _assign((SPARE, {}), {"set_properties": {"Delay": 2000}}, changes=False))
    assert undeclared["error_id"] == "wsfclab.UndeclaredChange" and settable == []
    checked = run(lab, "PBX-N1", _assign((SPARE, {}), {"set_properties": {"Delay": 2000}}), check_mode=True)
    assert checked["msg"] == "pipeline 'assign' changes the host and cannot run in check mode"
