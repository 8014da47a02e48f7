#!/usr/bin/env python3
"""How long one lab round trip takes: open a session (lock, load, liveness check, save) and run
a typical read pipeline, as the connection plugin does for every cmdlet_pipelines task.

    .venv/bin/python lab/bench/bench_pipelines.py [--rounds 200]

Prints the median and 95th percentile per round trip, and the size of state.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from wsfclab.lab import Lab
from wsfclab.testing import connect_iscsi, pipeline, run

WORLD = Path(__file__).resolve().parent.parent / "examples" / "two-node-iscsi.yml"
READ = pipeline(
    "survey",
    ("Get-Disk", {}),
    select=["Number", "UniqueId", "PartitionStyle", "IsOffline", "IsReadOnly", "Size", "BusType"],
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        lab = Lab.open(Path(folder) / "state", WORLD)
        connect_iscsi(lab, "PBX-N1", "127.0.3.10")
        timings = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            run(
                lab,
                "PBX-N1",
                READ,
                pipeline("os", ("Get-CimInstance", {"ClassName": "Win32_OperatingSystem"})),
            )
            timings.append(time.perf_counter() - start)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        size = (lab.state_dir / "state.json").stat().st_size
        print(f"rounds: {args.rounds}")
        median = statistics.median(timings) * 1000
        print(f"round trip (session + 2 pipelines): median {median:.2f} ms, p95 {p95 * 1000:.2f} ms")
        print(f"state.json: {size} bytes")


if __name__ == "__main__":
    main()
