# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure half of every action plugin: what a read returned, and what a module would change.

Planners (``plan(args, observed) -> Plan``) and validators import only this module and
``cmdlet``, never ``ansible``, so they are tested as plain functions without a connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline, SetProperties, Step

__all__ = ["Observed", "Plan", "PlanError", "check_round_trip", "read_back"]


@dataclass(frozen=True)
class Observed:
    """What a round trip returned: by pipeline name, the output objects of its last step, and
    the messages its cmdlets wrote to the warning stream (Test-Cluster reports its verdict there).
    ``observed["disks"]`` is the output of the pipeline called "disks"."""

    outputs: Mapping[str, list[Any]] = field(default_factory=dict)
    warnings: Mapping[str, list[str]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> list[Any]:
        return self.outputs[name]

    def get(self, name: str) -> list[Any]:
        """The output of ``name``, or nothing when that pipeline did not run."""
        return list(self.outputs.get(name, []))


@dataclass(frozen=True)
class Plan:
    """What a module would do: the changing pipelines, and the state before and after them.

    ``after`` is the prediction that check mode and the diff show. When the module applies the
    changes, ``reported`` (if given) turns what the changing pipelines returned into the state the
    result carries, so that the result says what the host reported rather than what was expected.
    ``extra`` adds module-specific keys to the result (a report path, a list of violations).
    ``advice`` says, by pipeline name, what the operator should check when that changing pipeline
    fails (the cmdlet's own error names the symptom, not its usual cause).
    """

    changes: tuple[Pipeline, ...]
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    warnings: tuple[str, ...] = field(default=())
    reported: Callable[[Observed], Mapping[str, Any]] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    advice: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for pipeline in self.changes:
            if not pipeline.changes:
                raise ValueError(f"pipeline {pipeline.name!r} is planned as a change but is marked as a read")

    def state_after_apply(self, applied: Observed) -> Mapping[str, Any]:
        """The state after the changes ran: what the host reported, when the module can read it."""
        if self.reported is None or not self.changes:
            return self.after
        return self.reported(applied)


class PlanError(Exception):
    """A planner or validator refuses the task before anything changes.

    ``msg`` names the parameter or the object, the value found and what is expected, and what to
    do next; ``details`` become keys of the failed result (``disk``, ``violations``, ...).
    """

    def __init__(self, msg: str, **details: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


def check_round_trip(pipelines: Sequence[Pipeline]) -> None:
    """Refuse a round trip the executor could not run as meant: two pipelines of one name, or a
    parameter taking the output of a pipeline that does not come earlier in the same call."""
    names = [p.name for p in pipelines]
    if len(set(names)) != len(names):
        raise ValueError(f"pipeline names must be unique within a round trip: {names}")
    for position, pipeline in enumerate(pipelines):
        for reference in pipeline.references():
            if reference not in names[:position]:
                raise ValueError(
                    f"pipeline {pipeline.name!r} uses the output of {reference!r}, "
                    "which is not an earlier pipeline of the same round trip"
                )


def read_back(
    name: str, *steps: Step | SetProperties, select: tuple[str, ...] = (), depth: int = 2
) -> Pipeline:
    """A read that ends the apply round trip, so that ``Plan.reported`` sees the state the changes
    left when the changing cmdlets return nothing (Set-Disk). It is marked as changing only so that
    it travels with the changes: it never runs in check mode, and it costs no extra round trip."""
    return Pipeline(name=name, steps=tuple(steps), select=select, changes=True, depth=depth)
