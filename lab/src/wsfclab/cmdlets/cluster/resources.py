"""Resources: Get-, Add-, Start-, Stop-, Remove-ClusterResource, Test-ClusterResourceFailure, the
dependency cmdlets, Get-/Set-ClusterParameter and the registry checkpoint cmdlets.

Dependencies are written as Windows writes them (``[IP Address 10.0.0.5] and [Cluster Disk 1]``);
Set- replaces the expression ("" clears it), Add- ANDs one provider to it ([PS], [MSCS]).
"""

from __future__ import annotations

from wsfclab.cluster import api
from wsfclab.cluster import database as db
from wsfclab.cluster.errors import ClusterError
from wsfclab.cmdlets.base import Call, CimObject, cmdlet
from wsfclab.cmdlets.cluster import common, render, settable
from wsfclab.errors import ErrorCategory, Unsupported


def _resource(call: Call, cdb: db.ClusterDatabase, param: str = "Name") -> db.ClusterResource:
    """The resource piped in or named by ``param``."""
    name = str(call.input.ref) if call.input is not None else str(call.get(param))
    return common.run(call, None, lambda: api.resource(cdb, name))


@cmdlet(
    "Get-ClusterResource",
    inputs={render.CLUSTER: "InputObject", render.GROUP: "InputObject", render.NODE: "InputObject"},
)
def get_cluster_resource(call: Call) -> list[CimObject]:
    common.require_module(call)
    if call.has("VMId"):
        raise Unsupported("Get-ClusterResource -VMId (the lab has no virtual machine roles)")
    cdb = common.target_cluster(call)
    resources = list(cdb.resources.values())
    if call.input is not None and call.input.class_name == render.GROUP:
        resources = [r for r in resources if r.owner_group == call.input.ref]
    if call.input is not None and call.input.class_name == render.NODE:
        owned = {g.name for g in cdb.groups.values() if g.owner_node == call.input.ref}
        resources = [r for r in resources if r.owner_group in owned]
    values = call.as_list("Name")
    picked = common.pick(
        [str(v) for v in values] if values is not None else None, [r.name for r in resources]
    )
    if isinstance(picked, str):
        raise common.error(call, ClusterError("RESOURCE_NOT_FOUND", f"(resource '{picked}')", target=picked))
    return settable.attach(call.state, [render.resource(cdb, r) for r in resources if r.name in picked])


@cmdlet("Add-ClusterResource", inputs={render.GROUP: "InputObject"}, changes=True)
def add_cluster_resource(call: Call) -> list[CimObject]:
    common.require_module(call)
    if call.get("SeparateMonitor"):
        raise Unsupported("Add-ClusterResource -SeparateMonitor")
    cdb = common.target_cluster(call)
    group = str(call.input.ref) if call.input is not None else call.get("Group")
    if group is None:
        raise Unsupported("Add-ClusterResource without -Group (a resource of the cluster group)")
    name = str(call.get("Name"))
    kind = str(call.get("ResourceType"))
    wrapper = f"An error occurred while creating resource '{name}'."
    res = common.run(call, wrapper, lambda: api.add_resource(call.state, name, kind, str(group)))
    return settable.attach(call.state, [render.resource(cdb, res)])


@cmdlet("Start-ClusterResource", inputs={render.RESOURCE: "InputObject"}, changes=True)
def start_cluster_resource(call: Call) -> list[CimObject]:
    common.require_module(call)
    _no_locked(call)
    cdb = common.target_cluster(call)
    res = _resource(call, cdb)
    wrapper = f"An error occurred while starting the resource '{res.name}'."
    done = common.run(
        call,
        wrapper,
        lambda: api.start_resource(call.lab, call.state, res.name, wait=common.wait_seconds(call)),
    )
    return settable.attach(call.state, [render.resource(cdb, done)])


@cmdlet("Stop-ClusterResource", inputs={render.RESOURCE: "InputObject"}, changes=True)
def stop_cluster_resource(call: Call) -> list[CimObject]:
    common.require_module(call)
    _no_locked(call)
    cdb = common.target_cluster(call)
    res = _resource(call, cdb)
    wrapper = f"An error occurred while stopping the resource '{res.name}'."
    done = common.run(
        call,
        wrapper,
        lambda: api.stop_resource(call.lab, call.state, res.name, wait=common.wait_seconds(call)),
    )
    return settable.attach(call.state, [render.resource(cdb, done)])


def _no_locked(call: Call) -> None:
    if call.has("IgnoreLocked") or call.has("ChooseBestNode"):
        raise Unsupported(f"{call.cmdlet} -IgnoreLocked/-ChooseBestNode")


@cmdlet("Remove-ClusterResource", inputs={render.RESOURCE: "InputObject"}, changes=True)
def remove_cluster_resource(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    names = [str(call.input.ref)] if call.input is not None else [str(n) for n in call.as_list("Name") or []]
    chosen = [common.run(call, None, api.resource, cdb, n) for n in names]
    if call.get("WhatIf"):
        return []
    for res in chosen:
        wrapper = f"An error occurred while removing the resource '{res.name}'."
        common.run(call, wrapper, api.remove_resource, call.lab, call.state, res.name)
    return []


@cmdlet("Test-ClusterResourceFailure", inputs={render.RESOURCE: "InputObject"}, changes=True)
def test_cluster_resource_failure(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    res = _resource(call, cdb)
    wrapper = f"An error occurred while simulating a failure of the resource '{res.name}'."
    done = common.run(call, wrapper, lambda: api.fail_resource(call.lab, call.state, res.name))
    return settable.attach(call.state, [render.resource(cdb, done)])


# -- dependencies ------------------------------------------------------------------------------


@cmdlet("Get-ClusterResourceDependency", inputs={render.RESOURCE: "InputObject"})
def get_cluster_resource_dependency(call: Call) -> list[CimObject]:
    common.require_module(call)
    if call.get("Guid"):
        raise Unsupported("Get-ClusterResourceDependency -Guid")
    cdb = common.target_cluster(call)
    if call.input is not None:
        names = [str(call.input.ref)]
    else:
        names = [str(n) for n in call.as_list("Resource") or list(cdb.resources)]
    chosen = [common.run(call, None, api.resource, cdb, n) for n in names]
    return [render.dependency(r) for r in chosen]


@cmdlet("Set-ClusterResourceDependency", inputs={render.RESOURCE: "InputObject"}, changes=True)
def set_cluster_resource_dependency(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    res = _resource(call, cdb, "Resource")
    expression = str(call.get("Dependency") or "")
    wrapper = f"An error occurred while setting the dependency expression of resource '{res.name}'."
    common.run(call, wrapper, lambda: api.set_dependency(call.state, res.name, expression))
    return []


@cmdlet("Add-ClusterResourceDependency", inputs={render.RESOURCE: "InputObject"}, changes=True)
def add_cluster_resource_dependency(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    res = _resource(call, cdb, "Resource")
    provider = call.get("Provider")
    if provider is None:
        raise common.fail(
            call,
            "Specify the resource to depend on with -Provider.",
            call.cmdlet,
            ErrorCategory.InvalidArgument,
        )
    wrapper = f"An error occurred while adding a dependency to resource '{res.name}'."
    done = common.run(call, wrapper, lambda: api.add_dependency(call.state, res.name, str(provider)))
    return settable.attach(call.state, [render.resource(cdb, done)])


# -- private parameters ------------------------------------------------------------------------


@cmdlet("Get-ClusterParameter", inputs={render.RESOURCE: "InputObject"})
def get_cluster_parameter(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    if call.input is None:
        raise Unsupported(
            "Get-ClusterParameter of the cluster itself; pipe a resource (Get-ClusterResource R)"
        )
    res = _resource(call, cdb)
    values = api.private_parameters(cdb, res.name)
    wanted = call.as_list("Name")
    if wanted is not None:
        missing = [w for w in wanted if str(w).lower() not in {k.lower() for k in values}]
        if missing:
            raise common.error(
                call,
                ClusterError(
                    "INVALID_PARAMETER",
                    f"(no parameter '{missing[0]}' on {res.name})",
                    target=str(missing[0]),
                ),
            )
        keep = {str(w).lower() for w in wanted}
        values = {k: v for k, v in values.items() if k.lower() in keep}
    return [render.parameter(res.name, k, v) for k, v in values.items()]


@cmdlet("Set-ClusterParameter", inputs={render.RESOURCE: "InputObject"}, changes=True)
def set_cluster_parameter(call: Call) -> list[CimObject]:
    common.require_module(call)
    for unsupported in ("Create", "Delete"):
        if call.get(unsupported):
            raise Unsupported(
                f"Set-ClusterParameter -{unsupported} (the lab models the documented private properties)"
            )
    cdb = common.target_cluster(call)
    if call.input is None:
        raise Unsupported(
            "Set-ClusterParameter of the cluster itself; pipe a resource (Get-ClusterResource R)"
        )
    res = _resource(call, cdb)
    if call.get("Name") is None:
        raise common.fail(
            call, "Specify the parameter with -Name and -Value.", call.cmdlet, ErrorCategory.InvalidArgument
        )
    name = str(call.get("Name"))
    value = call.get("Value")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise common.error(
            call, ClusterError("INVALID_PARAMETER", f"({name}={value!r}: expected a string or an integer)")
        )
    wrapper = f"An error occurred while setting the parameter '{name}' of resource '{res.name}'."
    done = common.run(call, wrapper, lambda: api.set_private_parameter(call.state, res.name, name, value))
    if done.state == "Online":
        # Windows' own warning: private properties take effect when the resource next comes online.
        call.warn(
            f"The properties were stored, but not all changes will take effect until {done.name} is taken "
            "offline and then online again."
        )
    return []


# -- checkpoints -------------------------------------------------------------------------------


@cmdlet("Get-ClusterCheckpoint", inputs={render.RESOURCE: "InputObject"})
def get_cluster_checkpoint(call: Call) -> list[CimObject]:
    common.require_module(call)
    if call.get("CryptoCheckpoint"):
        raise Unsupported("crypto checkpoints")
    cdb = common.target_cluster(call)
    names: list[str | None] = (
        [str(call.input.ref)]
        if call.input is not None
        else [str(n) for n in call.as_list("ResourceName") or []] or [None]
    )
    wanted = call.get("CheckpointName")
    found = []
    for name in names:
        for owner, point in common.run(call, None, api.checkpoints, cdb, name):
            if wanted is None or point.key.lower() == str(wanted).lower():
                found.append(render.checkpoint(cdb.resources[owner], point.key))
    return found


@cmdlet("Add-ClusterCheckpoint", inputs={render.RESOURCE: "InputObject"}, changes=True)
def add_cluster_checkpoint(call: Call) -> list[CimObject]:
    common.require_module(call)
    if (
        call.has("CryptoCheckpointKey")
        or call.has("CryptoCheckpointName")
        or call.has("CryptoCheckpointType")
    ):
        raise Unsupported("crypto checkpoints")
    cdb = common.target_cluster(call)
    res = _resource(call, cdb, "ResourceName")
    key = call.get("RegistryCheckpoint")
    if key is None:
        raise common.fail(
            call, "Specify the key with -RegistryCheckpoint.", call.cmdlet, ErrorCategory.InvalidArgument
        )
    wrapper = f"An error occurred while adding the checkpoint to resource '{res.name}'."
    added = common.run(call, wrapper, lambda: api.add_checkpoint(call.state, res.name, str(key)))
    return [render.checkpoint(res, added.key)]


@cmdlet("Remove-ClusterCheckpoint", inputs={render.RESOURCE: "InputObject"}, changes=True)
def remove_cluster_checkpoint(call: Call) -> list[CimObject]:
    common.require_module(call)
    if call.get("CryptoCheckpoint"):
        raise Unsupported("crypto checkpoints")
    cdb = common.target_cluster(call)
    res = _resource(call, cdb, "ResourceName")
    key = call.get("CheckpointName")
    if key is None:
        raise common.fail(
            call, "Specify the key with -CheckpointName.", call.cmdlet, ErrorCategory.InvalidArgument
        )
    if call.get("WhatIf"):
        return []
    wrapper = f"An error occurred while removing the checkpoint from resource '{res.name}'."
    common.run(call, wrapper, lambda: api.remove_checkpoint(call.state, res.name, str(key)))
    return []
