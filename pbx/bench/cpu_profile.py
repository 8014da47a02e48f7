"""Run a Python script (``pbxd``) under a profiler or under ``tracemalloc``, for the benchmarks.

    python pbx/bench/cpu_profile.py profile OUT.prof .venv/bin/pbxd --config pbx.toml run
    python pbx/bench/cpu_profile.py memory OUT.txt .venv/bin/pbxd --config pbx.toml run

``profile``: cProfile timed by the main thread's CPU clock, not the wall clock (on a busy host
wall time mostly measures the other processes); the statistics go to OUT.prof when the script
ends (pbxd ends on SIGTERM). ``memory``: tracemalloc runs from the start, and once a second
the line ``<unix time> <traced bytes> <peak traced bytes>`` is appended to OUT.txt, so that a
benchmark can read the memory Python holds at any point of its run. Both slow the script
down: use them for where time and memory go, never for rates.
"""

from __future__ import annotations

import cProfile
import runpy
import sys
import threading
import time
import tracemalloc
from pathlib import Path

MEMORY_SAMPLE_S = 1.0


def _sample_memory(out: Path, stop: threading.Event) -> None:
    with out.open("a", encoding="ascii") as sink:
        while not stop.wait(MEMORY_SAMPLE_S):
            current, peak = tracemalloc.get_traced_memory()
            sink.write(f"{time.time():.1f} {current} {peak}\n")
            sink.flush()


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("profile", "memory"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, out, script = argv[0], Path(argv[1]), argv[2]
    sys.argv = argv[2:]
    profiler = cProfile.Profile(time.thread_time) if mode == "profile" else None
    stop = threading.Event()
    if mode == "memory":
        tracemalloc.start()
        threading.Thread(target=_sample_memory, args=(out, stop), daemon=True).start()
    else:
        assert profiler is not None
        profiler.enable()
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 0
    finally:
        stop.set()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
