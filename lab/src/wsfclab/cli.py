"""``wsfclab``: look at and operate a lab from the shell.

    wsfclab [--state-dir DIR] [--world FILE] [--json] status
    wsfclab ... node stop|start|crash|reboot NAME [NAME ...]
    wsfclab ... node isolate|heal NAME [--network NETWORK]
    wsfclab ... service kill NODE NAME
    wsfclab ... cluster [status]
    wsfclab ... events [--node NAME] [--last SECONDS] [--id ID]
    wsfclab ... reset

The state dir defaults to ``.lab`` in the current directory (or $WSFCLAB_STATE_DIR). Errors print
one line on stderr that says what to do next, and exit with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from wsfclab import nodes, processes, services
from wsfclab.cluster import cli as cluster_cli
from wsfclab.errors import LabError
from wsfclab.lab import DEFAULT_STATE_DIR, Lab
from wsfclab.paths import volume_partitions
from wsfclab.state import LabState


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wsfclab", description="Operate a simulated Windows/WSFC lab.")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("WSFCLAB_STATE_DIR", DEFAULT_STATE_DIR)),
        help="the lab's state folder (default: .lab, or $WSFCLAB_STATE_DIR)",
    )
    parser.add_argument(
        "--world", type=Path, help="the world file to build the lab from (first use, or reset)"
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="nodes, disks, services and processes")
    commands.add_parser("reset", help="stop every lab process and rebuild the lab from its world")
    node = commands.add_parser(
        "node", help="power operations on nodes, and cutting one off its cluster peers"
    )
    node.add_argument("action", choices=["stop", "start", "crash", "reboot", "isolate", "heal"])
    node.add_argument("name", nargs="+", help="several nodes crash (or stop) at the same moment")
    node.add_argument("--network", help="isolate|heal: the cluster network (default: every network)")
    service = commands.add_parser("service", help="act on a service")
    service.add_argument("action", choices=["kill"])
    service.add_argument("node")
    service.add_argument("name")
    cluster_cli.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = _run(args)
    except LabError as exc:
        print(f"wsfclab: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(_human(result))
    return 0


def _run(args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "reset":
        lab = Lab(args.state_dir)
        lab.reset(args.world)
        with lab.session() as state:
            return {"reset": True, "world": state.world_file, **status(lab, state)}
    lab = Lab.open(args.state_dir, args.world)
    with lab.session() as state:
        if args.command in cluster_cli.COMMANDS:
            return cluster_cli.run(lab, state, args)
        if args.command == "node" and args.action in ("isolate", "heal"):
            return cluster_cli.fault(state, args.action, args.name[0], args.network)
        if args.command == "node":
            problems: list[str] = []
            for node in (n.upper() for n in args.name):
                if args.action == "stop":
                    nodes.stop_node(lab, state, node)
                elif args.action == "crash":
                    nodes.crash_node(lab, state, node)
                elif args.action == "start":
                    problems += nodes.start_node(lab, state, node)
                else:
                    problems += nodes.reboot_node(lab, state, node)
            node = ",".join(n.upper() for n in args.name)
            return {"node": node, "action": args.action, "problems": problems, **status(lab, state)}
        if args.command == "service":
            killed = services.kill_service(lab, state, args.node, args.name)
            return {"node": args.node.upper(), "service": killed.name, "action": "kill", **status(lab, state)}
        return status(lab, state)


def status(lab: Lab, state: LabState) -> dict[str, Any]:
    """The lab at a glance: nodes with their lab-run services, and where each disk is online."""
    node_rows = []
    for node in state.nodes.values():
        node_rows.append(
            {
                "name": node.name,
                "running": node.running,
                "boot_time": node.boot_time,
                "addresses": [a.ip for nic in node.nics for a in nic.addresses],
                "drives": sorted(volume_partitions(state, node.name)) if node.running else [],
                "services": [
                    {
                        "name": s.name,
                        "state": s.state,
                        "start_mode": s.start_mode,
                        "pid": s.pid,
                        "alive": processes.is_alive(s.pid, s.process_start),
                        "log": str(lab.local(s.log)) if s.log else None,
                    }
                    for s in sorted(node.services.values(), key=lambda s: s.name.lower())
                    if not s.emulated or s.name == "ClusSvc"
                ],
            }
        )
    disk_rows = [
        {
            "key": disk.key,
            "bus_type": disk.bus_type,
            "size": disk.size,
            "partition_style": disk.partition_style,
            "online_on": sorted(n for n, v in disk.views.items() if not v.is_offline),
            "visible_on": sorted(disk.views),
            "letters": sorted(p.drive_letter for p in disk.partitions if p.drive_letter),
            "folder": str(lab.local(disk.folder)),
        }
        for disk in sorted(state.disks.values(), key=lambda d: d.key)
    ]
    return {
        "state_dir": str(lab.state_dir),
        "world": state.world_name,
        "nodes": node_rows,
        "disks": disk_rows,
    }


def _human(result: dict[str, Any]) -> str:
    if "cluster" in result or "events" in result:
        return cluster_cli.human(result)
    lines = []
    if "action" in result:
        target = result.get("service", result.get("node"))
        lines.append(f"{result['action']}: {target} done")
        lines += [f"  warning: {p}" for p in result.get("problems", [])]
    lines.append(f"lab {result['world']!r} in {result['state_dir']}")
    for node in result["nodes"]:
        power = "running" if node["running"] else "stopped"
        drives = " ".join(f"{d}:" for d in node["drives"])
        lines.append(
            f"  node {node['name']:<15} {power:<8} {', '.join(node['addresses'])}  drives {drives or '-'}"
        )
        for svc in node["services"]:
            pid = f"pid {svc['pid']}" if svc["pid"] else ""
            lines.append(f"    service {svc['name']:<20} {svc['state']:<8} {svc['start_mode']:<10} {pid}")
    for disk in result["disks"]:
        online = ",".join(disk["online_on"]) or "-"
        letters = ",".join(disk["letters"]) or "-"
        size_gb = disk["size"] / 1024**3
        lines.append(
            f"  disk {disk['key']:<28} {disk['bus_type']:<6} {size_gb:>7.1f} GB  "
            f"{disk['partition_style']:<4} "
            f"online on {online}  letters {letters}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
