# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure half of every action plugin: what a read returned, and what a module would change.

Planners (``plan(args, observed) -> Plan``) and validators import only this module and
``cmdlet``, never ``ansible``, so they are tested as plain functions without a connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import Pipeline


@dataclass(frozen=True)
class Observed:
    """What a round trip returned: by pipeline name, the output objects of its last step, and
    the messages its cmdlets wrote to the warning stream (Test-Cluster reports its verdict there).
    ``observed["disks"]`` is the output of the pipeline called "disks"."""

    outputs: Mapping[str, list[Any]] = field(default_factory=dict)
    warnings: Mapping[str, list[str]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> list[Any]:
        return self.outputs[name]


@dataclass(frozen=True)
class Plan:
    """What a module would do: the changing pipelines, and the state before and after them."""

    changes: tuple[Pipeline, ...]
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    warnings: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for pipeline in self.changes:
            if not pipeline.changes:
                raise ValueError(f"pipeline {pipeline.name!r} is planned as a change but is marked as a read")
