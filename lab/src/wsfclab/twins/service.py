"""Twin of ansible.windows.win_service over the node's service table (wsfclab.services).

Follows win_service.ps1: create with ``path`` (New-Service), then account, description, display
name, path, start mode, and last the state. Starting a service whose binary is a ``python.exe``
runs it as a real process through the lab core; any other binary fails "unsupported in the lab".
The result (``exists``, ``name``, ``path``, ``start_mode``, ``state``, ...) and the diff (before /
after, password always ``REDACTED``) have the real module's shape. Options the lab does not model
(failure actions, service type, SID info, ...) fail as unsupported rather than being ignored.
"""

from __future__ import annotations

from typing import Any

from wsfclab import accounts, services
from wsfclab.cmdlets.services import start_failure, stop_failure
from wsfclab.errors import LabError, Unsupported
from wsfclab.state import Service
from wsfclab.twins.base import ModuleFailure, TwinContext, unsupported

_START_MODES = {
    "auto": "Automatic",
    "delayed": "AutomaticDelayedStart",
    "manual": "Manual",
    "disabled": "Disabled",
}
_START_MODE_DIFF = {v: k for k, v in _START_MODES.items()}
_SYSTEM_NAMES = {"localsystem", "system", "nt authority\\system", ".\\localsystem"}
_UNMODELLED = (
    "desktop_interact",
    "error_control",
    "failure_actions",
    "failure_actions_on_non_crash_failure",
    "failure_command",
    "failure_reboot_msg",
    "failure_reset_period_sec",
    "load_order_group",
    "pre_shutdown_timeout_ms",
    "required_privileges",
    "service_type",
    "sid_info",
)


def _translate(ctx: TwinContext, username: str) -> str:
    """The account as win_service's ConvertTo-SecurityIdentifier finds it (NTAccount.Translate);
    an account that exists nowhere makes the module fail as .NET does."""
    resolved = accounts.translate(ctx.state, ctx.node, username)
    if resolved is None:
        raise ModuleFailure(
            'Unhandled exception while executing module: Exception calling "Translate" with "1" '
            f'argument(s): "{accounts.NOT_TRANSLATED}"'
        )
    return resolved.name


def _account(username: str) -> str:
    return "NT AUTHORITY\\SYSTEM" if username.lower() in _SYSTEM_NAMES else username


def _diff(service: Service | None) -> dict[str, Any] | str:
    if service is None:
        return ""
    return {
        "dependencies": list(service.dependencies),
        "description": service.description,
        "desktop_interact": False,
        "display_name": service.display_name,
        "name": service.name,
        "path": service.path,
        "start_mode": _START_MODE_DIFF.get(service.start_mode, service.start_mode.lower()),
        "state": "started" if service.state == "Running" else "stopped",
        "username": _account(service.username),
        "password": "REDACTED",
    }


def win_service(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    for option in _UNMODELLED:
        if params.get(option) not in (None, False):
            raise unsupported(f"win_service option {option!r} (the lab's service table does not model it)")
    if params["state"] == "paused":
        raise unsupported("win_service state=paused (lab services cannot pause)")
    try:
        return _run(ctx, params)
    except LabError as err:
        raise ModuleFailure(str(err), unsupported=isinstance(err, Unsupported)) from err


def _run(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    name: str = params["name"]
    state: str | None = params["state"]
    result: dict[str, Any] = {"changed": False, "exists": False}
    service = _find(ctx, name)
    before = _diff(service)
    after: dict[str, Any] | str
    if state == "absent":
        if service is not None:
            if not ctx.check_mode:
                if service.state == "Running":
                    services.stop_service(
                        ctx.lab,
                        ctx.state,
                        ctx.node.name,
                        service.name,
                        stop_dependents=params["force_dependent_services"],
                    )
                del ctx.node.services[service.name]
            result["changed"] = True
        after = ""
    else:
        if service is None:
            if params["path"] is None:
                raise ModuleFailure(
                    f"Service '{name}' is not installed, need to set 'path' to create a new service"
                )
            if not ctx.check_mode:
                service = services.create_service(ctx.state, ctx.node.name, name, params["path"])
            result["changed"] = True
        after = _configure(ctx, params, service, result)
    if after:
        assert isinstance(after, dict)
        result.update(
            exists=True,
            dependencies=after["dependencies"],
            description=after["description"],
            desktop_interact=after["desktop_interact"],
            display_name=after["display_name"],
            name=after["name"],
            path=after["path"],
            start_mode=after["start_mode"],
            username="LocalSystem" if str(after["username"]).lower() in _SYSTEM_NAMES else after["username"],
            state="running"
            if after["state"] in ("started", "restarted")
            else after["state"].replace("_", ""),
            can_pause_and_continue=False if service is not None else None,
            depended_by=_depended_by(ctx, after["name"]) if service is not None else [],
        )
    if ctx.diff:
        result["diff"] = {"before": before, "after": after}
    return result


def _find(ctx: TwinContext, name: str) -> Service | None:
    found = services.find_service(ctx.node, name)
    if found is None:
        found = next((s for s in ctx.node.services.values() if s.display_name == name), None)
    return found


def _depended_by(ctx: TwinContext, name: str) -> list[str]:
    return sorted(
        s.name for s in ctx.node.services.values() if name.lower() in (d.lower() for d in s.dependencies)
    )


def _configure(
    ctx: TwinContext, params: dict[str, Any], service: Service | None, result: dict[str, Any]
) -> dict[str, Any]:
    """Apply each setting as win_service's Set-Service* functions do; returns the 'after' diff."""
    before = _diff(service)
    after: dict[str, Any] = (
        dict(before)
        if isinstance(before, dict)
        else {
            "dependencies": [],
            "description": None,
            "desktop_interact": False,
            "display_name": None,
            "path": params["path"],
            "start_mode": None,
            "state": None,
            "username": params["username"],
            "password": "REDACTED",
        }
    )
    after["name"] = service.name if service is not None else params["name"]
    if service is None:
        after["state"] = "stopped"  # what New-Service leaves; the real module would call .Replace on $null

    def setting(key: str, current: Any, wanted: Any, apply: Any) -> None:
        if wanted is None:
            return
        after[key] = wanted
        if service is not None and current != wanted:
            if not ctx.check_mode:
                apply()
            result["changed"] = True

    if service is not None:
        username = params["username"]
        if username is not None:
            wanted = _translate(ctx, username)
            after["username"] = wanted
            current = accounts.translate(ctx.state, ctx.node, service.username)
            if wanted.lower() != (current.name if current is not None else service.username).lower():
                if not ctx.check_mode:
                    service.username = "LocalSystem" if wanted == "NT AUTHORITY\\SYSTEM" else wanted
                result["changed"] = True
        if params["password"] is not None and params["update_password"] == "always":  # noqa: S105
            # The lab keeps no passwords; like the real module it reports the change, redacted.
            after["password"] = "CHANGED REDACTED"  # noqa: S105 - a marker, not a secret
            result["changed"] = True
        _set_dependencies(ctx, params, service, after, result)
        setting(
            "description",
            service.description,
            params["description"],
            lambda: setattr(service, "description", params["description"]),
        )
        setting(
            "display_name",
            service.display_name,
            params["display_name"],
            lambda: setattr(service, "display_name", params["display_name"]),
        )
        setting("path", service.path, params["path"], lambda: setattr(service, "path", params["path"]))
        wanted_mode = _START_MODES.get(params["start_mode"]) if params["start_mode"] else None
        setting(
            "start_mode", service.start_mode, wanted_mode, lambda: setattr(service, "start_mode", wanted_mode)
        )
        if wanted_mode is not None:
            after["start_mode"] = params["start_mode"]
    else:
        for key in ("dependencies", "description", "display_name", "start_mode"):
            if params[key] is not None:
                after[key] = params[key]
    _set_state(ctx, params, service, after, result)
    return after


def _set_dependencies(
    ctx: TwinContext, params: dict[str, Any], service: Service, after: dict[str, Any], result: dict[str, Any]
) -> None:
    """Set-ServiceDependency: add, remove or set the services this one depends on."""
    wanted: list[str] | None = params["dependencies"]
    if wanted is None:
        return
    existing = list(service.dependencies)
    action = params["dependency_action"]
    added = [d for d in wanted if d not in existing] if action in ("add", "set") else []
    removed = [d for d in existing if (d in wanted) == (action == "remove")] if action != "add" else []
    if not added and not removed:
        return
    new = [d for d in existing if d not in removed] + added
    after["dependencies"] = new
    if not ctx.check_mode:
        service.dependencies = new
    result["changed"] = True


def _set_state(
    ctx: TwinContext,
    params: dict[str, Any],
    service: Service | None,
    after: dict[str, Any],
    result: dict[str, Any],
) -> None:
    state = params["state"]
    if state is None:
        return
    after["state"] = state
    if service is None:
        return
    force = params["force_dependent_services"]
    running = service.state == "Running"
    if state == "started" and not running:
        if not ctx.check_mode:
            _start(ctx, service)
        result["changed"] = True
    elif state == "stopped" and running:
        if not ctx.check_mode:
            _stop(ctx, service, force)
        result["changed"] = True
    elif state == "restarted":
        if not ctx.check_mode:
            if running:
                _stop(ctx, service, force)
            _start(ctx, service)
        result["changed"] = True


# The module pipes the service into Start-/Stop-/Restart-Service under $ErrorActionPreference Stop,
# so their error ends the module: its message is the cmdlet's, the SCM's reason is in the exception.
def _start(ctx: TwinContext, service: Service) -> None:
    try:
        services.start_service(ctx.lab, ctx.state, ctx.node.name, service.name)
    except services.ServiceError as err:
        raise _unhandled(start_failure(service), err) from err


def _stop(ctx: TwinContext, service: Service, force: bool) -> None:
    try:
        services.stop_service(ctx.lab, ctx.state, ctx.node.name, service.name, stop_dependents=force)
    except services.ServiceError as err:
        raise _unhandled(stop_failure(service), err) from err


def _unhandled(message: str, err: services.ServiceError) -> ModuleFailure:
    detail = f"System.ComponentModel.Win32Exception ({err.code}): {err}"
    return ModuleFailure(f"Unhandled exception while executing module: {message}", exception=detail)
