"""What the FailoverClusters cmdlets share: the module check, finding the cluster, the double hop,
and turning the cluster API's errors into what the cmdlets print.

Error ids: the FailoverClusters cmdlets are compiled cmdlets, so an error's id ends with the .NET
class of the command (``ClusterEndpointNotRegistered,Microsoft.FailoverClusters.PowerShell.
GetClusterCommand``), never with the bare cmdlet name as CDXML cmdlets have it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from wsfclab.cluster import api
from wsfclab.cluster import database as db
from wsfclab.cluster.errors import ERRORS, FC_NAMESPACE, ClusterError
from wsfclab.cmdlets.base import Call, has_wildcard, matches
from wsfclab.cmdlets.cluster import hop, rules
from wsfclab.errors import CmdletError, ErrorCategory
from wsfclab.state import NodeState

MODULE_FEATURE = "RSAT-Clustering-PowerShell"


def command_class(cmdlet: str) -> str:
    return f"{FC_NAMESPACE}.{cmdlet.replace('-', '')}Command"


def error(call: Call, err: ClusterError, wrapper: str | None = None) -> CmdletError:
    """``err`` as ``call``'s cmdlet prints it: wrapped in the cmdlet's own first line when Windows
    wraps it (a ClusterCmdletException), else with the error's own reason."""
    if wrapper is not None:
        return err.for_cmdlet(call.cmdlet, wrapper)
    reason = ERRORS[err.key].reason
    return CmdletError(err.message, f"{reason},{command_class(call.cmdlet)}", err.category, target=err.target)


def fail(
    call: Call, message: str, reason: str, category: ErrorCategory, target: str | None = None
) -> CmdletError:
    """An error of the cmdlet itself (argument checks before the cluster is asked)."""
    return CmdletError(message, f"{reason},{command_class(call.cmdlet)}", category, target=target)


def require_module(call: Call) -> None:
    """The FailoverClusters module exists only where RSAT-Clustering-PowerShell is installed; without
    it PowerShell does not know the command at all."""
    feature = call.node.features.get(MODULE_FEATURE)
    if feature is None or not feature.installed:
        raise CmdletError(
            f"The term '{call.cmdlet}' is not recognized as the name of a cmdlet, function, script file, or "
            "operable program. Check the spelling of the name, or if a path was included, verify that the "
            "path is correct and try again.",
            "CommandNotFoundException,Microsoft.PowerShell.Commands.GetCommandCommand",
            ErrorCategory.ObjectNotFound,
            target=call.cmdlet,
        )


def access_denied(call: Call, server: str) -> CmdletError:
    """What the cmdlets print when the session's credentials cannot reach ``server`` (the double hop)."""
    return CmdletError(
        f"You do not have administrative privileges on the server '{server}'.",
        f"{call.cmdlet},{command_class(call.cmdlet)}",
        ErrorCategory.PermissionDenied,
        target=server,
    )


def require_second_hop(call: Call, servers: Iterable[str]) -> None:
    """Refuse, as Windows does, when the cmdlet must reach ``servers`` (other nodes, or the cluster
    from outside it) and the session's credentials cannot travel there."""
    others = [s for s in servers if s.upper() != call.node.name.upper()]
    if others and not hop.current().delegates:
        raise access_denied(call, others[0])


def target_cluster(call: Call, wanted: object = None) -> db.ClusterDatabase:
    """The cluster the cmdlet works on: ``-Cluster NAME`` (or ``wanted``) or the local one (``.`` or
    omitted).

    The local cluster answers only while this node's cluster service runs: on a node that is in no
    cluster, Windows says the cluster service is not running. Another cluster is reached over RPC,
    which is a second hop for a remote session.
    """
    cdb = call.state.cluster
    if wanted is None:
        wanted = call.get("Cluster")
    if wanted is not None and str(wanted) != ".":
        names = {cdb.name.lower(), cdb.fqdn.lower()} if cdb is not None else set()
        if cdb is None or str(wanted).lower() not in names:
            raise error(call, ClusterError("CLUSTER_NOT_FOUND", target=str(wanted)))
        if cdb.node_by_name(call.node.name) is None:
            require_second_hop(call, [cdb.name])
            if not any(n.state in ("Up", "Paused") for n in cdb.nodes.values()):
                raise error(call, ClusterError("CLUSTER_NOT_FOUND", target=cdb.name))
            return cdb
    if cdb is None or cdb.node_by_name(call.node.name) is None:
        raise error(call, ClusterError("SERVICE_NOT_RUNNING", target=call.node.name))
    clussvc = call.node.services.get("ClusSvc")
    if clussvc is None or clussvc.state != "Running":
        raise error(call, ClusterError("SERVICE_NOT_RUNNING", target=call.node.name))
    return cdb


def lab_node(call: Call, name: str) -> NodeState | None:
    """A node of the lab by computer name or FQDN."""
    wanted = name.lower()
    for node in call.state.nodes.values():
        if wanted in (node.name.lower(), node.fqdn.lower()):
            return node
    return None


def pick(values: list[str] | None, names: Iterable[str]) -> list[str] | str:
    """The names matched by ``values`` (wildcards allowed), in ``names`` order; or the first plain
    value that matches nothing."""
    ordered = list(names)
    if values is None:
        return ordered
    chosen: list[str] = []
    for value in values:
        found = [n for n in ordered if matches(n, [value])]
        if not found and not has_wildcard(value):
            return value
        chosen += [n for n in found if n not in chosen]
    return [n for n in ordered if n in chosen]


def nic_addresses(node: NodeState) -> list[rules.NicAddress]:
    """The node's connected IPv4 addresses, as the Cluster service discovers networks from them."""
    return [
        rules.NicAddress(node.name, nic.name, a.ip, a.prefix_length, nic.gateway)
        for nic in node.nics
        if nic.status == "Up"
        for a in nic.addresses
        if ":" not in a.ip
    ]


def network_problem(call: Call, problem: rules.NetworkProblem) -> CmdletError:
    """Windows' refusal of -StaticAddress/-IgnoreNetwork. The first two texts are the cmdlets' own
    (quoted in dsccommunity/FailoverClusterDsc#32 and MicrosoftDocs/windowsserverdocs#612); the
    others are the lab's, for cases whose Windows text is not on record (see the lab guide)."""
    value = problem.value
    messages = {
        "not_on_network": f"Static address '{value}' was not found on any cluster network.",
        "unconfigured": (
            f"Static network '{value}' was not configured. Please use -StaticAddress to use this network "
            "or -IgnoreNetwork to ignore it."
        ),
        "bad_address": (
            f"'{value}' is not a valid IPv4 address; -StaticAddress takes addresses such as 10.0.0.20."
        ),
        "bad_network": (
            f"'{value}' is not a network of these nodes; -IgnoreNetwork takes a network as address/prefix "
            "(10.0.9.0/24) of one of their subnets."
        ),
        "in_use": f"Static address '{value}' is already used by a network adapter of a node.",
        "two_on_network": f"Static address '{value}' is on a network that already has a static address.",
    }
    return fail(call, messages[problem.kind], call.cmdlet, ErrorCategory.InvalidArgument, target=value)


def run[T, **P](
    call: Call, wrapper: str | None, operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``operation(*args, **kwargs)``, with a ClusterError turned into what the cmdlet prints."""
    try:
        return operation(*args, **kwargs)
    except ClusterError as err:
        raise error(call, err, wrapper) from err


def wait_seconds(call: Call) -> float:
    """-Wait N: seconds to wait for the operation (0 returns at once, Pending); default until done."""
    value = call.get("Wait")
    return api.DEFAULT_WAIT if value is None else float(max(0, int(value)))


def hosts_of(cdb: db.ClusterDatabase) -> list[str]:
    return sorted(cdb.nodes, key=lambda n: int(cdb.nodes[n].id))
