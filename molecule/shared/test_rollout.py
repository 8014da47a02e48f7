"""testinfra checks of a rolled-out site, through Ansible's backend and the inventory's connection.

Every node has the PBX service registered the same way (Manual); each cluster has its nodes Up,
the PBX role online on one of them with its address, disk and service, and a disk witness.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

SERVICE = {
    "pipelines": [
        {
            "name": "service",
            "select": ["Name", "StartMode", "PathName"],
            "steps": [
                {
                    "cmdlet": "Get-CimInstance",
                    "parameters": {"ClassName": "Win32_Service", "Filter": "Name = 'pbxd'"},
                }
            ],
        }
    ]
}


def run(host: Any, module: str, args: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = host.ansible(module, json.dumps(args), check=False)
    assert not result.get("failed"), result.get("msg")
    return result


def test_the_pbx_service_is_registered_with_a_manual_start(host: Any) -> None:
    found = run(host, "pbxops.wsfc.cmdlet_pipelines", SERVICE)["results"][0]["output"]
    assert len(found) == 1, f"{host.backend.host}: no pbxd service"
    assert found[0]["StartMode"] == "Manual"
    assert (
        found[0]["PathName"]
        == '"D:\\PBX\\python\\python.exe" -m pbxd service run --config "D:\\PBX\\pbx.toml"'
    )


@pytest.fixture
def cluster(host: Any) -> dict[str, Any]:
    state: dict[str, Any] = run(host, "pbxops.wsfc.cluster_info", {"events": 0})["state"]
    return state


def test_the_cluster_has_every_node_up_and_a_disk_witness(cluster: dict[str, Any]) -> None:
    assert cluster["exists"]
    assert [n["state"] for n in cluster["nodes"]] == ["Up", "Up"]
    witness = next(r for r in cluster["resources"] if r["name"] == cluster["quorum"]["witness"])
    assert witness["resource_type"] == "Physical Disk" and witness["state"] == "Online"


def test_the_pbx_role_is_online_with_its_address_disk_and_service(host: Any, cluster: dict[str, Any]) -> None:
    variables = host.ansible.get_variables()
    role = next(g for g in cluster["groups"] if g["name"] == variables["pbx_role_name"])
    assert role["state"] == "Online"
    assert role["owner_node"] in [n["name"] for n in cluster["nodes"]]
    kinds = {r["resource_type"]: r for r in cluster["resources"] if r["owner_group"] == role["name"]}
    assert set(kinds) >= {"Generic Service", "IP Address", "Network Name", "Physical Disk"}
    assert all(r["state"] == "Online" for r in kinds.values())
    address = kinds["IP Address"]["parameters"].get("Address")
    assert address == variables["pbx_role_ip"]
