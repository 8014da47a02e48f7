"""The dial plan as a pure function."""

from __future__ import annotations

import pytest
from pbxd.config import DialRule, Trunk
from pbxd.dialplan import DialPlan, DialPlanError, Reject, ToExtension, ToTrunk

PEER = Trunk(
    name="peer",
    host="127.0.0.3",
    port=5060,
    transport="udp",
    numbers=(r"2\d{3}",),
    trusted_sources=("127.0.0.3",),
)


def test_without_rules_extensions_are_local_and_trunk_numbers_cross_the_trunk() -> None:
    plan = DialPlan((), (PEER,))
    assert plan.route("1001", is_extension=True, from_trunk=False) == ToExtension("1001")
    assert plan.route("2001", is_extension=False, from_trunk=False) == ToTrunk("peer", "2001")
    assert plan.route("20011", is_extension=False, from_trunk=False) == Reject(404, "Not Found")


def test_a_call_from_a_trunk_is_never_routed_to_a_trunk() -> None:
    plan = DialPlan((), (PEER,))
    decision = plan.route("2001", is_extension=False, from_trunk=True)
    assert isinstance(decision, Reject) and decision.status == 404


def test_rules_apply_in_order_with_strip_and_prefix() -> None:
    rules = (
        DialRule(pattern=r"0(\d+)", action="trunk:peer", strip=1, prefix="2"),
        DialRule(pattern=r"1\d{3}", action="local"),
        DialRule(pattern=r"1.*", action="reject:403"),
        DialRule(pattern=r"8\d{3}", action="local", strip=1, prefix="1"),
    )
    plan = DialPlan(rules, (PEER,))
    assert plan.route("0001", is_extension=False, from_trunk=False) == ToTrunk("peer", "2001")
    assert plan.route("1001", is_extension=False, from_trunk=False) == ToExtension("1001")
    assert plan.route("10011", is_extension=False, from_trunk=False) == Reject(
        403, "Rejected by the dial plan"
    )
    assert plan.route("8001", is_extension=False, from_trunk=False) == ToExtension("1001")
    decision = plan.route("999", is_extension=True, from_trunk=False)
    assert isinstance(decision, Reject) and decision.status == 404


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            DialRule(pattern="(", action="local"),
            r"dialplan rule 1 \(pattern '\('\): '\(' is not a regular expression",
        ),
        (DialRule(pattern="1", action="trunk:nowhere"), "names no configured trunk"),
        (DialRule(pattern="1", action="reject:200"), "is not 'local'"),
        (DialRule(pattern="1", action="drop"), "is not 'local'"),
        (DialRule(pattern="1", action="local", strip=-1), "strip -1"),
    ],
)
def test_bad_rules_are_refused_naming_the_rule(rule: DialRule, message: str) -> None:
    with pytest.raises(DialPlanError, match=message):
        DialPlan((rule,), (PEER,))
