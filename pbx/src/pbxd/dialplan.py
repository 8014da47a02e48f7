"""The dial plan: which way a dialled number goes (a pure function of the number).

Rules (``DialRule`` in the configuration) are tried in order; the first whose pattern matches
the whole number decides, after removing ``strip`` leading digits and prepending ``prefix``.
With no rules, a local extension is dialled locally and a number matching a trunk's ``numbers``
crosses that trunk. A call that arrived over a trunk never leaves over a trunk (loop protection).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pbxd.config import DialRule, Trunk


@dataclass(frozen=True, slots=True)
class ToExtension:
    number: str


@dataclass(frozen=True, slots=True)
class ToTrunk:
    trunk: str
    number: str


@dataclass(frozen=True, slots=True)
class Reject:
    status: int
    reason: str


Decision = ToExtension | ToTrunk | Reject


class DialPlanError(ValueError):
    """A dial rule that cannot work; the message names the rule and what to change."""


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    kind: str  # "local", "trunk" or "reject"
    argument: str
    strip: int
    prefix: str


class DialPlan:
    def __init__(self, rules: tuple[DialRule, ...], trunks: tuple[Trunk, ...]) -> None:
        trunk_names = {trunk.name for trunk in trunks}
        self._rules = [_compile(index, rule, trunk_names) for index, rule in enumerate(rules)]
        self._trunk_numbers = [
            (trunk.name, [_compile_pattern(p, f"trunk {trunk.name!r} numbers") for p in trunk.numbers])
            for trunk in trunks
        ]

    def route(self, number: str, *, is_extension: bool, from_trunk: bool) -> Decision:
        """Decide for ``number``. ``is_extension`` says whether it is a local extension (only
        used without rules: with rules, a "local" rule's result is looked up afterwards)."""
        decision = self._decide(number, is_extension)
        if isinstance(decision, ToTrunk) and from_trunk:
            return Reject(404, "Not Found (calls from a trunk are not routed to a trunk)")
        return decision

    def _decide(self, number: str, is_extension: bool) -> Decision:
        if self._rules:
            for rule in self._rules:
                if rule.pattern.fullmatch(number):
                    target = rule.prefix + number[rule.strip :]
                    if rule.kind == "local":
                        return ToExtension(target)
                    if rule.kind == "trunk":
                        return ToTrunk(rule.argument, target)
                    return Reject(int(rule.argument), "Rejected by the dial plan")
            return Reject(404, "Not Found (no dial plan rule matches)")
        if is_extension:
            return ToExtension(number)
        for name, patterns in self._trunk_numbers:
            if any(pattern.fullmatch(number) for pattern in patterns):
                return ToTrunk(name, number)
        return Reject(404, "Not Found")


def _compile(index: int, rule: DialRule, trunk_names: set[str]) -> _Rule:
    where = f"dialplan rule {index + 1} (pattern {rule.pattern!r})"
    pattern = _compile_pattern(rule.pattern, where)
    kind, _, argument = rule.action.partition(":")
    valid = (
        (kind == "local" and not argument)
        or (kind == "trunk" and argument in trunk_names)
        or (kind == "reject" and argument.isdigit() and 400 <= int(argument) <= 699)
    )
    if kind == "trunk" and not valid:
        raise DialPlanError(
            f"{where}: action {rule.action!r} names no configured trunk; known: {sorted(trunk_names)}"
        )
    if not valid:
        raise DialPlanError(
            f"{where}: action {rule.action!r} is not 'local', 'trunk:<name>' or 'reject:<status 400-699>'"
        )
    if rule.strip < 0:
        raise DialPlanError(f"{where}: strip {rule.strip} must be 0 or more")
    return _Rule(pattern, kind, argument, rule.strip, rule.prefix)


def _compile_pattern(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise DialPlanError(f"{where}: {pattern!r} is not a regular expression ({error})") from None
