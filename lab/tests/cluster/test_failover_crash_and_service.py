"""Failover with real processes: the owner node crashes; the service dies again and again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import runtime_support as rs
from wsfclab import nodes, services
from wsfclab.cluster import api, events
from wsfclab.lab import Lab
from wsfclab.state import LabState


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Lab, int]]:
    lab, port = rs.build(tmp_path)
    try:
        rs.add_role(lab)
        yield lab, port
    finally:
        rs.stop_everything(lab)


def owner(lab: Lab) -> tuple[str | None, str]:
    with lab.session() as state:
        assert state.cluster is not None
        group = state.cluster.groups["PBX"]
        return group.owner_node, group.state


def owned_online(state: LabState, node: str) -> bool:
    assert state.cluster is not None
    group = state.cluster.groups["PBX"]
    return group.owner_node == node and group.state == "Online"


def service_pid(lab: Lab, node: str) -> int | None:
    with lab.session() as state:
        return state.nodes[node].services[rs.SERVICE].pid


def test_crashing_the_owner_brings_the_role_online_on_the_other_node(cluster: tuple[Lab, int]) -> None:
    lab, port = cluster
    assert owner(lab) == ("N1", "Online")
    assert rs.ask(port) == "N1"
    with lab.session() as state:
        delay = state.cluster.properties.same_subnet_delay if state.cluster else 0
        threshold = state.cluster.properties.same_subnet_threshold if state.cluster else 0
        nodes.crash_node(lab, state, "N1")
    crashed = time.monotonic()
    took = rs.wait_for(lab, lambda s: owned_online(s, "N2"), "the failover to N2")
    answered = None
    while answered is None and time.monotonic() - crashed < 10:
        answered = rs.ask(port, timeout=0.2)
    outage = time.monotonic() - crashed
    print(
        f"\nnode crash: role online on N2 after {took:.2f} s, role IP answering after {outage:.2f} s "
        f"(detection {delay * threshold / 1000:.2f} s = {delay} ms x {threshold})"
    )
    assert owner(lab) == ("N2", "Online")
    assert answered == "N2"
    assert outage >= delay * threshold / 1000  # never before the heartbeats could have been missed
    with lab.session() as state:
        assert state.cluster is not None
        assert state.cluster.nodes["N1"].state == "Down"
        data = next(d for d in state.disks.values() if "data" in d.key)
        assert data.owner_node == "N2"
        assert [n for n, v in data.views.items() if not v.is_offline] == ["N2"]
        assert lab.resolve_path(state, "N2", "S:\\app\\echo.py").is_file()
    n2 = [e.id for e in events.read(lab, node="N2")]
    assert 1135 in n2 and 1641 in n2 and n2[-1] in (1201,)


def test_a_killed_service_restarts_then_fails_over_then_the_role_is_left_failed(
    cluster: tuple[Lab, int],
) -> None:
    lab, port = cluster
    first = service_pid(lab, "N1")
    with lab.session() as state:
        services.kill_service(lab, state, "N1", rs.SERVICE)
    rs.wait_for(lab, lambda s: s.nodes["N1"].services[rs.SERVICE].pid not in (None, first), "a restart on N1")
    assert owner(lab)[0] == "N1"
    assert rs.ask(port) == "N1"
    with lab.session() as state:
        services.kill_service(lab, state, "N1", rs.SERVICE)  # past RestartThreshold (1): fail over
    rs.wait_for(
        lab,
        lambda s: (
            s.cluster is not None
            and s.cluster.groups["PBX"].owner_node == "N2"
            and s.cluster.groups["PBX"].state == "Online"
        ),
        "the failover to N2",
    )
    assert rs.ask(port) == "N2"
    assert rs.echo_processes(port) == [service_pid(lab, "N2")]
    with lab.session() as state:
        services.kill_service(lab, state, "N2", rs.SERVICE)  # restart on N2 (its count starts again)
    rs.wait_for(lab, lambda s: s.nodes["N2"].services[rs.SERVICE].state == "Running", "a restart on N2")
    with lab.session() as state:
        services.kill_service(
            lab, state, "N2", rs.SERVICE
        )  # a second failover within 6 h: over the threshold
    rs.wait_for(lab, lambda s: s.cluster is not None and s.cluster.groups["PBX"].state == "Failed", "1254")
    assert rs.echo_processes(port) == []
    assert 1254 in [e.id for e in events.read(lab, node="N2")]
    n1 = [e.id for e in events.read(lab, node="N1")]
    assert n1.count(1069) == 2 and 1042 in n1
    with lab.session() as state:  # an operator brings it back by hand
        group = api.start_group(lab, state, "PBX")
        assert group.state == "Online"


def test_test_cluster_resource_failure_restarts_the_service_on_its_node(cluster: tuple[Lab, int]) -> None:
    lab, _port = cluster
    first = service_pid(lab, "N1")
    with lab.session() as state:
        api.fail_resource(lab, state, "Echo Service")
    rs.wait_for(lab, lambda s: s.nodes["N1"].services[rs.SERVICE].pid not in (None, first), "the restart")
    assert owner(lab) == ("N1", "Online")
