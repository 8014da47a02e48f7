#!/usr/bin/env python3
"""Figures of the lab rollout, printed (no test asserts a speed).

In a fresh pair of labs: the wall time of the full rollout (playbooks/site.yml), of a re-run
that changes nothing and its round trips per node (the lab's wire log counts every command a
node received), the outage SIP phones see when the PBX role is moved (failover_drill.yml) and
when the node that runs it crashes (molecule/failover/verify.yml), and the registrations lost.
Run `make lab-artifacts` first (`make bench` does). Takes 15-30 minutes on 2 cores.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
INVENTORY = ROOT / "inventories" / "lab"
VAULT = INVENTORY / "LAB-ONLY-vault-password.txt"
NODES = {"site-a": ("PBXA-N1", "PBXA-N2"), "site-b": ("PBXB-N1", "PBXB-N2")}
TIMEOUT = 3600


def playbook(state: Path, path: Path, *extra: str) -> tuple[float, str]:
    env = {
        **os.environ,
        "WSFCLAB_STATE_DIR": str(state),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "MOLECULE_PROJECT_DIRECTORY": str(ROOT),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    print(f"  running {path.relative_to(ROOT)} ...", flush=True)
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), "--vault-password-file", str(VAULT),
         str(path), *extra],
        capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False, cwd=ROOT,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"{path.name} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def wire_lines(state: Path) -> dict[str, int]:
    counts = {}
    for site, nodes in NODES.items():
        for node in nodes:
            log = state / site / "logs" / node / "wire.log"
            counts[node] = len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0
    return counts


def changed(stdout: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", stdout))


def main() -> None:
    if not (ROOT / ".lab-artifacts" / "wheels" / ".built").exists():
        sys.exit("run `make lab-artifacts` first (make bench does)")
    with tempfile.TemporaryDirectory(prefix="pbxops-bench-") as tmp:
        state = Path(tmp)
        print("bench_rollout: two sites of inventories/lab in fresh labs", flush=True)
        for site in NODES:
            subprocess.run([str(BIN / "wsfclab"), "--state-dir", str(state / site), "--world",
                            str(ROOT / "lab" / "examples" / f"pbx-{site}.yml"), "reset"],
                           check=True, capture_output=True, timeout=120)  # fmt: skip
        full, _ = playbook(state, ROOT / "playbooks" / "site.yml")
        before = wire_lines(state)
        again, rerun_out = playbook(state, ROOT / "playbooks" / "site.yml")
        after = wire_lines(state)
        _, drill = playbook(state, ROOT / "playbooks" / "failover_drill.yml")
        _, crash = playbook(state, ROOT / "molecule" / "failover" / "verify.yml")
        moves = re.findall(r"move \S+ -> \S+: outage (\d+) ms, (\d+) registration", drill)
        crashes = re.findall(r"crashed; phones saw an outage of (\d+) ms, (\d+) registration", crash)
        for site in NODES:
            subprocess.run([str(BIN / "wsfclab"), "--state-dir", str(state / site), "--world",
                            str(ROOT / "lab" / "examples" / f"pbx-{site}.yml"), "reset"],
                           check=False, capture_output=True, timeout=120)  # fmt: skip
    print()
    print(f"{'figure':<58} value")
    print(f"{'full rollout of two sites, wall time':<58} {full:.0f} s")
    print(
        f"{'no-change re-run, wall time (changed tasks: ' + str(changed(rerun_out)) + ')':<58} {again:.0f} s"
    )
    for node in before:
        print(f"{'no-change re-run, round trips to ' + node:<58} {after[node] - before[node]}")
    for kind, found in (("planned move", moves), ("node crash", crashes)):
        for i, (ms, lost) in enumerate(found):
            label = f"{kind} {i + 1}: outage seen by phones / lost registrations"
            print(f"{label:<58} {ms} ms / {lost}")


if __name__ == "__main__":
    main()
