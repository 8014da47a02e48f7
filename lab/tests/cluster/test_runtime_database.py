"""The cluster database survives restarts, two writers never corrupt it, checkpoints follow the role."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import runtime_support as rs
from wsfclab import nodes
from wsfclab.cluster import api, registry
from wsfclab.lab import Lab


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Lab, int]]:
    lab, port = rs.build(tmp_path)
    try:
        rs.add_role(lab)
        yield lab, port
    finally:
        rs.stop_everything(lab)


def test_the_cluster_comes_back_with_its_roles_after_every_node_crashed(cluster: tuple[Lab, int]) -> None:
    lab, port = cluster
    before = rs.peek(lab).cluster
    with lab.session() as state:
        nodes.crash_node(lab, state, "N1")
        nodes.crash_node(lab, state, "N2")
    assert rs.echo_processes(port) == []
    with lab.session() as state:
        nodes.start_node(lab, state, "N2")
        nodes.start_node(lab, state, "N1")
    # The database still says Online from before the crash: what counts is the role IP answering.
    rs.wait_for(lab, lambda s: rs.ask(port, timeout=0.2) is not None, "the role IP answering again")
    rs.wait_for(
        lab,
        lambda s: s.cluster is not None and s.cluster.groups["PBX"].state == "Online",
        "the role online again",
    )
    after = rs.peek(lab).cluster
    assert before is not None and after is not None
    assert sorted(after.resources) == sorted(before.resources)
    assert {r.name: r.dependency_expression for r in after.resources.values()} == {
        r.name: r.dependency_expression for r in before.resources.values()
    }
    assert rs.ask(port) in ("N1", "N2")
    assert len(rs.echo_processes(port)) == 1


WRITER = textwrap.dedent(
    """
    import sys
    from wsfclab.cluster import api
    from wsfclab.lab import Lab

    lab = Lab(sys.argv[1])
    for i in range(15):
        with lab.session() as state:
            api.add_checkpoint(state, "Echo Service", f"SOFTWARE\\\\{sys.argv[2]}\\\\{i}")
    """
)


def test_two_writers_at_once_never_lose_each_others_changes(cluster: tuple[Lab, int]) -> None:
    lab, _port = cluster
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(lab.state_dir), name])
        for name in ("ForkA", "ForkB")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    with lab.session() as state:
        keys = {c.key for _, c in api.checkpoints(api.get_cluster(state), "Echo Service")}
    for name in ("ForkA", "ForkB"):
        assert {f"SOFTWARE\\{name}\\{i}" for i in range(15)} <= keys


def test_a_checkpointed_key_is_carried_to_the_new_owner_before_the_service_starts(
    cluster: tuple[Lab, int],
) -> None:
    lab, _port = cluster
    registry.set_value(lab, "N2", "SOFTWARE\\Echo", "Greeting", "stale")  # overwritten by the restore
    registry.set_value(lab, "N1", "SOFTWARE\\Echo\\Settings", "Greeting", "hello")
    rs.wait_for(
        lab,
        lambda s: any(
            c.values.get("Settings", {}).get("Greeting") == "hello"
            for c in s.cluster.resources["Echo Service"].checkpoints  # type: ignore[union-attr]
        ),
        "the checkpoint copied to the cluster",
    )
    with lab.session() as state:
        nodes.crash_node(lab, state, "N1")
    rs.wait_for(
        lab,
        lambda s: (
            s.cluster is not None
            and s.cluster.groups["PBX"].owner_node == "N2"
            and s.cluster.groups["PBX"].state == "Online"
        ),
        "the failover",
    )
    assert registry.get_value(lab, "N2", "SOFTWARE\\Echo\\Settings", "Greeting") == "hello"
    assert registry.get_value(lab, "N2", "SOFTWARE\\Echo", "Greeting") is None
