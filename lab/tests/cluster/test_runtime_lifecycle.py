"""A lab leaves no process behind: ``reset`` ends them all, and a cluster service whose state folder
was removed ends itself and the services it ran."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import runtime_support as rs
from conftest import run_processes
from wsfclab.lab import Lab


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Lab, int]]:
    lab, port = rs.build(tmp_path)
    try:
        rs.add_role(lab)
        rs.wait_for(lab, lambda s: s.cluster.groups["PBX"].state == "Online", "the role online")
        yield lab, port
    finally:
        rs.stop_everything(lab)


def of_lab(lab: Lab) -> dict[int, str]:
    return {pid: cmd for pid, cmd in run_processes().items() if str(lab.state_dir) in cmd}


def gone_within(lab: Lab, seconds: float) -> dict[int, str]:
    """The lab's processes still alive after ``seconds`` (empty as soon as none is)."""
    deadline = time.monotonic() + seconds
    while (left := of_lab(lab)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_reset_ends_the_cluster_services_and_the_role_s_service(cluster: tuple[Lab, int]) -> None:
    lab, port = cluster
    running = of_lab(lab)
    assert sum("wsfclab.cluster.service" in cmd for cmd in running.values()) == 2
    assert rs.echo_processes(port)
    lab.reset()
    assert gone_within(lab, 5) == {}
    assert rs.echo_processes(port) == []


def test_a_cluster_service_whose_state_folder_is_removed_ends_with_its_services(
    cluster: tuple[Lab, int],
) -> None:
    lab, port = cluster
    assert rs.echo_processes(port)
    shutil.rmtree(lab.state_dir)
    assert gone_within(lab, 5) == {}
    assert rs.echo_processes(port) == []
