"""Three nodes losing two at once (1177, ForceQuorum), draining and failing back, a graceful stop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import runtime_support as rs
from wsfclab import nodes
from wsfclab.cluster import api, events
from wsfclab.lab import Lab


@pytest.fixture
def three(tmp_path: Path) -> Iterator[tuple[Lab, int]]:
    lab, port = rs.build(tmp_path, nodes=3, witness=False)
    try:
        rs.add_role(lab)
        yield lab, port
    finally:
        rs.stop_everything(lab)


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[Lab, int]]:
    lab, port = rs.build(tmp_path)
    try:
        rs.add_role(lab)
        yield lab, port
    finally:
        rs.stop_everything(lab)


def test_losing_two_of_three_nodes_at_once_takes_every_role_offline_until_force_quorum(
    three: tuple[Lab, int],
) -> None:
    lab, port = three
    assert rs.ask(port) == "N1"
    with lab.session() as state:
        nodes.crash_node(lab, state, "N1")
        nodes.crash_node(lab, state, "N2")
    rs.wait_for(
        lab, lambda s: s.cluster is not None and s.cluster.nodes["N3"].state == "Down", "N3 losing quorum"
    )
    assert 1177 in [e.id for e in events.read(lab, node="N3")]
    assert rs.echo_processes(port) == []
    assert rs.lock_holders(lab) == {}
    with lab.session() as state:
        api.start_node(lab, state, "N3", force_quorum=True)
    rs.wait_for(
        lab,
        lambda s: (
            s.cluster is not None
            and s.cluster.groups["PBX"].owner_node == "N3"
            and s.cluster.groups["PBX"].state == "Online"
        ),
        "the role online on N3",
    )
    assert rs.ask(port) == "N3"
    state = rs.peek(lab)
    assert state.cluster is not None
    assert {n: v.state for n, v in state.cluster.nodes.items()} == {"N1": "Down", "N2": "Down", "N3": "Up"}
    assert state.cluster.nodes["N3"].force_quorum is False


def test_drain_moves_the_role_and_failback_returns_it(two: tuple[Lab, int]) -> None:
    lab, port = two
    with lab.session() as state:
        node = api.suspend_node(lab, state, "N1", drain=True)
        assert (node.state, node.drain_status) == ("Paused", "Completed")
        group = api.group(api.get_cluster(state), "PBX")
        assert (group.owner_node, group.state) == ("N2", "Online")
    assert rs.ask(port) == "N2"
    with lab.session() as state:
        node = api.resume_node(lab, state, "N1", failback="Immediate")
        assert node.state == "Up"
        group = api.group(api.get_cluster(state), "PBX")
        assert (group.owner_node, group.state) == ("N1", "Online")
    assert rs.ask(port) == "N1"
    assert rs.echo_processes(port) == [rs.peek(lab).nodes["N1"].services[rs.SERVICE].pid]


def test_a_graceful_stop_moves_the_role_first_and_the_peer_logs_no_node_loss(two: tuple[Lab, int]) -> None:
    lab, port = two
    with lab.session() as state:
        nodes.stop_node(lab, state, "N1")
        group = api.group(api.get_cluster(state), "PBX")
        assert (group.owner_node, group.state) == ("N2", "Online")
    assert rs.ask(port) == "N2"
    assert 1135 not in [e.id for e in events.read(lab, node="N2")]
    with lab.session() as state:
        nodes.start_node(lab, state, "N1")
    rs.wait_for(lab, lambda s: s.cluster is not None and s.cluster.nodes["N1"].state == "Up", "N1 back")
    assert rs.peek(lab).cluster.groups["PBX"].owner_node == "N2"  # no failback without the policy
