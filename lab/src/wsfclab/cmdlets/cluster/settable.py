"""Property assignment on FailoverClusters objects: ``(Get-Cluster).SameSubnetDelay = 2000``.

The executor's ``set_properties`` step calls ``CimObject.assign``, which runs the object's setter
for a settable property and refuses every other one as PowerShell does. ``attach`` gives the
cluster's objects their setters: each one does what the .NET setter does, it asks the cluster to
store the value (the cluster API checks its range) and returns what the object then shows. A value
the cluster refuses comes back as PowerShell reports a setter's exception
(``Exception setting "SameSubnetDelay": "The parameter is incorrect. ..."``, ExceptionWhenSetting).

``SETTABLE`` lists, per class, the properties a script may assign: the cluster's common properties
(SameSubnetDelay, SameSubnetThreshold, CrossSubnetDelay, CrossSubnetThreshold,
QuarantineThreshold, ...), a group's failover policy, a resource's restart policy and a network's
Name, Role, Description and Metric. Renaming groups and resources, which Windows allows, is not
simulated and stays read-only in the lab (its guide says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from wsfclab.cluster import api
from wsfclab.cluster import database as db
from wsfclab.cluster.errors import ClusterError
from wsfclab.cmdlets.base import CimObject
from wsfclab.cmdlets.cluster import render
from wsfclab.errors import CmdletError, ErrorCategory
from wsfclab.state import LabState

SETTABLE: dict[str, tuple[str, ...]] = {
    render.CLUSTER: tuple(db.SETTABLE_CLUSTER_PROPERTIES),
    render.GROUP: tuple(db.SETTABLE_GROUP_PROPERTIES),
    render.RESOURCE: tuple(db.SETTABLE_RESOURCE_PROPERTIES),
    render.NETWORK: tuple(db.SETTABLE_NETWORK_PROPERTIES),
}


def attach(state: LabState, objects: Iterable[CimObject]) -> list[CimObject]:
    """The objects, each with a setter for every property its class lets a script assign."""
    chosen = list(objects)
    for obj in chosen:
        store = _STORES.get(obj.class_name)
        if store is not None:
            obj.settable = {name: partial(_set, state, store, obj, name) for name in SETTABLE[obj.class_name]}
    return chosen


Store = Callable[[LabState, str, str, Any], Any]


def _set(state: LabState, store: Store, obj: CimObject, name: str, value: Any) -> Any:
    try:
        shown = store(state, str(obj.ref), name, value)
    except ClusterError as err:
        raise CmdletError(
            f'Exception setting "{name}": "{err.message}"', "ExceptionWhenSetting", ErrorCategory.NotSpecified
        ) from err
    if name == "Name":
        obj.ref = str(shown)  # the object now stands for the renamed network
    return shown


def _cluster(state: LabState, ref: str, name: str, value: Any) -> Any:
    api.set_cluster_property(state, name, _integer(name, value))
    return getattr(api.get_cluster(state).properties, db.SETTABLE_CLUSTER_PROPERTIES[name].field)


def _group(state: LabState, ref: str, name: str, value: Any) -> Any:
    grp = api.set_group_property(state, ref, name, _integer(name, value))
    return getattr(grp, db.SETTABLE_GROUP_PROPERTIES[name].field)


def _resource(state: LabState, ref: str, name: str, value: Any) -> Any:
    if name == "RestartAction" and isinstance(value, str) and value in db.RESTART_ACTION_VALUES:
        value = db.RESTART_ACTION_VALUES[value]  # PowerShell converts an enum name
    res = api.set_resource_property(state, ref, name, _integer(name, value))
    shown = getattr(res, db.SETTABLE_RESOURCE_PROPERTIES[name].field)
    return render.restart_action(shown) if name == "RestartAction" else shown


def _network(state: LabState, ref: str, name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ClusterError(
            "INVALID_PARAMETER", f"({name}={value!r}: expected a string or an integer)", target=name
        )
    net = api.set_network_property(state, ref, name, value)
    return {"Name": net.name, "Role": net.role, "Description": net.description, "Metric": net.metric}[name]


def _integer(name: str, value: Any) -> int:
    """PowerShell converts "2000" to the UInt32 property; anything else is a conversion error."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ClusterError("INVALID_PARAMETER", f"({name}={value!r}: expected an integer)", target=name)


_STORES: dict[str, Store] = {
    render.CLUSTER: _cluster,
    render.GROUP: _group,
    render.RESOURCE: _resource,
    render.NETWORK: _network,
}
