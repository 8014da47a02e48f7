"""The cluster's part of the ``wsfclab`` command: its status, its events, and the network faults.

    wsfclab cluster [status]                       nodes, votes, groups, owners, resources, quorum
    wsfclab events [--node N] [--last SECONDS] [--id ID ...]
    wsfclab node isolate NODE [--network NAME]     cut the node off from its peers (one network or all)
    wsfclab node heal NODE [--network NAME]        undo the cut

Node crash, stop and start and service kill are the lab's own commands (``wsfclab node``,
``wsfclab service``); a crash of several nodes in one command (``node crash N1 N2``) is a
simultaneous loss.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from wsfclab.cluster import api, quorum
from wsfclab.cluster.errors import ClusterError
from wsfclab.errors import LabError
from wsfclab.state import LabState

if TYPE_CHECKING:
    from wsfclab.lab import Lab

COMMANDS = ("cluster", "events")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cluster = commands.add_parser("cluster", help="the failover cluster: nodes, groups, resources, quorum")
    cluster.add_argument("view", nargs="?", choices=["status"], default="status")
    log = commands.add_parser("events", help="the cluster events the nodes recorded, oldest first")
    log.add_argument("--node", help="only this node's events")
    log.add_argument("--last", type=float, metavar="SECONDS", help="only the events of the last SECONDS")
    log.add_argument("--id", type=int, action="append", dest="ids", metavar="ID", help="only these event ids")


def run(lab: Lab, state: LabState, args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "events":
        since = time.time() - args.last if args.last else None
        found = api.cluster_events(lab, node_name=args.node, since=since)
        if args.ids:
            found = [e for e in found if e.id in args.ids]
        return {
            "events": [
                {"time": e.time_created, "node": e.node, "id": e.id, "level": e.level, "message": e.message}
                for e in found
            ]
        }
    return {"cluster": status(state)}


def fault(state: LabState, action: str, node: str, network: str | None) -> dict[str, Any]:
    """``node isolate|heal``: the cut is in the cluster database; every cluster service drops the
    heartbeats it concerns from its next one."""
    try:
        if action == "isolate":
            api.isolate(state, node, network)
        else:
            api.heal(state, node, network)
    except ClusterError as exc:
        raise LabError(f"{exc.message} Run `wsfclab cluster status` to see the nodes and networks.") from exc
    return {"node": node.upper(), "action": action, "network": network, "cluster": status(state)}


def status(state: LabState) -> dict[str, Any]:
    db = state.cluster
    if db is None:
        return {"exists": False}
    members = {n for n, v in db.nodes.items() if v.state in ("Up", "Paused")}
    witness = db.quorum.witness_resource
    witness_online = witness is not None and db.resources[witness].state == "Online"
    return {
        "exists": True,
        "name": db.name,
        "heartbeat": {
            "same_subnet_delay_ms": db.properties.same_subnet_delay,
            "same_subnet_threshold": db.properties.same_subnet_threshold,
            "detection_s": db.properties.same_subnet_delay * db.properties.same_subnet_threshold / 1000,
        },
        "quorum": {
            "type": db.quorum.quorum_type,
            "witness": witness,
            "witness_dynamic_weight": db.quorum.witness_dynamic_weight,
            "votes": quorum.votes_of(db, members, witness_online),
            "total_votes": quorum.total_votes(db),
            "has_quorum": bool(members) and quorum.has_quorum(db, members, witness_online),
        },
        "nodes": [
            {
                "name": n.name,
                "id": n.id,
                "state": n.state,
                "node_weight": n.node_weight,
                "dynamic_weight": n.dynamic_weight,
                "drain_status": n.drain_status,
                "cluster_service": state.nodes[n.name].services.get("ClusSvc", None) is not None
                and state.nodes[n.name].services["ClusSvc"].state == "Running",
            }
            for n in sorted(db.nodes.values(), key=lambda n: int(n.id))
        ],
        "networks": [
            {"name": n.name, "address": f"{n.address}/{n.prefix_length}", "role": n.role}
            for n in db.networks.values()
        ],
        "isolations": [{"node": i.node, "network": i.network or "*"} for i in db.isolations],
        "groups": [
            {
                "name": g.name,
                "owner_node": g.owner_node,
                "state": g.state,
                "resources": [
                    {"name": r.name, "type": r.resource_type, "state": r.state}
                    for r in db.resources_of(g.name)
                ],
            }
            for g in db.groups.values()
        ],
    }


def human(result: dict[str, Any]) -> str:
    if "events" in result:
        return (
            "\n".join(
                f"{e['time']} {e['node']:<15} {e['id']:>5} {e['level']:<11} {e['message'].splitlines()[0]}"
                for e in result["events"]
            )
            or "no cluster events"
        )
    view = result["cluster"]
    lines = []
    if "action" in result:
        lines.append(f"{result['action']}: {result['node']} on {result['network'] or 'every network'} done")
    if not view["exists"]:
        return "\n".join([*lines, "no cluster in this lab"])
    beat, votes = view["heartbeat"], view["quorum"]
    lines.append(
        f"cluster {view['name']}: quorum {'yes' if votes['has_quorum'] else 'NO'} "
        f"({votes['votes']}/{votes['total_votes']} votes, witness {votes['witness'] or 'none'}), "
        f"heartbeat {beat['same_subnet_delay_ms']} ms x {beat['same_subnet_threshold']}"
    )
    for node in view["nodes"]:
        vote = f"{node['dynamic_weight']}/{node['node_weight']}"
        clussvc = "running" if node["cluster_service"] else "stopped"
        lines.append(
            f"  node {node['name']:<15} {node['state']:<8} vote {vote}  drain {node['drain_status']:<12} "
            f"clussvc {clussvc}"
        )
    for cut in view["isolations"]:
        lines.append(f"  isolated {cut['node']} on {cut['network']}")
    for group in view["groups"]:
        lines.append(f"  group {group['name']:<20} {group['state']:<14} on {group['owner_node'] or '-'}")
        for res in group["resources"]:
            lines.append(f"    {res['name']:<28} {res['type']:<16} {res['state']}")
    return "\n".join(lines)
