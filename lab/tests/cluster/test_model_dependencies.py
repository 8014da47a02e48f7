"""Dependency expressions and the order they give: bottom-up online, top-down offline."""

from __future__ import annotations

import pytest
from model_support import database
from wsfclab.cluster import dependencies
from wsfclab.cluster.errors import ClusterError


def test_expressions_are_stored_in_one_canonical_form() -> None:
    assert dependencies.canonical("[a]AND( [b] Or [c] )") == "[a] and ([b] or [c])"
    assert dependencies.canonical("") == ""


@pytest.mark.parametrize("bad", ["[a] and", "[a] [b]", "([a] or [b]", "a and [b]", "[]"])
def test_bad_expressions_are_refused_naming_the_expression(bad: str) -> None:
    with pytest.raises(ClusterError) as caught:
        dependencies.parse(bad)
    assert caught.value.code == 87
    assert repr(bad) in caught.value.message


def test_an_expression_holds_by_and_or_over_what_is_online() -> None:
    expression = "([IP 1] or [IP 2]) and [Disk]"
    assert not dependencies.satisfied(expression, {"ip 1"})
    assert dependencies.satisfied(expression, {"ip 2", "disk"})
    assert dependencies.satisfied("", set())


def test_removing_a_provider_keeps_the_rest_of_the_expression() -> None:
    assert dependencies.without("([a] or [b]) and [c]", {"B"}) == "[a] and [c]"
    assert dependencies.without("[a]", {"a"}) == ""


def test_a_group_comes_online_providers_first_and_goes_offline_dependents_first() -> None:
    db = database()
    order = dependencies.online_order(db, "PBX")
    assert order.index("IP Address 127.0.1.50") < order.index("PBX") < order.index("Echo Service")
    assert order.index("Cluster Disk 2") < order.index("Echo Service")
    assert dependencies.offline_order(db, "PBX") == list(reversed(order))


def test_a_cycle_is_detected_through_the_chain() -> None:
    db = database()
    assert dependencies.creates_cycle(db, "IP Address 127.0.1.50", ["Echo Service"])
    assert not dependencies.creates_cycle(db, "Echo Service", ["Cluster Disk 2"])


def test_dependents_are_found_transitively() -> None:
    db = database()
    assert dependencies.dependents_of(db, "IP Address 127.0.1.50") == ["PBX", "Echo Service"]
