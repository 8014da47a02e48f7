"""New-Cluster, Get-Cluster and Remove-Cluster through the executor path: what they build, which
arguments Windows refuses before anything is created, and the double hop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_worlds import DEPLOY, delegated, new_cluster, prepare_disks, stop, wait_for, world
from wsfclab.cmdlets.cluster import hop
from wsfclab.lab import Lab
from wsfclab.testing import change, output, pipeline, run

NEW_CLUSTER_ID = "New-Cluster,Microsoft.FailoverClusters.PowerShell.NewClusterCommand"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    built = world(tmp_path)
    yield built
    stop(built)


def _no_cluster(lab: Lab) -> None:
    result = run(lab, "N1", pipeline("c", ("Get-Cluster", {})))
    assert (
        result["error_id"]
        == "ClusterEndpointNotRegistered,Microsoft.FailoverClusters.PowerShell.GetClusterCommand"
    )
    with lab.session() as state:
        assert state.cluster is None
        assert not any(d.is_clustered for d in state.disks.values())


def test_new_cluster_builds_the_core_group_networks_storage_and_witness(lab: Lab) -> None:
    prepare_disks(lab)
    result = new_cluster(lab)
    (cluster,) = result["results"][0]["output"]
    assert (cluster["Name"], cluster["Domain"]) == ("PBXCL", "pbx.lab")
    assert (cluster["SameSubnetDelay"], cluster["SameSubnetThreshold"]) == (1000, 10)
    assert result["results"][0]["warnings"] == []
    groups = {g["Name"]: g for g in output(lab, "N1", "Get-ClusterGroup")}
    assert set(groups) == {"Cluster Group", "Available Storage"}
    assert groups["Cluster Group"]["GroupType"] == "Cluster"
    resources = {r["Name"]: r for r in output(lab, "N1", "Get-ClusterResource")}
    assert resources["Cluster IP Address"]["ResourceType"] == "IP Address"
    assert resources["Cluster Name"]["ResourceType"] == "Network Name"
    assert {r["OwnerGroup"] for r in resources.values() if r["ResourceType"] == "Physical Disk"} == {
        "Cluster Group",
        "Available Storage",
    }
    networks = {n["Address"]: n for n in output(lab, "N1", "Get-ClusterNetwork")}
    assert networks["127.0.1.0"]["Role"] == "ClusterAndClient"  # the Public NICs have a gateway
    assert networks["127.0.2.0"]["Role"] == "Cluster"  # no gateway: cluster-only
    (quorum,) = output(lab, "N1", "Get-ClusterQuorum")
    assert quorum["QuorumResource"]["ResourceType"] == "Physical Disk"
    with lab.session() as state:
        witness = state.cluster.resources[quorum["QuorumResource"]["Name"]] if state.cluster else None
        assert witness is not None and state.disks[str(witness.private["DiskPath"])].size == 1024**3
        reports = lab.resolve_path(state, "N1", "C:\\Windows\\Cluster\\Reports")
        assert any(p.name.startswith("Create Cluster Wizard PBXCL on ") for p in reports.iterdir())


def test_no_storage_leaves_the_disks_and_warns_of_the_missing_witness(lab: Lab) -> None:
    prepare_disks(lab)
    result = new_cluster(lab, NoStorage=True)
    warnings = result["results"][0]["warnings"]
    assert warnings[0].startswith("There were issues while creating the clustered role")
    assert warnings[1].startswith(
        "Report file location: C:\\Windows\\Cluster\\Reports\\Create Cluster Wizard PBXCL"
    )
    assert not [r for r in output(lab, "N1", "Get-ClusterResource") if r["ResourceType"] == "Physical Disk"]
    with lab.session() as state:
        report = lab.resolve_path(state, "N1", warnings[1].removeprefix("Report file location: "))
        assert "An appropriate disk was not found for configuring a disk witness" in report.read_text()


def test_a_distinguished_name_gives_the_cluster_its_common_name(lab: Lab) -> None:
    result = new_cluster(lab, Name="CN=PBXCL,OU=Clusters,DC=pbx,DC=lab", NoStorage=True)
    assert result["results"][0]["output"][0]["Name"] == "PBXCL"


@pytest.mark.parametrize(
    "name",
    ["PBXCLUSTER-PRIMARY", "12345", "PBX_CL", "-PBXCL", "CN=,OU=Clusters"],
    ids=["over-15-characters", "all-digits", "underscore", "leading-hyphen", "empty-cn"],
)
def test_a_name_that_is_not_a_computer_name_is_refused(lab: Lab, name: str) -> None:
    result = new_cluster(lab, Name=name)
    assert result["failed"]
    assert "The format of the specified computer name is invalid." in result["msg"]
    assert result["error_id"] == "InvalidComputerName,Microsoft.FailoverClusters.PowerShell.NewClusterCommand"
    _no_cluster(lab)


def test_a_client_network_without_an_address_must_be_named(lab: Lab) -> None:
    result = new_cluster(lab, StaticAddress=None)
    assert result["failed"]
    assert result["msg"].endswith(
        "Static network '127.0.1.0/24' was not configured. Please use -StaticAddress to use this network "
        "or -IgnoreNetwork to ignore it."
    )
    assert result["error_id"] == NEW_CLUSTER_ID
    _no_cluster(lab)


@pytest.mark.parametrize(
    "address",
    ["127.0.2.20", "127.0.9.20", "127.0.1.0"],
    ids=["cluster-only-network", "outside-every-network", "network-address"],
)
def test_an_address_outside_every_client_network_is_refused(lab: Lab, address: str) -> None:
    result = new_cluster(lab, StaticAddress=[address])
    assert result["failed"]
    assert result["msg"].endswith(f"Static address '{address}' was not found on any cluster network.")
    assert result["error_id"] == NEW_CLUSTER_ID
    _no_cluster(lab)


def test_an_address_a_node_already_uses_is_refused(lab: Lab) -> None:
    result = new_cluster(lab, StaticAddress=["127.0.1.11"])
    assert result["failed"] and "already used by a network adapter" in result["msg"]
    _no_cluster(lab)


def test_ignore_network_must_name_one_of_the_subnets(lab: Lab) -> None:
    result = new_cluster(lab, IgnoreNetwork=["127.0.7.0/24"])
    assert result["failed"] and "'127.0.7.0/24' is not a network of these nodes" in result["msg"]
    _no_cluster(lab)


def test_a_second_client_network_needs_its_own_address_or_ignore_network(tmp_path: Path) -> None:
    def routed_cluster_network(data: dict[str, Any]) -> None:
        for node in data["nodes"]:
            node["nics"][1]["gateway"] = "127.0.2.1"

    lab = world(tmp_path, routed_cluster_network)
    try:
        refused = new_cluster(lab, NoStorage=True)
        assert refused["failed"] and "Static network '127.0.2.0/24' was not configured" in refused["msg"]
        created = new_cluster(lab, NoStorage=True, IgnoreNetwork=["127.0.2.0/24"])
        assert "failed" not in created, created
        roles = {n["Address"]: n["Role"] for n in output(lab, "N1", "Get-ClusterNetwork")}
        assert roles == {"127.0.1.0": "ClusterAndClient", "127.0.2.0": "ClusterAndClient"}
    finally:
        stop(lab)


def test_an_unknown_node_is_refused(lab: Lab) -> None:
    result = new_cluster(lab, Node=["N1", "N7"])
    assert result["failed"] and "the computer 'N7' could not be reached" in result["msg"]
    _no_cluster(lab)


def test_a_node_outside_the_domain_needs_a_dns_access_point(tmp_path: Path) -> None:
    def workgroup(data: dict[str, Any]) -> None:
        data["nodes"][1]["domain_member"] = False

    lab = world(tmp_path, workgroup)
    result = new_cluster(lab, AdministrativeAccessPoint="ActiveDirectoryAndDns")
    assert result["failed"] and "The computer 'N2' is not joined to a domain" in result["msg"]
    _no_cluster(lab)


def test_a_second_new_cluster_is_refused(lab: Lab) -> None:
    assert "failed" not in new_cluster(lab, NoStorage=True)
    again = new_cluster(lab, Name="OTHERCL", NoStorage=True, StaticAddress=["127.0.1.21"])
    assert again["failed"] and again["msg"].endswith("The computer 'N1' is joined to a cluster.")
    assert again["error_id"] == NEW_CLUSTER_ID
    assert output(lab, "N1", "Get-Cluster")[0]["Name"] == "PBXCL"


# -- the double hop and the computer object ------------------------------------------------------


def _new_cluster_as(lab: Lab, logon: hop.Logon | None, **parameters: Any) -> dict[str, Any]:
    given = {
        "Name": "PBXCL",
        "Node": ["N1", "N2"],
        "StaticAddress": ["127.0.1.20"],
        "NoStorage": True,
        **parameters,
    }
    if logon is None:
        return change(lab, "N1", ("New-Cluster", given))
    with delegated(logon):
        return change(lab, "N1", ("New-Cluster", given))


@pytest.mark.parametrize(
    "logon",
    [
        None,
        hop.Logon(user="PBXLAB\\deploy", domain_account=True, become=True, become_password=False),
        hop.Logon(user="Administrator", become=True, become_password=True),
        hop.Logon(user="SYSTEM", become=True),
        hop.Logon(
            user="PBXLAB\\deploy",
            domain_account=True,
            become=True,
            become_password=True,
            become_logon_type="network",
        ),
    ],
    ids=["winrm-logon", "become-without-password", "local-account", "system", "network-logon-type"],
)
def test_credentials_that_cannot_travel_are_access_denied_at_the_other_node(
    lab: Lab, logon: hop.Logon | None
) -> None:
    result = _new_cluster_as(lab, logon)
    assert result["failed"]
    assert result["msg"].endswith("You do not have administrative privileges on the server 'N2'.")
    assert result["error_id"] == NEW_CLUSTER_ID and result["error_category"] == "PermissionDenied"
    _no_cluster(lab)


@pytest.mark.parametrize(
    "logon",
    [DEPLOY, hop.Logon(user="deploy@pbx.lab", domain_account=True, credssp=True)],
    ids=["become", "credssp"],
)
def test_credentials_that_travel_create_the_cluster(lab: Lab, logon: hop.Logon) -> None:
    result = _new_cluster_as(lab, logon)
    assert "failed" not in result, result


def test_a_one_node_cluster_still_reaches_active_directory(lab: Lab) -> None:
    refused = _new_cluster_as(lab, None, Node=["N1"])
    assert refused["failed"] and "Unable to create the computer object 'PBXCL'" in refused["msg"]
    assert "Access is denied" in refused["msg"]
    _no_cluster(lab)
    dns_only = _new_cluster_as(lab, None, Node=["N1"], AdministrativeAccessPoint="Dns")
    assert "failed" not in dns_only, dns_only


def test_without_the_right_to_create_computer_objects_the_cno_is_refused(tmp_path: Path) -> None:
    def no_rights(data: dict[str, Any]) -> None:
        data["active_directory"]["may_create_computer_objects"] = False

    lab = world(tmp_path, no_rights)
    result = _new_cluster_as(lab, DEPLOY, Name="CN=PBXCL,OU=Clusters,DC=pbx,DC=lab")
    assert result["failed"] and result["error_category"] == "PermissionDenied"
    assert "in the container 'OU=Clusters,DC=pbx,DC=lab'" in result["msg"]
    _no_cluster(lab)


# -- Get-Cluster and Remove-Cluster ---------------------------------------------------------------


def test_get_cluster_by_name_and_from_a_node_outside_the_cluster(lab: Lab) -> None:
    assert "failed" not in _new_cluster_as(lab, DEPLOY, Node=["N1"])
    wait_for(lab, lambda s: s.cluster is not None and s.cluster.nodes["N1"].state == "Up")
    assert output(lab, "N1", "Get-Cluster", {"Name": "pbxcl.pbx.lab"})[0]["Name"] == "PBXCL"
    assert output(lab, "N1", "Get-Cluster", {"Name": "PBXCL", "Domain": "other.lab"}) == []
    unknown = run(lab, "N1", pipeline("c", ("Get-Cluster", {"Name": "NOSUCH"})))
    assert (
        unknown["error_id"] == "ClusterRpcConnection,Microsoft.FailoverClusters.PowerShell.GetClusterCommand"
    )
    local = run(lab, "N2", pipeline("c", ("Get-Cluster", {})))
    assert "The cluster service is not running." in local["msg"]
    remote = run(lab, "N2", pipeline("c", ("Get-Cluster", {"Name": "PBXCL"})))
    assert remote["msg"].endswith("You do not have administrative privileges on the server 'PBXCL'.")
    with delegated():
        assert output(lab, "N2", "Get-Cluster", {"Name": "PBXCL"})[0]["Name"] == "PBXCL"


def test_remove_cluster_releases_the_disks(lab: Lab) -> None:
    prepare_disks(lab)
    assert "failed" not in new_cluster(lab)
    with delegated():
        removed = change(lab, "N1", ("Remove-Cluster", {"Force": True}))
    assert "failed" not in removed, removed
    _no_cluster(lab)
