"""Helpers for tests that drive a lab through cmdlet pipelines (the lab's own tests and any others).

result = run(lab, "NODE1", pipeline("read disks", ("Get-Disk", {"Number": 1}), select=["Number"]))
disks = output(lab, "NODE1", "Get-Disk")
change(lab, "NODE1", ("Set-Disk", {"Number": 1, "IsOffline": False}))

``NOTIFY_READY`` is Python source a test's service program runs once it serves: the sd_notify
``READY=1`` datagram that tells the service controller it is running (see ``wsfclab.readiness``).
"""

from __future__ import annotations

from typing import Any

from wsfclab.cmdlets import run_pipelines
from wsfclab.lab import Lab

NOTIFY_READY = """
import os as _os, socket as _socket
_target = _os.environ.get("NOTIFY_SOCKET", "")
if _target:
    with _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM) as _notify:
        _notify.sendto(b"READY=1", "\\0" + _target[1:] if _target.startswith("@") else _target)
"""


def pipeline(
    name: str, *steps: tuple[str, dict[str, Any]], changes: bool = False, **extra: Any
) -> dict[str, Any]:
    """One pipeline as the executor module takes it; ``extra`` adds select/depth."""
    return {
        "name": name,
        "changes": changes,
        "steps": [{"cmdlet": c, "parameters": p} for c, p in steps],
        **extra,
    }


def run(lab: Lab, node: str, *pipelines: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    with lab.session() as state:
        return run_pipelines(lab, state, node, list(pipelines), check_mode)


def output(lab: Lab, node: str, cmdlet: str, parameters: dict[str, Any] | None = None, **extra: Any) -> Any:
    """The output of one read-only step; a pipeline error raises AssertionError with the result."""
    result = run(lab, node, pipeline("read", (cmdlet, parameters or {}), **extra))
    if "failed" in result:
        raise AssertionError(result)
    return result["results"][0]["output"]


def change(lab: Lab, node: str, *steps: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """Run the steps as one changing pipeline and return the whole result."""
    return run(lab, node, pipeline("change", *steps, changes=True))


def connect_iscsi(lab: Lab, node: str, portal: str) -> None:
    """Start the initiator, add the portal and log in persistently to every target it offers."""
    result = run(
        lab,
        node,
        pipeline("svc", ("Start-Service", {"Name": "MSiSCSI"}), changes=True),
        pipeline("portal", ("New-IscsiTargetPortal", {"TargetPortalAddress": portal}), changes=True),
        pipeline(
            "login", ("Get-IscsiTarget", {}), ("Connect-IscsiTarget", {"IsPersistent": True}), changes=True
        ),
    )
    if "failed" in result:
        raise AssertionError(result)
