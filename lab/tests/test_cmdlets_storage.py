"""iSCSI and Storage cmdlets: LUNs appear on login, disks are prepared, volumes follow the online node,
and the documented errors come back with their FullyQualifiedErrorIds."""

from __future__ import annotations

from typing import Any

from wsfclab import nodes
from wsfclab.lab import Lab
from wsfclab.testing import change, connect_iscsi, output, pipeline, run

PORTAL = "127.0.3.10"


def _prepare(lab: Lab, node: str, number: int, letter: str) -> dict[str, Any]:
    return (
        change(
            lab,
            node,
            ("Get-Disk", {"Number": number}),
            ("Set-Disk", {"IsOffline": False}),
        )
        | change(lab, node, ("Set-Disk", {"Number": number, "IsReadOnly": False}))
        | change(lab, node, ("Initialize-Disk", {"Number": number, "PartitionStyle": "GPT"}))
        | change(
            lab,
            node,
            ("New-Partition", {"DiskNumber": number, "UseMaximumSize": True, "DriveLetter": letter}),
            ("Format-Volume", {"FileSystem": "NTFS", "NewFileSystemLabel": "Data"}),
        )
    )


def test_a_missing_disk_number_is_the_cmdletization_not_found_error(lab: Lab) -> None:
    result = run(lab, "PBX-N1", pipeline("read disks", ("Get-Disk", {"Number": 9})))
    assert result["failed"] and result["step"] == 1 and result["cmdlet"] == "Get-Disk"
    assert result["error_id"] == "CmdletizationQuery_NotFound_Number,Get-Disk"
    assert result["msg"] == (
        "pipeline 'read disks' failed at step 1 (Get-Disk): No MSFT_Disk objects found with property "
        "'Number' equal to '9'.  Verify the value of the property and retry."
    )


def test_iscsi_needs_the_initiator_service(lab: Lab) -> None:
    result = change(lab, "PBX-N1", ("New-IscsiTargetPortal", {"TargetPortalAddress": "127.0.3.10"}))
    assert result["error_id"] == "HRESULT 0x80070426,New-IscsiTargetPortal"


def test_logging_in_brings_the_luns_offline_and_read_only(lab: Lab) -> None:
    assert [d["Number"] for d in output(lab, "PBX-N1", "Get-Disk")] == [0]
    connect_iscsi(lab, "PBX-N1", PORTAL)
    disks = output(
        lab, "PBX-N1", "Get-Disk", select=["Number", "BusType", "IsOffline", "OfflineReason", "Size"]
    )
    assert [d["BusType"] for d in disks] == ["SCSI", "iSCSI", "iSCSI"]
    assert all(d["IsOffline"] and d["OfflineReason"] == "Policy" for d in disks[1:])
    assert sorted(d["Size"] for d in disks[1:]) == [1024**3, 20 * 1024**3]
    sessions = output(lab, "PBX-N1", "Get-IscsiSession")
    assert sessions[0]["IsPersistent"] is True and sessions[0]["IsConnected"] is True
    targets = output(lab, "PBX-N1", "Get-IscsiTarget")
    assert targets == [
        {
            "IsConnected": True,
            "NodeAddress": "iqn.1991-05.com.microsoft:san1-pbx-target",
        }
    ]
    by_session = run(
        lab, "PBX-N1", pipeline("map", ("Get-IscsiSession", {}), ("Get-Disk", {}), select=["Number"])
    )
    assert [d["Number"] for d in by_session["results"][0]["output"]] == [1, 2]


def test_a_second_login_and_an_unknown_target_fail_as_windows_does(lab: Lab) -> None:
    connect_iscsi(lab, "PBX-N1", PORTAL)
    again = change(
        lab, "PBX-N1", ("Connect-IscsiTarget", {"NodeAddress": "iqn.1991-05.com.microsoft:san1-pbx-target"})
    )
    assert again["error_id"] == "HRESULT 0xefff003f,Connect-IscsiTarget"
    assert "already been logged in" in again["msg"]
    unknown = change(lab, "PBX-N1", ("Connect-IscsiTarget", {"NodeAddress": "iqn.2000-01.example:nothing"}))
    assert unknown["error_id"] == "HRESULT 0xefff0029,Connect-IscsiTarget"


def test_persistent_sessions_survive_a_reboot_and_disconnect_removes_the_luns(lab: Lab) -> None:
    connect_iscsi(lab, "PBX-N1", PORTAL)
    with lab.session() as state:
        nodes.reboot_node(lab, state, "PBX-N1")
    assert len(output(lab, "PBX-N1", "Get-Disk")) == 3
    change(lab, "PBX-N1", ("Start-Service", {"Name": "MSiSCSI"}))  # Manual: not started at boot
    result = change(lab, "PBX-N1", ("Get-IscsiTarget", {}), ("Disconnect-IscsiTarget", {"Confirm": False}))
    assert "failed" not in result, result
    assert len(output(lab, "PBX-N1", "Get-Disk")) == 1


def test_a_prepared_disk_shows_its_volume_only_where_it_is_online(lab: Lab) -> None:
    connect_iscsi(lab, "PBX-N1", PORTAL)
    connect_iscsi(lab, "PBX-N2", PORTAL)
    result = _prepare(lab, "PBX-N1", 2, "D")
    assert "failed" not in result, result
    volume = output(lab, "PBX-N1", "Get-Volume", {"DriveLetter": "D"})[0]
    assert volume["FileSystem"] == "NTFS" and volume["FileSystemLabel"] == "Data"
    parts = output(
        lab, "PBX-N1", "Get-Partition", {"DiskNumber": 2}, select=["PartitionNumber", "Type", "DriveLetter"]
    )
    assert parts == [
        {"PartitionNumber": 1, "Type": "Reserved", "DriveLetter": "\u0000"},
        {"PartitionNumber": 2, "Type": "Basic", "DriveLetter": "D"},
    ]
    with lab.session() as state:
        (lab.resolve_path(state, "PBX-N1", r"D:\PBX")).mkdir()
    missing = run(lab, "PBX-N2", pipeline("v", ("Get-Volume", {"DriveLetter": "D"})))
    assert missing["error_id"] == "CmdletizationQuery_NotFound_DriveLetter,Get-Volume"
    other = output(lab, "PBX-N2", "Get-Disk", {"Number": 2}, select=["PartitionStyle", "IsOffline"])
    assert other == [{"PartitionStyle": "GPT", "IsOffline": True}]  # the partition table is on the disk
    change(lab, "PBX-N1", ("Set-Disk", {"Number": 2, "IsOffline": True}))
    change(lab, "PBX-N2", ("Set-Disk", {"Number": 2, "IsOffline": False}))
    with lab.session() as state:
        assert lab.resolve_path(state, "PBX-N2", r"d:\pbx").is_dir()


def test_disk_preparation_errors_carry_storage_wmi_codes(lab: Lab) -> None:
    connect_iscsi(lab, "PBX-N1", PORTAL)
    offline = change(lab, "PBX-N1", ("Initialize-Disk", {"Number": 1}))
    assert offline["error_id"] == "StorageWMI 41003,Initialize-Disk"
    change(lab, "PBX-N1", ("Set-Disk", {"Number": 1, "IsOffline": False}))
    read_only = change(lab, "PBX-N1", ("Initialize-Disk", {"Number": 1}))
    assert read_only["error_id"] == "StorageWMI 41002,Initialize-Disk"
    raw = change(lab, "PBX-N1", ("New-Partition", {"DiskNumber": 1, "UseMaximumSize": True}))
    assert raw["error_id"] == "StorageWMI 41000,New-Partition"
    change(lab, "PBX-N1", ("Set-Disk", {"Number": 1, "IsReadOnly": False}))
    assert "failed" not in change(lab, "PBX-N1", ("Initialize-Disk", {"Number": 1}))
    twice = change(lab, "PBX-N1", ("Initialize-Disk", {"Number": 1}))
    assert twice["error_id"] == "StorageWMI 41001,Initialize-Disk"
    taken = change(
        lab, "PBX-N1", ("New-Partition", {"DiskNumber": 1, "UseMaximumSize": True, "DriveLetter": "C"})
    )
    assert taken["error_id"] == "StorageWMI 42002,New-Partition"
    too_big = change(lab, "PBX-N1", ("New-Partition", {"DiskNumber": 1, "Size": 5 * 1024**3}))
    assert too_big["error_id"] == "StorageWMI 40000,New-Partition"
    no_size = change(lab, "PBX-N1", ("New-Partition", {"DiskNumber": 1}))
    assert no_size["error_id"] == "StorageWMI 40005,New-Partition"


def test_iscsi_disks_cannot_be_pooled(lab: Lab) -> None:
    connect_iscsi(lab, "PBX-N1", PORTAL)
    disks = output(lab, "PBX-N1", "Get-PhysicalDisk", select=["BusType", "CanPool", "CannotPoolReason"])
    iscsi = [d for d in disks if d["BusType"] == "iSCSI"]
    assert iscsi and all(not d["CanPool"] and d["CannotPoolReason"] for d in iscsi)
    assert output(lab, "PBX-N1", "Get-PhysicalDisk", {"CanPool": True}) == []


def test_partitions_and_volumes_are_found_by_their_keys_or_not_at_all(lab: Lab) -> None:
    (c_drive,) = output(
        lab, "PBX-N1", "Get-Partition", {"DriveLetter": "C"}, select=["DiskNumber", "PartitionNumber"]
    )
    assert c_drive == {"DiskNumber": 0, "PartitionNumber": 3}
    volume = output(lab, "PBX-N1", "Get-Volume", {"DriveLetter": "C"}, select=["FileSystem", "DriveType"])
    assert volume == [{"FileSystem": "NTFS", "DriveType": "Fixed"}]
    missing = run(lab, "PBX-N1", pipeline("p", ("Get-Partition", {"DriveLetter": "Z"})))
    assert missing["error_id"] == "CmdletizationQuery_NotFound_DriveLetter,Get-Partition"
    system = change(lab, "PBX-N1", ("Set-Disk", {"Number": 0, "IsOffline": True}))
    assert system["error_id"] == "StorageWMI 41009,Set-Disk"


def test_format_volume_by_drive_letter_erases_the_folder(lab: Lab) -> None:
    connect_iscsi(lab, "PBX-N1", PORTAL)
    assert "failed" not in _prepare(lab, "PBX-N1", 1, "W")
    with lab.session() as state:
        marker = lab.resolve_path(state, "PBX-N1", r"W:\marker.txt")
    marker.write_text("data")
    result = change(
        lab,
        "PBX-N1",
        ("Format-Volume", {"DriveLetter": "W", "FileSystem": "ReFS", "NewFileSystemLabel": "Q"}),
    )
    (volume,) = result["results"][0]["output"]
    assert (volume["FileSystem"], volume["FileSystemLabel"], volume["AllocationUnitSize"]) == (
        "ReFS",
        "Q",
        65536,
    )
    assert not marker.exists()


def test_portals_are_listed_and_a_missing_one_is_not_found(lab: Lab) -> None:
    connect_iscsi(lab, "PBX-N1", PORTAL)
    (portal,) = output(lab, "PBX-N1", "Get-IscsiTargetPortal")
    assert (portal["TargetPortalAddress"], portal["TargetPortalPortNumber"]) == (PORTAL, 3260)
    missing = run(
        lab, "PBX-N1", pipeline("p", ("Get-IscsiTargetPortal", {"TargetPortalAddress": "127.0.9.9"}))
    )
    assert missing["error_id"] == "CmdletizationQuery_NotFound_TargetPortalAddress,Get-IscsiTargetPortal"
    nowhere = change(lab, "PBX-N1", ("New-IscsiTargetPortal", {"TargetPortalAddress": "127.0.9.9"}))
    assert nowhere["failed"] and nowhere["cmdlet"] == "New-IscsiTargetPortal"


def test_a_node_outside_the_lun_masking_sees_no_target(tmp_path: Any, two_node_world: Any) -> None:
    import yaml

    data = yaml.safe_load(two_node_world.read_text())
    data["shared_storage"]["iscsi_targets"][0]["initiators"] = ["PBX-N1"]
    world = tmp_path / "masked.yml"
    world.write_text(yaml.safe_dump(data))
    masked = Lab.open(tmp_path / "masked", world)
    change(masked, "PBX-N2", ("Start-Service", {"Name": "MSiSCSI"}))
    change(masked, "PBX-N2", ("New-IscsiTargetPortal", {"TargetPortalAddress": PORTAL}))
    assert output(masked, "PBX-N2", "Get-IscsiTarget") == []


def test_a_multipath_login_may_add_a_second_session(lab: Lab) -> None:
    connect_iscsi(lab, "PBX-N1", PORTAL)
    second = change(
        lab,
        "PBX-N1",
        (
            "Connect-IscsiTarget",
            {"NodeAddress": "iqn.1991-05.com.microsoft:san1-pbx-target", "IsMultipathEnabled": True},
        ),
    )
    assert "failed" not in second, second
    assert len(output(lab, "PBX-N1", "Get-IscsiSession")) == 2
    assert len(output(lab, "PBX-N1", "Get-Disk")) == 3  # the LUNs do not appear twice


def test_a_wildcard_that_matches_nothing_is_not_an_error(lab: Lab) -> None:
    assert output(lab, "PBX-N1", "Get-Disk", {"FriendlyName": "NetApp*"}) == []
    missing = run(lab, "PBX-N1", pipeline("d", ("Get-Disk", {"FriendlyName": "NetApp LUN"})))
    assert missing["error_id"] == "CmdletizationQuery_NotFound_FriendlyName,Get-Disk"


def test_iscsi_objects_leave_out_pscomputername_as_the_executor_does(lab: Lab) -> None:
    """The executor drops the properties PowerShell adds to every CIM object (PSComputerName too)."""
    connect_iscsi(lab, "PBX-N1", PORTAL)
    for cmdlet in ("Get-IscsiTargetPortal", "Get-IscsiTarget", "Get-IscsiSession"):
        (obj,) = output(lab, "PBX-N1", cmdlet)
        assert "PSComputerName" not in obj, cmdlet
