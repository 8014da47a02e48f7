"""New-Cluster, Get-Cluster, Remove-Cluster.

New-Cluster checks its arguments as Windows does before anything is created: the name (a NetBIOS
computer name, or a distinguished name that also says where the computer object goes), the nodes
(reachable, with the feature), the addresses (``rules.plan_networks``: which networks need
``-StaticAddress`` or ``-IgnoreNetwork``, with the source of that rule), the second hop to the other
nodes and to Active Directory, and the right to create the cluster's computer object (the world's
``active_directory.may_create_computer_objects``). Like the Create Cluster wizard it waits until
every node has joined (``joining``), then configures
a disk witness when the cluster has an even number of nodes and a suitable disk, writes its report
under ``C:\\Windows\\Cluster\\Reports\\`` and, when something is off, says so on the warning stream
with the report's path ([TP-31628828688]).
"""

from __future__ import annotations

import html
import ntpath
import time
from datetime import UTC, datetime

from wsfclab.cluster import api
from wsfclab.cluster import database as db
from wsfclab.cluster.errors import ClusterError
from wsfclab.cmdlets.base import Call, CimObject, cmdlet
from wsfclab.cmdlets.cluster import common, hop, joining, render, rules, settable
from wsfclab.errors import CmdletError, ErrorCategory, Unsupported
from wsfclab.state import NodeState

REPORTS = "C:\\Windows\\Cluster\\Reports"
AD_ACCESS_POINTS = ("ActiveDirectoryAndDns",)


@cmdlet("New-Cluster", changes=True)
def new_cluster(call: Call) -> list[CimObject]:
    common.require_module(call)
    for unsupported in ("S2D", "ManagementPointNetworkType"):
        if call.has(unsupported):
            raise Unsupported(f"New-Cluster -{unsupported}")
    raw_name = str(call.get("Name"))
    parsed = rules.parse_cluster_name(raw_name)
    if isinstance(parsed, str):
        raise common.error(call, ClusterError("INVALID_CLUSTER_NAME", f"({parsed})", target=raw_name))
    members = _members(call)
    cdb = call.state.cluster
    joined = next((m for m in members if cdb is not None and cdb.node_by_name(m.name)), None)
    if joined is not None:
        # The Create Cluster wizard's words for a server that already belongs to a cluster.
        raise common.fail(
            call,
            f"The computer '{joined.name}' is joined to a cluster.",
            "New-Cluster",
            ErrorCategory.ResourceExists,
        )
    access_point = _access_point(call, members)
    plans = rules.plan_networks(
        [a for m in members for a in common.nic_addresses(m)],
        [str(a) for a in call.as_list("StaticAddress") or []],
        [str(n) for n in call.as_list("IgnoreNetwork") or []],
        needs_address=True,
    )
    if isinstance(plans, rules.NetworkProblem):
        raise common.network_problem(call, plans)
    common.require_second_hop(call, [m.name for m in members])
    if access_point in AD_ACCESS_POINTS:
        _require_computer_object_rights(call, parsed)
    wrapper = f"There was an error creating the cluster '{parsed.name}'."
    created = common.run(
        call,
        wrapper,
        lambda: api.create_cluster(
            call.lab,
            call.state,
            name=parsed.name,
            nodes=[m.name for m in members],
            static_addresses=[p.static_address for p in plans if p.static_address],
            ignore_networks=[f"{p.subnet}" for p in plans if p.ignored],
            no_storage=bool(call.get("NoStorage")),
            administrative_access_point=access_point,
        ),
    )
    created = joining.wait_until_joined(call, list(created.nodes), wrapper)
    issues = _configure_witness(call, created)
    path = _write_report(call, created, issues)
    if issues:
        call.warn(
            "There were issues while creating the clustered role that may prevent it from starting. "
            "For more information view the report file below."
        )
        call.warn(f"Report file location: {path}")
    return settable.attach(call.state, [render.cluster(created)])


def _members(call: Call) -> list[NodeState]:
    """``-Node`` (default: this computer alone), each a running node of the lab."""
    names = call.as_list("Node") or [call.node.name]
    members: list[NodeState] = []
    for name in names:
        node = common.lab_node(call, str(name))
        if node is None or not node.running:
            raise common.error(
                call,
                ClusterError(
                    "HOST_NODE_NOT_AVAILABLE",
                    f"(the computer '{name}' could not be reached)",
                    target=str(name),
                ),
            )
        if node not in members:
            members.append(node)
    return members


def _access_point(call: Call, members: list[NodeState]) -> str:
    """-AdministrativeAccessPoint, defaulting as Windows does: in Active Directory for domain
    members; a workgroup cluster must say Dns."""
    given = call.get("AdministrativeAccessPoint")
    joined = all(m.part_of_domain for m in members)
    value = str(given) if given is not None else ("ActiveDirectoryAndDns" if joined else None)
    if value is None:
        raise common.fail(
            call,
            "The nodes are not joined to a domain. Create a workgroup cluster with "
            "-AdministrativeAccessPoint Dns.",
            "New-Cluster",
            ErrorCategory.InvalidArgument,
        )
    value = next(
        v for v in ("None", "ActiveDirectoryAndDns", "Dns", "ActiveDirectory") if v.lower() == value.lower()
    )
    if value in ("None", "ActiveDirectory"):
        raise Unsupported(
            f"New-Cluster -AdministrativeAccessPoint {value} (the lab builds ActiveDirectoryAndDns or Dns)"
        )
    if value in AD_ACCESS_POINTS and not joined:
        outside = next(m for m in members if not m.part_of_domain)
        raise common.fail(
            call,
            f"The computer '{outside.name}' is not joined to a domain, so the cluster cannot have an "
            "administrative access point in Active Directory. Join it, or use "
            "-AdministrativeAccessPoint Dns.",
            "New-Cluster",
            ErrorCategory.InvalidArgument,
            target=outside.name,
        )
    return value


def _require_computer_object_rights(call: Call, name: rules.ClusterName) -> None:
    """The cluster name object (CNO) is created in Active Directory with the caller's credentials:
    they must reach a domain controller (a second hop) and be allowed to create computer objects
    in the container ([WSD] configure-ad-accounts)."""
    domain = call.state.domain
    if domain is None:
        raise Unsupported("New-Cluster in Active Directory without an active_directory section in the world")
    container = name.container or domain.computer_ou
    logon = hop.current()
    if not logon.delegates or not domain.may_create_computer_objects:
        raise CmdletError(
            f"There was an error creating the cluster '{name.name}'.\n"
            f"Unable to create the computer object '{name.name}' in the container '{container}' of domain "
            f"'{domain.domain_name}'. Access is denied. The account that creates the cluster needs the "
            "Create Computer objects permission there, or the object can be prestaged.",
            f"New-Cluster,{common.command_class('New-Cluster')}",
            ErrorCategory.PermissionDenied,
            target=name.name,
        )


def _configure_witness(call: Call, cdb: db.ClusterDatabase) -> list[str]:
    """The quorum the wizard configures: with an even number of nodes, the smallest clustered disk
    of at least 512 MB becomes the disk witness; without one, that is the issue it reports."""
    if len(cdb.nodes) % 2 == 1:
        return []
    disks = [r for r in cdb.resources.values() if r.resource_type == db.PHYSICAL_DISK]
    sized = sorted((api.disk_of(call.state, r).size, r.name) for r in disks)
    fit = [name for size, name in sized if size >= api.MIN_WITNESS_SIZE]
    if not fit:
        return [
            "An appropriate disk was not found for configuring a disk witness. The cluster is not "
            "configured with a witness. As a best practice, configure a witness to help achieve the "
            "highest availability of the cluster."
        ]
    common.run(call, None, lambda: api.set_quorum(call.lab, call.state, disk_witness=fit[0]))
    return []


def _write_report(call: Call, cdb: db.ClusterDatabase, issues: list[str]) -> str:
    now = time.time()
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y.%m.%d At %H.%M.%S")
    path = ntpath.join(REPORTS, f"Create Cluster Wizard {cdb.name} on {stamp}.htm")
    items = "".join(f"<li>{html.escape(i)}</li>" for i in issues) or "<li>The cluster was created.</li>"
    nodes = ", ".join(html.escape(n) for n in common.hosts_of(cdb))
    text = (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Create Cluster</title></head><body>\n'
        f"<h1>Create Cluster</h1>\n<p>Cluster: {html.escape(cdb.name)}</p>\n<p>Nodes: {nodes}</p>\n"
        f"<ul>{items}</ul>\n</body></html>\n"
    )
    local = call.lab.resolve_path(call.state, call.node.name, path)
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(text, encoding="utf-8")
    return path


@cmdlet("Get-Cluster")
def get_cluster(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call, call.get("Name"))
    domain = call.get("Domain")
    if domain is not None and str(domain).lower() != cdb.domain.lower():
        return []
    return settable.attach(call.state, [render.cluster(cdb)])


@cmdlet("Remove-Cluster", inputs={render.CLUSTER: "InputObject"}, changes=True)
def remove_cluster(call: Call) -> list[CimObject]:
    common.require_module(call)
    cdb = common.target_cluster(call)
    common.require_second_hop(call, common.hosts_of(cdb))
    if call.get("WhatIf"):
        return []
    name = cdb.name
    common.run(
        call,
        f"An error occurred while destroying the cluster '{name}'.",
        lambda: api.destroy_cluster(call.lab, call.state, cleanup_ad=bool(call.get("CleanupAD"))),
    )
    return []
