"""Get-ClusterAvailableDisk, Add-ClusterDisk and the witness rules through the executor path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_worlds import disk_resource, new_cluster, prepare_disks, stop, wait_for, world
from wsfclab.lab import Lab
from wsfclab.testing import change, output, pipeline, run


def _with_small_and_raw_disks(data: dict[str, Any]) -> None:
    data["shared_storage"]["sas_disks"] += [
        {"name": "tiny", "size": "256MB", "nodes": ["N1", "N2"]},
        {"name": "raw", "size": "2GB", "nodes": ["N1", "N2"]},
    ]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    built = world(tmp_path, _with_small_and_raw_disks)
    prepare_disks(built, (1, 2, 3))
    created = new_cluster(built, NoStorage=True)
    assert "failed" not in created, created
    wait_for(
        built, lambda s: s.cluster is not None and all(n.state == "Up" for n in s.cluster.nodes.values())
    )
    yield built
    stop(built)


def test_available_disks_are_the_shared_partitioned_ones_and_join_available_storage(lab: Lab) -> None:
    available = output(lab, "N1", "Get-ClusterAvailableDisk")
    assert [d["Name"] for d in available] == ["Cluster Disk 1", "Cluster Disk 2", "Cluster Disk 3"]
    assert sorted(d["Size"] for d in available) == [256 * 1024**2, 1024**3, 20 * 1024**3]  # not the RAW one
    added = run(
        lab,
        "N1",
        pipeline("add", ("Get-ClusterAvailableDisk", {}), ("Add-ClusterDisk", {}), changes=True),
    )
    resources = added["results"][0]["output"]
    assert [(r["Name"], r["OwnerGroup"], r["ResourceType"]) for r in resources] == [
        (d["Name"], "Available Storage", "Physical Disk") for d in available
    ]
    assert output(lab, "N1", "Get-ClusterAvailableDisk") == []
    clustered = [d["Number"] for d in output(lab, "N2", "Get-Disk") if d["IsClustered"]]
    assert clustered == [1, 2, 3]


def test_a_disk_already_clustered_is_refused(lab: Lab) -> None:
    first = run(lab, "N1", pipeline("a", ("Get-Disk", {"Number": 1}), ("Add-ClusterDisk", {}), changes=True))
    assert "failed" not in first, first
    again = run(lab, "N1", pipeline("a", ("Get-Disk", {"Number": 1}), ("Add-ClusterDisk", {}), changes=True))
    assert again["failed"] and "is already clustered" in again["msg"]
    assert again["error_id"] == "Add-ClusterDisk,Microsoft.FailoverClusters.PowerShell.AddClusterDiskCommand"


def test_a_raw_or_local_disk_is_not_eligible(lab: Lab) -> None:
    for number in (4, 0):  # the uninitialized shared disk, then the system disk
        result = run(
            lab, "N1", pipeline("a", ("Get-Disk", {"Number": number}), ("Add-ClusterDisk", {}), changes=True)
        )
        assert result["failed"] and "No disks suitable for cluster disks were found." in result["msg"]


def test_the_witness_needs_512_mb_and_moves_to_the_cluster_group(lab: Lab) -> None:
    assert "failed" not in run(
        lab, "N1", pipeline("add", ("Get-ClusterAvailableDisk", {}), ("Add-ClusterDisk", {}), changes=True)
    )
    tiny = disk_resource(lab, "tiny")
    small = change(lab, "N1", ("Set-ClusterQuorum", {"DiskWitness": tiny}))
    assert small["failed"] and "a disk witness needs at least 512 MB" in small["msg"]
    witness = disk_resource(lab, "witness")
    done = change(lab, "N1", ("Set-ClusterQuorum", {"DiskWitness": witness}))
    (quorum,) = done["results"][0]["output"]
    assert quorum["QuorumResource"]["Name"] == witness
    assert output(lab, "N1", "Get-ClusterResource", {"Name": witness})[0]["OwnerGroup"] == "Cluster Group"
    none = change(lab, "N1", ("Set-ClusterQuorum", {"NoWitness": True}))
    assert none["results"][0]["output"][0]["QuorumResource"] is None
    assert output(lab, "N1", "Get-ClusterResource", {"Name": witness})[0]["OwnerGroup"] == "Available Storage"
