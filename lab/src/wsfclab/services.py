"""The service control manager of a lab node: the service table and its processes.

Services the OS ships (WinRM, MSiSCSI, ...) are emulated: starting one only changes its state. A
service registered with a ``python.exe`` binary runs as a real process (see ``processes``), and
counts as running only when the program reports so (``readiness``: READY=1 on ``$NOTIFY_SOCKET``)
within the node's services pipe timeout, as the SCM waits for SERVICE_RUNNING. Any other binary
cannot run on Linux: starting it raises ``Unsupported``.

Windows-faithful failures raise ``ServiceError`` with the Win32 error code the SCM would give, so
that the cmdlet layer can turn it into the error Start-Service prints.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from wsfclab import processes, readiness
from wsfclab.cluster import clussvc
from wsfclab.errors import LabError, Unsupported
from wsfclab.state import LabState, NodeState, Service

if TYPE_CHECKING:
    from wsfclab.lab import Lab

START_MODES = ("Automatic", "AutomaticDelayedStart", "Manual", "Disabled")

# Win32 error codes and messages the SCM reports (winerror.h).
ERROR_FILE_NOT_FOUND = 2
ERROR_SERVICE_DISABLED = 1058
ERROR_SERVICE_DOES_NOT_EXIST = 1060
ERROR_SERVICE_EXISTS = 1073
ERROR_PROCESS_ABORTED = 1067
ERROR_SERVICE_REQUEST_TIMEOUT = 1053
ERROR_DEPENDENT_SERVICES_RUNNING = 1051
WIN32_MESSAGES = {
    ERROR_FILE_NOT_FOUND: "The system cannot find the file specified.",
    ERROR_SERVICE_DISABLED: (
        "The service cannot be started, either because it is disabled or because it has no enabled devices "
        "associated with it."
    ),
    ERROR_SERVICE_DOES_NOT_EXIST: "The specified service does not exist as an installed service.",
    ERROR_SERVICE_EXISTS: "The specified service already exists.",
    ERROR_PROCESS_ABORTED: "The process terminated unexpectedly.",
    ERROR_SERVICE_REQUEST_TIMEOUT: (
        "The service did not respond to the start or control request in a timely fashion."
    ),
    ERROR_DEPENDENT_SERVICES_RUNNING: (
        "A stop control has been sent to a service that other running services are dependent on."
    ),
}


class ServiceError(LabError):
    """The SCM refused: carries the Win32 error code."""

    def __init__(self, code: int, service: str, detail: str = "") -> None:
        self.code = code
        self.service = service
        message = WIN32_MESSAGES[code]
        super().__init__(f"{service}: {message}{' ' + detail if detail else ''}")


def node_of(state: LabState, node: str) -> NodeState:
    try:
        return state.nodes[node.upper()]
    except KeyError:
        raise LabError(f"no node {node!r} in this lab; nodes are {', '.join(sorted(state.nodes))}") from None


def find_service(node: NodeState, name: str) -> Service | None:
    """Service names are case-insensitive; the display name also finds a service, as sc.exe does."""
    wanted = name.lower()
    for service in node.services.values():
        if service.name.lower() == wanted:
            return service
    return None


def get_service(node: NodeState, name: str) -> Service:
    service = find_service(node, name)
    if service is None:
        raise ServiceError(ERROR_SERVICE_DOES_NOT_EXIST, name)
    return service


def create_service(
    state: LabState,
    node: str,
    name: str,
    path: str,
    *,
    display_name: str | None = None,
    description: str = "",
    start_mode: str = "Automatic",
    dependencies: list[str] | None = None,
    username: str = "LocalSystem",
) -> Service:
    """Register a service (sc.exe create / New-Service); it starts Stopped."""
    host = node_of(state, node)
    if find_service(host, name) is not None:
        raise ServiceError(ERROR_SERVICE_EXISTS, name)
    if start_mode not in START_MODES:
        raise LabError(f"start mode {start_mode!r} for {name}; expected one of {', '.join(START_MODES)}")
    service = Service(
        name=name,
        display_name=display_name or name,
        path=path,
        start_mode=start_mode,
        state="Stopped",
        username=username,
        description=description,
        dependencies=list(dependencies or []),
    )
    host.services[name] = service
    return service


def start_service(lab: Lab, state: LabState, node: str, name: str) -> Service:
    """Start a service and, first, the services it depends on. A running service is left alone."""
    host = _running_node(state, node)
    service = get_service(host, name)
    if service.state == "Running":
        return service
    if service.start_mode == "Disabled":
        raise ServiceError(ERROR_SERVICE_DISABLED, service.name)
    for dependency in service.dependencies:
        start_service(lab, state, host.name, dependency)
    if service.emulated:
        service.state = "Running"
        return service
    spec = launch_spec(lab, state, host, service)
    with readiness.Listener() as listener:
        spec = replace(spec, env={**spec.env, "NOTIFY_SOCKET": listener.address})
        pid, started = processes.launch(spec)
        outcome = listener.wait(
            lambda: processes.is_alive(pid, started), host.services_pipe_timeout_ms / 1000
        )
    if outcome is not readiness.Outcome.READY:
        # The SCM gives up on a program that never reported running and ends it.
        processes.terminate(pid, started, graceful=False)
        processes.mark_stopped(service)
        if outcome is readiness.Outcome.TIMEOUT:
            detail = (
                f"It did not report running (READY=1 on $NOTIFY_SOCKET) within "
                f"{host.services_pipe_timeout_ms} ms. See the process log {spec.log}."
            )
            raise ServiceError(ERROR_SERVICE_REQUEST_TIMEOUT, service.name, detail)
        raise ServiceError(ERROR_PROCESS_ABORTED, service.name, f"See the process log {spec.log}.")
    service.state = "Running"
    service.pid = pid
    service.process_start = started
    service.log = str(spec.log.relative_to(lab.state_dir))
    return service


def launch_spec(lab: Lab, state: LabState, host: NodeState, service: Service) -> processes.LaunchSpec:
    if clussvc.is_cluster_service(service.name):
        return clussvc.launch_spec(lab, host)
    args = processes.split_command_line(service.path)
    if not args or not processes.is_python_binary(args[0]):
        raise Unsupported(
            f"service {service.name!r} on {host.name} runs {service.path!r}; the lab "
            "can only run services whose binary is a python.exe (they run under the lab's Python)"
        )
    try:
        binary = lab.resolve_path(state, host.name, args[0])
    except LabError as exc:
        raise ServiceError(ERROR_FILE_NOT_FOUND, service.name, str(exc)) from exc
    if not binary.is_file():
        raise ServiceError(ERROR_FILE_NOT_FOUND, service.name, f"({args[0]} does not exist on {host.name})")

    def resolve(path: str) -> Path:
        return lab.resolve_path(state, host.name, path)

    env = dict(os.environ)
    env.update(
        {
            "COMPUTERNAME": host.name,
            "USERDOMAIN": host.domain.split(".")[0].upper() if host.part_of_domain else host.name,
            "SystemRoot": str(lab.node_root(host.name) / "Windows"),
            "PYTHONUNBUFFERED": "1",
            **processes.python_path_environment(binary),
        }
    )
    return processes.LaunchSpec(
        argv=[sys.executable, *processes.map_arguments(args[1:], resolve)],
        cwd=lab.node_root(host.name) / "Windows" / "System32",
        env=env,
        log=lab.state_dir / "logs" / host.name / f"{service.name}.log",
    )


def stop_service(
    lab: Lab, state: LabState, node: str, name: str, *, stop_dependents: bool = False
) -> Service:
    """Stop a service gracefully. Running dependents stop first when ``stop_dependents``; otherwise they
    make the stop fail (Stop-Service without -Force)."""
    host = _running_node(state, node)
    service = get_service(host, name)
    dependents = [
        s
        for s in host.services.values()
        if s.state == "Running" and any(d.lower() == service.name.lower() for d in s.dependencies)
    ]
    if dependents and not stop_dependents:
        raise ServiceError(ERROR_DEPENDENT_SERVICES_RUNNING, service.name)
    for dependent in dependents:
        stop_service(lab, state, host.name, dependent.name, stop_dependents=True)
    if service.pid is not None:
        processes.terminate(service.pid, service.process_start, graceful=True)
    processes.mark_stopped(service)
    return service


def kill_service(lab: Lab, state: LabState, node: str, name: str) -> Service:
    """Kill a service's process outright, as a crash would; the SCM then reports it Stopped."""
    host = node_of(state, node)
    service = get_service(host, name)
    if service.pid is None:
        raise LabError(f"service {service.name} on {host.name} has no running process to kill")
    processes.terminate(service.pid, service.process_start, graceful=False)
    processes.mark_stopped(service)
    return service


def _running_node(state: LabState, node: str) -> NodeState:
    host = node_of(state, node)
    if not host.running:
        raise LabError(f"node {host.name} is not running; start it with `wsfclab node start {host.name}`")
    return host
