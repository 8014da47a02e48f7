"""How the service controller runs ClusSvc: its binary is ``clussvc.exe`` on Windows; in the lab the
cluster service is ``python -m wsfclab.cluster.service`` for that node and state dir (see
``wsfclab.cluster.service``). The service table keeps Windows' path, so Get-Service and
Win32_Service show what Windows shows."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from wsfclab import processes

if TYPE_CHECKING:
    from wsfclab.lab import Lab
    from wsfclab.state import NodeState

NAME = "ClusSvc"


def is_cluster_service(name: str) -> bool:
    return name.lower() == NAME.lower()


def launch_spec(lab: Lab, host: NodeState) -> processes.LaunchSpec:
    env = dict(os.environ)
    env.update({"COMPUTERNAME": host.name, "PYTHONUNBUFFERED": "1"})
    return processes.LaunchSpec(
        argv=[
            sys.executable,
            "-m",
            "wsfclab.cluster.service",
            "--state-dir",
            str(lab.state_dir),
            "--node",
            host.name,
        ],
        cwd=lab.node_root(host.name) / "Windows" / "Cluster",
        env=env,
        log=lab.state_dir / "logs" / host.name / f"{NAME}.log",
    )
