# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A typed model of the cmdlet calls our action plugins send to a Windows host.

A ``Pipeline`` is a list of ``Step``s, each a cmdlet name with typed parameter values. Nothing
else can be expressed: there are no script blocks and no script text, so a value can never
become code on the host. The executor module (``pbxops.wsfc.cmdlet_pipelines``) splats the
parameters into the cmdlet it looks up by name.

Values are plain data: ``str``, ``int``, ``bool`` (for ``[bool]`` parameters), ``SWITCH`` (a
present switch; leave a switch out to turn it off), ``False`` for a switch that must be said off
(``{"Confirm": False}`` is ``-Confirm:$false``, which cmdlets that ask for confirmation need on a
host without a user), and tuples of ``str`` or ``int`` for list
parameters (``String[]``, ``StringCollection``, ``UInt32[]``). A parameter that takes objects
(``New-StoragePool -PhysicalDisks``) gets ``OutputOf("name")``: the output objects of an earlier
pipeline of the same round trip, as they are on the host.

Some settings Windows exposes only as writable properties of an object, not as cmdlet parameters:
the cluster's common properties (``(Get-Cluster).SameSubnetDelay = 2000``), a group's
``FailoverThreshold``, a resource's ``RestartThreshold``. A ``SetProperties`` step after the cmdlet
that outputs the object assigns them, as typed data like every other value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union


class Switch:
    """A switch parameter that is present (``-Force``)."""

    _instance: Switch | None = None

    def __new__(cls) -> Switch:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SWITCH"


SWITCH = Switch()


@dataclass(frozen=True)
class OutputOf:
    """The output objects of the earlier pipeline called ``pipeline``, passed as a parameter value."""

    pipeline: str


ParameterValue = Union[str, int, bool, Switch, OutputOf, tuple[str, ...], tuple[int, ...]]

# Verb-Noun, as every cmdlet we may call is named; anything else (paths, script text, aliases
# with punctuation) is refused before it reaches the host.
_CMDLET_NAME = re.compile(r"^[A-Za-z]+-[A-Za-z0-9]+$")
_PARAMETER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_PROPERTY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CmdletModelError(ValueError):
    """A step or pipeline that cannot be expressed safely."""


def _check_value(cmdlet: str, name: str, value: object) -> None:
    if isinstance(value, Switch | OutputOf | bool | str) or (
        isinstance(value, int) and not isinstance(value, bool)
    ):
        return
    if isinstance(value, tuple) and value:
        if all(isinstance(v, str) for v in value):
            return
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return
    raise CmdletModelError(
        f"{cmdlet} -{name}: {value!r} is not a parameter value; expected str, int, bool, SWITCH, "
        "OutputOf, or a non-empty tuple of str or of int"
    )


@dataclass(frozen=True)
class Step:
    """One cmdlet of a pipeline: ``Step("Get-Disk", {"Number": 1})``."""

    cmdlet: str
    parameters: Mapping[str, ParameterValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _CMDLET_NAME.match(self.cmdlet):
            raise CmdletModelError(f"cmdlet {self.cmdlet!r} is not a Verb-Noun cmdlet name")
        for name, value in self.parameters.items():
            if not _PARAMETER_NAME.match(name):
                raise CmdletModelError(
                    f"{self.cmdlet}: {name!r} is not a parameter name (write it without '-')"
                )
            _check_value(self.cmdlet, name, value)

    def to_wire(self) -> dict[str, Any]:
        """The step as the executor module receives it (JSON)."""
        parameters: dict[str, Any] = {}
        for name, value in self.parameters.items():
            if isinstance(value, Switch):
                parameters[name] = True
            elif isinstance(value, OutputOf):
                parameters[name] = {"output_of": value.pipeline}
            elif isinstance(value, tuple):
                parameters[name] = list(value)
            else:
                parameters[name] = value
        return {"cmdlet": self.cmdlet, "parameters": parameters}


PropertyValue = Union[str, int, bool]


@dataclass(frozen=True)
class SetProperties:
    """Assigns ``values`` to each input object (``$object.Name = value``), then passes it on.

    ``Pipeline("heartbeat", (Step("Get-Cluster"), SetProperties({"SameSubnetDelay": 2000})))``.
    It cannot be the first step: it needs objects to assign to. On the wire it is
    ``{"set_properties": {"SameSubnetDelay": 2000}}``.
    """

    values: Mapping[str, PropertyValue]

    def __post_init__(self) -> None:
        if not self.values:
            raise CmdletModelError("SetProperties needs at least one property")
        for name, value in self.values.items():
            if not _PROPERTY_NAME.match(name):
                raise CmdletModelError(f"SetProperties: {name!r} is not a property name")
            if not isinstance(value, str | int | bool):
                raise CmdletModelError(
                    f"SetProperties {name}: {value!r} is not a property value; expected str, int or bool"
                )

    def to_wire(self) -> dict[str, Any]:
        return {"set_properties": dict(self.values)}


@dataclass(frozen=True)
class Pipeline:
    """Steps run as ``Step1 | Step2 | ...`` on the host.

    ``name`` labels the pipeline in results and errors. ``select`` lists the properties to return
    of each output object (all public ones when empty). ``changes`` says that it changes the host:
    such pipelines never run in check mode.
    """

    name: str
    steps: tuple[Step | SetProperties, ...]
    select: tuple[str, ...] = ()
    changes: bool = False
    depth: int = 2

    def __post_init__(self) -> None:
        if not self.name:
            raise CmdletModelError("a pipeline needs a name")
        if not self.steps:
            raise CmdletModelError(f"pipeline {self.name!r} has no steps")
        if isinstance(self.steps[0], SetProperties):
            raise CmdletModelError(
                f"pipeline {self.name!r} starts with SetProperties; a cmdlet must output the objects first"
            )
        for prop in self.select:
            if not _PROPERTY_NAME.match(prop):
                raise CmdletModelError(f"pipeline {self.name!r}: {prop!r} is not a property name")
        if not 0 <= self.depth <= 5:
            raise CmdletModelError(f"pipeline {self.name!r}: depth {self.depth} is not between 0 and 5")

    def references(self) -> list[str]:
        """The names of the earlier pipelines whose output this one takes as parameter values."""
        return [
            v.pipeline
            for step in self.steps
            if isinstance(step, Step)
            for v in step.parameters.values()
            if isinstance(v, OutputOf)
        ]

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "name": self.name,
            "changes": self.changes,
            "depth": self.depth,
            "steps": [step.to_wire() for step in self.steps],
        }
        if self.select:
            wire["select"] = list(self.select)
        return wire


def read(name: str, *steps: Step | SetProperties, select: tuple[str, ...] = (), depth: int = 2) -> Pipeline:
    """A pipeline that only reads."""
    return Pipeline(name=name, steps=tuple(steps), select=select, depth=depth)


def change(name: str, *steps: Step | SetProperties, select: tuple[str, ...] = ()) -> Pipeline:
    """A pipeline that changes the host."""
    return Pipeline(name=name, steps=tuple(steps), select=select, changes=True)
