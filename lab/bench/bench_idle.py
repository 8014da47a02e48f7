#!/usr/bin/env python3
"""What a quiet cluster costs: the CPU each cluster service process uses while nothing happens.

    .venv/bin/python lab/bench/bench_idle.py [--nodes 2] [--delay 1000] [--seconds 20]

A cluster of ``--nodes`` nodes with a disk witness runs the Echo role ("PBX") online, with
SameSubnetDelay ``--delay`` ms (Windows' default is 1000). Once it has settled, the bench reads each
cluster service's user and system time from /proc/<pid>/stat at the start and the end of a window of
``--seconds`` and prints the share of one core each used (as ``ps -o pcpu`` would over that window,
not over the process's life), with how often the state file was rewritten meanwhile.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "cluster"))  # the drill cluster
import runtime_support as rs  # type: ignore[import-not-found]
from wsfclab.cluster import api
from wsfclab.lab import Lab

TICKS = os.sysconf("SC_CLK_TCK")


def cluster_services(lab: Lab) -> dict[int, str]:
    """PID -> node of each cluster service process of this lab, found through /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if "wsfclab.cluster.service" in args and str(lab.state_dir) in args:
            found[int(entry.name)] = args[args.index("--node") + 1]
    return found


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--delay", type=int, default=1000, help="SameSubnetDelay in ms")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lab, _port = rs.build(Path(tmp), nodes=args.nodes)
        try:
            rs.add_role(lab)
            with lab.session() as state:
                api.set_cluster_property(state, "SameSubnetDelay", args.delay)
            rs.wait_for(lab, lambda s: s.cluster.groups["PBX"].state == "Online", "the role online")
            time.sleep(3 * args.delay / 1000 + 1)  # settle: ports published, checkpoints saved
            pids = cluster_services(lab)
            state_file = lab.state_dir / "state.json"
            before = {pid: cpu_seconds(pid) for pid in pids}
            writes, last = 0, state_file.stat().st_mtime_ns
            start = time.monotonic()
            while time.monotonic() - start < args.seconds:
                time.sleep(0.05)
                mtime = state_file.stat().st_mtime_ns
                if mtime != last:
                    writes, last = writes + 1, mtime
            elapsed = time.monotonic() - start
            print(f"{len(pids)} cluster services at rest, SameSubnetDelay {args.delay} ms, {elapsed:.1f} s:")
            for pid, node in sorted(pids.items(), key=lambda item: item[1]):
                share = 100 * (cpu_seconds(pid) - before[pid]) / elapsed
                print(f"  {node}: {share:.2f} % of a core (pid {pid})")
            print(f"  state file rewritten {writes} times")
        finally:
            rs.stop_everything(lab)
    return 0


if __name__ == "__main__":
    sys.exit(main())
