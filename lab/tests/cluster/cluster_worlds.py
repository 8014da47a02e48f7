"""Worlds and calls for the cluster cmdlet tests: small variations of a two-node SAS world.

``world(tmp_path, edit)`` writes the base world after ``edit`` changed its dictionary, so each test
states the one thing it changes (a node with one NIC, another OS build, a disk one node cannot see).
``delegated()`` runs calls as a become with a domain account's password, which lets credentials
reach a second machine; outside it, calls are plain network logons, as over WinRM without CredSSP.
"""

from __future__ import annotations

import contextlib
import copy
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from wsfclab import processes, services
from wsfclab.cmdlets.cluster import hop
from wsfclab.lab import Lab
from wsfclab.state import LabState
from wsfclab.testing import change

ROLE_IP = "127.0.1.50"
# The small service of the failover tests: it listens on the role IP and names its node.
ECHO = Path(__file__).with_name("echo_service.py")

BASE: dict[str, Any] = {
    "name": "cluster-cmdlets",
    "active_directory": {
        "domain": "pbx.lab",
        "netbios_name": "PBXLAB",
        "computer_ou": "OU=Servers,DC=pbx,DC=lab",
        "deploying_account": "PBXLAB\\deploy",
        "may_create_computer_objects": True,
    },
    "nodes": [
        {
            "name": f"N{i}",
            "nics": [
                {
                    "name": "Public",
                    "mac": f"00-15-5D-09-01-0{i}",
                    "addresses": [f"127.0.1.1{i}/24"],
                    "gateway": "127.0.1.1",
                    "dns_servers": ["127.0.1.10"],
                },
                {"name": "Cluster", "mac": f"00-15-5D-09-02-0{i}", "addresses": [f"127.0.2.1{i}/24"]},
            ],
        }
        for i in (1, 2)
    ],
    "shared_storage": {
        "sas_disks": [
            {"name": "witness", "size": "1GB", "nodes": ["N1", "N2"]},
            {"name": "data", "size": "20GB", "nodes": ["N1", "N2"]},
        ]
    },
}

DEPLOY = hop.Logon(user="PBXLAB\\deploy", domain_account=True, become=True, become_password=True)


def world(
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], None] | None = None,
    *,
    clustering: tuple[str, ...] = ("N1", "N2"),
) -> Lab:
    """The base world after ``edit``, with Failover Clustering and its PowerShell module installed on
    the ``clustering`` nodes (as Install-WindowsFeature -IncludeManagementTools installs them)."""
    data = copy.deepcopy(BASE)
    if edit is not None:
        edit(data)
    path = tmp_path / "world.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    lab = Lab.open(tmp_path / "state", path)
    for node in clustering:
        done = change(
            lab,
            node,
            ("Install-WindowsFeature", {"Name": "Failover-Clustering", "IncludeManagementTools": True}),
        )
        assert "failed" not in done, done
    return lab


def prepare_disks(lab: Lab, numbers: tuple[int, ...] = (1, 2)) -> None:
    """Bring the shared disks online on N1, GPT, one NTFS volume each (as the storage role does)."""
    for number in numbers:
        done = change(
            lab,
            "N1",
            ("Set-Disk", {"Number": number, "IsOffline": False}),
        )
        assert "failed" not in done, done
        done = change(lab, "N1", ("Set-Disk", {"Number": number, "IsReadOnly": False}))
        assert "failed" not in done, done
        done = change(
            lab,
            "N1",
            ("Initialize-Disk", {"Number": number, "PartitionStyle": "GPT"}),
        )
        assert "failed" not in done, done
        done = change(
            lab,
            "N1",
            ("New-Partition", {"DiskNumber": number, "UseMaximumSize": True}),
            ("Format-Volume", {"FileSystem": "NTFS", "NewFileSystemLabel": f"Disk{number}"}),
        )
        assert "failed" not in done, done


def new_cluster(lab: Lab, **parameters: Any) -> dict[str, Any]:
    """New-Cluster PBXCL on N1 and N2 with the Public network's address (``parameters`` override)."""
    given = {"Name": "PBXCL", "Node": ["N1", "N2"], "StaticAddress": ["127.0.1.20"], **parameters}
    with delegated():
        return change(lab, "N1", ("New-Cluster", {k: v for k, v in given.items() if v is not None}))


def clustered(
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], None] | None = None,
    *,
    clustering: tuple[str, ...] = ("N1", "N2"),
    **parameters: Any,
) -> Lab:
    """A lab whose nodes N1 and N2 form cluster PBXCL (disks clustered, a disk witness), both Up;
    ``clustering`` are the nodes that get the feature, ``parameters`` go to New-Cluster."""
    lab = world(tmp_path, edit, clustering=clustering)
    prepare_disks(lab)
    created = new_cluster(lab, **parameters)
    assert "failed" not in created, created
    wait_for(lab, lambda s: s.cluster is not None and all(n.state == "Up" for n in s.cluster.nodes.values()))
    return lab


def wait_for(lab: Lab, predicate: Callable[[LabState], bool], timeout: float = 20.0) -> None:
    """Poll the lab's state (the cluster services change it) until ``predicate`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        with lab.session() as state:
            if predicate(state):
                return
            assert time.monotonic() < deadline, f"timed out after {timeout}s: {state.cluster}"
        time.sleep(0.05)


def register_service(lab: Lab, nodes: tuple[str, ...] = ("N1", "N2"), port: int = 0) -> int:
    """EchoSvc ("Echo Service") on every node, its script on C: of each node; returns its port."""
    if port == 0:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    with lab.session() as state:
        for node in nodes:
            python = lab.resolve_path(state, node, "C:\\Python\\python.exe")
            python.parent.mkdir(parents=True, exist_ok=True)
            python.write_text("")
            script = lab.resolve_path(state, node, "C:\\Echo\\echo.py")
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(ECHO.read_text(), encoding="utf-8")
            services.create_service(
                state,
                node,
                "EchoSvc",
                f'"C:\\Python\\python.exe" "C:\\Echo\\echo.py" {ROLE_IP} {port}',
                display_name="Echo Service",
                start_mode="Manual",
            )
    return port


def disk_resource(lab: Lab, world_disk: str) -> str:
    """The cluster resource ("Cluster Disk N") of the world's SAS disk ``world_disk``."""
    with lab.session() as state:
        assert state.cluster is not None
        key = next(k for k, d in state.disks.items() if d.kind == "sas" and world_disk in k)
        return next(r.name for r in state.cluster.resources.values() if r.private.get("DiskPath") == key)


def stop(lab: Lab) -> None:
    """Stop every process the lab started (cluster services, services)."""
    with lab.session() as state:
        processes.stop_all(state)


@contextlib.contextmanager
def delegated(logon: hop.Logon = DEPLOY) -> Iterator[None]:
    with hop.logon(logon):
        yield
