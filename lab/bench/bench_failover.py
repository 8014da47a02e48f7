#!/usr/bin/env python3
"""How long the lab's failover takes: detection, online time and total outage, for a node crash and
for a service crash, over several runs (min / median / max).

    .venv/bin/python lab/bench/bench_failover.py [--runs 3] [--delay 1000] [--threshold 10]

A two-node cluster with a disk witness runs the Echo service (the failover tests' Generic Service,
listening on the role IP) as the role "PBX". Each run:
- node crash: SIGKILL of the owner's cluster service and services (``wsfclab node crash``).
  Detection = the peer's event 1135 after the crash; online = the role's event 1201 on the peer after
  its 1641 (the move began); outage = until the role IP answers a TCP connection again.
  The crashed node is then started again and the role moved back for the next run.
- service crash: SIGKILL of the service's process (``wsfclab service kill``); it restarts on the same
  node after RestartDelay (500 ms). Detection = event 1069 after the kill; online = 1201 after 1069;
  outage = until the role IP answers again.
FailoverThreshold and RestartThreshold are raised so that every run fails over (or restarts) rather
than leaving the role Failed; the heartbeat settings are set through the cluster's real properties.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "cluster"))  # the drill cluster
import runtime_support as rs  # type: ignore[import-not-found]
from wsfclab import nodes, services
from wsfclab.cluster import api, events
from wsfclab.lab import Lab


def answered_after(port: int, start: float, limit: float = 60.0) -> float:
    while time.time() - start < limit:
        if rs.ask(port, timeout=0.2) is not None:
            return time.time() - start
        time.sleep(0.01)  # a refused connection returns at once: do not spin
    raise RuntimeError(f"the role IP did not answer within {limit} s")


def event_after(lab: Lab, node: str, event_id: int, since: float, group: str | None = None) -> float:
    deadline = time.time() + 60
    while time.time() < deadline:
        for event in events.read(lab, node=node, since=since):
            if event.id == event_id and (group is None or event.data.get("group") == group):
                return event.time
        time.sleep(0.01)
    raise RuntimeError(f"no event {event_id} on {node} within 60 s")


def owned_online(lab: Lab, node: str) -> None:
    rs.wait_for(
        lab,
        lambda s: (
            s.cluster is not None
            and s.cluster.groups["PBX"].owner_node == node
            and s.cluster.groups["PBX"].state == "Online"
        ),
        f"the role online on {node}",
        timeout=120,
    )


def node_crash(lab: Lab, port: int) -> tuple[float, float, float]:
    start = time.time()
    with lab.session() as state:
        nodes.crash_node(lab, state, "N1")
    outage = answered_after(port, start)
    detected = event_after(lab, "N2", 1135, start)
    moving = event_after(lab, "N2", 1641, start, "PBX")
    online = event_after(lab, "N2", 1201, moving, "PBX")
    owned_online(lab, "N2")
    with lab.session() as state:  # back to the starting point
        nodes.start_node(lab, state, "N1")
    rs.wait_for(lab, lambda s: s.cluster is not None and s.cluster.nodes["N1"].state == "Up", "N1 up", 120)
    with lab.session() as state:
        api.move_group(lab, state, "PBX", node_name="N1")
    owned_online(lab, "N1")
    return detected - start, online - moving, outage


def service_crash(lab: Lab, port: int) -> tuple[float, float, float]:
    start = time.time()
    with lab.session() as state:
        services.kill_service(lab, state, "N1", rs.SERVICE)
    outage = answered_after(port, start)
    failed = event_after(lab, "N1", 1069, start)
    online = event_after(lab, "N1", 1201, failed, "PBX")
    owned_online(lab, "N1")
    return failed - start, online - failed, outage


def line(name: str, values: list[float]) -> str:
    low, middle, high = min(values), statistics.median(values), max(values)
    return f"  {name:<10} min {low:6.2f} s   median {middle:6.2f} s   max {high:6.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delay", type=int, default=1000, help="SameSubnetDelay in ms (Windows: 1000)")
    parser.add_argument("--threshold", type=int, default=10, help="SameSubnetThreshold (Windows: 10)")
    parser.add_argument("--verbose", action="store_true", help="print every run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        lab, port = rs.build(Path(folder))
        try:
            rs.add_role(lab)
            with lab.session() as state:
                api.set_cluster_property(state, "SameSubnetDelay", args.delay)
                api.set_cluster_property(state, "SameSubnetThreshold", args.threshold)
                api.set_group_property(state, "PBX", "FailoverThreshold", 1000)
                api.set_resource_property(state, "Echo Service", "RestartThreshold", 1000)
            time.sleep(2 * args.delay / 1000)  # every node has read the new heartbeat settings
            print(
                f"heartbeats: SameSubnetDelay {args.delay} ms x SameSubnetThreshold {args.threshold} "
                f"= {args.delay * args.threshold / 1000:.2f} s; {args.runs} runs each"
            )
            for name, drill in (("node crash", node_crash), ("service crash", service_crash)):
                results = [drill(lab, port) for _ in range(args.runs)]
                if args.verbose:
                    print("  runs:", [tuple(round(x, 2) for x in r) for r in results])
                print(f"{name}:")
                print(line("detection", [r[0] for r in results]))
                print(line("online", [r[1] for r in results]))
                print(line("outage", [r[2] for r in results]))
        finally:
            rs.stop_everything(lab)


if __name__ == "__main__":
    main()
