"""pbxops.wsfc.node_info: the facts made of one read, and the cluster read only on members."""

from __future__ import annotations

from typing import Any

from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.node_info import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.node_facts import (
    node_facts,
    read_cluster,
    read_node,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed
from fake_windows import FakeWindows
from manifest_check import assert_calls_bind


def outputs(joined: bool = True, clussvc: str | None = None) -> dict[str, list[Any]]:
    return {
        "os": [
            {
                "Caption": "Microsoft Windows Server 2022 Datacenter",
                "Version": "10.0.20348",
                "BuildNumber": "20348",
                "OSArchitecture": "64-bit",
                "OperatingSystemSKU": 8,
                "ProductType": 3,
            }
        ],
        "computer": [
            {
                "Name": "PBX-N1",
                "Domain": "pbx.lab" if joined else "WORKGROUP",
                "PartOfDomain": joined,
                "DomainRole": 3 if joined else 2,
                "Workgroup": None if joined else "WORKGROUP",
            }
        ],
        "adapters": [
            {
                "Name": "Public",
                "InterfaceDescription": "Hyper-V",
                "InterfaceIndex": 4,
                "Status": "Up",
                "MacAddress": "00-15-5D-01-01-01",
            },
            {
                "Name": "Cluster",
                "InterfaceDescription": "Hyper-V #2",
                "InterfaceIndex": 7,
                "Status": "Disconnected",
                "MacAddress": "00-15-5D-01-02-01",
            },
        ],
        "addresses": [
            {
                "InterfaceIndex": 4,
                "IPAddress": "fe80::1%4",
                "PrefixLength": 64,
                "AddressFamily": "IPv6",
                "PrefixOrigin": "WellKnown",
            },
            {
                "InterfaceIndex": 4,
                "IPAddress": "10.0.1.11",
                "PrefixLength": 24,
                "AddressFamily": "IPv4",
                "PrefixOrigin": "Manual",
            },
            {
                "InterfaceIndex": 7,
                "IPAddress": "10.0.2.11",
                "PrefixLength": 24,
                "AddressFamily": "IPv4",
                "PrefixOrigin": "Manual",
            },
            {
                "InterfaceIndex": 1,
                "IPAddress": "127.0.0.1",
                "PrefixLength": 8,
                "AddressFamily": "IPv4",
                "PrefixOrigin": "WellKnown",
            },
        ],
        "ip configuration": [
            {
                "InterfaceIndex": 4,
                "IPv4DefaultGateway": [{"NextHop": "10.0.1.1"}],
                "DNSServer": [{"ServerAddresses": ["10.0.1.10", "10.0.1.9"]}],
            },
            {"InterfaceIndex": 7, "IPv4DefaultGateway": None, "DNSServer": []},
        ],
        "disks": [
            {
                "Number": 1,
                "UniqueId": "AB01",
                "FriendlyName": "MSFT Virtual HD",
                "SerialNumber": "4AC9",
                "BusType": "iSCSI",
                "Size": 2**30,
                "PartitionStyle": "RAW",
                "IsOffline": True,
                "IsReadOnly": True,
                "IsClustered": False,
                "IsBoot": False,
                "IsSystem": False,
                "NumberOfPartitions": 0,
            }
        ],
        "features": [
            {"Name": "Failover-Clustering", "InstallState": "Available"},
            {"Name": "FileAndStorage-Services", "InstallState": "Installed"},
            {"Name": "Storage-Services", "InstallState": "Installed"},
        ],
        "cluster service": [] if clussvc is None else [{"State": clussvc, "StartMode": "Auto"}],
    }


def test_the_read_is_one_round_trip_of_pipelines_windows_documents() -> None:
    assert not any(p.changes for p in read_node())
    assert_calls_bind(read_node())


def test_the_facts_of_a_domain_member_outside_a_cluster() -> None:
    facts = node_facts(Observed(outputs=outputs()))
    assert facts["hostname"] == "PBX-N1"
    assert facts["os"] == {
        "caption": "Microsoft Windows Server 2022 Datacenter",
        "version": "10.0.20348",
        "build": "20348",
        "edition": "ServerDatacenter",
        "sku": 8,
        "install_type": "Server",
        "architecture": "64-bit",
        "product_type": 3,
    }
    assert facts["domain"] == {"joined": True, "name": "pbx.lab", "workgroup": None, "role": 3}
    public, private = facts["nics"]
    assert public["ipv4"] == ["10.0.1.11/24"]
    assert public["addresses"][0] == {
        "address": "fe80::1",
        "prefix_length": 64,
        "family": "IPv6",
        "origin": "WellKnown",
    }
    assert public["gateways"] == ["10.0.1.1"] and public["dns_servers"] == ["10.0.1.10", "10.0.1.9"]
    assert private["status"] == "Disconnected" and private["gateways"] == [] and private["dns_servers"] == []
    assert facts["disks"] == [
        {
            "number": 1,
            "unique_id": "AB01",
            "friendly_name": "MSFT Virtual HD",
            "serial_number": "4AC9",
            "bus_type": "iSCSI",
            "size": 2**30,
            "partition_style": "RAW",
            "partitions": 0,
            "offline": True,
            "read_only": True,
            "clustered": False,
            "boot": False,
            "system": False,
        }
    ]
    assert facts["features"] == {
        "installed": ["FileAndStorage-Services", "Storage-Services"],
        "failover_clustering": "Available",
    }
    assert facts["cluster"] == {"service": None, "name": None, "node_state": None, "drain_status": None}


def test_a_workgroup_machine_reports_its_workgroup_not_a_domain() -> None:
    domain = node_facts(Observed(outputs=outputs(joined=False)))["domain"]
    assert domain == {"joined": False, "name": None, "workgroup": "WORKGROUP", "role": 2}


def test_a_server_core_sku_is_reported_as_server_core() -> None:
    data = outputs()
    data["os"][0]["OperatingSystemSKU"] = 13
    assert node_facts(Observed(outputs=data))["os"]["install_type"] == "Server Core"


def test_the_cluster_is_read_only_where_the_cluster_service_runs() -> None:
    assert read_cluster(Observed(outputs=outputs())) == []
    assert read_cluster(Observed(outputs=outputs(clussvc="Stopped"))) == []
    pipelines = read_cluster(Observed(outputs=outputs(clussvc="Running")))
    assert [p.name for p in pipelines] == ["cluster", "cluster node"]
    assert pipelines[1].steps[0].parameters["Name"] == ("PBX-N1",)
    assert_calls_bind(pipelines)


def handlers(data: dict[str, list[Any]]) -> dict[str, Any]:
    by_class = {
        "Win32_OperatingSystem": "os",
        "Win32_ComputerSystem": "computer",
        "Win32_Service": "cluster service",
    }
    single = {
        "Get-NetAdapter": "adapters",
        "Get-NetIPAddress": "addresses",
        "Get-NetIPConfiguration": "ip configuration",
        "Get-Disk": "disks",
        "Get-WindowsFeature": "features",
        "Get-Cluster": "cluster",
        "Get-ClusterNode": "cluster node",
    }

    def answer(key: str) -> Any:
        return lambda _parameters, _input: data[key]

    found = {cmdlet: answer(key) for cmdlet, key in single.items()}
    found["Get-CimInstance"] = lambda parameters, _input: data[by_class[parameters["ClassName"]]]
    return found


def test_a_node_outside_a_cluster_costs_one_round_trip_and_changes_nothing() -> None:
    fake = FakeWindows(handlers(outputs()))
    result = make_action(ActionModule, {}, fake).run(task_vars={})
    assert result["changed"] is False and result["round_trips"] == 1
    assert result["state"]["hostname"] == "PBX-N1"


def test_a_cluster_member_is_read_in_two_round_trips() -> None:
    data = {
        **outputs(clussvc="Running"),
        "cluster": [{"Name": "PBX-CL", "Domain": "pbx.lab"}],
        "cluster node": [{"Name": "PBX-N1", "State": "Up", "DrainStatus": "NotInitiated"}],
    }
    result = make_action(ActionModule, {}, FakeWindows(handlers(data)), check_mode=True).run(task_vars={})
    assert result["round_trips"] == 2
    assert result["state"]["cluster"] == {
        "service": "Running",
        "name": "PBX-CL",
        "node_state": "Up",
        "drain_status": "NotInitiated",
    }
