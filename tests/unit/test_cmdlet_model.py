"""The cmdlet-call model: only safe, typed data can be expressed, serialised as the executor expects."""

from __future__ import annotations

import pytest
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import (
    SWITCH,
    CmdletModelError,
    OutputOf,
    Pipeline,
    SetProperties,
    Step,
    change,
    read,
)


def test_step_serialises_typed_values() -> None:
    step = Step(
        "Add-ClusterGenericServiceRole",
        {"ServiceName": "pbxd", "Storage": ("Cluster Disk 1",), "Wait": 30},
    )
    assert step.to_wire() == {
        "cmdlet": "Add-ClusterGenericServiceRole",
        "parameters": {"ServiceName": "pbxd", "Storage": ["Cluster Disk 1"], "Wait": 30},
    }


def test_switch_travels_as_true_and_bool_as_itself() -> None:
    wire = Step("Set-Disk", {"Number": 1, "IsOffline": False}).to_wire()
    assert wire["parameters"] == {"Number": 1, "IsOffline": False}
    assert (
        Step("Remove-ClusterNode", {"Name": "N2", "Force": SWITCH}).to_wire()["parameters"]["Force"] is True
    )


def test_pipeline_serialises_with_selection_and_change_flag() -> None:
    pipeline = change("online", Step("Get-Disk", {"Number": (1, 2)}), Step("Set-Disk", {"IsOffline": False}))
    assert pipeline.to_wire() == {
        "name": "online",
        "changes": True,
        "depth": 2,
        "steps": [
            {"cmdlet": "Get-Disk", "parameters": {"Number": [1, 2]}},
            {"cmdlet": "Set-Disk", "parameters": {"IsOffline": False}},
        ],
    }
    assert read("disks", Step("Get-Disk"), select=("Number",)).to_wire()["select"] == ["Number"]
    assert read("disks", Step("Get-Disk")).changes is False


@pytest.mark.parametrize(
    "cmdlet",
    ["Get-Disk; Remove-Item C:\\", "iex", "& Get-Disk", "Get-Disk | Set-Disk", "C:\\tools\\x.exe", ""],
)
def test_anything_but_a_cmdlet_name_is_refused(cmdlet: str) -> None:
    with pytest.raises(CmdletModelError, match="Verb-Noun"):
        Step(cmdlet)


@pytest.mark.parametrize("name", ["-Number", "Number;", "Num ber", "1Number", "$x"])
def test_parameter_names_are_plain_words(name: str) -> None:
    with pytest.raises(CmdletModelError, match="not a parameter name"):
        Step("Get-Disk", {name: 1})


@pytest.mark.parametrize(
    "value",
    [None, 1.5, ["a"], (), ("a", 1), {"a": 1}, (True, False), object()],
)
def test_values_other_than_typed_data_are_refused(value: object) -> None:
    with pytest.raises(CmdletModelError, match="not a parameter value"):
        Step("Get-Disk", {"Number": value})  # type: ignore[dict-item]


def test_pipeline_needs_a_name_steps_and_property_names() -> None:
    with pytest.raises(CmdletModelError, match="needs a name"):
        Pipeline(name="", steps=(Step("Get-Disk"),))
    with pytest.raises(CmdletModelError, match="no steps"):
        Pipeline(name="x", steps=())
    with pytest.raises(CmdletModelError, match="not a property name"):
        read("x", Step("Get-Disk"), select=("Number; rm",))
    with pytest.raises(CmdletModelError, match="depth 9"):
        read("x", Step("Get-Disk"), depth=9)


def test_output_of_an_earlier_pipeline_travels_as_a_reference() -> None:
    pool = change(
        "pool",
        Step(
            "New-StoragePool",
            {
                "FriendlyName": "PBX",
                "StorageSubSystemFriendlyName": "Windows Storage*",
                "PhysicalDisks": OutputOf("disks"),
            },
        ),
    )
    assert pool.to_wire()["steps"][0]["parameters"]["PhysicalDisks"] == {"output_of": "disks"}
    assert pool.references() == ["disks"]


def test_set_properties_travels_as_typed_data_after_a_cmdlet() -> None:
    pipeline = change("heartbeat", Step("Get-Cluster"), SetProperties({"SameSubnetDelay": 2000, "Name": "x"}))
    assert pipeline.to_wire()["steps"] == [
        {"cmdlet": "Get-Cluster", "parameters": {}},
        {"set_properties": {"SameSubnetDelay": 2000, "Name": "x"}},
    ]
    assert pipeline.references() == []


@pytest.mark.parametrize(
    "values",
    [{}, {"Same Subnet": 1}, {"$(calc)": 1}, {"A": 1.5}, {"A": None}, {"A": ("x",)}],
)
def test_set_properties_refuses_what_is_not_a_plain_assignment(values: dict[str, object]) -> None:
    with pytest.raises(CmdletModelError):
        SetProperties(values)  # type: ignore[arg-type]


def test_set_properties_cannot_open_a_pipeline() -> None:
    with pytest.raises(CmdletModelError, match="starts with SetProperties"):
        change("x", SetProperties({"A": 1}))
