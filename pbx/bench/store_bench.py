"""Write-through speed of the SQLite store: binding writes per second, as the registrar does
them (one awaited ``put_binding`` per REGISTER, each committed before it returns).

Run: ``python pbx/bench/store_bench.py [--writes N] [--concurrency C] [--url URL]``.
Bounded by the write count and by a time limit; prints figures and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from pbxd.store import open_store
from pbxd.store.base import Binding

TIME_LIMIT_S = 60.0


async def run(url: str, writes: int, concurrency: int) -> None:
    store = open_store(url)
    deadline = time.monotonic() + TIME_LIMIT_S
    done = 0

    async def writer(worker: int) -> None:
        nonlocal done
        for i in range(worker, writes, concurrency):
            if time.monotonic() > deadline:
                return
            number = 1000 + i % 500
            await store.put_binding(
                Binding(
                    aor=f"sip:{number}@pbx.bench",
                    contact=f"sip:{number}@127.0.0.1:{5062 + i % 7}",
                    expires_at=time.time() + 3600,
                    call_id=f"bench-{i}",
                    cseq=i,
                    source=f"udp:127.0.0.1:{5062 + i % 7}",
                    user_agent="store_bench",
                )
            )
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    loaded = len(await store.load_bindings())
    await store.close()
    print(f"url: {url}")
    print(f"binding writes: {done} in {elapsed:.2f} s with {concurrency} concurrent writer(s)")
    print(f"write-through rate: {done / elapsed:,.0f} writes/s ({elapsed / done * 1e6:.0f} us per write)")
    print(f"bindings stored: {loaded}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--url", help="database URL (default: a SQLite file in a temporary folder)")
    args = parser.parse_args()
    if args.url:
        asyncio.run(run(args.url, args.writes, args.concurrency))
        return
    with tempfile.TemporaryDirectory(prefix="pbxd-bench-") as folder:
        asyncio.run(run(f"sqlite:///{Path(folder) / 'pbx.db'}", args.writes, args.concurrency))


if __name__ == "__main__":
    main()
