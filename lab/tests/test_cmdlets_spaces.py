"""Storage Spaces on shared SAS disks: pools, parity and its disk count, Fixed provisioning when clustered."""

from __future__ import annotations

from typing import Any

from wsfclab.lab import Lab
from wsfclab.manifest import load_manifest
from wsfclab.testing import change, output, pipeline, run


def _new_pool(lab: Lab, count: int, name: str = "PbxPool") -> list[dict[str, Any]]:
    """Pools the first ``count`` poolable disks, handing them over as the executor does: by reference."""
    result = run(
        lab,
        "SAS-N1",
        pipeline(
            "poolable",
            ("Get-PhysicalDisk", {"CanPool": True}),
            ("Select-Object", {"First": count}),
        ),
        pipeline(
            "pool",
            (
                "New-StoragePool",
                {
                    "StorageSubSystemFriendlyName": "Windows Storage*",
                    "FriendlyName": name,
                    "PhysicalDisks": {"output_of": "poolable"},
                },
            ),
            changes=True,
            select=["FriendlyName", "IsPrimordial"],
        ),
    )
    assert "failed" not in result, result
    return result["results"][1]["output"]  # type: ignore[no-any-return]


def test_a_reference_to_a_pipeline_that_has_not_run_fails_clearly(sas_lab: Lab) -> None:
    result = run(
        sas_lab,
        "SAS-N1",
        pipeline(
            "pool",
            (
                "New-StoragePool",
                {
                    "StorageSubSystemFriendlyName": "Windows Storage*",
                    "FriendlyName": "P",
                    "PhysicalDisks": {"output_of": "later"},
                },
            ),
            changes=True,
        ),
        pipeline("later", ("Get-PhysicalDisk", {"CanPool": True})),
    )
    assert result["failed"]
    assert "refers to the output of 'later', which is not an earlier pipeline" in result["msg"]
    # The executor throws a string: PowerShell makes the message itself the FullyQualifiedErrorId.
    assert result["error_id"] == result["msg"].split("(New-StoragePool): ", 1)[1]
    assert output(sas_lab, "SAS-N1", "Get-StoragePool", {"IsPrimordial": False}) == []


def test_a_reference_to_an_empty_output_cannot_bind_to_a_mandatory_parameter(sas_lab: Lab) -> None:
    result = run(
        sas_lab,
        "SAS-N1",
        pipeline("none", ("Get-PhysicalDisk", {"FriendlyName": "no such disk*"})),
        pipeline(
            "pool",
            (
                "New-StoragePool",
                {
                    "StorageSubSystemFriendlyName": "Windows Storage*",
                    "FriendlyName": "P",
                    "PhysicalDisks": {"output_of": "none"},
                },
            ),
            changes=True,
        ),
    )
    assert result["results"] == [{"name": "none", "output": [], "warnings": []}]
    assert result["msg"].endswith(
        "Cannot bind argument to parameter 'PhysicalDisks' because it is an empty array."
    )
    assert result["error_id"] == "ParameterArgumentValidationErrorEmptyArrayNotAllowed,New-StoragePool"


def test_references_never_reach_script_block_parameters(sas_lab: Lab) -> None:
    result = run(
        sas_lab,
        "SAS-N1",
        pipeline("disks", ("Get-PhysicalDisk", {})),
        pipeline(
            "filter", ("Get-PhysicalDisk", {}), ("Where-Object", {"FilterScript": {"output_of": "disks"}})
        ),
    )
    assert result["failed"] and "cannot be written as a value" in result["msg"]


def test_shared_sas_disks_can_be_pooled_on_every_node(sas_lab: Lab) -> None:
    for node in ("SAS-N1", "SAS-N2", "SAS-N3"):
        assert len(output(sas_lab, node, "Get-PhysicalDisk", {"CanPool": True})) == 4
    (pool,) = _new_pool(sas_lab, 4)
    assert pool == {"FriendlyName": "PbxPool", "IsPrimordial": False}
    assert output(sas_lab, "SAS-N2", "Get-StoragePool", {"IsPrimordial": False}, select=["FriendlyName"]) == [
        {"FriendlyName": "PbxPool"}
    ]
    members = output(sas_lab, "SAS-N1", "Get-PhysicalDisk", {"CanPool": False}, select=["CannotPoolReason"])
    assert [m["CannotPoolReason"] for m in members].count(["In a Pool"]) == 4
    assert [d["Number"] for d in output(sas_lab, "SAS-N1", "Get-Disk")] == [0]  # pool members leave Get-Disk


def test_the_manifest_refuses_physical_disks_as_plain_values(sas_lab: Lab) -> None:
    result = change(
        sas_lab,
        "SAS-N1",
        (
            "New-StoragePool",
            {"StorageSubSystemFriendlyName": "Windows Storage*", "FriendlyName": "P", "PhysicalDisks": ["1"]},
        ),
    )
    assert result["failed"] and "PhysicalDisks" in result["msg"]
    assert load_manifest().cmdlet("New-StoragePool").parameters["PhysicalDisks"].kind == "object"


def test_parity_needs_three_disks(sas_lab: Lab) -> None:
    _new_pool(sas_lab, 2, "Small")
    result = change(
        sas_lab,
        "SAS-N1",
        (
            "New-VirtualDisk",
            {
                "StoragePoolFriendlyName": "Small",
                "FriendlyName": "V",
                "ResiliencySettingName": "Parity",
                "UseMaximumSize": True,
            },
        ),
    )
    assert result["error_id"] == "StorageWMI 48004,New-VirtualDisk"


def test_a_parity_space_becomes_a_disk_to_prepare(sas_lab: Lab) -> None:
    _new_pool(sas_lab, 3)
    result = change(
        sas_lab,
        "SAS-N1",
        (
            "New-VirtualDisk",
            {
                "StoragePoolFriendlyName": "PbxPool",
                "FriendlyName": "PbxData",
                "ResiliencySettingName": "Parity",
                "Size": 10 * 1024**3,
                "ProvisioningType": "Fixed",
            },
        ),
    )
    assert "failed" not in result, result
    space = result["results"][0]["output"][0]
    assert space["ResiliencySettingName"] == "Parity" and space["Size"] == 10 * 1024**3
    assert space["FootprintOnPool"] == 15 * 1024**3  # three columns, one of parity
    disks = run(
        sas_lab, "SAS-N1", pipeline("d", ("Get-VirtualDisk", {"FriendlyName": "PbxData"}), ("Get-Disk", {}))
    )
    (disk,) = disks["results"][0]["output"]
    assert disk["BusType"] == "Spaces" and disk["PartitionStyle"] == "RAW" and not disk["IsOffline"]


def test_a_clustered_pool_only_takes_fixed_provisioning(sas_lab: Lab) -> None:
    _new_pool(sas_lab, 3)
    with sas_lab.session() as state:
        next(iter(state.pools.values())).is_clustered = True
    thin = change(
        sas_lab,
        "SAS-N1",
        (
            "New-VirtualDisk",
            {
                "StoragePoolFriendlyName": "PbxPool",
                "FriendlyName": "V",
                "ResiliencySettingName": "Mirror",
                "Size": 1024**3,
                "ProvisioningType": "Thin",
            },
        ),
    )
    assert thin["error_id"] == "StorageWMI 47001,New-VirtualDisk"


def test_unknown_pools_and_resiliency_names_are_refused(sas_lab: Lab) -> None:
    missing = change(
        sas_lab,
        "SAS-N1",
        ("New-VirtualDisk", {"StoragePoolFriendlyName": "Nope", "FriendlyName": "V", "Size": 1024**3}),
    )
    assert missing["error_id"] == "CmdletizationQuery_NotFound_StoragePoolFriendlyName,New-VirtualDisk"
    primordial = change(
        sas_lab,
        "SAS-N1",
        ("New-VirtualDisk", {"StoragePoolFriendlyName": "Primordial", "FriendlyName": "V", "Size": 1024**3}),
    )
    assert primordial["error_id"] == "StorageWMI 48000,New-VirtualDisk"
    _new_pool(sas_lab, 3)
    odd = change(
        sas_lab,
        "SAS-N1",
        (
            "New-VirtualDisk",
            {
                "StoragePoolFriendlyName": "PbxPool",
                "FriendlyName": "V",
                "ResiliencySettingName": "Raid6",
                "Size": 1024**3,
            },
        ),
    )
    assert odd["error_id"] == "StorageWMI 49000,New-VirtualDisk"
