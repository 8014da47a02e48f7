"""A two- or three-node lab with a running cluster, built through the cluster API, for the runtime
and failover tests (the cmdlet tests build theirs through the cmdlets).

``build(tmp_path, nodes=2)`` gives a lab whose nodes have Failover Clustering, a GPT/NTFS disk S:
(data) and a 1 GB witness disk W:, the echo service registered on every node (its script on S:),
and a cluster "PBXCL" with fast heartbeats (250 ms x 3, set through the cluster properties).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from wsfclab import processes, services
from wsfclab.cluster import api
from wsfclab.lab import Lab
from wsfclab.state import LabState, from_json
from wsfclab.testing import change

ROLE_IP = "127.0.1.50"
CLUSTER_IP = "127.0.1.20"
SERVICE = "EchoSvc"
ECHO = Path(__file__).with_name("echo_service.py")


def world(nodes: int) -> dict[str, Any]:
    names = [f"N{i}" for i in range(1, nodes + 1)]
    return {
        "name": f"cluster-runtime-{nodes}",
        "active_directory": {
            "domain": "pbx.lab",
            "netbios_name": "PBXLAB",
            "computer_ou": "OU=Servers,DC=pbx,DC=lab",
            "deploying_account": "PBXLAB\\deploy",
            "may_create_computer_objects": True,
        },
        "nodes": [
            {
                "name": name,
                "nics": [
                    {
                        "name": "Public",
                        "mac": f"00-15-5D-07-01-0{i}",
                        "addresses": [f"127.0.1.1{i}/24"],
                        "gateway": "127.0.1.1",
                        "dns_servers": ["127.0.1.10"],
                    },
                    {"name": "Cluster", "mac": f"00-15-5D-07-02-0{i}", "addresses": [f"127.0.2.1{i}/24"]},
                ],
            }
            for i, name in enumerate(names, start=1)
        ],
        "shared_storage": {
            "sas_disks": [
                {"name": "witness", "size": "1GB", "nodes": names},
                {"name": "data", "size": "20GB", "nodes": names},
            ]
        },
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ok(done: dict[str, Any]) -> None:
    assert "failed" not in done, done


def build(tmp_path: Path, nodes: int = 2, *, witness: bool = True) -> tuple[Lab, int]:
    """The lab and the echo service's port; the cluster runs, the role is not created yet."""
    path = tmp_path / "world.yml"
    path.write_text(yaml.safe_dump(world(nodes)), encoding="utf-8")
    lab = Lab.open(tmp_path / "state", path)
    names = [f"N{i}" for i in range(1, nodes + 1)]
    for name in names:
        _ok(change(lab, name, ("Install-WindowsFeature", {"Name": "Failover-Clustering"})))
    with lab.session() as state:
        numbers = {d.key: d.views["N1"].number for d in state.disks.values() if d.kind == "sas"}
    for key, letter in (("witness", "W"), ("data", "S")):
        number = next(n for k, n in numbers.items() if key in k)
        _ok(change(lab, "N1", ("Set-Disk", {"Number": number, "IsOffline": False})))
        _ok(change(lab, "N1", ("Set-Disk", {"Number": number, "IsReadOnly": False})))
        _ok(change(lab, "N1", ("Initialize-Disk", {"Number": number, "PartitionStyle": "GPT"})))
        _ok(
            change(
                lab,
                "N1",
                ("New-Partition", {"DiskNumber": number, "UseMaximumSize": True, "DriveLetter": letter}),
            )
        )
        _ok(change(lab, "N1", ("Format-Volume", {"DriveLetter": letter, "FileSystem": "NTFS"})))
    port = free_port()
    with lab.session() as state:
        (lab.resolve_path(state, "N1", "S:\\app")).mkdir(parents=True, exist_ok=True)
        lab.resolve_path(state, "N1", "S:\\app\\echo.py").write_text(ECHO.read_text(), encoding="utf-8")
        for name in names:
            python = lab.resolve_path(state, name, "C:\\Python\\python.exe")
            python.parent.mkdir(parents=True, exist_ok=True)
            python.write_text("")
            services.create_service(
                state,
                name,
                SERVICE,
                f'"C:\\Python\\python.exe" "S:\\app\\echo.py" {ROLE_IP} {port}',
                display_name="Echo Service",
                start_mode="Manual",
            )
        api.create_cluster(lab, state, name="PBXCL", nodes=names, static_addresses=[CLUSTER_IP])
        api.set_cluster_property(state, "SameSubnetDelay", 250)
        api.set_cluster_property(state, "SameSubnetThreshold", 3)
        if witness:
            disk = next(
                r
                for r in state.cluster.resources.values()
                if r.private.get("DiskPath") == _key(state, "witness")
            )
            api.set_quorum(lab, state, disk_witness=disk.name)
    wait_for(lab, lambda s: all(n.state == "Up" for n in s.cluster.nodes.values()), "every node Up")
    return lab, port


def _key(state: LabState, name: str) -> str:
    return next(k for k in state.disks if name in k and state.disks[k].kind == "sas")


def data_disk(state: LabState) -> str:
    assert state.cluster is not None
    key = _key(state, "data")
    return next(r.name for r in state.cluster.resources.values() if r.private.get("DiskPath") == key)


def add_role(lab: Lab, *, name: str = "PBX") -> None:
    with lab.session() as state:
        api.add_generic_service_role(
            lab,
            state,
            service_name=SERVICE,
            name=name,
            static_addresses=[ROLE_IP],
            storage=[data_disk(state)],
            checkpoint_keys=["SOFTWARE\\Echo"],
        )


def wait_for(lab: Lab, predicate: Callable[[LabState], bool], what: str, timeout: float = 20.0) -> float:
    """Poll the lab's state until ``predicate`` holds; returns the seconds it took."""
    start = time.monotonic()
    while True:
        state = peek(lab)
        if predicate(state):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}: {summary(state)}")
        time.sleep(0.02)


def peek(lab: Lab) -> LabState:
    """The lab's state as last saved, read without the lab's lock (the file is replaced atomically),
    so that watching the cluster never slows it down."""
    data = json.loads((lab.state_dir / "state.json").read_text(encoding="utf-8"))
    return from_json(LabState, data)


def summary(state: LabState) -> dict[str, Any]:
    db = state.cluster
    assert db is not None
    return {
        "nodes": {n: v.state for n, v in db.nodes.items()},
        "groups": {g.name: (g.owner_node, g.state) for g in db.groups.values()},
        "resources": {r.name: r.state for r in db.resources.values()},
    }


def ask(port: int, timeout: float = 1.0) -> str | None:
    """What the echo service on the role IP answers (its node name), or None."""
    try:
        with socket.create_connection((ROLE_IP, port), timeout=timeout) as conn:
            return conn.recv(100).decode().strip()
    except OSError:
        return None


def stop_everything(lab: Lab) -> None:
    """Kill every process the lab tracks (the cluster services and the services they started)."""
    if (lab.state_dir / "state.json").exists():
        with lab.session() as state:
            processes.stop_all(state)


def echo_processes(port: int) -> list[int]:
    """PIDs of echo services listening on the role IP, found through /proc (not the lab's state)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            status = (entry / "stat").read_text()
        except OSError:
            continue
        if status[status.rfind(")") + 2] in "ZX":
            continue
        if any(a.endswith(b"echo.py") for a in cmdline) and str(port).encode() in cmdline:
            found.append(int(entry.name))
    return found


def lock_holders(lab: Lab) -> dict[str, set[int]]:
    """Who holds each reservation lock now, from /proc/locks: lock name -> PIDs."""
    by_inode = {}
    folder = lab.state_dir / "cluster" / "locks"
    if folder.is_dir():
        for path in folder.iterdir():
            by_inode[path.stat().st_ino] = path.stem
    holders: dict[str, set[int]] = {}
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "FLOCK" not in fields or "->" in fields:
            continue
        pid, ident = int(fields[4]), fields[5]
        inode = int(ident.split(":")[2])
        if inode in by_inode:
            holders.setdefault(by_inode[inode], set()).add(pid)
    return holders
