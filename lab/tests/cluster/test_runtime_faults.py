"""Faults the executor-path drills do not cover, on one running cluster (each test leaves it as it
found it): Test-ClusterResourceFailure, a cut on one network only, a graceful node shutdown."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import runtime_support as rs
from wsfclab import nodes
from wsfclab.cluster import api, events
from wsfclab.lab import Lab


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, int]]:
    lab, port = rs.build(Path(tmp_path_factory.mktemp("faults")))
    try:
        rs.add_role(lab)
        yield lab, port
    finally:
        rs.stop_everything(lab)


def test_test_cluster_resource_failure_restarts_the_service_on_its_node(cluster: tuple[Lab, int]) -> None:
    lab, port = cluster
    first = rs.peek(lab).nodes["N1"].services[rs.SERVICE].pid
    with lab.session() as state:
        api.fail_resource(lab, state, "Echo Service")
    rs.wait_for(lab, lambda s: s.nodes["N1"].services[rs.SERVICE].pid not in (None, first), "the restart")
    rs.wait_for(lab, lambda s: s.cluster is not None and s.cluster.groups["PBX"].state == "Online", "Online")
    assert rs.peek(lab).cluster.groups["PBX"].owner_node == "N1"  # type: ignore[union-attr]
    assert rs.ask(port) == "N1"
    assert 1069 in [e.id for e in events.read(lab, node="N1")]


def test_cutting_one_network_keeps_the_node_in_the_cluster(cluster: tuple[Lab, int]) -> None:
    lab, port = cluster
    with lab.session() as state:
        db = api.get_cluster(state)
        private = next(n.name for n in db.networks.values() if n.role == "Cluster")
        api.isolate(state, "N1", private)
        detection = db.properties.same_subnet_delay * db.properties.same_subnet_threshold / 1000
    time.sleep(2 * detection)  # nothing to await: the point is that nothing happens
    state = rs.peek(lab)
    assert state.cluster is not None
    assert {n.state for n in state.cluster.nodes.values()} == {"Up"}
    assert state.cluster.groups["PBX"].owner_node == "N1"
    assert state.cluster.networks[private].state == "Partitioned"
    assert {i.state for i in state.cluster.interfaces if i.network == private} == {"Unreachable"}
    assert 1135 not in [e.id for e in events.read(lab)]
    assert rs.ask(port) == "N1"
    with lab.session() as state:
        api.heal(state, "N1")
    rs.wait_for(
        lab, lambda s: s.cluster is not None and s.cluster.networks[private].state == "Up", "the network Up"
    )


def test_a_graceful_shutdown_moves_the_role_first_and_the_peer_logs_no_node_loss(
    cluster: tuple[Lab, int],
) -> None:
    lab, port = cluster
    with lab.session() as state:
        nodes.stop_node(lab, state, "N1")  # what `wsfclab node stop N1` does
        group = api.group(api.get_cluster(state), "PBX")
        assert (group.owner_node, group.state) == ("N2", "Online")
        assert state.cluster is not None and state.cluster.nodes["N1"].state == "Down"
    assert rs.ask(port) == "N2"
    assert 1135 not in [e.id for e in events.read(lab, node="N2")]
    with lab.session() as state:
        nodes.start_node(lab, state, "N1")  # ClusSvc starts with the node and joins
    rs.wait_for(lab, lambda s: s.cluster is not None and s.cluster.nodes["N1"].state == "Up", "N1 back")
    assert rs.peek(lab).cluster.groups["PBX"].owner_node == "N2"  # type: ignore[union-attr]


def test_a_network_name_without_the_right_to_create_its_computer_object_fails_with_1194(
    cluster: tuple[Lab, int],
) -> None:
    lab, _port = cluster
    with lab.session() as state:
        assert state.domain is not None
        state.domain.may_create_computer_objects = False  # the OU's permission was taken away
        api.stop_group(lab, state, "PBX")
        group = api.start_group(lab, state, "PBX")
        assert group.state != "Online"
        assert api.resource(api.get_cluster(state), "PBX").state == "Failed"
        owner = group.owner_node
    assert owner is not None
    assert 1194 in [e.id for e in events.read(lab, node=owner)]
    assert rs.echo_processes(_port) == []  # the service depends on the name: it never started
