# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pausing (with drain), resuming (with failback) and evicting a cluster node: the pure planner.

A node is read from ``Get-ClusterNode`` without ``-Name``, which never fails for a node that is not
a member. ``State`` is Up, Down, Paused, Joining or Unknown (wsfc-behaviour 3.2); ``DrainStatus`` is
NotInitiated, InProgress, Completed or Failed.
"""

from __future__ import annotations

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
    PlanError,
    check_netbios_name,
    check_positive,
    find_named,
    listing,
    names,
)

NODE_PROPERTIES = ("Name", "State", "DrainStatus", "Id", "NodeWeight", "DynamicWeight", "StatusInformation")
FAILBACK = {"no_failback": "NoFailback", "immediate": "Immediate", "policy": "Policy"}
DRAIN_DONE = ("Completed", "Failed")


def _cluster(args: Mapping[str, Any]) -> dict[str, ParameterValue]:
    return {"Cluster": args["cluster"]} if args.get("cluster") else {}


def reads(args: Mapping[str, Any]) -> list[Pipeline]:
    check_netbios_name("name", args["name"])
    if args.get("target_node"):
        check_netbios_name("target_node", args["target_node"])
    check_positive("drain_timeout", args.get("drain_timeout"), allow_zero=True)
    return [read("nodes", Step("Get-ClusterNode", _cluster(args)), select=NODE_PROPERTIES)]


def node_read(args: Mapping[str, Any]) -> Pipeline:
    """What the drain wait polls."""
    return read(
        "node", Step("Get-ClusterNode", {"Name": (args["name"],), **_cluster(args)}), select=NODE_PROPERTIES
    )


def node_state(node: Mapping[str, Any] | None) -> dict[str, Any]:
    if node is None:
        return {"member": False}
    return {
        "member": True,
        "name": node.get("Name"),
        "state": node.get("State"),
        "drain_status": node.get("DrainStatus"),
        "node_weight": node.get("NodeWeight"),
        "dynamic_weight": node.get("DynamicWeight"),
    }


def _reported(name: str) -> Any:
    """The node as the changing cmdlet returned it (Remove-ClusterNode returns nothing)."""

    def reported(applied: Observed) -> dict[str, Any]:
        for output in applied.outputs.values():
            node = find_named(output, name)
            if node is not None:
                return node_state(node)
        return {"member": False}

    return reported


def wants_drain_wait(args: Mapping[str, Any], plan: Plan) -> bool:
    """Whether the action waits for a drain after this plan: a drain it started, or one in progress."""
    return (
        args["state"] == "paused" and bool(args["drain"]) and plan.after.get("drain_status") == "InProgress"
    )


def plan(args: Mapping[str, Any], observed: Observed) -> Plan:
    nodes = observed["nodes"]
    node = find_named(nodes, args["name"])
    before = node_state(node)
    desired = args["state"]

    if node is None:
        if desired == "absent":
            return Plan(changes=(), before=before, after=before)
        raise PlanError(
            f"name: {args['name']!r} is not a node of the cluster; its nodes are {listing(names(nodes))}. "
            "Join it first with pbxops.wsfc.cluster"
        )

    name = str(node["Name"])
    state = node.get("State")
    if desired == "absent":
        parameters: dict[str, ParameterValue] = {"Name": (name,), "Force": SWITCH, **_cluster(args)}
        if args.get("cleanup_disks"):
            parameters["CleanupDisks"] = SWITCH
        return Plan(
            changes=(change(f"evict {name}", Step("Remove-ClusterNode", parameters)),),
            before=before,
            after={"member": False},
            reported=_reported(name),
        )

    if state not in ("Up", "Paused"):
        raise PlanError(
            f"node {name} is {state}, so it can be neither paused nor resumed; start its cluster service "
            "(Start-ClusterNode) or bring the node up, then run the task again"
        )

    if desired == "resumed":
        if state == "Up":
            return Plan(changes=(), before=before, after=before)
        resume: dict[str, ParameterValue] = {"Name": (name,), **_cluster(args)}
        if args.get("failback"):
            resume["Failback"] = FAILBACK[args["failback"]]
        return Plan(
            changes=(change(f"resume {name}", Step("Resume-ClusterNode", resume), select=NODE_PROPERTIES),),
            before=before,
            after={**before, "state": "Up"},
            reported=_reported(name),
        )

    # paused
    drain = bool(args["drain"])
    drain_status = node.get("DrainStatus")
    if state == "Paused" and (not drain or drain_status in ("Completed", "InProgress")):
        # A drain still in progress (a timed-out earlier run) is waited for, not started again.
        return Plan(changes=(), before=before, after=before)
    suspend: dict[str, ParameterValue] = {"Name": (name,), **_cluster(args)}
    if drain:
        suspend["Drain"] = SWITCH
        if args.get("force_drain"):
            suspend["ForceDrain"] = SWITCH
        if args.get("target_node"):
            suspend["TargetNode"] = args["target_node"]
    after = {**before, "state": "Paused"}
    if drain:
        after["drain_status"] = "InProgress"
    return Plan(
        changes=(change(f"pause {name}", Step("Suspend-ClusterNode", suspend), select=NODE_PROPERTIES),),
        before=before,
        after=after,
        reported=_reported(name),
    )


def drain_outcome(node: Mapping[str, Any] | None) -> str | None:
    """``None`` while the drain runs, else its final DrainStatus."""
    if node is None:
        return "Failed"
    status = node.get("DrainStatus")
    return str(status) if status in DRAIN_DONE else None
