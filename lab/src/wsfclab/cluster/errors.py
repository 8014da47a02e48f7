"""The Windows errors of the failover cluster, in one table.

The cluster API raises ``ClusterError``: a ``CmdletError`` that also carries the Win32 error code
the cluster service returned (winerror.h, the ``ERROR_CLUSTER_*`` / ``ERROR_GROUP_*`` block). The
FailoverClusters cmdlets wrap that error in a ``ClusterCmdletException`` whose message is a line of
their own ("An error occurred while moving the clustered role 'PBX'.") followed by the system
message, with category NotSpecified and the id ``<Cmdlet>,Microsoft.FailoverClusters.PowerShell.
<Cmdlet without dash>Command``, for example (a transcript in MicrosoftDocs/windowsserverdocs,
storage-replica known issues)::

    Move-ClusterGroup : An error occurred while moving the clustered role 'sr-fs-006'.
    The operation failed because either the specified cluster node is not the owner of the group,
    or the node is not a possible owner of the group
        + CategoryInfo          : NotSpecified: (:) [Move-ClusterGroup], ClusterCmdletException
        + FullyQualifiedErrorId : Move-ClusterGroup,
                                  Microsoft.FailoverClusters.PowerShell.MoveClusterGroupCommand

A cmdlet turns the API's error into that shape with ``ClusterError.for_cmdlet(cmdlet, wrapper)``.
Errors the lab raises before the cluster service is reached (a parameter out of range) keep the
category of the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from wsfclab.errors import CmdletError, ErrorCategory

FC_NAMESPACE = "Microsoft.FailoverClusters.PowerShell"


@dataclass(frozen=True)
class WindowsError:
    code: int  # the Win32 error code
    text: str  # its system message (FormatMessage), with {placeholders} the lab fills in
    category: ErrorCategory
    reason: str  # the first part of the FullyQualifiedErrorId when the cmdlet does not wrap it


# Texts: winerror.h / the system message table. Where the lab adds the object's name in brackets,
# Windows' own text has no name (the cmdlet's first line names it). The rows in LAB_WORDED are the
# lab's own code or wording where no source gave Windows' (the guide lists them as departures).
ERRORS: Final[dict[str, WindowsError]] = {
    "INVALID_PARAMETER": WindowsError(
        87, "The parameter is incorrect.", ErrorCategory.InvalidArgument, "InvalidParameter"
    ),
    "ACCESS_DENIED": WindowsError(
        5, "Access is denied.", ErrorCategory.PermissionDenied, "UnauthorizedAccess"
    ),
    "DEPENDENCY_NOT_FOUND": WindowsError(
        5002,
        "The cluster resource dependency cannot be found.",
        ErrorCategory.ObjectNotFound,
        "DependencyNotFound",
    ),
    "DEPENDENCY_ALREADY_EXISTS": WindowsError(
        5003,
        "The cluster resource cannot be made dependent on the specified resource because it is already "
        "dependent.",
        ErrorCategory.ResourceExists,
        "DependencyExists",
    ),
    "RESOURCE_NOT_ONLINE": WindowsError(
        5004, "The cluster resource is not online.", ErrorCategory.InvalidOperation, "ResourceNotOnline"
    ),
    "HOST_NODE_NOT_AVAILABLE": WindowsError(
        5005,
        "A cluster node is not available for this operation.",
        ErrorCategory.ResourceUnavailable,
        "NodeNotAvailable",
    ),
    "RESOURCE_NOT_AVAILABLE": WindowsError(
        5006,
        "The cluster resource is not available.",
        ErrorCategory.ResourceUnavailable,
        "ResourceNotAvailable",
    ),
    "RESOURCE_NOT_FOUND": WindowsError(
        5007,
        "The cluster resource could not be found.",
        ErrorCategory.ObjectNotFound,
        "ClusterResourceNotFound",
    ),
    "OBJECT_ALREADY_EXISTS": WindowsError(
        5010, "The object already exists.", ErrorCategory.ResourceExists, "ObjectExists"
    ),
    "GROUP_NOT_FOUND": WindowsError(
        5013, "The cluster group could not be found.", ErrorCategory.ObjectNotFound, "ClusterGroupNotFound"
    ),
    "GROUP_NOT_AVAILABLE": WindowsError(
        5012,
        "The cluster group is not available for any new requests.",
        ErrorCategory.ResourceUnavailable,
        "GroupNotAvailable",
    ),
    "HOST_NODE_NOT_GROUP_OWNER": WindowsError(
        5016,
        "The operation failed because either the specified cluster node is not the owner of the group, or "
        "the node is not a possible owner of the group",
        ErrorCategory.InvalidOperation,
        "NotGroupOwner",
    ),
    "HOST_NODE_NOT_RESOURCE_OWNER": WindowsError(
        5015,
        "The operation failed because either the specified cluster node is not the owner of the resource, or "
        "the node is not a possible owner of the resource.",
        ErrorCategory.InvalidOperation,
        "NotResourceOwner",
    ),
    "RESOURCE_ONLINE": WindowsError(
        5019,
        "The operation could not be completed because the cluster resource is online.",
        ErrorCategory.InvalidOperation,
        "ResourceOnline",
    ),
    "QUORUM_RESOURCE": WindowsError(
        5020,
        "The cluster resource could not be deleted or brought offline because it is the quorum resource.",
        ErrorCategory.InvalidOperation,
        "QuorumResource",
    ),
    "CORE_RESOURCE": WindowsError(
        5026,
        "The cluster resource could not be deleted or brought offline because it is a core resource.",
        ErrorCategory.InvalidOperation,
        "CoreResource",
    ),
    "RESOURCE_TYPE_NOT_FOUND": WindowsError(
        5078,
        "The specified resource type was not found.",
        ErrorCategory.ObjectNotFound,
        "ResourceTypeNotFound",
    ),
    "CIRCULAR_DEPENDENCY": WindowsError(
        5038, "A circular dependency is not allowed.", ErrorCategory.InvalidOperation, "CircularDependency"
    ),
    "NODE_NOT_FOUND": WindowsError(
        5042, "The cluster node was not found.", ErrorCategory.ObjectNotFound, "ClusterNodeNotFound"
    ),
    "NODE_EXISTS": WindowsError(
        5043, "The cluster node already exists.", ErrorCategory.ResourceExists, "NodeExists"
    ),
    "NETWORK_NOT_FOUND": WindowsError(
        5045, "The cluster network was not found.", ErrorCategory.ObjectNotFound, "ClusterNetworkNotFound"
    ),
    "NETINTERFACE_NOT_FOUND": WindowsError(
        5047,
        "The cluster network interface was not found.",
        ErrorCategory.ObjectNotFound,
        "ClusterNetworkInterfaceNotFound",
    ),
    "NODE_DOWN": WindowsError(
        5050, "The cluster node is down.", ErrorCategory.ResourceUnavailable, "NodeDown"
    ),
    "CLUSTER_NOT_FOUND": WindowsError(
        1722,
        "The RPC server is unavailable. Check the spelling of the cluster name. Otherwise, there might be a "
        "problem with your network. Make sure the cluster nodes are turned on and connected to the network "
        "or contact your network administrator.",
        ErrorCategory.ConnectionError,
        "ClusterRpcConnection",
    ),
    "SERVICE_NOT_RUNNING": WindowsError(
        1753,
        "The cluster service is not running.  Make sure that the service is running on all nodes in the "
        "cluster.\n"
        "    There are no more endpoints available from the endpoint mapper",
        ErrorCategory.ConnectionError,
        "ClusterEndpointNotRegistered",
    ),
    "NODE_ALREADY_MEMBER": WindowsError(
        5065,
        "The cluster node is already a member of the cluster.",
        ErrorCategory.ResourceExists,
        "NodeAlreadyMember",
    ),
    "NODE_PAUSED": WindowsError(
        5070, "The cluster node is paused.", ErrorCategory.InvalidOperation, "NodePaused"
    ),
    "NODE_NOT_PAUSED": WindowsError(
        5058, "The cluster node is not paused.", ErrorCategory.InvalidOperation, "NodeNotPaused"
    ),
    "LAST_NODE": WindowsError(
        5072,
        "The cluster node is the last node in the cluster and cannot be evicted.",
        ErrorCategory.InvalidOperation,
        "LastNode",
    ),
    "NODE_CANT_HOST_RESOURCE": WindowsError(
        5071,
        "The cluster node cannot host the resource.",
        ErrorCategory.InvalidOperation,
        "NodeCantHostResource",
    ),
    "QUORUM_LOST": WindowsError(
        5925, "The cluster does not have quorum.", ErrorCategory.ResourceUnavailable, "NoQuorum"
    ),
    "INVALID_STATE": WindowsError(
        5023,
        "The group or resource is not in the correct state to perform the requested operation.",
        ErrorCategory.InvalidOperation,
        "InvalidState",
    ),
    "DISK_NOT_ELIGIBLE": WindowsError(
        5083,
        "No disks suitable for cluster disks were found. For diagnostic information about disks available to "
        "the cluster, use the Validate a Configuration Wizard to run Storage tests.",
        ErrorCategory.ObjectNotFound,
        "NoDisksSuitable",
    ),
    "WITNESS_TOO_SMALL": WindowsError(
        5040,
        "The disk is too small to be a witness: a disk witness needs at least 512 MB.",
        ErrorCategory.InvalidArgument,
        "WitnessTooSmall",
    ),
    "INVALID_NETWORK": WindowsError(
        5035, "The cluster network is not valid.", ErrorCategory.InvalidArgument, "InvalidNetwork"
    ),
    "NETWORK_NOT_FOUND_FOR_IP": WindowsError(
        5086,
        "The cluster IP address is not on any network the cluster uses for client access.",
        ErrorCategory.InvalidArgument,
        "NetworkNotFoundForIP",
    ),
    "INVALID_CLUSTER_NAME": WindowsError(
        1210,
        "The format of the specified computer name is invalid.",
        ErrorCategory.InvalidArgument,
        "InvalidComputerName",
    ),
    "PENDING_TIMEOUT": WindowsError(
        1460,
        "This operation returned because the timeout period expired.",
        ErrorCategory.OperationTimeout,
        "Timeout",
    ),
    "SHUTDOWN_IN_PROGRESS": WindowsError(
        5022, "The cluster node is shutting down.", ErrorCategory.InvalidOperation, "NodeShuttingDown"
    ),
}


LAB_WORDED: Final = frozenset(
    {
        "CIRCULAR_DEPENDENCY",
        "DISK_NOT_ELIGIBLE",
        "INVALID_NETWORK",
        "LAST_NODE",
        "NETWORK_NOT_FOUND_FOR_IP",
        "NODE_NOT_PAUSED",
        "QUORUM_LOST",
        "SHUTDOWN_IN_PROGRESS",
        "WITNESS_TOO_SMALL",
    }
)


class ClusterError(CmdletError):
    """A Windows cluster error. ``key`` names the row of ``ERRORS``; ``detail`` is what the lab adds
    (which object, which value) to the system text."""

    def __init__(self, key: str, detail: str = "", *, target: str | None = None) -> None:
        spec = ERRORS[key]
        text = spec.text if not detail else f"{spec.text} {detail}"
        super().__init__(text, spec.reason, spec.category, target=target)
        self.key = key
        self.code = spec.code
        self.detail = detail

    def for_cmdlet(self, cmdlet: str, wrapper: str | None = None) -> CmdletError:
        """The error as ``cmdlet`` prints it: its own first line (``wrapper``), then the system text."""
        klass = cmdlet.replace("-", "")
        message = self.message if wrapper is None else f"{wrapper}\n{self.message}"
        category = ErrorCategory.NotSpecified if wrapper is not None else self.category
        return CmdletError(message, f"{cmdlet},{FC_NAMESPACE}.{klass}Command", category, target=self.target)


def invalid(field: str, value: object, expected: str) -> ClusterError:
    """A value Windows refuses: names the field, the value and what is expected."""
    return ClusterError("INVALID_PARAMETER", f"{field}={value!r}: expected {expected}.", target=field)
