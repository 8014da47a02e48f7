"""Power operations on lab nodes: stop, crash, start, reboot.

Stopping or crashing a node ends its processes (gracefully, or with SIGKILL), logs out every iSCSI
session (so its LUNs leave the node) and marks every service Stopped. Starting it sets a new boot
time, logs in the persistent iSCSI sessions again, and starts the Automatic services; a service that
fails to start is reported, not raised, as Windows logs it and boots on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsfclab import iscsi, processes
from wsfclab.cluster import runtime as cluster_runtime
from wsfclab.errors import LabError
from wsfclab.ids import now_iso
from wsfclab.services import node_of, start_service
from wsfclab.state import LabState

if TYPE_CHECKING:
    from wsfclab.lab import Lab

AUTOSTART = ("Automatic", "AutomaticDelayedStart")


def stop_node(lab: Lab, state: LabState, node: str) -> None:
    cluster_runtime.before_shutdown(lab, state, node_of(state, node).name)
    _power_off(state, node, graceful=True)


def crash_node(lab: Lab, state: LabState, node: str) -> None:
    _power_off(state, node, graceful=False)


def _power_off(state: LabState, node: str, *, graceful: bool) -> None:
    host = node_of(state, node)
    if not host.running:
        return
    for service in host.services.values():
        if service.pid is not None:
            processes.terminate(service.pid, service.process_start, graceful=graceful)
        processes.mark_stopped(service)
    iscsi.drop_sessions(state, host.name, keep_persistent=True)
    host.running = False


def start_node(lab: Lab, state: LabState, node: str) -> list[str]:
    """Boot the node; returns the problems Windows would log (services that failed to start)."""
    host = node_of(state, node)
    if host.running:
        raise LabError(f"node {host.name} is already running; use reboot to restart it")
    host.running = True
    host.boot_time = now_iso()
    problems = iscsi.restore_persistent_sessions(state, host.name)
    for service in list(host.services.values()):
        if service.start_mode in AUTOSTART and service.state != "Running":
            try:
                start_service(lab, state, host.name, service.name)
            except LabError as exc:
                problems.append(f"service {service.name} did not start: {exc}")
    return problems


def reboot_node(lab: Lab, state: LabState, node: str) -> list[str]:
    stop_node(lab, state, node)
    return start_node(lab, state, node)
