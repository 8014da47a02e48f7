"""The failure drills through the executor path, as the collection calls the lab: a two-node cluster
with a disk witness built by cmdlets, the Echo service as a Generic Service role on the role IP, and
the faults injected as an operator would (``wsfclab`` and the cmdlets)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import runtime_support as rs
from cluster_worlds import BASE, ROLE_IP, clustered, delegated, disk_resource, register_service, stop
from wsfclab import cli, nodes, services
from wsfclab.cluster import events
from wsfclab.lab import Lab
from wsfclab.testing import change, output, run

assert ROLE_IP == rs.ROLE_IP


def assign(cmdlet: str, parameters: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "assign",
        "changes": True,
        "steps": [{"cmdlet": cmdlet, "parameters": parameters}, {"set_properties": values}],
    }


def ok(result: dict[str, Any]) -> dict[str, Any]:
    assert "failed" not in result, result
    return result


def build_role(lab: Lab, *, witness: bool = True) -> int:
    """Fast heartbeats (through the real properties), the witness, the Echo service and its role."""
    ok(run(lab, "N1", assign("Get-Cluster", {}, {"SameSubnetDelay": 250, "SameSubnetThreshold": 3})))
    if witness:
        ok(change(lab, "N1", ("Set-ClusterQuorum", {"DiskWitness": disk_resource(lab, "witness")})))
    port = register_service(lab, nodes=tuple(sorted(rs.peek(lab).nodes)))
    with delegated():
        ok(
            change(
                lab,
                "N1",
                (
                    "Add-ClusterGenericServiceRole",
                    {
                        "ServiceName": "EchoSvc",
                        "Name": "PBX",
                        "StaticAddress": [ROLE_IP],
                        "Storage": [disk_resource(lab, "data")],
                    },
                ),
            )
        )
    return port


def role(lab: Lab) -> tuple[str, str]:
    """Get-ClusterGroup PBX, asked on a node whose cluster service runs."""
    state = rs.peek(lab)
    via = next(n for n, host in sorted(state.nodes.items()) if host.services["ClusSvc"].state == "Running")
    (group,) = output(lab, via, "Get-ClusterGroup", {"Name": "PBX"})
    return group["OwnerNode"], group["State"]


def online_on(node: str) -> Any:
    def check(state: Any) -> bool:
        group = state.cluster.groups["PBX"]
        return bool(group.owner_node == node and group.state == "Online")

    return check


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[Lab, int]]:
    built = clustered(tmp_path)
    try:
        yield built, build_role(built)
    finally:
        stop(built)


def test_killing_the_service_restarts_it_then_fails_the_role_over_then_leaves_it_failed(
    lab: tuple[Lab, int],
) -> None:
    built, port = lab
    assert role(built) == ("N1", "Online") and rs.ask(port) == "N1"
    first = rs.peek(built).nodes["N1"].services["EchoSvc"].pid
    with built.session() as state:
        services.kill_service(built, state, "N1", "EchoSvc")
    rs.wait_for(
        built, lambda s: s.nodes["N1"].services["EchoSvc"].pid not in (None, first), "the restart on N1"
    )
    assert role(built)[0] == "N1" and rs.ask(port) == "N1"
    with built.session() as state:
        services.kill_service(built, state, "N1", "EchoSvc")
    rs.wait_for(built, online_on("N2"), "the failover to N2")
    assert role(built) == ("N2", "Online") and rs.ask(port) == "N2"
    for _ in range(2):  # a restart on N2, then a second failover within FailoverPeriod: refused
        rs.wait_for(built, lambda s: s.nodes["N2"].services["EchoSvc"].state == "Running", "EchoSvc running")
        with built.session() as state:
            services.kill_service(built, state, "N2", "EchoSvc")
    rs.wait_for(
        built, lambda s: s.cluster is not None and s.cluster.groups["PBX"].state == "Failed", "Failed"
    )
    assert role(built) == ("N2", "Failed")
    assert 1254 in [e.id for e in events.read(built, node="N2")]
    assert rs.echo_processes(port) == []


def test_crashing_the_owner_moves_the_role_within_detection_plus_start(lab: tuple[Lab, int]) -> None:
    built, port = lab
    assert cli.main(["--state-dir", str(built.state_dir), "--json", "node", "crash", "N1"]) == 0
    crashed = time.monotonic()
    rs.wait_for(built, online_on("N2"), "the failover to N2")
    online = time.monotonic() - crashed
    answer = None
    while answer is None and time.monotonic() - crashed < 10:
        answer = rs.ask(port, timeout=0.2)
    print(
        f"\nexecutor path, node crash (250 ms x 3 = 0.75 s detection): role Online on N2 after "
        f"{online:.2f} s, role IP answering after {time.monotonic() - crashed:.2f} s"
    )
    assert answer == "N2"
    assert role(built) == ("N2", "Online")


def test_a_cut_off_owner_never_leaves_two_holders_and_stops_its_role(lab: tuple[Lab, int]) -> None:
    built, port = lab
    with delegated():
        ok(change(built, "N1", ("Move-ClusterGroup", {"Name": "Cluster Group", "Node": "N2"})))
    assert cli.main(["--state-dir", str(built.state_dir), "node", "isolate", "N1"]) == 0
    deadline = time.monotonic() + 20
    checks = 0
    while not online_on("N2")(rs.peek(built)):
        assert time.monotonic() < deadline, rs.summary(rs.peek(built))
        assert all(len(p) <= 1 for p in rs.lock_holders(built).values()), rs.lock_holders(built)
        assert len(rs.echo_processes(port)) <= 1
        checks += 1
    assert rs.ask(port) == "N2"
    assert 1177 in [e.id for e in events.read(built, node="N1")]
    assert rs.peek(built).nodes["N1"].services["ClusSvc"].state == "Running"  # it waits to rejoin
    print(f"\nisolation through the executor path: {checks} checks while cut off, never two holders")
    assert cli.main(["--state-dir", str(built.state_dir), "node", "heal", "N1"]) == 0
    rs.wait_for(
        built, lambda s: s.cluster is not None and s.cluster.nodes["N1"].state == "Up", "N1 rejoining"
    )
    assert all(len(p) <= 1 for p in rs.lock_holders(built).values())
    assert role(built) == ("N2", "Online")


def test_drain_moves_the_role_and_resume_with_failback_returns_it(lab: tuple[Lab, int]) -> None:
    built, port = lab
    with delegated():
        paused = ok(
            change(built, "N1", ("Suspend-ClusterNode", {"Name": ["N1"], "Drain": True, "Wait": True}))
        )
    assert paused["results"][0]["output"][0]["DrainStatus"] == "Completed"
    assert role(built) == ("N2", "Online") and rs.ask(port) == "N2"
    with delegated():
        ok(change(built, "N1", ("Resume-ClusterNode", {"Name": ["N1"], "Failback": "Immediate"})))
    assert role(built) == ("N1", "Online") and rs.ask(port) == "N1"
    with delegated():
        ok(change(built, "N2", ("Stop-ClusterNode", {"Name": "N1"})))
    assert role(built) == ("N2", "Online") and rs.ask(port) == "N2"


def _third_node(data: dict[str, Any]) -> None:
    third = {**BASE["nodes"][1], "name": "N3"}
    third["nics"] = [
        {**third["nics"][0], "mac": "00-15-5D-09-01-03", "addresses": ["127.0.1.13/24"]},
        {**third["nics"][1], "mac": "00-15-5D-09-02-03", "addresses": ["127.0.2.13/24"]},
    ]
    data["nodes"].append(third)
    for disk in data["shared_storage"]["sas_disks"]:
        disk["nodes"] = ["N1", "N2", "N3"]


def test_three_nodes_losing_two_at_once_go_offline_and_force_quorum_brings_the_role_back(
    tmp_path: Path,
) -> None:
    built = clustered(tmp_path, _third_node, clustering=("N1", "N2", "N3"), Node=["N1", "N2", "N3"])
    try:
        ok(change(built, "N1", ("Set-ClusterQuorum", {"NoWitness": True})))
        port = build_role(built, witness=False)
        assert rs.ask(port) == "N1"
        assert cli.main(["--state-dir", str(built.state_dir), "node", "crash", "N1", "N2"]) == 0
        rs.wait_for(
            built, lambda s: s.cluster is not None and s.cluster.nodes["N3"].state == "Down", "quorum lost"
        )
        assert 1177 in [e.id for e in events.read(built, node="N3")]
        assert rs.echo_processes(port) == []
        with delegated():
            ok(change(built, "N3", ("Start-ClusterNode", {"Name": "N3", "ForceQuorum": True})))
        rs.wait_for(built, online_on("N3"), "the role on N3")
        assert rs.ask(port) == "N3"
        with built.session() as state:
            nodes.start_node(built, state, "N1")
        rs.wait_for(
            built, lambda s: s.cluster is not None and s.cluster.nodes["N1"].state == "Up", "N1 rejoining"
        )
    finally:
        stop(built)
