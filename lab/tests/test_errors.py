"""Errors travel as data: every cmdlet error carries its id, category and target, lab refusals carry
their own id by type, and cmdlets can write to the warning stream."""

from __future__ import annotations

import pytest
from wsfclab.cmdlets.base import REGISTRY, Call, CimObject, CmdletDef
from wsfclab.errors import CmdletError, ErrorCategory, LabError, Unsupported
from wsfclab.lab import Lab
from wsfclab.manifest import CmdletCallError, load_manifest
from wsfclab.testing import pipeline, run

# A cmdlet the manifest documents and the lab does not simulate: tests give it a handler.
SPARE = "Update-HostStorageCache"


def _install(monkeypatch: pytest.MonkeyPatch, handler: object) -> None:
    monkeypatch.setitem(REGISTRY, SPARE.lower(), CmdletDef(SPARE, handler))  # type: ignore[arg-type]


def test_a_cmdlet_error_reports_its_id_category_and_target(lab: Lab) -> None:
    result = run(lab, "PBX-N1", pipeline("disk", ("Get-Disk", {"Number": 9})))
    assert result["error_id"] == "CmdletizationQuery_NotFound_Number,Get-Disk"
    assert result["error_category"] == "ObjectNotFound"


def test_call_fail_appends_the_cmdlet_and_keeps_the_data(lab: Lab) -> None:
    with lab.session() as state:
        call = Call(lab, state, state.nodes["PBX-N1"], "Get-Disk", "ByNumber", {})
        error = call.fail("No disk.", "Reason", ErrorCategory.ObjectNotFound, target="9")
    assert (error.message, error.error_id, error.category, error.target) == (
        "No disk.",
        "Reason,Get-Disk",
        ErrorCategory.ObjectNotFound,
        "9",
    )


def test_the_category_must_be_a_powershell_error_category() -> None:
    with pytest.raises(ValueError, match="NoSuchCategory"):
        CmdletError("x", "X", "NoSuchCategory")  # type: ignore[arg-type]


def test_unsupported_is_known_by_its_type_not_its_text(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuses(call: Call) -> list[CimObject]:
        raise Unsupported("host storage cache refresh")

    _install(monkeypatch, refuses)
    result = run(lab, "PBX-N1", pipeline("cache", (SPARE, {})))
    assert result["error_id"] == "wsfclab.Unsupported" and result["error_category"] == "NotImplemented"
    assert result["msg"].endswith("unsupported in the lab: host storage cache refresh")


def test_a_lab_error_that_mentions_unsupported_is_still_a_lab_error(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuses(call: Call) -> list[CimObject]:
        raise LabError("unsupported in the lab: said in words only")

    _install(monkeypatch, refuses)
    assert run(lab, "PBX-N1", pipeline("cache", (SPARE, {})))["error_id"] == "wsfclab.LabError"


def test_a_cmdlet_writes_warnings_and_goes_on(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    def warns(call: Call) -> list[CimObject]:
        call.warn("The cache was refreshed from a stale provider.")
        return [CimObject("X", {"Done": True})]

    _install(monkeypatch, warns)
    result = run(
        lab, "PBX-N1", pipeline("cache", (SPARE, {})), pipeline("disks", ("Get-Disk", {}), select=["Number"])
    )
    assert result["results"][0]["warnings"] == ["The cache was refreshed from a stale provider."]
    assert result["results"][0]["output"] == [{"Done": True}]
    assert result["results"][1]["warnings"] == []


@pytest.mark.parametrize(
    ("cmdlet", "parameters", "error_id"),
    [
        ("Get-Disk", {"Bogus": 1}, "NamedParameterNotFound,Get-Disk"),
        ("Get-Disk", {"Number": "one"}, "CannotConvertArgument,Get-Disk"),
        ("Get-Disk", {"Number": 1, "UniqueId": "x"}, "AmbiguousParameterSet,Get-Disk"),
        ("New-Partition", {}, "MissingMandatoryParameter,New-Partition"),
        ("Get-Nonsense", {}, "CommandNotFoundException,Microsoft.PowerShell.Commands.GetCommandCommand"),
    ],
)
def test_binding_errors_carry_the_id_powershell_gives(
    cmdlet: str, parameters: dict[str, object], error_id: str
) -> None:
    with pytest.raises(CmdletCallError) as error:
        load_manifest().validate(cmdlet, parameters)
    assert error.value.error_id == error_id
    expected = ErrorCategory.ObjectNotFound if cmdlet == "Get-Nonsense" else ErrorCategory.InvalidArgument
    assert error.value.category == expected
