"""Add-ClusterGenericServiceRole and the group and resource cmdlets through the executor path: what
the role is made of, what Windows refuses, and the start/stop/move/owner/parameter/checkpoint calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_worlds import ROLE_IP, clustered, delegated, disk_resource, register_service, stop, wait_for
from wsfclab.lab import Lab
from wsfclab.testing import change, output, pipeline, run

ROLE_ID = (
    "Add-ClusterGenericServiceRole,Microsoft.FailoverClusters.PowerShell.AddClusterGenericServiceRoleCommand"
)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A cluster of its own, for a test that creates the role and changes it."""
    built = clustered(tmp_path)
    register_service(built)
    yield built
    stop(built)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One cluster for the tests that leave it as it was (refusals, reads)."""
    built = clustered(Path(tmp_path_factory.mktemp("roles")))
    register_service(built)
    yield built
    stop(built)


def _add_role(lab: Lab, **parameters: Any) -> dict[str, Any]:
    given = {
        "ServiceName": "EchoSvc",
        "Name": "PBX",
        "StaticAddress": [ROLE_IP],
        "Storage": [disk_resource(lab, "data")],
        "CheckpointKey": ["SOFTWARE\\Echo"],
        **parameters,
    }
    with delegated():
        return change(
            lab, "N1", ("Add-ClusterGenericServiceRole", {k: v for k, v in given.items() if v is not None})
        )


def _role_resources(lab: Lab) -> dict[str, dict[str, Any]]:
    result = run(lab, "N1", pipeline("r", ("Get-ClusterGroup", {"Name": "PBX"}), ("Get-ClusterResource", {})))
    return {r["Name"]: r for r in result["results"][0]["output"]}


def _no_role(lab: Lab) -> None:
    assert [g["Name"] for g in output(lab, "N1", "Get-ClusterGroup")] == [
        "Available Storage",
        "Cluster Group",
    ]


def test_the_role_has_its_name_address_disk_and_service_with_dependencies(lab: Lab) -> None:
    created = _add_role(lab)
    (group,) = created["results"][0]["output"]
    assert (group["Name"], group["OwnerNode"], group["State"], group["GroupType"]) == (
        "PBX",
        "N1",
        "Online",
        "GenericService",
    )
    resources = _role_resources(lab)
    data = disk_resource(lab, "data")
    assert {n: r["ResourceType"] for n, r in resources.items()} == {
        f"IP Address {ROLE_IP}": "IP Address",
        "PBX": "Network Name",
        data: "Physical Disk",
        "Echo Service": "Generic Service",
    }
    assert {r["State"] for r in resources.values()} == {"Online"}
    (service,) = output(lab, "N1", "Get-ClusterResourceDependency", {"Resource": "Echo Service"})
    assert service["DependencyExpression"] == f"[PBX] and [{data}]"
    (name,) = output(lab, "N1", "Get-ClusterResourceDependency", {"Resource": "PBX"})
    assert name["DependencyExpression"] == f"[IP Address {ROLE_IP}]"
    (checkpoint,) = output(lab, "N1", "Get-ClusterCheckpoint", {"ResourceName": "Echo Service"})
    assert checkpoint == {"Resource": "Echo Service", "Name": "SOFTWARE\\Echo"}
    params = run(
        lab,
        "N1",
        pipeline("p", ("Get-ClusterResource", {"Name": "Echo Service"}), ("Get-ClusterParameter", {})),
    )
    values = {p["Name"]: p["Value"] for p in params["results"][0]["output"]}
    assert (values["ServiceName"], values["UseNetworkName"]) == ("EchoSvc", 1)


@pytest.mark.parametrize(
    ("parameters", "text"),
    [
        ({"Name": "PBX-ROLE-PRIMARY-1"}, "The format of the specified computer name is invalid."),
        (
            {"StaticAddress": ["127.0.2.50"]},
            "Static address '127.0.2.50' was not found on any cluster network.",
        ),
        (
            {"StaticAddress": ["127.0.8.50"]},
            "Static address '127.0.8.50' was not found on any cluster network.",
        ),
        ({"StaticAddress": ["127.0.1.20"]}, "Static address '127.0.1.20' is already used"),
        ({"StaticAddress": None}, "Static network '127.0.1.0/24' was not configured."),
        ({"Storage": ["Cluster Disk 9"]}, "The cluster resource could not be found."),
        ({"ServiceName": "NoSuchSvc"}, "service 'NoSuchSvc' is installed on no node"),
    ],
    ids=[
        "long-name",
        "cluster-only-network",
        "no-network",
        "cluster-ip",
        "no-address",
        "unknown-disk",
        "no-service",
    ],
)
def test_wrong_input_is_refused_before_anything_is_created(
    shared: Lab, parameters: dict[str, Any], text: str
) -> None:
    result = _add_role(shared, **parameters)
    assert result["failed"] and text in result["msg"], result
    _no_role(shared)


def test_the_witness_disk_cannot_be_a_role_disk(shared: Lab) -> None:
    result = _add_role(shared, Storage=[disk_resource(shared, "witness")])
    assert result["failed"] and "is not an available disk in Available Storage" in result["msg"]
    assert result["error_id"] == ROLE_ID
    _no_role(shared)


def test_without_delegation_the_role_is_access_denied(shared: Lab) -> None:
    result = change(
        shared,
        "N1",
        (
            "Add-ClusterGenericServiceRole",
            {"ServiceName": "EchoSvc", "Name": "PBX", "StaticAddress": [ROLE_IP]},
        ),
    )
    assert result["failed"] and result["msg"].endswith(
        "You do not have administrative privileges on the server 'N2'."
    )
    assert result["error_id"] == ROLE_ID
    _no_role(shared)


def test_without_the_right_to_create_computer_objects_the_role_name_fails(tmp_path: Path) -> None:
    def no_rights(data: dict[str, Any]) -> None:
        data["active_directory"]["may_create_computer_objects"] = False

    built = clustered(tmp_path, no_rights, AdministrativeAccessPoint="Dns")
    try:
        register_service(built)
        result = _add_role(built)
        assert result["failed"] and "failed to create its associated computer object" in result["msg"]
        assert result["error_category"] == "PermissionDenied"
        _no_role(built)
    finally:
        stop(built)


def test_groups_stop_start_and_move_and_unknown_targets_are_refused(lab: Lab) -> None:
    assert "failed" not in _add_role(lab)
    stopped = change(lab, "N1", ("Stop-ClusterGroup", {"Name": "PBX"}))
    assert stopped["results"][0]["output"][0]["State"] == "Offline"
    pending = change(lab, "N1", ("Start-ClusterGroup", {"Name": "PBX", "Wait": 0}))
    assert pending["results"][0]["output"][0]["State"] == "Pending"  # -Wait 0 returns at once
    wait_for(lab, lambda s: s.cluster is not None and s.cluster.groups["PBX"].state == "Online")
    started = change(lab, "N1", ("Start-ClusterGroup", {"Name": "PBX"}))
    assert started["results"][0]["output"][0]["State"] == "Online"
    moved = run(
        lab,
        "N1",
        pipeline(
            "m", ("Get-ClusterGroup", {"Name": "PBX"}), ("Move-ClusterGroup", {"Node": "N2"}), changes=True
        ),
    )
    assert moved["results"][0]["output"][0]["OwnerNode"] == "N2"
    unknown_node = change(lab, "N1", ("Move-ClusterGroup", {"Name": "PBX", "Node": "N9"}))
    assert unknown_node["failed"] and "The cluster node was not found." in unknown_node["msg"]
    assert (
        unknown_node["error_id"]
        == "Move-ClusterGroup,Microsoft.FailoverClusters.PowerShell.MoveClusterGroupCommand"
    )
    unknown_group = change(lab, "N1", ("Start-ClusterGroup", {"Name": "Nope"}))
    assert unknown_group["error_id"] == (
        "ClusterGroupNotFound,Microsoft.FailoverClusters.PowerShell.StartClusterGroupCommand"
    )


def test_owners_parameters_dependencies_and_checkpoints_are_changed_as_on_windows(lab: Lab) -> None:
    assert "failed" not in _add_role(lab)
    assert "failed" not in change(
        lab, "N1", ("Set-ClusterOwnerNode", {"Group": "PBX", "Owners": ["N2", "N1"]})
    )
    (owners,) = output(lab, "N1", "Get-ClusterOwnerNode", {"Group": "PBX"})
    assert [n["Name"] for n in owners["OwnerNodes"]] == ["N2", "N1"]
    bad_owner = change(lab, "N1", ("Set-ClusterOwnerNode", {"Group": "PBX", "Owners": ["N9"]}))
    assert bad_owner["failed"] and "The cluster node was not found." in bad_owner["msg"]
    changed = run(
        lab,
        "N1",
        pipeline(
            "param",
            ("Get-ClusterResource", {"Name": "Echo Service"}),
            ("Set-ClusterParameter", {"Name": "StartupParameters", "Value": "--verbose"}),
            changes=True,
        ),
    )
    assert changed["results"][0]["warnings"] == [
        "The properties were stored, but not all changes will take effect until Echo Service is taken "
        "offline and then online again."
    ]
    unknown_param = run(
        lab,
        "N1",
        pipeline(
            "param",
            ("Get-ClusterResource", {"Name": "Echo Service"}),
            ("Set-ClusterParameter", {"Name": "NoSuchParameter", "Value": 1}),
            changes=True,
        ),
    )
    assert unknown_param["failed"] and "NoSuchParameter" in unknown_param["msg"]
    data = disk_resource(lab, "data")
    cycle = change(
        lab, "N1", ("Set-ClusterResourceDependency", {"Resource": data, "Dependency": "[Echo Service]"})
    )
    assert cycle["failed"] and "A circular dependency is not allowed." in cycle["msg"]
    other_group = change(
        lab, "N1", ("Add-ClusterResourceDependency", {"Resource": "Echo Service", "Provider": "Cluster Name"})
    )
    assert other_group["failed"] and "is in group 'Cluster Group'" in other_group["msg"]
    assert "failed" not in change(
        lab,
        "N1",
        ("Add-ClusterCheckpoint", {"ResourceName": "Echo Service", "RegistryCheckpoint": "SOFTWARE\\Echo2"}),
    )
    twice = change(
        lab,
        "N1",
        ("Add-ClusterCheckpoint", {"ResourceName": "Echo Service", "RegistryCheckpoint": "SOFTWARE\\Echo2"}),
    )
    assert twice["failed"] and "The object already exists." in twice["msg"]
    removed = change(
        lab,
        "N1",
        (
            "Remove-ClusterCheckpoint",
            {
                "ResourceName": "Echo Service",
                "RegistryCheckpoint": True,
                "CheckpointName": "SOFTWARE\\Echo2",
                "Force": True,
            },
        ),
    )
    assert "failed" not in removed, removed
    keys = [c["Name"] for c in output(lab, "N1", "Get-ClusterCheckpoint", {"ResourceName": "Echo Service"})]
    assert keys == ["SOFTWARE\\Echo"]


def test_resources_stop_start_fail_and_are_removed(lab: Lab) -> None:
    assert "failed" not in _add_role(lab)
    stopped = change(lab, "N1", ("Stop-ClusterResource", {"Name": "Echo Service"}))
    assert stopped["results"][0]["output"][0]["State"] == "Offline"
    started = change(lab, "N1", ("Start-ClusterResource", {"Name": "Echo Service"}))
    assert started["results"][0]["output"][0]["State"] == "Online"
    core = change(lab, "N1", ("Stop-ClusterResource", {"Name": "Cluster Name"}))
    assert core["failed"] and "it is a core resource" in core["msg"]
    failed = change(lab, "N1", ("Test-ClusterResourceFailure", {"Name": "Echo Service"}))
    assert "failed" not in failed, failed
    wait_for(lab, lambda s: s.cluster is not None and s.cluster.resources["Echo Service"].state == "Online")
    removed = change(lab, "N1", ("Remove-ClusterResource", {"Name": ["Echo Service"], "Force": True}))
    assert "failed" not in removed, removed
    assert "Echo Service" not in _role_resources(lab)
    gone = change(
        lab, "N1", ("Remove-ClusterGroup", {"Name": ["PBX"], "RemoveResources": True, "Force": True})
    )
    assert "failed" not in gone, gone
    _no_role(lab)
    available = [
        r["Name"] for r in output(lab, "N1", "Get-ClusterResource") if r["OwnerGroup"] == "Available Storage"
    ]
    assert available == [disk_resource(lab, "data")]


def test_the_cluster_log_is_written_on_each_node(shared: Lab) -> None:
    """Each node writes its own Cluster.log in its cluster reports folder (Get-ClusterLog page,
    example 1; "The Cluster.log files can be found in ... c:\\windows\\cluster\\Reports on each
    node", Failover Clustering blog, "Windows Server 2016 ... Enhancements - Cluster Log")."""
    with delegated():
        result = change(shared, "N1", ("Get-ClusterLog", {}))
    files = result["results"][0]["output"]
    assert [f["FullName"] for f in files] == [
        "C:\\Windows\\Cluster\\Reports\\Cluster.log",
        "C:\\Windows\\Cluster\\Reports\\Cluster.log",
    ]
    with shared.session() as state:
        for node in ("N1", "N2"):
            log = shared.resolve_path(state, node, "C:\\Windows\\Cluster\\Reports\\Cluster.log")
            assert log.is_file()


def test_the_cluster_log_of_every_node_is_copied_to_the_local_destination(shared: Lab) -> None:
    """-Destination copies each node's log there, with the node's name in the file's name; the
    folder is the local node's (here N2, which is not the cluster's first node)."""
    with delegated():
        result = change(shared, "N2", ("Get-ClusterLog", {"Destination": "C:\\Logs"}))
    assert "failed" not in result, result
    files = result["results"][0]["output"]
    assert [f["FullName"] for f in files] == ["C:\\Logs\\N1_cluster.log", "C:\\Logs\\N2_cluster.log"]
    with shared.session() as state:
        assert all(shared.resolve_path(state, "N2", f["FullName"]).is_file() for f in files)


def test_the_cluster_log_of_other_nodes_needs_the_second_hop(shared: Lab) -> None:
    """ "This cmdlet cannot be run remotely without ... CredSSP" (Get-ClusterLog page): it reaches
    every node it logs; the local node's own log alone needs no hop."""
    refused = change(shared, "N1", ("Get-ClusterLog", {}))
    assert refused["failed"] and refused["msg"].endswith(
        "You do not have administrative privileges on the server 'N2'."
    )
    local = change(shared, "N1", ("Get-ClusterLog", {"Node": ["N1"]}))
    assert "failed" not in local, local
    assert [f["FullName"] for f in local["results"][0]["output"]] == [
        "C:\\Windows\\Cluster\\Reports\\Cluster.log"
    ]


def test_the_cluster_log_is_a_change_so_it_never_runs_in_a_read_pipeline(shared: Lab) -> None:
    refused = run(shared, "N1", pipeline("read", ("Get-ClusterLog", {"Node": ["N1"]})))
    assert refused["failed"] and "changes: false" in refused["msg"], refused
