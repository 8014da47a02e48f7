"""The planner of pbxops.wsfc.storage_space: what it builds, and what it refuses as Windows does."""

from __future__ import annotations

import re
from typing import Any

import pytest
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import OutputOf
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, PlanError
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.storage_space_plan import (
    check_space_arguments,
    plan_storage_space,
    read_storage_spaces,
)
from manifest_check import assert_calls_bind

GB = 2**30
SAS = [f"5000C500A1B2C30{n}" for n in range(1, 5)]
ISCSI = "1831740105B33B11BA1ADC6D1BE0D666"
PRIMORDIAL = {"FriendlyName": "Primordial", "UniqueId": "{p}", "IsPrimordial": True, "IsClustered": False}


def args(**overrides: Any) -> dict[str, Any]:
    base = {
        "pool": "PBX",
        "name": "PBX-Data",
        "physical_disks": SAS[:3],
        "resiliency": "parity",
        "columns": None,
        "size": None,
        "provisioning": "fixed",
    }
    return {**base, **overrides}


def physical(
    uid: str, bus: str = "SAS", can_pool: bool = True, reasons: list[str] | None = None
) -> dict[str, Any]:
    return {
        "FriendlyName": "SEAGATE ST4000NM0025",
        "UniqueId": uid,
        "BusType": bus,
        "CanPool": can_pool,
        "CannotPoolReason": reasons,
        "Size": 100 * GB,
    }


def observed(pools: list[dict[str, Any]] = (), spaces: list[dict[str, Any]] = ()) -> Observed:  # type: ignore[assignment]
    disks = [physical(u) for u in SAS] + [physical(ISCSI, bus="iSCSI", can_pool=False, reasons=["Other"])]
    return Observed(outputs={"pools": [PRIMORDIAL, *pools], "physical disks": disks, "spaces": list(spaces)})


def space(**overrides: Any) -> dict[str, Any]:
    return {
        "FriendlyName": "PBX-Data",
        "UniqueId": "E8B20E3974E01EAA",
        "ResiliencySettingName": "Parity",
        "NumberOfColumns": 3,
        "ProvisioningType": "Fixed",
        "Size": 200 * GB,
        **overrides,
    }


POOL = {"FriendlyName": "PBX", "UniqueId": "{pool}", "IsPrimordial": False, "IsClustered": False}


def test_the_read_binds_and_is_one_round_trip() -> None:
    assert [p.name for p in read_storage_spaces()] == ["pools", "physical disks", "spaces"]
    assert_calls_bind(read_storage_spaces())


def test_a_new_pool_takes_the_disks_as_objects_then_the_space_is_made_in_it() -> None:
    plan = plan_storage_space(args(), observed())
    assert [p.name for p in plan.changes] == ["pool disks", "pool", "space"]
    where = plan.changes[0].steps[1]
    assert where.parameters["Value"] == tuple(SAS[:3])
    assert plan.changes[1].steps[0].parameters["PhysicalDisks"] == OutputOf("pool disks")
    assert dict(plan.changes[2].steps[0].parameters) == {
        "StoragePoolFriendlyName": "PBX",
        "FriendlyName": "PBX-Data",
        "ResiliencySettingName": "Parity",
        "ProvisioningType": "Fixed",
        "UseMaximumSize": plan.changes[2].steps[0].parameters["UseMaximumSize"],
    }
    assert plan.before == {"pool": {"name": "PBX", "present": False, "clustered": False}, "space": None}
    assert plan.after["space"]["resiliency"] == "Parity"
    assert_calls_bind(plan.changes)


def test_columns_and_size_are_passed_when_given() -> None:
    plan = plan_storage_space(args(columns=3, size=100 * GB), observed())
    parameters = plan.changes[-1].steps[0].parameters
    assert parameters["NumberOfColumns"] == 3 and parameters["Size"] == 100 * GB
    assert "UseMaximumSize" not in parameters
    assert_calls_bind(plan.changes)


def test_the_state_after_the_apply_is_what_new_virtualdisk_returned() -> None:
    plan = plan_storage_space(args(), observed())
    state = plan.state_after_apply(Observed(outputs={"pool": [POOL], "space": [space(Size=214211493888)]}))
    assert state["space"]["size"] == 214211493888 and state["pool"]["present"] is True


def test_in_an_existing_pool_only_the_space_is_made() -> None:
    plan = plan_storage_space(args(), observed(pools=[POOL]))
    assert [p.name for p in plan.changes] == ["space"]


def test_a_space_that_exists_with_the_same_layout_needs_nothing() -> None:
    plan = plan_storage_space(args(), observed(pools=[POOL], spaces=[space()]))
    assert plan.changes == ()
    assert plan.before["space"]["unique_id"] == "E8B20E3974E01EAA"


def test_a_space_with_another_layout_is_reported_not_rebuilt() -> None:
    with pytest.raises(PlanError) as raised:
        plan_storage_space(args(resiliency="mirror", columns=4), observed(pools=[POOL], spaces=[space()]))
    assert raised.value.msg.startswith(
        "name: the virtual disk 'PBX-Data' exists with resiliency Parity, not Mirror, 3 columns, not 4. "
        "A space's layout cannot change in place"
    )
    assert raised.value.details == {"differences": ["resiliency Parity, not Mirror", "3 columns, not 4"]}


def test_an_iscsi_disk_is_refused_with_the_reason() -> None:
    with pytest.raises(PlanError) as raised:
        plan_storage_space(args(physical_disks=[*SAS[:2], ISCSI]), observed())
    assert raised.value.msg.startswith(
        f"physical_disks: {ISCSI} is attached by iSCSI, and Storage Spaces does not support iSCSI- or "
        "Fibre Channel-attached disks."
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"physical_disks": SAS[:2]}, "physical_disks: Parity needs at least 3 disks, and 2 are given"),
        (
            {"resiliency": "mirror", "physical_disks": SAS[:1]},
            "physical_disks: Mirror needs at least 2 disks, and 1 are given",
        ),
        ({"columns": 4}, "columns: 4 is not possible with 3 disks; expected 1 to the number of disks"),
        ({"physical_disks": [SAS[0], SAS[0], SAS[1]]}, "lists a disk twice"),
        ({"size": 0}, "size: 0 is not a size"),
    ],
)
def test_layouts_windows_refuses_are_refused_before_any_read(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=re.escape(message)):
        check_space_arguments(args(**overrides))


def test_thin_provisioning_in_a_clustered_pool_is_refused() -> None:
    clustered = {**POOL, "IsClustered": True}
    with pytest.raises(PlanError, match="a clustered pool takes only fixed provisioning"):
        plan_storage_space(args(provisioning="thin"), observed(pools=[clustered]))


def test_a_disk_that_cannot_be_pooled_is_refused_with_windows_reason() -> None:
    disks = Observed(
        outputs={
            "pools": [PRIMORDIAL],
            "physical disks": [physical(u) for u in SAS[:2]]
            + [physical(SAS[2], can_pool=False, reasons=["Insufficient Capacity"])],
            "spaces": [],
        }
    )
    with pytest.raises(
        PlanError, match=re.escape("cannot be pooled (CannotPoolReason: Insufficient Capacity)")
    ):
        plan_storage_space(args(), disks)


def test_an_unknown_disk_is_refused_with_the_disks_there_are() -> None:
    with pytest.raises(PlanError, match="no physical disk of this host has the unique id 0BAD"):
        plan_storage_space(args(physical_disks=[SAS[0], SAS[1], "0bad"]), observed())


def test_without_a_list_every_disk_that_can_be_pooled_is_taken() -> None:
    plan = plan_storage_space(args(physical_disks=None), observed())
    assert plan.changes[0].steps[1].parameters["Value"] == tuple(SAS)


def test_without_a_list_too_few_poolable_disks_are_refused() -> None:
    few = Observed(outputs={"pools": [PRIMORDIAL], "physical disks": [physical(SAS[0])], "spaces": []})
    with pytest.raises(PlanError, match="this host has 1 disks that can be pooled; Parity needs 3"):
        plan_storage_space(args(physical_disks=None), few)
