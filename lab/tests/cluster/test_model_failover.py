"""Owner choice and the restart/failover policies ([MSCS] failover, resource-failure)."""

from __future__ import annotations

from model_support import database
from wsfclab.cluster import failover
from wsfclab.cluster.failover import Reaction


def test_preferred_owners_come_first_and_unlisted_nodes_follow_by_id() -> None:
    db = database(3)
    group = db.groups["PBX"]
    group.preferred_owners = ["N3"]
    assert failover.preference_order(db, group) == ["N3", "N1", "N2"]
    assert failover.first_owner(db, group, {"N1", "N2", "N3"}, set()) == "N3"


def test_a_failover_goes_to_the_next_node_after_the_one_it_leaves_wrapping_around() -> None:
    db = database(3)
    group = db.groups["PBX"]
    up = {"N1", "N2", "N3"}
    assert failover.next_owner(db, group, "N1", up) == "N2"
    assert failover.next_owner(db, group, "N3", up) == "N1"
    assert failover.next_owner(db, group, "N1", {"N1", "N3"}) == "N3"


def test_paused_nodes_and_nodes_that_are_not_possible_owners_never_receive_the_role() -> None:
    db = database(3)
    group = db.groups["PBX"]
    db.nodes["N2"].state = "Paused"
    db.resources["Echo Service"].possible_owners = ["N1", "N2"]
    assert failover.next_owner(db, group, "N1", {"N1", "N2", "N3"}) is None


def test_a_resource_restarts_within_its_threshold_then_fails_the_group_over() -> None:
    db = database()
    res = db.resources["Echo Service"]
    assert res.restart_threshold == 1 and res.restart_action == 2
    assert failover.on_resource_failure(res, 100.0) is Reaction.RESTART
    assert failover.on_resource_failure(res, 101.0) is Reaction.FAILOVER


def test_failures_older_than_the_restart_period_do_not_count() -> None:
    db = database()
    res = db.resources["Echo Service"]
    res.restart_period = 1000  # ms
    assert failover.on_resource_failure(res, 100.0) is Reaction.RESTART
    assert failover.on_resource_failure(res, 102.0) is Reaction.RESTART


def test_restart_action_zero_never_restarts_and_one_never_fails_over() -> None:
    db = database()
    res = db.resources["Echo Service"]
    res.restart_action = 0
    assert failover.on_resource_failure(res, 1.0) is Reaction.STAY_FAILED
    res.restart_action = 1
    res.failures = []
    assert failover.on_resource_failure(res, 2.0) is Reaction.RESTART
    assert failover.on_resource_failure(res, 3.0) is Reaction.STAY_FAILED


def test_the_default_failover_threshold_is_nodes_minus_one_within_the_period() -> None:
    db = database(2)
    group = db.groups["PBX"]
    assert failover.failover_threshold(db, group) == 1
    assert failover.may_fail_over(db, group, 0.0)
    assert not failover.may_fail_over(db, group, 60.0)
    assert failover.may_fail_over(db, group, 6 * 3600 + 1.0)  # the first failover left the period


def test_an_explicit_failover_threshold_counts_as_set() -> None:
    db = database(2)
    group = db.groups["PBX"]
    group.failover_threshold = 3
    assert [failover.may_fail_over(db, group, t) for t in (1.0, 2.0, 3.0, 4.0)] == [True, True, True, False]
