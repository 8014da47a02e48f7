"""pbxops.wsfc.preflight: every rule failing alone, several at once, with the exact messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.preflight import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import PlanError
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.preflight_rules import (
    check_cluster,
    check_preflight_arguments,
    violations_message,
)
from fake_windows import FakeWindows

DATA = "591385B3D47EA28085FF3F682DDF389D"
WITNESS = "1831740105B33B11BA1ADC6D1BE0D666"


def node(name: str, last: int) -> dict[str, Any]:
    """The node_info facts of a node that passes every rule."""
    return {
        "hostname": name,
        "os": {
            "version": "10.0.20348",
            "build": "20348",
            "edition": "ServerDatacenter",
            "architecture": "64-bit",
        },
        "domain": {"joined": True, "name": "pbx.lab", "workgroup": None, "role": 3},
        "nics": [
            {"name": "Public", "status": "Up", "ipv4": [f"10.0.1.{last}/24"]},
            {"name": "Cluster", "status": "Up", "ipv4": [f"10.0.2.{last}/24"]},
        ],
        "disks": [
            {"unique_id": "SYS" + name, "number": 0, "size": 60 * 2**30, "boot": True, "system": True},
            {"unique_id": WITNESS, "number": 1, "size": 2**30, "boot": False, "system": False},
            {"unique_id": DATA, "number": 2, "size": 20 * 2**30, "boot": False, "system": False},
        ],
        "features": {"installed": [], "failover_clustering": "Available"},
    }


def settings(**overrides: Any) -> dict[str, Any]:
    base = {
        "nodes": [{"state": node("PBX-N1", 11)}, node("PBX-N2", 12)],
        "cluster_name": "PBX-CL",
        "cluster_ip": "10.0.1.20",
        "public_subnet": "10.0.1.0/24",
        "private_subnet": "10.0.2.0/24",
        "roles": [{"name": "PBX", "ips": ["10.0.1.21"]}],
        "shared_disks": [DATA],
        "witness_disk": WITNESS,
        "addresses_in_use": [],
    }
    return {**base, **overrides}


def with_node(position: int, change: Any) -> dict[str, Any]:
    """Settings whose node at ``position`` is changed by ``change(facts)``."""
    nodes = [copy.deepcopy(n.get("state", n)) for n in settings()["nodes"]]
    change(nodes[position])
    return settings(nodes=nodes)


def messages(args: dict[str, Any]) -> list[str]:
    check_preflight_arguments(args)
    return [v.message for v in check_cluster(args)]


def test_nodes_that_can_form_the_cluster_have_no_violation() -> None:
    assert messages(settings()) == []


NETBIOS = "a NetBIOS name: 1 to 15 letters, digits and hyphens, not only digits, no hyphen at either end"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            settings(cluster_name="PBX-CLUSTER-PRIMARY"),
            [f"cluster: cluster_name is 'PBX-CLUSTER-PRIMARY'; expected {NETBIOS}"],
        ),
        (settings(cluster_name="PBX.CL"), [f"cluster: cluster_name is 'PBX.CL'; expected {NETBIOS}"]),
        (
            settings(roles=[{"name": "12345", "ips": ["10.0.1.21"]}]),
            [f"cluster: roles[0].name is '12345'; expected {NETBIOS}"],
        ),
        (
            with_node(1, lambda n: n.update(hostname="-PBX-N2")),
            [f"-PBX-N2: hostname is '-PBX-N2'; expected {NETBIOS}"],
        ),
        (
            with_node(1, lambda n: n["os"].update(build="17763", version="10.0.17763")),
            [
                "PBX-N2: os.version is '10.0.17763'; expected '10.0.20348' as on PBX-N1",
                "PBX-N2: os.build is '17763'; expected '20348' as on PBX-N1",
            ],
        ),
        (
            with_node(1, lambda n: n["os"].update(edition="ServerStandard")),
            ["PBX-N2: os.edition is 'ServerStandard'; expected 'ServerDatacenter' as on PBX-N1"],
        ),
        (
            with_node(1, lambda n: n["os"].update(architecture="32-bit")),
            ["PBX-N2: os.architecture is '32-bit'; expected '64-bit' as on PBX-N1"],
        ),
        (
            with_node(
                1, lambda n: n.update(domain={"joined": False, "name": None, "workgroup": "WORKGROUP"})
            ),
            [
                "PBX-N2: domain.joined is false (workgroup 'WORKGROUP'); expected a member of the cluster's "
                "Active Directory domain"
            ],
        ),
        (
            with_node(1, lambda n: n["domain"].update(name="other.lab")),
            ["PBX-N2: domain.name is 'other.lab'; expected 'pbx.lab' as on PBX-N1"],
        ),
        (
            with_node(0, lambda n: n["nics"][1].update(status="Disconnected")),
            [
                "PBX-N1: nics is 1 connected (['Public']); expected at least two connected NICs, one public "
                "and one private",
                "PBX-N1: nics (private subnet 10.0.2.0/24) is 0 connected NICs []; expected exactly one "
                "connected NIC with an address in 10.0.2.0/24",
            ],
        ),
        (
            with_node(
                0, lambda n: n["nics"].append({"name": "Public 2", "status": "Up", "ipv4": ["10.0.1.31/24"]})
            ),
            [
                "PBX-N1: nics (public subnet 10.0.1.0/24) is 2 connected NICs ['Public', 'Public 2']; "
                "expected exactly one connected NIC with an address in 10.0.1.0/24",
            ],
        ),
        (
            settings(private_subnet="10.0.0.0/16"),
            [
                "cluster: private_subnet is 10.0.0.0/16; expected a subnet distinct from public_subnet "
                "10.0.1.0/24 and not overlapping it",
                "PBX-N1: nics (private subnet 10.0.0.0/16) is 2 connected NICs ['Public', 'Cluster']; "
                "expected exactly one connected NIC with an address in 10.0.0.0/16",
                "PBX-N2: nics (private subnet 10.0.0.0/16) is 2 connected NICs ['Public', 'Cluster']; "
                "expected exactly one connected NIC with an address in 10.0.0.0/16",
            ],
        ),
        (
            settings(cluster_ip="10.0.9.20"),
            ["cluster: cluster_ip is 10.0.9.20; expected an address inside the public subnet 10.0.1.0/24"],
        ),
        (
            settings(cluster_ip="10.0.1.0"),
            [
                "cluster: cluster_ip is 10.0.1.0 (the network address of 10.0.1.0/24); expected a host "
                "address of 10.0.1.0/24"
            ],
        ),
        (
            settings(roles=[{"name": "PBX", "ips": ["10.0.1.255"]}]),
            [
                "cluster: roles[0].ips is 10.0.1.255 (the broadcast address of 10.0.1.0/24); expected a "
                "host address of 10.0.1.0/24"
            ],
        ),
        (
            settings(cluster_ip="10.0.1.12"),
            ["cluster: cluster_ip is 10.0.1.12 (an address of PBX-N2); expected an address no node uses"],
        ),
        (
            settings(addresses_in_use=["10.0.1.21"]),
            [
                "cluster: roles[0].ips is 10.0.1.21 (listed in addresses_in_use); expected an address not "
                "in use"
            ],
        ),
        (
            settings(roles=[{"name": "PBX", "ips": ["10.0.1.20"]}]),
            ["cluster: roles[0].ips is 10.0.1.20 (also cluster_ip); expected an address of its own"],
        ),
        (
            with_node(1, lambda n: n["disks"].pop(2)),
            [
                f"PBX-N2: disks[{DATA}] is not listed by Get-Disk (not connected, not masked to this node, "
                f"or a "
                "dynamic disk); expected the shared disk, visible with the same unique id on every node, "
                "basic (not dynamic)"
            ],
        ),
        (
            settings(shared_disks=["SYSPBX-N1"]),
            [
                "PBX-N1: disks[SYSPBX-N1] is the boot or system disk (number 0); expected a shared data disk",
                "PBX-N2: disks[SYSPBX-N1] is not listed by Get-Disk (not connected, not masked to this "
                "node, or a "
                "dynamic disk); expected the shared disk, visible with the same unique id on every node, "
                "basic (not dynamic)",
            ],
        ),
        (
            with_node(0, lambda n: n["disks"][1].update(size=256 * 2**20)),
            [f"cluster: witness_disk is {WITNESS} of 256 MB; expected a witness disk of at least 512 MB"],
        ),
        (
            with_node(1, lambda n: n["features"].update(failover_clustering="Removed")),
            [
                "PBX-N2: features.failover_clustering is 'Removed'; expected Installed or Available "
                "(Removed needs "
                "the installation source restored first)"
            ],
        ),
    ],
)
def test_each_rule_alone(args: dict[str, Any], expected: list[str]) -> None:
    assert messages(args) == expected


def test_several_violations_are_reported_at_once_in_rule_order() -> None:
    args = with_node(
        1, lambda n: (n["os"].update(build="17763"), n["features"].update(failover_clustering=None))
    )
    args.update(cluster_name="PBX_CL", cluster_ip="10.0.9.1")
    assert messages(args) == [
        f"cluster: cluster_name is 'PBX_CL'; expected {NETBIOS}",
        "PBX-N2: os.build is '17763'; expected '20348' as on PBX-N1",
        "cluster: cluster_ip is 10.0.9.1; expected an address inside the public subnet 10.0.1.0/24",
        "PBX-N2: features.failover_clustering is None; expected Installed or Available (Removed needs the "
        "installation source restored first)",
    ]
    violations = check_cluster(args)
    assert violations_message(violations).splitlines()[0] == (
        "preflight found 4 violations; fix them all, then run it again:"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (settings(nodes=[]), "nodes: the list is empty"),
        (settings(nodes=[{"hostname": "X"}]), "nodes[0]: os, domain, nics, disks, features missing"),
        (settings(public_subnet="10.0.1.5/24"), "public_subnet: '10.0.1.5/24' is not an IPv4 subnet"),
        (settings(private_subnet="fd00::/64"), "private_subnet: 'fd00::/64' is not an IPv4 subnet"),
        (settings(cluster_ip="pbx-cl"), "cluster_ip: 'pbx-cl' is not an IPv4 address"),
        (
            settings(roles=[{"name": "PBX", "ips": ["10.0.1.300"]}]),
            "roles[0].ips: '10.0.1.300' is not an IPv4 address",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_option(args: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError) as raised:
        check_preflight_arguments(args)
    assert raised.value.msg.startswith(message)


def test_the_action_contacts_no_host_and_returns_every_violation() -> None:
    fake = FakeWindows({})
    args = with_node(1, lambda n: n["os"].update(build="17763"))
    args["cluster_ip"] = "10.0.9.1"
    result = make_action(ActionModule, args, fake).run(task_vars={})
    assert fake.calls == []
    assert result["failed"] is True and result["round_trips"] == 0 and result["changed"] is False
    assert [v["field"] for v in result["violations"]] == ["os.build", "cluster_ip"]
    assert result["violations"][0] == {
        "node": "PBX-N2",
        "field": "os.build",
        "found": "'17763'",
        "expected": "'20348' as on PBX-N1",
        "message": "PBX-N2: os.build is '17763'; expected '20348' as on PBX-N1",
    }
    assert result["msg"].endswith(
        "- cluster: cluster_ip is 10.0.9.1; expected an address inside the public subnet 10.0.1.0/24"
    )


def test_the_action_passes_with_the_rules_it_checked() -> None:
    result = make_action(ActionModule, settings(), FakeWindows({})).run(task_vars={})
    assert result["changed"] is False and result["violations"] == [] and result["round_trips"] == 0
    assert result["state"]["nodes"] == ["PBX-N1", "PBX-N2"]
