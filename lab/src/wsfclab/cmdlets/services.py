"""Get-Service, New-Service, Set-Service, Start-Service, Stop-Service (Windows PowerShell 5.1).

They work on the same service table and processes as ``wsfclab.services``; the SCM's refusals
(``ServiceError``) become the errors these cmdlets print.
"""

from __future__ import annotations

from wsfclab import services as scm
from wsfclab.cmdlets.base import Call, CimObject, cmdlet, has_wildcard, matches
from wsfclab.errors import CmdletError, ErrorCategory, Unsupported
from wsfclab.state import NodeState, Service

CONTROLLER = "System.ServiceProcess.ServiceController"
COMMANDS = "Microsoft.PowerShell.Commands"


def controller(node: NodeState, service: Service, *, nested: bool = True) -> CimObject:
    """A ServiceController as ConvertTo-Json shows it. PowerShell 5.1's ServiceController has no
    binary path or description (Win32_Service has them)."""
    dependents = [
        s for s in node.services.values() if any(d.lower() == service.name.lower() for d in s.dependencies)
    ]
    depended_on = [s for d in service.dependencies if (s := scm.find_service(node, d)) is not None]
    start_type = "Automatic" if service.start_mode == "AutomaticDelayedStart" else service.start_mode
    return CimObject(
        CONTROLLER,
        {
            "Name": service.name,
            "DisplayName": service.display_name,
            "Status": service.state,
            "StartType": start_type,
            "ServiceName": service.name,
            "ServiceType": "Win32ShareProcess" if service.emulated else "Win32OwnProcess",
            "CanStop": service.state == "Running",
            "CanPauseAndContinue": False,
            "CanShutdown": service.state == "Running" and service.emulated,
            "DependentServices": [controller(node, s, nested=False) for s in dependents] if nested else [],
            "ServicesDependedOn": [controller(node, s, nested=False) for s in depended_on] if nested else [],
            "RequiredServices": [controller(node, s, nested=False) for s in depended_on] if nested else [],
            "MachineName": ".",
            "Site": None,
            "Container": None,
        },
        ref=service.name,
    )


def _not_found(call: Call, name: str, *, display: bool = False) -> CmdletError:
    kind = "display name" if display else "service name"
    suffix = "DisplayName" if display else "Name"
    return CmdletError(
        f"Cannot find any service with {kind} '{name}'.",
        f"NoServiceFoundForGiven{suffix},{COMMANDS}.{call.cmdlet.replace('-', '')}Command",
        ErrorCategory.ObjectNotFound,
        target=name,
    )


def _select(call: Call) -> list[Service]:
    """Services named by -Name / -DisplayName (wildcards allowed; a plain name that matches nothing
    is an error) or piped in."""
    node = call.node
    if call.input is not None:
        return [scm.get_service(node, str(call.input.ref))]
    by_display = call.as_list("DisplayName")
    names = call.as_list("Name")
    patterns = by_display if by_display is not None else names
    if patterns is None:
        return sorted(node.services.values(), key=lambda s: s.name.lower())
    chosen: list[Service] = []
    for pattern in patterns:
        found = [
            s
            for s in sorted(node.services.values(), key=lambda s: s.name.lower())
            if matches(s.display_name if by_display is not None else s.name, [pattern])
        ]
        if not found and not has_wildcard(pattern):
            raise _not_found(call, pattern, display=by_display is not None)
        chosen += [s for s in found if s not in chosen]
    return chosen


def _filter_include_exclude(call: Call, chosen: list[Service]) -> list[Service]:
    include = call.as_list("Include")
    exclude = call.as_list("Exclude")
    if include is not None:
        chosen = [s for s in chosen if matches(s.name, include)]
    if exclude is not None:
        chosen = [s for s in chosen if not matches(s.name, exclude)]
    return chosen


@cmdlet("Get-Service", inputs={CONTROLLER: "InputObject"})
def get_service(call: Call) -> list[CimObject]:
    if call.get("ComputerName") is not None:
        raise Unsupported("Get-Service -ComputerName")
    chosen = _filter_include_exclude(call, _select(call))
    if call.get("DependentServices") or call.get("RequiredServices"):
        related = []
        for obj in (controller(call.node, s) for s in chosen):
            key = "DependentServices" if call.get("DependentServices") else "ServicesDependedOn"
            related += [scm.get_service(call.node, str(o.ref)) for o in obj.props[key]]
        chosen = related
    return [controller(call.node, s) for s in chosen]


@cmdlet("New-Service", changes=True)
def new_service(call: Call) -> list[CimObject]:
    if call.get("Credential") is not None:
        raise Unsupported("New-Service -Credential")
    name = str(call.get("Name"))
    try:
        service = scm.create_service(
            call.state,
            call.node.name,
            name,
            str(call.get("BinaryPathName")),
            display_name=call.get("DisplayName"),
            description=str(call.get("Description", "")),
            start_mode=_start_mode(call, call.get("StartupType", "Automatic")),
            dependencies=[str(d) for d in call.as_list("DependsOn") or []],
        )
    except scm.ServiceError as exc:
        display = call.get("DisplayName") or name
        raise CmdletError(
            f"Service '{display} ({name})' cannot be created due to the following error: "
            f"{scm.WIN32_MESSAGES[exc.code]}",
            f"CouldNotNewService,{COMMANDS}.NewServiceCommand",
            ErrorCategory.PermissionDenied,
            target=name,
        ) from exc
    return [controller(call.node, service)]


def _start_mode(call: Call, value: object) -> str:
    mode = {"automatic": "Automatic", "manual": "Manual", "disabled": "Disabled"}.get(str(value).lower())
    if mode is None:  # Boot and System apply to drivers only
        raise Unsupported(f"-StartupType {value} (driver start types)")
    return mode


@cmdlet("Set-Service", inputs={CONTROLLER: "InputObject"}, changes=True)
def set_service(call: Call) -> list[CimObject]:
    if call.get("ComputerName") is not None:
        raise Unsupported("Set-Service -ComputerName")
    if call.input is not None:
        service = scm.get_service(call.node, str(call.input.ref))
    else:
        found = scm.find_service(call.node, str(call.get("Name")))
        if found is None:
            raise CmdletError(
                f"Service '{call.get('Name')}' was not found on computer '.'.",
                f"InvalidOperationException,{COMMANDS}.SetServiceCommand",
                ErrorCategory.ObjectNotFound,
                target=".",
            )
        service = found
    if call.get("DisplayName") is not None:
        service.display_name = str(call.get("DisplayName"))
    if call.get("Description") is not None:
        service.description = str(call.get("Description"))
    if call.get("StartupType") is not None:
        service.start_mode = _start_mode(call, call.get("StartupType"))
    status = call.get("Status")
    if status is not None and str(status).lower() == "running":
        _start(call, service)
    elif status is not None and str(status).lower() == "stopped":
        _stop(call, service, force=False)
    elif status is not None:
        raise Unsupported("pausing services")
    return [controller(call.node, service)] if call.get("PassThru") else []


def start_failure(service: Service) -> str:
    """What Start-Service says when the SCM refuses a start, whatever the Win32 error."""
    return (
        f"Service '{service.display_name} ({service.name})' cannot be started due to the following error: "
        f"Cannot start service {service.name} on computer '.'."
    )


def stop_failure(service: Service) -> str:
    """What Stop-Service says when running services depend on the one to stop."""
    return (
        f"Cannot stop service '{service.display_name} ({service.name})' because it has dependent services. "
        "It can only be stopped if the Force flag is set."
    )


def _start(call: Call, service: Service) -> None:
    try:
        scm.start_service(call.lab, call.state, call.node.name, service.name)
    except scm.ServiceError as exc:
        raise CmdletError(
            start_failure(service),
            f"CouldNotStartService,{COMMANDS}.{call.cmdlet.replace('-', '')}Command",
            ErrorCategory.OpenError,
            target=service.name,
        ) from exc


def _stop(call: Call, service: Service, *, force: bool) -> None:
    try:
        scm.stop_service(call.lab, call.state, call.node.name, service.name, stop_dependents=force)
    except scm.ServiceError as exc:
        raise CmdletError(
            stop_failure(service),
            f"ServiceHasDependentServices,{COMMANDS}.{call.cmdlet.replace('-', '')}Command",
            ErrorCategory.InvalidOperation,
            target=CONTROLLER,
        ) from exc


@cmdlet("Start-Service", inputs={CONTROLLER: "InputObject"}, changes=True)
def start_service(call: Call) -> list[CimObject]:
    chosen = _filter_include_exclude(call, _select(call))
    for service in chosen:
        _start(call, service)
    return [controller(call.node, s) for s in chosen] if call.get("PassThru") else []


@cmdlet("Stop-Service", inputs={CONTROLLER: "InputObject"}, changes=True)
def stop_service(call: Call) -> list[CimObject]:
    chosen = _filter_include_exclude(call, _select(call))
    for service in chosen:
        _stop(call, service, force=bool(call.get("Force")))
    return [controller(call.node, s) for s in chosen] if call.get("PassThru") else []
