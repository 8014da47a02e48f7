"""Test-Cluster through the executor path: results derived from the world, the warning stream, the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cluster_worlds import delegated, world
from wsfclab.lab import Lab
from wsfclab.testing import change, pipeline, run

BOTH = {"Node": ["N1", "N2"]}


def _validate(lab: Lab, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    with delegated():
        return change(lab, "N1", ("Test-Cluster", dict(BOTH if parameters is None else parameters)))


def _warnings(result: dict[str, Any]) -> list[str]:
    assert "failed" not in result, result
    return list(result["results"][0]["warnings"])


def _report_text(lab: Lab, result: dict[str, Any]) -> str:
    (info,) = result["results"][0]["output"]
    with lab.session() as state:
        return lab.resolve_path(state, "N1", info["FullName"]).read_text(encoding="utf-8")


def test_a_sound_pair_of_nodes_is_approved_and_the_report_is_on_the_node(tmp_path: Path) -> None:
    lab = world(tmp_path)
    result = _validate(lab)
    (info,) = result["results"][0]["output"]
    assert info["FullName"].startswith("C:\\Windows\\Cluster\\Reports\\Validation Report ")
    assert info["Extension"] == ".htm" and info["Length"] > 0
    (summary,) = _warnings(result)
    assert summary.startswith("\nTest Result:\nHadUnselectedTests, ClusterApproved\n")
    assert summary.endswith(f"Test report file path: {info['FullName']}")
    report = _report_text(lab, result)
    assert "n1.pbx.lab" in report and "Validate Network Communication" in report


def test_one_nic_per_node_is_a_single_path_warning(tmp_path: Path) -> None:
    def one_nic(data: dict[str, Any]) -> None:
        for node in data["nodes"]:
            node["nics"] = node["nics"][:1]

    lab = world(tmp_path, one_nic)
    result = _validate(lab)
    warnings = _warnings(result)
    assert "Network - Validate Network Communication: The test reported some warnings.." in warnings
    assert "Network - Validate IP Configuration: The test reported some warnings.." in warnings
    assert "Network - Validate Cluster Network Configuration: The test reported some warnings.." in warnings
    assert "HadUnselectedTests, ClusterConditionallyApproved" in warnings[-1]
    assert "by only one pair of network interfaces" in _report_text(lab, result)


def test_nics_sharing_only_one_subnet_leave_one_path(tmp_path: Path) -> None:
    def apart(data: dict[str, Any]) -> None:
        data["nodes"][1]["nics"][1]["addresses"] = ["127.0.3.12/24"]

    warnings = _warnings(_validate(world(tmp_path, apart)))
    assert "Network - Validate Network Communication: The test reported some warnings.." in warnings
    assert not any("Validate IP Configuration" in w for w in warnings)


def test_a_different_os_build_fails_validation(tmp_path: Path) -> None:
    def older(data: dict[str, Any]) -> None:
        data["nodes"][1]["os"] = {
            "caption": "Microsoft Windows Server 2019 Datacenter",
            "version": "10.0.17763",
            "build_number": "17763",
        }

    lab = world(tmp_path, older)
    result = _validate(lab)
    warnings = _warnings(result)
    assert "System Configuration - Validate Operating System Version: The test failed.." in warnings
    assert "HadUnselectedTests, ClusterNotApproved" in warnings[-1]
    assert "10.0.17763" in _report_text(lab, result)


def test_a_different_edition_is_a_warning(tmp_path: Path) -> None:
    def standard(data: dict[str, Any]) -> None:
        data["nodes"][1]["os"] = {
            "caption": "Microsoft Windows Server 2022 Standard",
            "edition": "ServerStandard",
            "sku": 7,
        }

    warnings = _warnings(_validate(world(tmp_path, standard)))
    assert (
        "System Configuration - Validate Operating System Edition: The test reported some warnings.."
        in warnings
    )
    assert "ClusterConditionallyApproved" in warnings[-1]


def test_a_disk_one_node_cannot_see_is_reported(tmp_path: Path) -> None:
    def masked(data: dict[str, Any]) -> None:
        data["shared_storage"]["sas_disks"][1]["nodes"] = ["N1"]

    lab = world(tmp_path, masked)
    result = _validate(lab)
    assert "Storage - List Potential Cluster Disks: The test reported some warnings.." in _warnings(result)
    assert "is not visible from node(s) N2" in _report_text(lab, result)


def test_a_node_outside_the_domain_fails_validation(tmp_path: Path) -> None:
    def workgroup(data: dict[str, Any]) -> None:
        data["nodes"][1]["domain_member"] = False

    warnings = _warnings(_validate(world(tmp_path, workgroup)))
    assert "System Configuration - Validate Active Directory Configuration: The test failed.." in warnings
    assert "ClusterNotApproved" in warnings[-1]


def test_a_node_without_the_feature_fails_validation(tmp_path: Path) -> None:
    warnings = _warnings(_validate(world(tmp_path, clustering=("N1",))))
    assert (
        "System Configuration - Validate Cluster Service and Driver Settings: The test failed.." in warnings
    )


def test_include_runs_only_that_category_and_list_names_the_tests(tmp_path: Path) -> None:
    def one_nic(data: dict[str, Any]) -> None:
        for node in data["nodes"]:
            node["nics"] = node["nics"][:1]

    lab = world(tmp_path, one_nic)
    warnings = _warnings(_validate(lab, {**BOTH, "Include": ["Storage"]}))
    assert not any(w.startswith("Network") for w in warnings)
    listed = run(lab, "N1", pipeline("list", ("Test-Cluster", {"List": True})), check_mode=True)
    names = {(t["Category"], t["DisplayName"]) for t in listed["results"][0]["output"]}
    assert ("Network", "Validate Network Communication") in names
    assert ("Storage", "List Potential Cluster Disks") in names


def test_an_unknown_category_is_refused(tmp_path: Path) -> None:
    result = _validate(world(tmp_path), {**BOTH, "Include": ["Plumbing"]})
    assert result["failed"] and "'Plumbing' was not found" in result["msg"]
    assert result["error_id"] == "Test-Cluster,Microsoft.FailoverClusters.PowerShell.TestClusterCommand"


def test_report_name_gets_htm_appended(tmp_path: Path) -> None:
    lab = world(tmp_path)
    result = _validate(lab, {**BOTH, "ReportName": "C:\\Reports\\preflight"})
    assert result["results"][0]["output"][0]["FullName"] == "C:\\Reports\\preflight.htm"
    assert "Validation Report" in _report_text(lab, result)


def test_an_unreachable_node_is_an_error(tmp_path: Path) -> None:
    result = _validate(world(tmp_path), {"Node": ["N1", "N9"]})
    assert result["failed"] and "Failed to access remote registry on 'N9'" in result["msg"]


@pytest.mark.parametrize("nodes", [["N1", "N2"], ["N2"]])
def test_without_delegation_other_nodes_are_access_denied(tmp_path: Path, nodes: list[str]) -> None:
    result = change(world(tmp_path), "N1", ("Test-Cluster", {"Node": nodes}))
    assert result["failed"]
    assert result["msg"].endswith("You do not have administrative privileges on the server 'N2'.")
    assert result["error_id"] == "Test-Cluster,Microsoft.FailoverClusters.PowerShell.TestClusterCommand"


def test_without_delegation_the_local_node_alone_can_be_validated(tmp_path: Path) -> None:
    result = change(world(tmp_path), "N1", ("Test-Cluster", {"Node": ["N1"]}))
    assert "failed" not in result, result


def test_without_the_powershell_module_the_command_does_not_exist(tmp_path: Path) -> None:
    result = _validate(world(tmp_path, clustering=("N2",)))
    assert result["failed"] and "The term 'Test-Cluster' is not recognized" in result["msg"]
    assert result["error_id"] == "CommandNotFoundException,Microsoft.PowerShell.Commands.GetCommandCommand"


def test_test_cluster_changes_the_node_so_it_never_runs_in_check_mode(tmp_path: Path) -> None:
    lab = world(tmp_path)
    result = run(lab, "N1", pipeline("validate", ("Test-Cluster", BOTH), changes=True), check_mode=True)
    assert result["failed"] and "check mode" in result["msg"]


def test_test_cluster_that_writes_its_report_is_refused_in_a_read_pipeline(tmp_path: Path) -> None:
    """Only -List writes nothing; a read pipeline that runs the tests would write in check mode."""
    result = run(world(tmp_path), "N1", pipeline("validate", ("Test-Cluster", {"Node": ["N1"]})))
    assert result["failed"] and "says changes: false" in result["msg"], result
