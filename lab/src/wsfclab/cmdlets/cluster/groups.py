"""Roles (groups): Add-ClusterGenericServiceRole, Get-, Start-, Stop-, Move-, Remove-ClusterGroup,
and the owner lists (Get-/Set-ClusterOwnerNode, for groups and resources).

Add-ClusterGenericServiceRole applies New-Cluster's address rule to the cluster's networks (every
client network needs ``-StaticAddress`` or ``-IgnoreNetwork``; MicrosoftDocs/windowsserverdocs#612
quotes this cmdlet's "Static network ... was not configured"), checks the service on every possible
owner (a second hop), and needs the right to create the role's computer object (the world's
``may_create_computer_objects``, standing for the rights of the cluster's computer object).
"""

from __future__ import annotations

import ipaddress

from wsfclab.cluster import api
from wsfclab.cluster import database as db
from wsfclab.cluster.errors import ClusterError
from wsfclab.cmdlets.base import Call, CimObject, cmdlet
from wsfclab.cmdlets.cluster import common, render, rules, settable
from wsfclab.errors import CmdletError, ErrorCategory, Unsupported


def _group(call: Call, cdb: db.ClusterDatabase) -> db.ClusterGroup:
    """The group piped in or named by -Name."""
    name = str(call.input.ref) if call.input is not None else str(call.get("Name"))
    return common.run(call, None, lambda: api.group(cdb, name))


@cmdlet("Get-ClusterGroup", inputs={render.CLUSTER: "InputObject", render.NODE: "InputObject"})
def get_cluster_group(call: Call) -> list[CimObject]:
    common.require_module(call)
    if call.has("VMId"):
        raise Unsupported("Get-ClusterGroup -VMId (the lab has no virtual machine roles)")
    cdb = common.target_cluster(call)
    groups = list(cdb.groups.values())
    if call.input is not None and call.input.class_name == render.NODE:
        groups = [g for g in groups if g.owner_node == call.input.ref]
    values = call.as_list("Name")
    picked = common.pick([str(v) for v in values] if values is not None else None, [g.name for g in groups])
    if isinstance(picked, str):
        raise common.error(call, ClusterError("GROUP_NOT_FOUND", f"(group '{picked}')", target=picked))
    return settable.attach(call.state, [render.group(cdb, g) for g in groups if g.name in picked])


@cmdlet("Start-ClusterGroup", inputs={render.GROUP: "InputObject"}, changes=True)
def start_cluster_group(call: Call) -> list[CimObject]:
    common.require_module(call)
    _no_locked(call)
    cdb = common.target_cluster(call)
    grp = _group(call, cdb)
    wrapper = f"An error occurred while starting the clustered role '{grp.name}'."
    done = common.run(
        call, wrapper, lambda: api.start_group(call.lab, call.state, grp.name, wait=common.wait_seconds(call))
    )
    return settable.attach(call.state, [render.group(cdb, done)])


@cmdlet("Stop-ClusterGroup", inputs={render.GROUP: "InputObject"}, changes=True)
def stop_cluster_group(call: Call) -> list[CimObject]:
    common.require_module(call)
    _no_locked(call)
    cdb = common.target_cluster(call)
    grp = _group(call, cdb)
    wrapper = f"An error occurred while stopping the clustered role '{grp.name}'."
    done = common.run(
        call, wrapper, lambda: api.stop_group(call.lab, call.state, grp.name, wait=common.wait_seconds(call))
    )
    return settable.attach(call.state, [render.group(cdb, done)])


@cmdlet("Move-ClusterGroup", inputs={render.GROUP: "InputObject"}, changes=True)
def move_cluster_group(call: Call) -> list[CimObject]:
    common.require_module(call)
    _no_locked(call)
    cdb = common.target_cluster(call)
    grp = _group(call, cdb)
    target = call.get("Node")
    wrapper = f"An error occurred while moving the clustered role '{grp.name}'."
    done = common.run(
        call,
        wrapper,
        lambda: api.move_group(
            call.lab,
            call.state,
            grp.name,
            node_name=str(target) if target is not None else None,
            wait=common.wait_seconds(call),
        ),
    )
    return settable.attach(call.state, [render.group(cdb, done)])


def _no_locked(call: Call) -> None:
    if call.has("IgnoreLocked") or call.has("ChooseBestNode"):
        raise Unsupported(f"{call.cmdlet} -IgnoreLocked/-ChooseBestNode")


@cmdlet("Remove-ClusterGroup", inputs={render.GROUP: "InputObject"}, changes=True)
def remove_cluster_group(call: Call) -> list[CimObject]:
    common.require_module(call)
    if call.has("VMId"):
        raise Unsupported("Remove-ClusterGroup -VMId (the lab has no virtual machine roles)")
    cdb = common.target_cluster(call)
    names = [str(call.input.ref)] if call.input is not None else [str(n) for n in call.as_list("Name") or []]
    groups = [common.run(call, None, api.group, cdb, n) for n in names]
    if call.get("WhatIf"):
        return []
    for grp in groups:
        wrapper = f"An error occurred while removing the clustered role '{grp.name}'."
        common.run(
            call,
            wrapper,
            api.remove_group,
            call.lab,
            call.state,
            grp.name,
            remove_resources=bool(call.get("RemoveResources")),
        )
    return []


@cmdlet("Add-ClusterGenericServiceRole", inputs={render.CLUSTER: "InputObject"}, changes=True)
def add_cluster_generic_service_role(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    role = str(call.get("Name") or f"{cdb.name}GenSvc")
    parsed = rules.parse_cluster_name(role)
    if isinstance(parsed, str) or parsed.container is not None:
        reason = (
            parsed if isinstance(parsed, str) else "a role name is a computer name, not a distinguished name"
        )
        raise common.error(call, ClusterError("INVALID_CLUSTER_NAME", f"({reason})", target=role))
    static = [str(a) for a in call.as_list("StaticAddress") or []]
    ignore = [str(n) for n in call.as_list("IgnoreNetwork") or []]
    plans = [
        rules.NetworkPlan(
            n.name,
            ipaddress.IPv4Network(f"{n.address}/{n.prefix_length}"),
            db.NETWORK_ROLE_VALUES[n.role],
        )
        for n in cdb.networks.values()
    ]
    in_use = {i.address for i in cdb.interfaces} | {
        str(r.private.get("Address")) for r in cdb.resources.values() if r.resource_type == db.IP_ADDRESS
    }
    problem = rules.place_addresses(plans, static, ignore, needs_address=True, in_use=in_use)
    if problem is not None:
        raise common.network_problem(call, problem)
    # The cmdlet checks the service on every possible owner (remote SCM): a second hop.
    common.require_second_hop(call, common.hosts_of(cdb))
    _require_vco_rights(call, cdb, role)
    wait = call.get("Wait")
    wrapper = f"An error occurred while creating the clustered role '{role}'."
    grp = common.run(
        call,
        wrapper,
        lambda: api.add_generic_service_role(
            call.lab,
            call.state,
            service_name=str(call.get("ServiceName")),
            name=role,
            static_addresses=[p.static_address for p in plans if p.static_address],
            storage=[str(s) for s in call.as_list("Storage") or []],
            checkpoint_keys=[str(k) for k in call.as_list("CheckpointKey") or []],
            wait=api.DEFAULT_WAIT if wait is None else float(max(0, int(wait))),
        ),
    )
    return settable.attach(call.state, [render.group(cdb, grp)])


def _require_vco_rights(call: Call, cdb: db.ClusterDatabase, role: str) -> None:
    """The cluster's computer object creates the role's (a VCO); without the right to create
    computer objects in the OU, Windows logs event 1194 and the role's name cannot come online.
    The lab refuses the role before creating it, with the event's text."""
    domain = call.state.domain
    if domain is None:
        if cdb.administrative_access_point == "Dns":
            return  # a workgroup cluster's roles live in DNS only
        raise Unsupported("Add-ClusterGenericServiceRole without an active_directory section in the world")
    if not domain.may_create_computer_objects:
        raise CmdletError(
            f"An error occurred while creating the clustered role '{role}'.\n"
            f"Cluster network name resource '{role}' failed to create its associated computer object in "
            f"domain '{domain.domain_name}' during: Resource online. The associated error code is: "
            "-1073741790 (Access is denied). Ensure that the cluster name object "
            f"'{cdb.name}' has the Create Computer objects permission in '{domain.computer_ou}' "
            "(event 1194).",
            f"Add-ClusterGenericServiceRole,{common.command_class('Add-ClusterGenericServiceRole')}",
            ErrorCategory.PermissionDenied,
            target=role,
        )


def _owner_object(call: Call, cdb: db.ClusterDatabase) -> tuple[str, str]:
    """("group"|"resource", name) from -Group/-Resource or the piped object."""
    if call.input is not None:
        kind = "group" if call.input.class_name == render.GROUP else "resource"
        return kind, str(call.input.ref)
    if call.get("Group") is not None and call.get("Resource") is None:
        return "group", str(call.get("Group"))
    if call.get("Resource") is not None and call.get("Group") is None:
        return "resource", str(call.get("Resource"))
    raise common.fail(call, "Specify either -Group or -Resource.", call.cmdlet, ErrorCategory.InvalidArgument)


@cmdlet("Get-ClusterOwnerNode", inputs={render.GROUP: "InputObject", render.RESOURCE: "InputObject"})
def get_cluster_owner_node(call: Call) -> list[CimObject]:
    common.require_module(call)
    if call.has("ResourceType"):
        raise Unsupported("Get-ClusterOwnerNode -ResourceType")
    cdb = common.target_cluster(call)
    kind, name = _owner_object(call, cdb)
    if kind == "group":
        grp = common.run(call, None, lambda: api.group(cdb, name))
        return [render.owners(grp.name, api.group_owners(cdb, grp.name), cdb)]
    res = common.run(call, None, lambda: api.resource(cdb, name))
    return [render.owners(res.name, api.resource_owners(cdb, res.name), cdb)]


@cmdlet(
    "Set-ClusterOwnerNode", inputs={render.GROUP: "InputObject", render.RESOURCE: "InputObject"}, changes=True
)
def set_cluster_owner_node(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    kind, name = _owner_object(call, cdb)
    owners = [str(o) for o in call.as_list("Owners") or []]
    if kind == "group":
        common.run(call, None, lambda: api.set_group_owners(call.state, name, owners))
    else:
        common.run(call, None, lambda: api.set_resource_owners(call.state, name, owners))
    return []
