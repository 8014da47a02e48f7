"""A node cut off from its peer: at no instant two holders of the disk, two running services or two
answers on the role IP; the side without quorum stops its roles; healing brings it back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import runtime_support as rs
from wsfclab.cluster import api, events
from wsfclab.lab import Lab


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Lab, int]]:
    lab, port = rs.build(tmp_path)
    try:
        rs.add_role(lab)
        yield lab, port
    finally:
        rs.stop_everything(lab)


def check_single_holders(lab: Lab, port: int) -> None:
    for name, pids in rs.lock_holders(lab).items():
        assert len(pids) <= 1, f"{name} held by {pids}"
    running = rs.echo_processes(port)
    assert len(running) <= 1, f"two echo services run: {running}"


def test_isolating_the_owner_moves_the_role_to_the_side_with_the_witness(cluster: tuple[Lab, int]) -> None:
    lab, port = cluster
    with lab.session() as state:  # the witness (in the Cluster Group) on N2, the role on N1
        api.move_group(lab, state, "Cluster Group", node_name="N2")
        api.isolate(state, "N1")
    deadline = time.monotonic() + 20
    samples = 0
    while time.monotonic() < deadline:
        check_single_holders(lab, port)
        samples += 1
        cluster = rs.peek(lab).cluster
        assert cluster is not None
        group = cluster.groups["PBX"]
        if group.owner_node == "N2" and group.state == "Online":
            break
    else:
        pytest.fail("the role never came online on N2")
    assert rs.ask(port) == "N2"
    n1 = [e.id for e in events.read(lab, node="N1")]
    assert 1177 in n1
    with lab.session() as state:
        assert state.cluster is not None
        assert state.cluster.nodes["N1"].state == "Down"
        assert state.nodes["N1"].services["ClusSvc"].state == "Running"  # it waits to rejoin
        api.heal(state, "N1")
    rs.wait_for(lab, lambda s: s.cluster is not None and s.cluster.nodes["N1"].state == "Up", "N1 rejoining")
    for _ in range(10):
        check_single_holders(lab, port)
    print(f"\nisolation: {samples} checks during the cut, never two holders")


def test_cutting_one_network_keeps_the_node_in_the_cluster(cluster: tuple[Lab, int]) -> None:
    lab, port = cluster
    with lab.session() as state:
        assert state.cluster is not None
        private = next(n.name for n in state.cluster.networks.values() if n.role == "Cluster")
        api.isolate(state, "N1", private)
        detection = (
            state.cluster.properties.same_subnet_delay * state.cluster.properties.same_subnet_threshold
        )
    time.sleep(2 * detection / 1000)  # nothing to await: the point is that nothing happens
    with lab.session() as state:
        assert state.cluster is not None
        assert {n.state for n in state.cluster.nodes.values()} == {"Up"}
        assert state.cluster.groups["PBX"].owner_node == "N1"
    assert 1135 not in [e.id for e in events.read(lab)]
    assert rs.ask(port) == "N1"
