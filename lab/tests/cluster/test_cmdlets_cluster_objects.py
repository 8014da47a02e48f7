"""Reading a running cluster through the executor path: nodes, networks, interfaces, quorum, owners,
parameters, dependencies; the unknown names Windows refuses; and property assignment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_worlds import clustered, delegated, disk_resource, stop
from wsfclab.cmdlets.base import REGISTRY
from wsfclab.cmdlets.cluster import render
from wsfclab.lab import Lab
from wsfclab.manifest import load_manifest
from wsfclab.testing import change, output, pipeline, run

FC = "Microsoft.FailoverClusters.PowerShell"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    built = clustered(Path(tmp_path_factory.mktemp("objects")))
    yield built
    stop(built)


def _assign(cmdlet: str, parameters: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "assign",
        "changes": True,
        "steps": [{"cmdlet": cmdlet, "parameters": parameters}, {"set_properties": values}],
    }


def test_nodes_have_windows_names_ids_and_states(lab: Lab) -> None:
    nodes = output(lab, "N1", "Get-ClusterNode")
    assert [(n["Name"], n["Id"], n["State"]) for n in nodes] == [("N1", "1", "Up"), ("N2", "2", "Up")]
    assert {n["DrainStatus"] for n in nodes} == {"NotInitiated"}
    assert [n["Name"] for n in output(lab, "N1", "Get-ClusterNode", {"Name": "n*"})] == ["N1", "N2"]


@pytest.mark.parametrize(
    ("cmdlet", "parameters", "reason", "text"),
    [
        ("Get-ClusterNode", {"Name": "N9"}, "ClusterNodeNotFound", "The cluster node was not found."),
        (
            "Get-ClusterGroup",
            {"Name": "PBX"},
            "ClusterGroupNotFound",
            "The cluster group could not be found.",
        ),
        (
            "Get-ClusterResource",
            {"Name": "Nope"},
            "ClusterResourceNotFound",
            "The cluster resource could not be found.",
        ),
        (
            "Get-ClusterNetwork",
            {"Name": "Cluster Network 9"},
            "ClusterNetworkNotFound",
            "The cluster network was not found.",
        ),
        (
            "Get-ClusterOwnerNode",
            {"Group": "PBX"},
            "ClusterGroupNotFound",
            "The cluster group could not be found.",
        ),
        (
            "Get-ClusterNetworkInterface",
            {"Name": "N1 - Nope"},
            "ClusterNetworkInterfaceNotFound",
            "The cluster network interface was not found.",
        ),
        (
            "Get-ClusterResourceDependency",
            {"Resource": "Nope"},
            "ClusterResourceNotFound",
            "could not be found.",
        ),
    ],
)
def test_an_unknown_name_is_windows_not_found_error(
    lab: Lab, cmdlet: str, parameters: dict[str, Any], reason: str, text: str
) -> None:
    result = run(lab, "N1", pipeline("read", (cmdlet, parameters)))
    assert result["failed"] and text in result["msg"]
    assert result["error_id"] == f"{reason},{FC}.{cmdlet.replace('-', '')}Command"
    assert result["error_category"] == "ObjectNotFound"


def test_networks_and_their_interfaces(lab: Lab) -> None:
    networks = output(lab, "N1", "Get-ClusterNetwork")
    assert [(n["Name"], n["Address"], n["AddressMask"], n["Role"], n["State"]) for n in networks] == [
        ("Cluster Network 1", "127.0.1.0", "255.255.255.0", "ClusterAndClient", "Up"),
        ("Cluster Network 2", "127.0.2.0", "255.255.255.0", "Cluster", "Up"),
    ]
    on_n1 = output(lab, "N1", "Get-ClusterNetworkInterface", {"Node": "N1"})
    assert sorted((i["Name"], i["Network"], i["Address"]) for i in on_n1) == [
        ("N1 - Cluster", "Cluster Network 2", "127.0.2.11"),
        ("N1 - Public", "Cluster Network 1", "127.0.1.11"),
    ]
    result = run(
        lab,
        "N1",
        pipeline(
            "piped",
            ("Get-ClusterNetwork", {"Name": "Cluster Network 1"}),
            ("Get-ClusterNetworkInterface", {}),
        ),
    )
    assert sorted(i["Node"] for i in result["results"][0]["output"]) == ["N1", "N2"]


def test_the_quorum_has_the_small_disk_as_witness(lab: Lab) -> None:
    (quorum,) = output(lab, "N1", "Get-ClusterQuorum")
    assert quorum["QuorumType"] == "Majority"
    assert quorum["QuorumResource"]["Name"] == disk_resource(lab, "witness")
    assert output(lab, "N1", "Get-ClusterAvailableDisk") == []


def test_owner_lists_parameters_and_dependencies_of_the_core_resources(lab: Lab) -> None:
    (preferred,) = output(lab, "N1", "Get-ClusterOwnerNode", {"Group": "Cluster Group"})
    assert preferred["ClusterObject"] == "Cluster Group" and preferred["OwnerNodes"] == []
    (possible,) = output(lab, "N1", "Get-ClusterOwnerNode", {"Resource": "Cluster Name"})
    assert [n["Name"] for n in possible["OwnerNodes"]] == ["N1", "N2"]
    result = run(
        lab,
        "N1",
        pipeline(
            "params",
            ("Get-ClusterResource", {"Name": "Cluster IP Address"}),
            ("Get-ClusterParameter", {}),
        ),
    )
    values = {p["Name"]: p["Value"] for p in result["results"][0]["output"]}
    assert (values["Address"], values["SubnetMask"], values["Network"]) == (
        "127.0.1.20",
        "255.255.255.0",
        "Cluster Network 1",
    )
    (dependency,) = output(lab, "N1", "Get-ClusterResourceDependency", {"Resource": "Cluster Name"})
    assert dependency == {"Resource": "Cluster Name", "DependencyExpression": "[Cluster IP Address]"}


def test_common_properties_are_set_by_assignment_within_windows_ranges(lab: Lab) -> None:
    done = run(lab, "N1", _assign("Get-Cluster", {}, {"SameSubnetThreshold": 20, "CrossSubnetDelay": 2000}))
    assert "failed" not in done, done
    (cluster,) = done["results"][0]["output"]
    assert (cluster["SameSubnetThreshold"], cluster["CrossSubnetDelay"]) == (20, 2000)
    assert output(lab, "N2", "Get-Cluster")[0]["SameSubnetThreshold"] == 20
    too_low = run(lab, "N1", _assign("Get-Cluster", {}, {"SameSubnetDelay": 100}))
    assert too_low["error_id"] == "ExceptionWhenSetting" and too_low["cmdlet"] == "set_properties"
    assert too_low["msg"].endswith('"') and 'Exception setting "SameSubnetDelay"' in too_low["msg"]
    assert output(lab, "N1", "Get-Cluster")[0]["SameSubnetDelay"] == 1000
    read_only = run(lab, "N1", _assign("Get-Cluster", {}, {"Name": "OTHER"}))
    assert read_only["error_id"] == "PropertyAssignmentException"


def test_group_resource_and_network_properties_are_set_by_assignment(lab: Lab) -> None:
    done = run(lab, "N1", _assign("Get-ClusterGroup", {"Name": "Cluster Group"}, {"FailoverThreshold": 3}))
    assert done["results"][0]["output"][0]["FailoverThreshold"] == 3
    done = run(lab, "N1", _assign("Get-ClusterResource", {"Name": "Cluster Name"}, {"RestartThreshold": 2}))
    assert done["results"][0]["output"][0]["RestartThreshold"] == 2
    done = run(lab, "N1", _assign("Get-ClusterNetwork", {"Name": "Cluster Network 2"}, {"Role": 0}))
    assert done["results"][0]["output"][0]["Role"] == "None"
    client = run(lab, "N1", _assign("Get-ClusterNetwork", {"Name": "Cluster Network 2"}, {"Role": 2}))
    assert client["error_id"] == "ExceptionWhenSetting"
    restored = run(lab, "N1", _assign("Get-ClusterNetwork", {"Name": "Cluster Network 2"}, {"Role": 1}))
    assert restored["results"][0]["output"][0]["Role"] == "Cluster"


def test_quorum_refuses_a_share_on_a_node_and_an_unknown_disk(lab: Lab) -> None:
    on_node = change(lab, "N1", ("Set-ClusterQuorum", {"FileShareWitness": "\\\\N2\\witness"}))
    assert on_node["failed"] and "hosted on cluster node N2" in on_node["msg"]
    unknown = change(lab, "N1", ("Set-ClusterQuorum", {"DiskWitness": "Cluster Disk 9"}))
    assert unknown["failed"] and "The cluster resource could not be found." in unknown["msg"]
    assert output(lab, "N1", "Get-ClusterQuorum")[0]["QuorumResource"]["Name"] == disk_resource(
        lab, "witness"
    )


def test_a_node_outside_the_cluster_has_no_cluster_service(tmp_path: Path) -> None:
    def third(data: dict[str, Any]) -> None:
        extra = {**data["nodes"][1], "name": "N3"}
        extra["nics"] = [
            {**extra["nics"][0], "mac": "00-15-5D-09-01-03", "addresses": ["127.0.1.13/24"]},
            {**extra["nics"][1], "mac": "00-15-5D-09-02-03", "addresses": ["127.0.2.13/24"]},
        ]
        data["nodes"].append(extra)

    built = clustered(tmp_path, third, clustering=("N1", "N2", "N3"))
    try:
        result = run(built, "N3", pipeline("read", ("Get-ClusterNode", {})))
        assert result["failed"] and "The cluster service is not running." in result["msg"]
        with delegated():
            assert len(output(built, "N3", "Get-ClusterNode", {"Cluster": "PBXCL"})) == 2
    finally:
        stop(built)


def test_the_default_table_columns_are_properties_of_the_objects(lab: Lab) -> None:
    samples = {
        render.CLUSTER: output(lab, "N1", "Get-Cluster"),
        render.NODE: output(lab, "N1", "Get-ClusterNode"),
        render.GROUP: output(lab, "N1", "Get-ClusterGroup"),
        render.RESOURCE: output(lab, "N1", "Get-ClusterResource"),
        render.NETWORK: output(lab, "N1", "Get-ClusterNetwork"),
        render.INTERFACE: output(lab, "N1", "Get-ClusterNetworkInterface"),
        render.QUORUM: output(lab, "N1", "Get-ClusterQuorum"),
        render.OWNERS: output(lab, "N1", "Get-ClusterOwnerNode", {"Group": "Cluster Group"}),
        render.DEPENDENCY: output(lab, "N1", "Get-ClusterResourceDependency"),
    }
    for class_name, objects in samples.items():
        assert objects, class_name
        assert set(render.DEFAULT_COLUMNS[class_name]) <= set(objects[0]), class_name


def test_test_cluster_without_nodes_validates_the_local_cluster(lab: Lab) -> None:
    with delegated():
        result = change(lab, "N2", ("Test-Cluster", {"Include": ["Network"]}))
    (report,) = result["results"][0]["output"]
    with lab.session() as state:
        text = lab.resolve_path(state, "N2", report["FullName"]).read_text(encoding="utf-8")
    assert "Failover Cluster Validation Report for PBXCL" in text
    assert "n1.pbx.lab" in text and "n2.pbx.lab" in text


def test_every_documented_cluster_cmdlet_is_simulated() -> None:
    manifest = load_manifest()
    documented = {s.name for s in manifest.cmdlets.values() if s.module == "FailoverClusters"}
    assert documented and documented <= {d.name for d in REGISTRY.values()}
