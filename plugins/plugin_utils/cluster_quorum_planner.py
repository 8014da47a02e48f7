# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster's quorum witness: a disk, a file share, or none (node majority): the pure planner.

``Get-ClusterQuorum`` returns the witness resource (or none); its kind comes from the resource's
type (wsfc-behaviour 3.4: "Physical Disk", "File Share Witness" whose display name is "File Share
Quorum Witness"), and a file share witness's path from its ``SharePath`` parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import (
    SWITCH,
    ParameterValue,
    Pipeline,
    Step,
    change,
    read,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, Plan
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.wsfc_common import (
    ArgumentError,
    PlanError,
    find_named,
    listing,
    name_of,
    parameters_by_object,
    resource_type,
)

_UNC = re.compile(r"^\\\\[^\\/]+\\[^\\/]+(\\[^\\/]+)*\\?$")
QUORUM_PROPERTIES = ("QuorumResource", "QuorumType")
RESOURCE_PROPERTIES = ("Name", "ResourceType", "OwnerGroup", "State")
_DISK_TYPES = ("physical disk",)
_SHARE_TYPES = ("file share witness", "file share quorum witness")


def _cluster(args: Mapping[str, Any]) -> dict[str, ParameterValue]:
    return {"Cluster": args["cluster"]} if args.get("cluster") else {}


def reads(args: Mapping[str, Any]) -> list[Pipeline]:
    witness = args["witness"]
    if witness == "disk" and not args.get("disk"):
        raise ArgumentError("disk", "witness is disk, so disk (the name of a cluster disk) is required")
    if witness == "file_share":
        share = args.get("file_share")
        if not share:
            raise ArgumentError("file_share", "witness is file_share, so file_share (a UNC path) is required")
        if not _UNC.match(share):
            raise ArgumentError("file_share", f"{share!r} is not a UNC path such as \\\\fs1\\witness")
    for option, kind in (("disk", "disk"), ("file_share", "file_share")):
        if args.get(option) and witness != kind:
            raise ArgumentError(option, f"only applies when witness is {kind}, not {witness}")
    cluster = _cluster(args)
    return [
        read("quorum", Step("Get-ClusterQuorum", cluster), select=QUORUM_PROPERTIES),
        read("resources", Step("Get-ClusterResource", cluster), select=RESOURCE_PROPERTIES),
        read(
            "parameters",
            Step("Get-ClusterResource", cluster),
            Step("Get-ClusterParameter"),
            depth=1,
        ),
    ]


def quorum_state(observed: Observed) -> dict[str, Any]:
    quorum = (observed["quorum"] or [{}])[0]
    witness_name = name_of(quorum.get("QuorumResource"))
    if not witness_name:
        return {"witness": "none", "quorum_type": quorum.get("QuorumType")}
    resource = find_named(observed["resources"], witness_name) or {}
    kind = resource_type(resource).casefold()
    if not kind and isinstance(quorum.get("QuorumResource"), Mapping):
        kind = resource_type(quorum["QuorumResource"]).casefold()
    state: dict[str, Any] = {"quorum_type": quorum.get("QuorumType"), "resource": witness_name}
    if kind in _DISK_TYPES:
        state.update(witness="disk", disk=witness_name)
    elif kind in _SHARE_TYPES:
        path = parameters_by_object(observed["parameters"]).get(witness_name.casefold(), {}).get("SharePath")
        state.update(witness="file_share", file_share=path)
    else:
        state.update(witness=kind or "unknown")
    return state


def plan(args: Mapping[str, Any], observed: Observed) -> Plan:
    before = quorum_state(observed)
    witness = args["witness"]
    cluster = _cluster(args)
    if witness == "none":
        if before["witness"] == "none":
            return Plan(changes=(), before=before, after=before)
        step = Step("Set-ClusterQuorum", {"NoWitness": SWITCH, **cluster})
        after: dict[str, Any] = {"witness": "none"}
    elif witness == "disk":
        disks = [r for r in observed["resources"] if resource_type(r).casefold() in _DISK_TYPES]
        disk = find_named(disks, args["disk"])
        if disk is None:
            raise PlanError(
                f"disk: the cluster has no disk called {args['disk']!r}; its disks are "
                f"{listing([name_of(d) for d in disks])}. Add it with pbxops.wsfc.cluster_disk first"
            )
        name = name_of(disk)
        if before["witness"] == "disk" and before.get("disk", "").casefold() == name.casefold():
            return Plan(changes=(), before=before, after=before)
        step = Step("Set-ClusterQuorum", {"DiskWitness": name, **cluster})
        after = {"witness": "disk", "disk": name}
    else:
        share = str(args["file_share"])
        current = str(before.get("file_share") or "")
        if (
            before["witness"] == "file_share"
            and current.rstrip("\\").casefold() == share.rstrip("\\").casefold()
        ):
            return Plan(changes=(), before=before, after=before)
        step = Step("Set-ClusterQuorum", {"FileShareWitness": share, **cluster})
        after = {"witness": "file_share", "file_share": share}
    predicted = {"quorum_type": "Majority", **after}

    def reported(applied: Observed) -> dict[str, Any]:
        returned = (applied.get("set quorum") or [{}])[0]
        witness = name_of(returned.get("QuorumResource"))
        state = {**predicted, "quorum_type": returned.get("QuorumType", predicted["quorum_type"])}
        if witness:
            state["resource"] = witness
        return state

    return Plan(
        changes=(change("set quorum", step, select=QUORUM_PROPERTIES),),
        before=before,
        after=predicted,
        reported=reported,
    )
