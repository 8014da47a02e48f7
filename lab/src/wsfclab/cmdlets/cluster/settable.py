"""Property assignment on FailoverClusters objects: ``(Get-Cluster).SameSubnetDelay = 2000``.

The executor's ``set_properties`` step assigns values to the objects a cmdlet output; for the
cluster classes ``assign`` does what the .NET setter does: it asks the cluster service to store the
value (which checks its range) and the object then shows it. ``SETTABLE`` lists, per class, the
properties a script may assign; any other property of the object is read-only, and PowerShell's
own errors come back for a read-only or unknown property. A value the cluster refuses comes back
as PowerShell wraps setter exceptions (``Exception setting "X": "..."``).
"""

from __future__ import annotations

from collections.abc import Callable

from wsfclab.cluster import api
from wsfclab.cluster import database as db
from wsfclab.cluster.errors import ClusterError
from wsfclab.cmdlets.base import CimObject
from wsfclab.cmdlets.cluster import render
from wsfclab.errors import CmdletError, ErrorCategory, Unsupported
from wsfclab.state import LabState

SETTABLE: dict[str, tuple[str, ...]] = {
    render.CLUSTER: tuple(db.SETTABLE_CLUSTER_PROPERTIES),
    render.GROUP: tuple(db.SETTABLE_GROUP_PROPERTIES),
    render.RESOURCE: tuple(db.SETTABLE_RESOURCE_PROPERTIES),
    render.NETWORK: tuple(db.SETTABLE_NETWORK_PROPERTIES),
}

# Writable on Windows, not simulated: renaming groups and resources, descriptions.
_NOT_SIMULATED = {
    render.CLUSTER: ("Name", "Description"),
    render.GROUP: ("Name", "Description", "Priority"),
    render.RESOURCE: ("Name", "Description"),
}


def settable(class_name: str) -> tuple[str, ...]:
    """The properties of ``class_name`` that a script may assign (empty for other classes)."""
    return SETTABLE.get(class_name, ())


def assign(state: LabState, obj: CimObject, name: str, value: object) -> CimObject:
    """``$obj.<name> = value`` for a FailoverClusters object; returns the object as it is afterwards."""
    known = {k.lower(): k for k in obj.props}
    canonical = known.get(name.lower())
    if canonical is None:
        raise CmdletError(
            f"The property '{name}' cannot be found on this object. Verify that the property exists and "
            "can be set.",
            "PropertyNotFound",
            ErrorCategory.InvalidOperation,
            target=name,
        )
    if canonical in _NOT_SIMULATED.get(obj.class_name, ()):
        raise Unsupported(f"setting {canonical} of a {obj.class_name.rsplit('.', 1)[-1]}")
    if canonical not in settable(obj.class_name):
        raise CmdletError(
            f"'{canonical}' is a ReadOnly property.",
            "PropertyAssignmentException",
            ErrorCategory.InvalidOperation,
            target=canonical,
        )
    setter = _SETTERS[obj.class_name]
    try:
        return setter(state, str(obj.ref), canonical, value)
    except ClusterError as err:
        raise CmdletError(
            f'Exception setting "{canonical}": "{err.message}"',
            "ExceptionWhenSetting",
            ErrorCategory.NotSpecified,
            target=canonical,
        ) from err


def _cluster(state: LabState, ref: str, name: str, value: object) -> CimObject:
    api.set_cluster_property(state, name, _integer(value))
    return render.cluster(api.get_cluster(state))


def _group(state: LabState, ref: str, name: str, value: object) -> CimObject:
    grp = api.set_group_property(state, ref, name, _integer(value))
    return render.group(api.get_cluster(state), grp)


def _resource(state: LabState, ref: str, name: str, value: object) -> CimObject:
    res = api.set_resource_property(state, ref, name, _integer(value))
    return render.resource(api.get_cluster(state), res)


def _network(state: LabState, ref: str, name: str, value: object) -> CimObject:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ClusterError(
            "INVALID_PARAMETER", f"({name}={value!r}: expected a string or an integer)", target=name
        )
    net = api.set_network_property(state, ref, name, value)
    return render.network(api.get_cluster(state), net)


def _integer(value: object) -> int:
    """PowerShell converts "2000" to the UInt32 property; anything else is a conversion error."""
    if isinstance(value, bool):
        raise ClusterError("INVALID_PARAMETER", f"({value!r}: expected an integer)")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ClusterError("INVALID_PARAMETER", f"({value!r}: expected an integer)")


_SETTERS: dict[str, Callable[[LabState, str, str, object], CimObject]] = {
    render.CLUSTER: _cluster,
    render.GROUP: _group,
    render.RESOURCE: _resource,
    render.NETWORK: _network,
}
