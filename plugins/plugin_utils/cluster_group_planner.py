# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bringing a cluster group (a role) online or offline, or moving it to a node: the pure planner.

The group's own cmdlets wait: ``Start-``, ``Stop-`` and ``Move-ClusterGroup -Wait <s>`` return when
the group has reached its state or after that many seconds, with the group as it then is. Groups
come online bottom-up by dependency and go offline top-down (wsfc-behaviour 4.2, 4.5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    check_positive,
    find_named,
    listing,
    name_of,
    names,
    resource_type,
)

GROUP_PROPERTIES = ("Name", "OwnerNode", "State", "GroupType")
RESOURCE_PROPERTIES = ("Name", "State", "OwnerNode", "ResourceType")
TARGET_STATE = {"online": "Online", "offline": "Offline"}


def _cluster(args: Mapping[str, Any]) -> dict[str, ParameterValue]:
    return {"Cluster": args["cluster"]} if args.get("cluster") else {}


def group_resources_read(
    name: str, args: Mapping[str, Any], pipeline_name: str, *, after_change: bool = False
) -> Pipeline:
    """The group's resources; as the last pipeline of an apply, they report the state it left."""
    steps = (
        Step("Get-ClusterGroup", _cluster(args)),
        Step("Where-Object", {"Property": "Name", "EQ": SWITCH, "Value": name}),
        Step("Get-ClusterResource"),
    )
    if after_change:
        # Marked as changing so that it runs only in the apply round trip, after the changes.
        return change(pipeline_name, *steps, select=RESOURCE_PROPERTIES)
    return read(pipeline_name, *steps, select=RESOURCE_PROPERTIES)


def reads(args: Mapping[str, Any]) -> list[Pipeline]:
    if not args.get("state") and not args.get("node"):
        raise ArgumentError("state", "give state (online or offline), node (the node to move to), or both")
    check_positive("wait", args.get("wait"), allow_zero=True)
    cluster = _cluster(args)
    return [
        read("groups", Step("Get-ClusterGroup", cluster), select=GROUP_PROPERTIES),
        group_resources_read(args["name"], args, "resources"),
        read("nodes", Step("Get-ClusterNode", cluster), select=("Name", "State")),
    ]


def group_state(group: Mapping[str, Any], resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "name": name_of(group),
        "owner_node": name_of(group.get("OwnerNode")),
        "state": group.get("State"),
        "resources": {
            name_of(r): {
                "state": r.get("State"),
                "owner_node": name_of(r.get("OwnerNode")),
                "resource_type": resource_type(r),
            }
            for r in resources
        },
    }


def plan(args: Mapping[str, Any], observed: Observed) -> Plan:
    group = find_named(observed["groups"], args["name"])
    if group is None:
        raise PlanError(
            f"name: the cluster has no group called {args['name']!r}; its groups are "
            f"{listing(names(observed['groups']))}"
        )
    name = name_of(group)
    before = group_state(group, observed["resources"])
    wait: dict[str, ParameterValue] = {"Wait": args["wait"], **_cluster(args)}
    changes: list[Pipeline] = []
    after = dict(before)

    target = args.get("node")
    move: Pipeline | None = None
    if target:
        node = find_named(observed["nodes"], target)
        if node is None:
            raise PlanError(
                f"node: {target!r} is not a node of the cluster; its nodes are "
                f"{listing(names(observed['nodes']))}"
            )
        if name_of(node).casefold() != before["owner_node"].casefold():
            if node.get("State") != "Up":
                raise PlanError(
                    f"node: {name_of(node)} is {node.get('State')} and cannot take group {name}; "
                    "resume or start it first (pbxops.wsfc.cluster_node state=resumed)"
                )
            move = change(
                f"move {name} to {name_of(node)}",
                Step("Move-ClusterGroup", {"Name": name, "Node": name_of(node), **wait}),
                select=GROUP_PROPERTIES,
            )
            after["owner_node"] = name_of(node)

    desired = TARGET_STATE.get(args.get("state") or "")
    toggle: Pipeline | None = None
    if desired and before["state"] != desired:
        cmdlet = "Start-ClusterGroup" if desired == "Online" else "Stop-ClusterGroup"
        toggle = change(
            f"{args['state']} {name}", Step(cmdlet, {"Name": name, **wait}), select=GROUP_PROPERTIES
        )
        after["state"] = desired
    # Stop before moving (an offline group moves at once); move before starting (it starts only once).
    if desired == "Offline":
        changes = [p for p in (toggle, move) if p is not None]
    else:
        changes = [p for p in (move, toggle) if p is not None]
    if not changes:
        return Plan(changes=(), before=before, after=before)
    changes.append(group_resources_read(name, args, "resources after", after_change=True))
    resource_state = (
        "Offline" if after["state"] == "Offline" else "Online" if after["state"] == "Online" else None
    )
    after["resources"] = {
        r: {**v, "owner_node": after["owner_node"], **({"state": resource_state} if resource_state else {})}
        for r, v in before["resources"].items()
    }
    return Plan(
        changes=tuple(changes),
        before=before,
        after=after,
        reported=lambda applied: reported_state(name, after, applied),
    )


def reported_state(name: str, predicted: Mapping[str, Any], applied: Observed) -> dict[str, Any]:
    """The group as the last of Start-, Stop- or Move-ClusterGroup returned it, with its resources."""
    returned = [o for key, output in applied.outputs.items() if key != "resources after" for o in output]
    group = find_named(returned[::-1], name)
    if group is None:
        return dict(predicted)
    return group_state(group, applied.get("resources after"))


def shortfall(args: Mapping[str, Any], state: Mapping[str, Any]) -> str | None:
    """What the group has not reached after the wait, or ``None``."""
    problems = []
    desired = TARGET_STATE.get(args.get("state") or "")
    if desired and state.get("state") != desired:
        problems.append(f"is {state.get('state')}, not {desired}")
    if args.get("node") and str(state.get("owner_node", "")).casefold() != args["node"].casefold():
        problems.append(f"is on {state.get('owner_node')}, not {args['node']}")
    if not problems:
        return None
    return (
        f"group {args['name']} {' and '.join(problems)} after waiting {args['wait']} s. Run the task again "
        "to keep waiting or raise wait; if a resource failed, pbxops.wsfc.cluster_info shows which"
    )
