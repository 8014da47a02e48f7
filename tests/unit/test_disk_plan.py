"""The planner of pbxops.wsfc.disk: what it does to a disk, and what it refuses to touch."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.disk_plan import (
    checked_arguments,
    plan_disk,
    read_disks,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, PlanError
from manifest_check import assert_calls_bind

UID = "591385B3D47EA28085FF3F682DDF389D"
GIB = 2**30
SYSTEM = {
    "Number": 0,
    "UniqueId": "59CE4F3B7517C632BBB4E328943A43F7",
    "BusType": "SCSI",
    "Size": 60 * GIB,
    "PartitionStyle": "GPT",
    "IsOffline": False,
    "IsReadOnly": False,
    "IsClustered": False,
    "IsBoot": True,
    "IsSystem": True,
}
C_DRIVE = {
    "DiskNumber": 0,
    "PartitionNumber": 3,
    "DriveLetter": "C",
    "Size": 59 * GIB,
    "Type": "Basic",
    "AccessPaths": ["C:\\"],
}
MSR = {
    "DiskNumber": 2,
    "PartitionNumber": 1,
    "DriveLetter": "\u0000",
    "Size": 16 * 2**20,
    "Type": "Reserved",
    "AccessPaths": [],
}
VOLUME_PATH = "\\\\?\\Volume{2d3c}\\"


def args(**overrides: Any) -> dict[str, Any]:
    base = {
        "unique_id": UID,
        "partition_style": "gpt",
        "file_system": "ntfs",
        "allocation_unit_size": None,
        "label": "PBX-DATA",
        "drive_letter": "P",
        "force": False,
    }
    return checked_arguments({**base, **overrides})


def disk(**overrides: Any) -> dict[str, Any]:
    return {
        "Number": 2,
        "UniqueId": UID,
        "BusType": "iSCSI",
        "Size": 20 * GIB,
        "PartitionStyle": "RAW",
        "IsOffline": True,
        "IsReadOnly": True,
        "IsClustered": False,
        "IsBoot": False,
        "IsSystem": False,
        **overrides,
    }


def data_partition(**overrides: Any) -> dict[str, Any]:
    return {
        "DiskNumber": 2,
        "PartitionNumber": 2,
        "DriveLetter": "P",
        "Size": 20 * GIB - 17 * 2**20,
        "Type": "Basic",
        "AccessPaths": ["P:\\", VOLUME_PATH],
        **overrides,
    }


def volume(**overrides: Any) -> dict[str, Any]:
    return {
        "UniqueId": VOLUME_PATH,
        "DriveLetter": "P",
        "FileSystem": "NTFS",
        "FileSystemLabel": "PBX-DATA",
        "AllocationUnitSize": 4096,
        "Size": 20 * GIB,
        "SizeRemaining": 19 * GIB,
        **overrides,
    }


def observed(
    target: dict[str, Any],
    partitions: Sequence[dict[str, Any]] = (),
    volumes: Sequence[dict[str, Any]] = (),
) -> Observed:
    return Observed(
        outputs={"disks": [SYSTEM, target], "partitions": [C_DRIVE, *partitions], "volumes": list(volumes)}
    )


def prepared() -> Observed:
    return observed(
        disk(PartitionStyle="GPT", IsOffline=False, IsReadOnly=False), [MSR, data_partition()], [volume()]
    )


def test_the_read_is_every_disk_partition_and_volume_in_one_round_trip() -> None:
    pipelines = read_disks()
    assert [p.name for p in pipelines] == ["disks", "partitions", "volumes"]
    assert not any(p.changes for p in pipelines)
    assert_calls_bind(pipelines)


def test_a_raw_offline_disk_is_brought_online_initialised_partitioned_and_formatted() -> None:
    plan = plan_disk(args(), observed(disk()))
    assert [p.name for p in plan.changes] == [
        "online",
        "writable",
        "initialize",
        "partition and volume",
        "disk after",
        "partitions after",
        "volumes after",
    ]
    steps = {p.name: [(s.cmdlet, dict(s.parameters)) for s in p.steps] for p in plan.changes}
    assert steps["online"] == [("Set-Disk", {"UniqueId": UID, "IsOffline": False})]
    assert steps["initialize"] == [("Initialize-Disk", {"UniqueId": UID, "PartitionStyle": "GPT"})]
    assert [c for c, _ in steps["partition and volume"]] == ["Get-Disk", "New-Partition", "Format-Volume"]
    assert steps["partition and volume"][1][1]["DriveLetter"] == "P"
    assert steps["partition and volume"][2][1] == {"FileSystem": "NTFS", "NewFileSystemLabel": "PBX-DATA"}
    assert_calls_bind(plan.changes)


def test_the_diff_shows_the_raw_disk_before_and_the_volume_after() -> None:
    plan = plan_disk(args(), observed(disk()))
    assert plan.before == {
        "unique_id": UID,
        "number": 2,
        "size": 20 * GIB,
        "online": False,
        "read_only": True,
        "partition_style": "RAW",
        "partitions": 0,
        "drive_letter": None,
        "file_system": None,
        "label": None,
        "allocation_unit_size": None,
    }
    assert plan.after == {
        **plan.before,
        "online": True,
        "read_only": False,
        "partition_style": "GPT",
        "partitions": 1,
        "drive_letter": "P",
        "file_system": "NTFS",
        "label": "PBX-DATA",
        "allocation_unit_size": 4096,
    }


def test_the_state_after_the_apply_is_read_back_from_the_host() -> None:
    plan = plan_disk(args(), observed(disk()))
    applied = Observed(
        outputs={
            "disk after": [disk(PartitionStyle="GPT", IsOffline=False, IsReadOnly=False)],
            "partitions after": [MSR, data_partition()],
            "volumes after": [volume(AllocationUnitSize=8192)],
        }
    )
    state = plan.state_after_apply(applied)
    assert state["allocation_unit_size"] == 8192
    assert state["online"] is True and state["drive_letter"] == "P" and state["partitions"] == 1


def test_a_prepared_disk_needs_nothing() -> None:
    plan = plan_disk(args(), prepared())
    assert plan.changes == ()
    assert plan.after == plan.before
    assert plan.before["label"] == "PBX-DATA"


def test_without_a_drive_letter_windows_assigns_one() -> None:
    plan = plan_disk(args(drive_letter=None), observed(disk(IsOffline=False, IsReadOnly=False)))
    new_partition = plan.changes[1].steps[1]
    assert dict(new_partition.parameters) == {
        "UseMaximumSize": new_partition.parameters["UseMaximumSize"],
        "AssignDriveLetter": new_partition.parameters["AssignDriveLetter"],
    }
    assert_calls_bind(plan.changes)


def test_an_unknown_unique_id_lists_the_disks_there_are() -> None:
    with pytest.raises(PlanError) as raised:
        plan_disk(args(unique_id="0000"), observed(disk()))
    assert raised.value.msg.startswith(
        "unique_id: no disk of this host has the unique id '0000'; its disks are "
        f"59CE4F3B7517C632BBB4E328943A43F7 (SCSI, 60.0 GiB), {UID} (iSCSI, 20.0 GiB)."
    )


def test_the_boot_disk_is_refused() -> None:
    with pytest.raises(PlanError, match="is the boot or system disk of this host"):
        plan_disk(args(unique_id=SYSTEM["UniqueId"]), observed(disk()))


def test_a_drive_letter_another_disk_uses_is_refused() -> None:
    recovery = {**C_DRIVE, "PartitionNumber": 4, "DriveLetter": "E", "AccessPaths": ["E:\\"]}
    with pytest.raises(PlanError) as raised:
        plan_disk(args(drive_letter="e"), observed(disk(), [recovery]))
    assert raised.value.msg == (
        "drive_letter: E is already used by partition 4 of disk 0 on this host; choose a free letter"
    )


def test_a_volume_with_another_label_is_not_formatted_without_force() -> None:
    with pytest.raises(PlanError) as raised:
        plan_disk(args(label="OTHER"), prepared())
    assert raised.value.msg == (
        f"disk {UID} (GPT) holds partition 2 (20.0 GiB, NTFS volume 'PBX-DATA', 1.0 GiB used): its volume "
        "has label 'PBX-DATA', not 'OTHER'. Formatting would erase it: set force: true to format it, or "
        "change the task to match the volume"
    )
    assert raised.value.details == {"disk": UID, "differences": ["label 'PBX-DATA', not 'OTHER'"]}


def test_with_force_the_volume_is_formatted_again() -> None:
    plan = plan_disk(args(label="OTHER", file_system="refs", force=True), prepared())
    assert [p.name for p in plan.changes][:1] == ["format"]
    format_step = plan.changes[0].steps[1]
    assert format_step.cmdlet == "Format-Volume"
    assert format_step.parameters["FileSystem"] == "ReFS"
    assert "Force" in format_step.parameters
    assert_calls_bind(plan.changes)


def test_a_different_allocation_unit_size_counts_only_when_asked() -> None:
    assert plan_disk(args(), observed(*_with_volume(AllocationUnitSize=65536))).changes == ()
    with pytest.raises(PlanError, match="allocation unit size 65536, not 4096"):
        plan_disk(args(allocation_unit_size=4096), observed(*_with_volume(AllocationUnitSize=65536)))


def _with_volume(**overrides: Any) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    return (
        disk(PartitionStyle="GPT", IsOffline=False, IsReadOnly=False),
        [MSR, data_partition()],
        [volume(**overrides)],
    )


def test_a_partition_without_a_file_system_is_formatted_without_force() -> None:
    """A run stopped between New-Partition and Format-Volume completes on the next run."""
    unformatted = volume(FileSystem="", FileSystemLabel="", AllocationUnitSize=0, Size=0, SizeRemaining=0)
    plan = plan_disk(
        args(),
        observed(
            disk(PartitionStyle="GPT", IsOffline=False, IsReadOnly=False),
            [MSR, data_partition()],
            [unformatted],
        ),
    )
    assert [p.name for p in plan.changes][:1] == ["format"]
    assert "Force" not in plan.changes[0].steps[1].parameters
    assert_calls_bind(plan.changes)


def test_several_partitions_are_never_touched_even_with_force() -> None:
    second = data_partition(PartitionNumber=3, DriveLetter="Q", AccessPaths=["Q:\\"])
    with pytest.raises(PlanError) as raised:
        plan_disk(
            args(force=True),
            observed(
                disk(PartitionStyle="GPT", IsOffline=False, IsReadOnly=False),
                [MSR, data_partition(), second],
                [volume()],
            ),
        )
    assert raised.value.msg.startswith(
        f"disk {UID} (GPT) holds partition 2 (20.0 GiB, NTFS volume 'PBX-DATA', 1.0 GiB used), "
        "partition 3 (20.0 GiB); "
        "the module makes one partition and never removes partitions, even with force: true."
    )


def test_a_disk_of_the_other_style_with_partitions_is_never_repartitioned() -> None:
    mbr = disk(PartitionStyle="MBR", IsOffline=False, IsReadOnly=False)
    with pytest.raises(
        PlanError, match=re.escape("and is MBR, not GPT. It is never repartitioned, even with force: true")
    ):
        plan_disk(args(force=True), observed(mbr, [data_partition(Type="IFS")], [volume()]))


def test_an_empty_disk_of_the_other_style_is_converted_only_with_force() -> None:
    mbr = disk(PartitionStyle="MBR", IsOffline=False, IsReadOnly=False)
    with pytest.raises(
        PlanError, match=re.escape("is initialised as MBR, not GPT; it has no partitions. Set force: true")
    ):
        plan_disk(args(), observed(mbr))
    plan = plan_disk(args(force=True), observed(mbr))
    assert plan.changes[0].name == "convert"
    assert dict(plan.changes[0].steps[0].parameters) == {"UniqueId": UID, "PartitionStyle": "GPT"}
    assert_calls_bind(plan.changes)


def test_a_drive_letter_that_differs_is_reported_with_the_cmdlet_that_moves_it() -> None:
    with pytest.raises(
        PlanError,
        match=re.escape(
            "reached as P, not Q. The module does not move drive letters; change it with Set-Partition "
        ),
    ):
        plan_disk(args(drive_letter="Q"), prepared())


def test_a_cluster_disk_is_left_alone_when_it_matches_and_refused_when_it_does_not() -> None:
    clustered = disk(PartitionStyle="GPT", IsOffline=False, IsReadOnly=False, IsClustered=True)
    assert plan_disk(args(), observed(clustered, [MSR, data_partition()], [volume()])).changes == ()
    with pytest.raises(
        PlanError, match="is a cluster disk, which only the cluster may change, and its label differ"
    ):
        plan_disk(args(label="OTHER"), observed(clustered, [MSR, data_partition()], [volume()]))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"drive_letter": "PQ"},
            "drive_letter: 'PQ' is not a drive letter for data; expected one letter from D to Z",
        ),
        (
            {"drive_letter": "C"},
            "drive_letter: 'C' is not a drive letter for data; expected one letter from D to Z",
        ),
        (
            {"allocation_unit_size": 3000},
            "allocation_unit_size: 3000 is not a cluster size NTFS or ReFS take",
        ),
        ({"label": "L" * 33}, f"label: '{'L' * 33}' has 33 characters; a ntfs label has at most 32"),
    ],
)
def test_bad_arguments_are_refused_before_any_read(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError) as raised:
        args(**overrides)
    assert raised.value.msg.startswith(message)


def test_a_drive_letter_is_taken_in_either_case_and_with_a_colon() -> None:
    assert args(drive_letter="p:")["drive_letter"] == "P"


def offline_prepared() -> Observed:
    """A prepared shared disk as another node sees it, or as it comes back offline: no volume shows."""
    offline = disk(PartitionStyle="GPT", IsOffline=True, IsReadOnly=True)
    return observed(offline, [MSR, data_partition(AccessPaths=[])], [])


def read_back(volumes: list[dict[str, Any]], partition: dict[str, Any] | None = None) -> Observed:
    return Observed(
        outputs={
            "disk after": [disk(PartitionStyle="GPT", IsOffline=False, IsReadOnly=False)],
            "partitions after": [MSR, partition or data_partition()],
            "volumes after": volumes,
        }
    )


def test_an_offline_disk_with_a_partition_is_only_brought_online_before_its_volume_is_judged() -> None:
    """Its volume does not show while it is offline: formatting now could erase data."""
    plan = plan_disk(args(), offline_prepared())
    assert [p.name for p in plan.changes] == [
        "online",
        "writable",
        "disk after",
        "partitions after",
        "volumes after",
    ]
    assert not any(
        s.cmdlet in ("Format-Volume", "New-Partition", "Initialize-Disk")
        for p in plan.changes
        for s in p.steps
    )
    assert_calls_bind(plan.changes)
    state = plan.state_after_apply(read_back([volume()]))
    assert state["online"] is True and state["label"] == "PBX-DATA"


def test_an_offline_disk_whose_volume_differs_is_refused_once_online() -> None:
    plan = plan_disk(args(label="OTHER"), offline_prepared())
    with pytest.raises(
        PlanError, match=re.escape("its volume has label 'PBX-DATA', not 'OTHER'. Formatting would erase it")
    ):
        plan.state_after_apply(read_back([volume()]))


def test_an_offline_disk_whose_partition_has_no_file_system_is_formatted_on_the_next_run() -> None:
    plan = plan_disk(args(), offline_prepared())
    unformatted = volume(FileSystem="", FileSystemLabel="", AllocationUnitSize=0, Size=0, SizeRemaining=0)
    with pytest.raises(PlanError) as raised:
        plan.state_after_apply(read_back([unformatted]))
    assert raised.value.msg == (
        f"disk {UID} was offline, so its volume could not be read; it is online now, and its partition "
        "needs formatting (it has no file system). Run the task again to format it"
    )
