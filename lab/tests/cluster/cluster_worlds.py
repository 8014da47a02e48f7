"""Worlds and calls for the cluster cmdlet tests: small variations of a two-node SAS world.

``world(tmp_path, edit)`` writes the base world after ``edit`` changed its dictionary, so each test
states the one thing it changes (a node with one NIC, another OS build, a disk one node cannot see).
``delegated()`` runs calls as a become with a domain account's password, which lets credentials
reach a second machine; outside it, calls are plain network logons, as over WinRM without CredSSP.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from wsfclab import processes
from wsfclab.cmdlets.cluster import hop
from wsfclab.lab import Lab
from wsfclab.testing import change

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

DEPLOY = hop.Logon(user="PBXLAB\\deploy", become=True, become_password=True)


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


def clustered(tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None = None) -> Lab:
    """A lab whose two nodes form cluster PBXCL (disks clustered, disk witness)."""
    lab = world(tmp_path, edit)
    prepare_disks(lab)
    created = new_cluster(lab)
    assert "failed" not in created, created
    return lab


def stop(lab: Lab) -> None:
    """Stop every process the lab started (cluster services, services)."""
    with lab.session() as state:
        processes.stop_all(state)


@contextlib.contextmanager
def delegated(logon: hop.Logon = DEPLOY) -> Iterator[None]:
    with hop.logon(logon):
        yield
