"""Quorum arithmetic as [WSD] understand-quorum states it: votes, dynamic weights, the witness."""

from __future__ import annotations

from model_support import database
from wsfclab.cluster import quorum


def test_two_nodes_and_a_witness_survive_one_loss_but_an_isolated_node_without_the_witness_does_not() -> None:
    db = database(2, witness=True)
    assert [n.dynamic_weight for n in db.nodes.values()] == [1, 1]
    assert db.quorum.witness_dynamic_weight == 1  # node votes are even, so the witness votes
    assert quorum.has_quorum(db, {"N1"}, witness_held=True)
    assert not quorum.has_quorum(db, {"N2"}, witness_held=False)


def test_after_a_sequential_loss_the_survivor_keeps_quorum_without_the_witness() -> None:
    db = database(2, witness=True)
    quorum.recompute_weights(db, {"N1"})
    assert db.nodes["N2"].dynamic_weight == 0
    assert db.quorum.witness_dynamic_weight == 0  # one node vote: odd, the witness no longer votes
    assert quorum.has_quorum(db, {"N1"}, witness_held=False)


def test_two_nodes_without_a_witness_survive_only_the_loss_of_the_node_without_a_vote() -> None:
    db = database(2, witness=False)
    weights = {n: v.dynamic_weight for n, v in db.nodes.items()}
    assert weights == {"N1": 1, "N2": 0}
    assert quorum.has_quorum(db, {"N1"}, witness_held=False)
    assert not quorum.has_quorum(db, {"N2"}, witness_held=False)


def test_three_nodes_lose_quorum_when_two_fail_at_once_but_not_one_after_the_other() -> None:
    at_once = database(3, witness=False)
    assert not quorum.has_quorum(at_once, {"N3"}, witness_held=False)

    one_by_one = database(3, witness=False)
    assert quorum.has_quorum(one_by_one, {"N1", "N2"}, witness_held=False)
    quorum.recompute_weights(one_by_one, {"N1", "N2"})  # the survivors regrouped with quorum
    assert quorum.has_quorum(one_by_one, {"N1"}, witness_held=False)


def test_the_witness_does_not_vote_while_node_votes_are_odd() -> None:
    db = database(3, witness=True)
    assert db.quorum.witness_dynamic_weight == 0
    assert quorum.total_votes(db) == 3


def test_without_dynamic_quorum_weights_never_change() -> None:
    db = database(3, witness=False)
    db.properties.dynamic_quorum = 0
    quorum.recompute_weights(db, {"N1", "N2"})
    assert [n.dynamic_weight for n in db.nodes.values()] == [1, 1, 1]
    assert not quorum.has_quorum(db, {"N1"}, witness_held=False)


def test_force_quorum_gives_the_votes_to_the_nodes_that_are_there() -> None:
    db = database(3, witness=False)
    assert not quorum.has_quorum(db, {"N3"}, witness_held=False)
    quorum.force(db, {"N3"})
    assert quorum.has_quorum(db, {"N3"}, witness_held=False)
    assert db.nodes["N1"].dynamic_weight == 0


def test_a_node_without_a_configured_vote_never_votes() -> None:
    db = database(3, witness=False)
    db.nodes["N3"].node_weight = 0
    quorum.recompute_weights(db, set(db.nodes))
    assert db.nodes["N3"].dynamic_weight == 0
    assert quorum.total_votes(db) == 1  # two votes are even, so dynamic quorum removes one more
