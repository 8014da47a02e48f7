"""The node, preflight, validation and storage modules against the lab, through ansible-playbook.

For each module: check mode reports the change and changes nothing; the run makes it; the re-run
is ``ok`` in one round trip; bad input fails with a clear error and changes nothing. Then a change
made on the host between a module's read and its apply (in-process, on the lab's executor twin)
converges on the next run. Each fixture builds its lab once for the module's tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lab_runs import (
    THREE_SAS_NODES,
    TWO_NODES,
    LabExecutor,
    Run,
    run_action,
    run_playbook,
    state_hash,
)
from wsfclab.lab import Lab
from wsfclab.testing import change, connect_iscsi, output

pytestmark = pytest.mark.integration

NODES = ("PBX-N1", "PBX-N2")
IQN = "iqn.1991-05.com.microsoft:san1-pbx-target"
LOGIN = "The node is logged in to the target"
DATA_DISK = "The data disk is online, GPT, with one NTFS volume"


@dataclass
class Converging:
    """A module's check-mode run, first run and re-run on one lab, and the lab's state between."""

    state_dir: Path
    checked: Run
    before_check: str
    after_check: str
    first: Run
    second: Run


def converge(state_dir: Path, world: Path, playbook: str, *extra: str) -> Converging:
    Lab.open(state_dir, world)
    before = state_hash(state_dir)
    checked = run_playbook(state_dir, world, playbook, "--check", *extra)
    after = state_hash(state_dir)
    first = run_playbook(state_dir, world, playbook, *extra)
    second = run_playbook(state_dir, world, playbook, *extra)
    return Converging(state_dir, checked, before, after, first, second)


@pytest.fixture(scope="module")
def iscsi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Converging]:
    state_dir = tmp_path_factory.mktemp("iscsi") / "state"
    try:
        yield converge(state_dir, TWO_NODES, "storage/iscsi_target.yml")
    finally:
        Lab.open(state_dir).reset()


def test_iscsi_target_in_check_mode_reports_the_login_and_makes_none(iscsi: Converging) -> None:
    assert iscsi.checked.rc == 0, iscsi.checked.failures()
    for node in NODES:
        result = iscsi.checked.result(LOGIN, node)
        assert result["changed"] is True and result["round_trips"] == 1
        assert result["state"]["target"]["connected"] is True
    assert iscsi.after_check == iscsi.before_check


def test_iscsi_target_logs_in_then_stays_ok_in_one_round_trip(iscsi: Converging) -> None:
    assert iscsi.first.rc == 0 and iscsi.second.rc == 0, iscsi.first.failures() + iscsi.second.failures()
    lab = Lab.open(iscsi.state_dir)
    for node in NODES:
        first = iscsi.first.result(LOGIN, node)
        assert first["changed"] is True and first["round_trips"] == 2
        assert first["state"]["service"] == {"state": "Running", "start_mode": "Auto"}
        again = iscsi.second.result(LOGIN, node)
        assert again["changed"] is False and again["round_trips"] == 1
        sessions = output(lab, node, "Get-IscsiSession", select=["TargetNodeAddress", "IsPersistent"])
        assert sessions == [{"TargetNodeAddress": IQN, "IsPersistent": True}]


def test_iscsi_target_refuses_a_target_the_portal_does_not_offer(iscsi: Converging) -> None:
    refused = iscsi.second.result("A target the portal does not offer is refused", "PBX-N1")
    assert refused["failed"] is True and refused["changed"] is False
    assert refused["msg"].startswith(
        "target: 'iqn.1991-05.com.microsoft:no-such-target' is not offered to this host by portal "
        f"127.0.3.10:3260; the targets it offers are ['{IQN}']."
    )


def test_node_info_reads_each_node_in_one_round_trip(iscsi: Converging) -> None:
    before = state_hash(iscsi.state_dir)
    run = run_playbook(iscsi.state_dir, TWO_NODES, "storage/node_info.yml")
    assert run.rc == 0, run.failures()
    assert state_hash(iscsi.state_dir) == before
    for last, node in zip((11, 12), NODES, strict=True):
        result = run.result("The node's facts are gathered", node)
        assert result["changed"] is False and result["round_trips"] == 1
        facts = result["state"]
        assert facts["hostname"] == node
        assert facts["os"]["build"] == "20348" and facts["domain"]["name"] == "pbx.lab"
        assert [n["ipv4"] for n in facts["nics"]] == [[f"127.0.1.{last}/24"], [f"127.0.2.{last}/24"]]
        assert sorted(d["bus_type"] for d in facts["disks"]) == ["SCSI", "iSCSI", "iSCSI"]
        assert facts["features"]["failover_clustering"] == "Available"


def test_preflight_passes_the_lab_nodes_and_lists_every_violation_of_bad_settings(iscsi: Converging) -> None:
    passed = run_playbook(iscsi.state_dir, TWO_NODES, "storage/preflight.yml")
    assert passed.rc == 0, passed.failures()
    result = passed.result("The nodes can form the cluster", "PBX-N1")
    assert result["violations"] == [] and result["round_trips"] == 0
    failed = run_playbook(
        iscsi.state_dir,
        TWO_NODES,
        "storage/preflight.yml",
        "-e",
        "cluster_ip=127.0.1.12",
        "-e",
        "expect_failure=true",
    )
    refused = failed.result("The nodes can form the cluster", "PBX-N1")
    assert refused["failed"] is True
    assert [v["message"] for v in refused["violations"]] == [
        "cluster: cluster_ip is 127.0.1.12 (an address of PBX-N2); expected an address no node uses"
    ]


@pytest.fixture(scope="module")
def disk(iscsi: Converging) -> Converging:
    return converge(iscsi.state_dir, TWO_NODES, "storage/disk.yml")


def _data_disk(state_dir: Path) -> dict[str, Any]:
    lab = Lab.open(state_dir)
    disks = output(lab, "PBX-N1", "Get-Disk", select=["UniqueId", "Size", "PartitionStyle", "IsOffline"])
    found: dict[str, Any] = next(d for d in disks if d["Size"] == 20 * 2**30)
    return found


def test_disk_in_check_mode_reports_the_preparation_and_makes_none(disk: Converging) -> None:
    assert disk.checked.rc == 0, disk.checked.failures()
    result = disk.checked.result(DATA_DISK, "PBX-N1")
    assert result["changed"] is True and result["round_trips"] == 1
    assert result["state"]["file_system"] == "NTFS"
    assert disk.after_check == disk.before_check


def test_disk_is_prepared_then_stays_ok_in_one_round_trip(disk: Converging) -> None:
    assert disk.first.rc == 0 and disk.second.rc == 0, disk.first.failures() + disk.second.failures()
    first = disk.first.result(DATA_DISK, "PBX-N1")
    assert first["changed"] is True and first["round_trips"] == 2
    assert {
        k: first["state"][k] for k in ("online", "partition_style", "partitions", "drive_letter", "label")
    } == {
        "online": True,
        "partition_style": "GPT",
        "partitions": 1,
        "drive_letter": "P",
        "label": "PBX-DATA",
    }
    assert first["state"]["allocation_unit_size"] == 65536
    again = disk.second.result(DATA_DISK, "PBX-N1")
    assert again["changed"] is False and again["round_trips"] == 1
    volume = output(
        Lab.open(disk.state_dir), "PBX-N1", "Get-Volume", {"DriveLetter": "P"}, select=["FileSystemLabel"]
    )
    assert volume == [{"FileSystemLabel": "PBX-DATA"}]


def test_disk_never_formats_a_volume_again_without_force(disk: Converging) -> None:
    before = state_hash(disk.state_dir)
    run = run_playbook(
        disk.state_dir, TWO_NODES, "storage/disk.yml", "-e", "disk_label=OTHER", "-e", "expect_failure=true"
    )
    refused = run.result(DATA_DISK, "PBX-N1")
    uid = _data_disk(disk.state_dir)["UniqueId"]
    assert refused["failed"] is True and refused["changed"] is False and refused["disk"] == uid
    assert refused["msg"].startswith(f"disk {uid} (GPT) holds partition 2 (20.0 GiB, NTFS volume 'PBX-DATA',")
    assert "Formatting would erase it: set force: true to format it" in refused["msg"]
    assert state_hash(disk.state_dir) == before


@pytest.fixture(scope="module")
def validation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Run]]:
    """The validation playbook in check mode, then run, on a lab without shared storage."""
    state_dir = tmp_path_factory.mktemp("validation") / "state"
    Lab.open(state_dir, TWO_NODES)
    try:
        yield (
            run_playbook(state_dir, TWO_NODES, "storage/cluster_validation.yml", "--check"),
            run_playbook(state_dir, TWO_NODES, "storage/cluster_validation.yml"),
        )
    finally:
        Lab.open(state_dir).reset()


def test_cluster_validation_passes_in_one_round_trip_with_its_report(validation: tuple[Run, Run]) -> None:
    _checked, ran = validation
    assert ran.rc == 0, ran.failures()
    result = ran.result("The default categories pass", "PBX-N1")
    assert result["changed"] is False and result["round_trips"] == 1
    assert result["state"]["outcome"] == "passed"
    assert result["state"]["report"].startswith("C:\\Windows\\Cluster\\Reports\\Validation Report ")


def test_cluster_validation_fails_on_a_warning_unless_it_is_accepted(validation: tuple[Run, Run]) -> None:
    _checked, ran = validation
    warned = ran.result("A storage warning fails the validation", "PBX-N1")
    assert warned["failed"] is True and warned["changed"] is False
    assert warned["msg"].startswith(
        "cluster validation warned in 1 test(s): Storage - List Potential Cluster Disks: The test reported "
        "some warnings..; the report is C:\\Windows\\Cluster\\Reports\\"
    )
    assert warned["state"]["outcome"] == "warnings"
    accepted = ran.result("An accepted storage warning passes", "PBX-N1")
    assert accepted.get("failed") is not True
    assert accepted["state"]["accepted_warnings"] == [
        "Storage - List Potential Cluster Disks: The test reported some warnings.."
    ]


def test_cluster_validation_without_become_is_refused_before_any_round_trip(
    validation: tuple[Run, Run],
) -> None:
    _checked, ran = validation
    refused = ran.result("Without become the second hop is refused", "PBX-N1")
    assert refused["failed"] is True and refused["round_trips"] == 0
    assert refused["msg"].startswith(
        "Test-Cluster over several nodes must reach other nodes or Active Directory"
    )


def test_cluster_validation_does_not_run_in_check_mode(validation: tuple[Run, Run]) -> None:
    checked, _ran = validation
    skipped = checked.result("The default categories pass", "PBX-N1")
    assert skipped["changed"] is False and skipped["round_trips"] == 0
    assert skipped["state"]["outcome"] == "not run"


@pytest.fixture(scope="module")
def sas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Converging, list[str]]]:
    state_dir = tmp_path_factory.mktemp("sas") / "state"
    lab = Lab.open(state_dir, THREE_SAS_NODES)
    try:
        disks = output(lab, "SAS-N1", "Get-Disk", select=["UniqueId", "BusType"])
        pool = [d["UniqueId"] for d in disks if d["BusType"] == "SAS"][:3]
        yield (
            converge(
                state_dir,
                THREE_SAS_NODES,
                "storage/storage_space.yml",
                "-e",
                json.dumps({"pool_disks": pool}),
            ),
            pool,
        )
    finally:
        Lab.open(state_dir).reset()


SPACE = "The pool and its space exist"


def test_storage_space_in_check_mode_reports_the_pool_and_makes_none(
    sas: tuple[Converging, list[str]],
) -> None:
    spaces, _pool = sas
    assert spaces.checked.rc == 0, spaces.checked.failures()
    result = spaces.checked.result(SPACE, "SAS-N1")
    assert result["changed"] is True and result["round_trips"] == 1
    assert spaces.after_check == spaces.before_check


def test_storage_space_builds_a_parity_space_then_stays_ok_in_one_round_trip(
    sas: tuple[Converging, list[str]],
) -> None:
    spaces, _pool = sas
    assert spaces.first.rc == 0 and spaces.second.rc == 0, spaces.first.failures() + spaces.second.failures()
    first = spaces.first.result(SPACE, "SAS-N1")
    assert first["changed"] is True and first["round_trips"] == 2
    assert first["state"]["space"]["resiliency"] == "Parity" and first["state"]["space"]["columns"] == 3
    assert first["state"]["space"]["provisioning"] == "Fixed" and first["state"]["pool"]["present"] is True
    again = spaces.second.result(SPACE, "SAS-N1")
    assert again["changed"] is False and again["round_trips"] == 1


def test_storage_space_refuses_another_layout_and_changes_nothing(sas: tuple[Converging, list[str]]) -> None:
    spaces, pool = sas
    before = state_hash(spaces.state_dir)
    run = run_playbook(
        spaces.state_dir,
        THREE_SAS_NODES,
        "storage/storage_space.yml",
        "-e",
        f"pool_disks={pool}",
        "-e",
        "resiliency=mirror",
        "-e",
        "expect_failure=true",
    )
    refused = run.result(SPACE, "SAS-N1")
    assert refused["failed"] is True and refused["differences"] == ["resiliency Parity, not Mirror"]
    assert state_hash(spaces.state_dir) == before


# --- a change on the host between a module's read and its apply --------------------------------


def _disk_args(uid: str) -> dict[str, Any]:
    return {"unique_id": uid, "label": "PBX-DATA", "drive_letter": "P"}


def test_disk_initialised_by_someone_else_between_read_and_apply_converges_on_the_next_run(
    tmp_path: Path,
) -> None:
    from ansible_collections.pbxops.wsfc.plugins.action.disk import ActionModule

    lab = Lab.open(tmp_path / "state", TWO_NODES)
    try:
        connect_iscsi(lab, "PBX-N1", "127.0.3.10")
        uid = _data_disk(tmp_path / "state")["UniqueId"]

        def initialise() -> None:
            change(lab, "PBX-N1", ("Set-Disk", {"UniqueId": uid, "IsReadOnly": False}))
            change(lab, "PBX-N1", ("Set-Disk", {"UniqueId": uid, "IsOffline": False}))
            change(lab, "PBX-N1", ("Initialize-Disk", {"UniqueId": uid, "PartitionStyle": "GPT"}))

        failed = run_action(ActionModule, _disk_args(uid), LabExecutor(lab, "PBX-N1", between=initialise))
        assert failed["failed"] is True and failed["cmdlet"] == "Initialize-Disk"
        assert failed["error_id"].startswith("StorageWMI 41001")
        again = run_action(ActionModule, _disk_args(uid), LabExecutor(lab, "PBX-N1"))
        assert again["changed"] is True and again["round_trips"] == 2, again
        assert again["state"]["file_system"] == "NTFS" and again["state"]["partitions"] == 1
        assert run_action(ActionModule, _disk_args(uid), LabExecutor(lab, "PBX-N1"))["changed"] is False
    finally:
        lab.reset()


def test_iscsi_login_made_by_someone_else_between_read_and_apply_converges_in_the_same_run(
    tmp_path: Path,
) -> None:
    from ansible_collections.pbxops.wsfc.plugins.action.iscsi_target import ActionModule

    lab = Lab.open(tmp_path / "state", TWO_NODES)
    args = {"portal": "127.0.3.10", "target": IQN}
    try:
        result = run_action(
            ActionModule,
            args,
            LabExecutor(lab, "PBX-N2", between=lambda: connect_iscsi(lab, "PBX-N2", "127.0.3.10")),
        )
        # The portal exists already and the target is connected: the apply's steps find nothing to do.
        assert result.get("failed") is not True, result
        sessions = output(lab, "PBX-N2", "Get-IscsiSession", select=["TargetNodeAddress"])
        assert sessions == [{"TargetNodeAddress": IQN}]
        again = run_action(ActionModule, args, LabExecutor(lab, "PBX-N2"))
        assert again["changed"] is False and again["round_trips"] == 1
    finally:
        lab.reset()


def test_storage_pool_made_by_someone_else_between_read_and_apply_converges_on_the_next_run(
    tmp_path: Path,
) -> None:
    from ansible_collections.pbxops.wsfc.plugins.action.storage_space import ActionModule

    lab = Lab.open(tmp_path / "state", THREE_SAS_NODES)
    try:
        disks = output(lab, "SAS-N1", "Get-Disk", select=["UniqueId", "BusType"])
        pool = [d["UniqueId"] for d in disks if d["BusType"] == "SAS"][:3]
        args = {"pool": "PBX", "name": "PBX-Data", "resiliency": "parity", "physical_disks": pool}

        def other_node_pools_them() -> None:
            result = run_action(
                ActionModule, {**args, "name": "Other", "size": 10 * 2**30}, LabExecutor(lab, "SAS-N2")
            )
            assert result["changed"] is True, result

        failed = run_action(ActionModule, args, LabExecutor(lab, "SAS-N1", between=other_node_pools_them))
        assert failed["failed"] is True and failed["cmdlet"] == "New-StoragePool", failed
        again = run_action(ActionModule, args, LabExecutor(lab, "SAS-N1"))
        assert again["changed"] is True and again["round_trips"] == 2, again
        assert again["state"]["space"]["name"] == "PBX-Data"
        assert run_action(ActionModule, args, LabExecutor(lab, "SAS-N1"))["changed"] is False
    finally:
        lab.reset()


def test_a_prepared_disk_offline_on_another_node_is_brought_online_there_not_formatted(
    tmp_path: Path,
) -> None:
    """No volume of an offline disk shows: the module brings it online before it judges the volume."""
    from ansible_collections.pbxops.wsfc.plugins.action.disk import ActionModule

    lab = Lab.open(tmp_path / "state", TWO_NODES)
    try:
        for node in NODES:
            connect_iscsi(lab, node, "127.0.3.10")
        uid = _data_disk(tmp_path / "state")["UniqueId"]
        assert run_action(ActionModule, _disk_args(uid), LabExecutor(lab, "PBX-N1"))["changed"] is True
        with lab.session() as state:
            lab.resolve_path(state, "PBX-N1", "P:\\pbx.db").write_text("registrations")
        change(lab, "PBX-N1", ("Set-Disk", {"UniqueId": uid, "IsOffline": True}))
        second_node = LabExecutor(lab, "PBX-N2")
        on_second = run_action(ActionModule, _disk_args(uid), second_node)
        assert on_second["changed"] is True and on_second["round_trips"] == 2, on_second
        assert on_second["state"]["label"] == "PBX-DATA" and on_second["state"]["online"] is True
        sent = [
            step["cmdlet"] for call in second_node.calls for pipeline in call for step in pipeline["steps"]
        ]
        assert "Format-Volume" not in sent and "New-Partition" not in sent
        with lab.session() as state:
            assert lab.resolve_path(state, "PBX-N2", "P:\\pbx.db").read_text() == "registrations"
        again = run_action(ActionModule, _disk_args(uid), LabExecutor(lab, "PBX-N2"))
        assert again["changed"] is False and again["round_trips"] == 1
    finally:
        lab.reset()
