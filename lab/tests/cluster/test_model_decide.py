"""One node's decisions (``model.decide``): quorum loss, regroup and failover, resource failures."""

from __future__ import annotations

from model_support import database
from wsfclab.cluster import model
from wsfclab.cluster.database import ClusterNetwork, NetworkInterface
from wsfclab.cluster.model import (
    Log,
    Observation,
    OfflineEverything,
    OfflineGroup,
    OnlineGroup,
    Poke,
    SetActive,
)


def ids(effects: list[model.Effect]) -> list[int]:
    return [e.event_id for e in effects if isinstance(e, Log)]


def test_nothing_is_decided_while_the_service_is_still_joining() -> None:
    db = database()
    assert model.decide(db, Observation("N2", 10.0, frozenset(), joining=True)) == []
    assert db.nodes["N1"].state == "Up"


def test_a_survivor_with_quorum_removes_the_lost_owner_and_takes_its_roles() -> None:
    db = database()
    effects = model.decide(db, Observation("N2", 10.0, frozenset(), witness_held=True))
    assert db.nodes["N1"].state == "Down"
    assert 1135 in ids(effects) and 1641 in ids(effects)
    assert OnlineGroup("PBX") in effects and OnlineGroup("Cluster Group") in effects
    role = db.groups["PBX"]
    assert (role.owner_node, role.state) == ("N2", "Pending")
    assert {r.state for r in db.resources_of("PBX")} == {"OnlinePending"}
    assert db.nodes["N1"].dynamic_weight == 0  # dynamic quorum: the lost node's vote is gone
    assert role.failovers == [10.0]


def test_the_side_without_the_witness_loses_quorum_logs_1177_and_takes_everything_offline() -> None:
    db = database()
    effects = model.decide(db, Observation("N2", 10.0, frozenset(), witness_held=False, active=True))
    assert effects == [Log(1177), OfflineEverything(), SetActive(False)]
    assert db.nodes["N2"].state == "Down"
    assert db.groups["PBX"].owner_node == "N1"  # it decides nothing for the cluster
    assert model.decide(db, Observation("N2", 11.0, frozenset(), active=False)) == []  # 1177 once


def test_a_node_whose_partition_regains_quorum_rejoins() -> None:
    db = database()
    db.nodes["N2"].state = "Down"
    effects = model.decide(db, Observation("N2", 10.0, frozenset({"N1"}), active=False))
    assert SetActive(True) in effects
    assert db.nodes["N2"].state == "Up"


def test_nodes_lost_in_one_regroup_count_as_a_simultaneous_loss() -> None:
    db = database(3, witness=False)
    # N3 heard N2 a moment ago but N2 has missed all but its last heartbeat: both go together.
    obs = Observation("N3", 10.0, frozenset({"N2"}), fading=frozenset({"N2"}), active=True)
    assert model.decide(db, obs) == [Log(1177), OfflineEverything(), SetActive(False)]


def test_force_quorum_lets_a_lone_node_form_the_cluster_and_bring_roles_online() -> None:
    db = database(3, witness=False)
    db.nodes["N3"].force_quorum = True
    db.nodes["N3"].state = "Joining"
    effects = model.decide(db, Observation("N3", 10.0, frozenset(), active=False))
    assert SetActive(True) in effects and OnlineGroup("PBX") in effects
    assert db.nodes["N3"].force_quorum is False
    assert (db.nodes["N1"].state, db.nodes["N3"].state) == ("Down", "Up")


def test_a_dead_service_restarts_on_the_same_node_after_the_restart_delay() -> None:
    db = database()
    effects = model.decide(
        db, Observation("N1", 100.0, frozenset({"N2"}), dead_services=frozenset({"Echo Service"}))
    )
    assert ids(effects) == [1069, 1042]
    res = db.resources["Echo Service"]
    assert res.state == "Failed" and res.restart_at == 100.5
    assert OnlineGroup("PBX") not in effects
    assert OnlineGroup("PBX") not in model.decide(db, Observation("N1", 100.2, frozenset({"N2"})))
    assert OnlineGroup("PBX") in model.decide(db, Observation("N1", 100.6, frozenset({"N2"})))


def test_a_second_failure_within_the_period_fails_the_group_over() -> None:
    db = database()
    model.decide(db, Observation("N1", 100.0, frozenset({"N2"}), dead_services=frozenset({"Echo Service"})))
    db.resources["Echo Service"].restart_at = None
    db.resources["Echo Service"].state = "Online"
    effects = model.decide(
        db, Observation("N1", 110.0, frozenset({"N2"}), dead_services=frozenset({"Echo Service"}))
    )
    assert OfflineGroup("PBX") in effects and Poke("N2") in effects
    assert 1641 in ids(effects)
    assert db.groups["PBX"].owner_node == "N2"


def test_past_the_failover_threshold_the_group_is_left_failed_with_1254() -> None:
    db = database()
    db.groups["PBX"].failovers = [50.0]  # one failover already within the 6 hours (2 nodes: threshold 1)
    db.resources["Echo Service"].failures = [90.0]
    effects = model.decide(
        db, Observation("N1", 100.0, frozenset({"N2"}), dead_services=frozenset({"Echo Service"}))
    )
    assert 1254 in ids(effects)
    assert OfflineGroup("PBX") in effects
    assert db.groups["PBX"].state == "Failed" and db.groups["PBX"].owner_node == "N1"


def test_a_lost_owner_past_the_failover_threshold_leaves_the_role_failed() -> None:
    db = database()
    db.groups["PBX"].failovers = [5.0]
    effects = model.decide(db, Observation("N2", 10.0, frozenset(), witness_held=True))
    assert 1254 in ids(effects)
    assert db.groups["PBX"].state == "Failed"
    assert OnlineGroup("PBX") not in effects


def test_test_cluster_resource_failure_is_handled_as_a_failure() -> None:
    db = database()
    db.resources["PBX"].pending_failure = True
    effects = model.decide(db, Observation("N1", 100.0, frozenset({"N2"})))
    assert db.resources["PBX"].state == "Failed" and db.resources["PBX"].restart_at == 100.5
    assert db.resources["PBX"].pending_failure is False
    assert OfflineGroup("PBX") not in effects


def test_a_role_the_cluster_keeps_online_is_brought_online_by_its_owner() -> None:
    db = database()
    for res in db.resources_of("PBX"):
        res.state = "OnlinePending"
    db.groups["PBX"].state = "Pending"
    assert OnlineGroup("PBX") in model.decide(db, Observation("N1", 1.0, frozenset({"N2"})))
    db.groups["PBX"].persistent_state = 0
    assert OnlineGroup("PBX") not in model.decide(db, Observation("N1", 2.0, frozenset({"N2"})))


def test_only_the_partition_leader_removes_nodes() -> None:
    db = database(3)
    effects = model.decide(db, Observation("N3", 10.0, frozenset({"N2"}), witness_held=False))
    assert 1135 not in ids(effects)  # N2 has the lower id: it removes N1
    assert db.nodes["N1"].state == "Up"


def test_a_failed_role_gets_one_more_attempt_after_the_retry_period() -> None:
    db = database()
    db.groups["PBX"].state = "Failed"
    res = db.resources["Echo Service"]
    res.state, res.failures = "Failed", [100.0]
    assert OnlineGroup("PBX") not in model.decide(db, Observation("N1", 200.0, frozenset({"N2"})))
    effects = model.decide(db, Observation("N1", 100.0 + 3600.0, frozenset({"N2"})))
    assert OnlineGroup("PBX") in effects
    assert db.groups["PBX"].state == "Pending"


def test_auto_failback_returns_the_role_to_its_preferred_owner_once_it_is_up() -> None:
    db = database()
    group = db.groups["PBX"]
    group.owner_node, group.preferred_owners, group.auto_failback_type = "N2", ["N1"], 1
    effects = model.decide(db, Observation("N2", 10.0, frozenset({"N1"})))
    assert OfflineGroup("PBX") in effects and Poke("N1") in effects
    assert group.owner_node == "N1"


def test_no_failback_without_the_policy_or_outside_the_window() -> None:
    db = database()
    group = db.groups["PBX"]
    group.owner_node, group.preferred_owners = "N2", ["N1"]
    assert model.decide(db, Observation("N2", 10.0, frozenset({"N1"}))) == []
    group.auto_failback_type = 1
    group.failback_window_start, group.failback_window_end = 1, 2  # 01:00-02:59; now is 00:00
    assert model.decide(db, Observation("N2", 10.0, frozenset({"N1"}))) == []


def test_a_network_some_members_cannot_hear_each_other_on_is_partitioned() -> None:
    db = database()
    db.networks["Cluster Network 2"] = ClusterNetwork(
        name="Cluster Network 2",
        id="n2",
        address="127.0.2.0",
        address_mask="255.255.255.0",
        prefix_length=24,
        role="Cluster",
    )
    db.interfaces = [
        NetworkInterface(
            name=f"{n} - Cluster", node=n, network="Cluster Network 2", adapter="Cluster", address=a
        )
        for n, a in (("N1", "127.0.2.11"), ("N2", "127.0.2.12"))
    ]
    model.decide(db, Observation("N1", 1.0, frozenset({"N2"}), heard_on={"Public": frozenset({"N2"})}))
    assert db.networks["Cluster Network 2"].state == "Partitioned"
    assert {i.node: i.state for i in db.interfaces} == {"N1": "Unreachable", "N2": "Unreachable"}
    model.decide(
        db, Observation("N1", 2.0, frozenset({"N2"}), heard_on={"Cluster Network 2": frozenset({"N2"})})
    )
    assert db.networks["Cluster Network 2"].state == "Up"
    assert {i.state for i in db.interfaces} == {"Up"}
