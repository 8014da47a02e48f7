"""The cluster database: what a failover cluster stores about itself, as plain dataclasses.

On Windows the database (the ``CLUSDB`` hive) is replicated to every node by the cluster service; in
the lab it is one ``ClusterDatabase`` in ``LabState.cluster``, read and written under the lab's lock,
so two ansible forks never interleave their changes. Field names are the Python spelling of the
Windows property names (``same_subnet_delay`` is ``SameSubnetDelay``); ``WINDOWS_NAMES`` in each
class maps one to the other for the cmdlets that render them.

Enumerations are stored as the names Windows prints (``"Up"``, ``"OnlinePending"``); their numbers
are in the ``*_VALUES`` tables ([STUB] FailoverClusters.stubs.psm1). Times are UNIX seconds
(``float``), because the runtime compares them with its clock; cmdlets render them as dates.

Defaults are those of Windows Server 2022 (sources in ``lab/README.md``, chapter "Cluster"):
SameSubnetDelay 1000 ms and SameSubnetThreshold 10,
CrossSubnetDelay 1000 ms and CrossSubnetThreshold 20, QuarantineThreshold 3, QuarantineDuration
7200 s, FailoverThreshold 0xFFFFFFFF ("nodes - 1"), FailoverPeriod 6 h, RestartAction 2,
RestartThreshold 1, RestartPeriod 900000 ms, RestartDelay 500 ms, RetryPeriodOnFailure 3600000 ms,
PendingTimeout 180000 ms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Final

# -- enumerations ([STUB]) ---------------------------------------------------------------------

NODE_STATE_VALUES: Final = {"Unknown": -1, "Up": 0, "Down": 1, "Paused": 2, "Joining": 3}
DRAIN_STATUS_VALUES: Final = {"NotInitiated": 0, "InProgress": 1, "Completed": 2, "Failed": 3}
GROUP_STATE_VALUES: Final = {
    "Unknown": -1,
    "Online": 0,
    "Offline": 1,
    "Failed": 2,
    "PartialOnline": 3,
    "Pending": 4,
}
RESOURCE_STATE_VALUES: Final = {
    "Unknown": -1,
    "Inherited": 0,
    "Initializing": 1,
    "Online": 2,
    "Offline": 3,
    "Failed": 4,
    "Pending": 128,
    "OnlinePending": 129,
    "OfflinePending": 130,
}
NETWORK_ROLE_VALUES: Final = {"None": 0, "Cluster": 1, "Client": 2, "ClusterAndClient": 3}
NETWORK_STATE_VALUES: Final = {"Unknown": -1, "Unavailable": 0, "Down": 1, "Partitioned": 2, "Up": 3}
INTERFACE_STATE_VALUES: Final = {"Unknown": -1, "Unavailable": 0, "Failed": 1, "Unreachable": 2, "Up": 3}
QUORUM_TYPE_VALUES: Final = {"Unknown": 0, "Majority": 1, "DiskOnly": 2}
GROUP_TYPE_VALUES: Final = {
    "Cluster": 1,
    "AvailableStorage": 2,
    "GenericService": 108,
}
RESTART_ACTION_VALUES: Final = {"DoNotRestart": 0, "RestartNoNotify": 1, "RestartNotify": 2}

# -- resource types the lab can run ------------------------------------------------------------

IP_ADDRESS = "IP Address"
NETWORK_NAME = "Network Name"
PHYSICAL_DISK = "Physical Disk"
GENERIC_SERVICE = "Generic Service"
RESOURCE_TYPES: Final = (IP_ADDRESS, NETWORK_NAME, PHYSICAL_DISK, GENERIC_SERVICE)

# The private properties each type has, with their defaults ([MSCS] ip-address, network-name,
# physical-disk, generic-service private properties).
PRIVATE_DEFAULTS: Final[dict[str, dict[str, str | int]]] = {
    IP_ADDRESS: {"Address": "", "SubnetMask": "", "Network": "", "EnableDhcp": 0, "OverrideAddressMatch": 0},
    NETWORK_NAME: {"Name": "", "DnsName": "", "RegisterAllProvidersIP": 0, "HostRecordTTL": 1200},
    PHYSICAL_DISK: {"DiskIdGuid": "", "DiskSignature": 0, "DiskPath": "", "MaintenanceMode": 0},
    GENERIC_SERVICE: {"ServiceName": "", "StartupParameters": "", "UseNetworkName": 0},
}

CLUSTER_GROUP = "Cluster Group"
AVAILABLE_STORAGE = "Available Storage"
CLUSTER_IP = "Cluster IP Address"
CLUSTER_NAME = "Cluster Name"

FAILOVER_THRESHOLD_AUTO: Final = 0xFFFFFFFF  # "nodes - 1"


@dataclass(frozen=True)
class Settable:
    """A common property that can be set by assignment, with the range Windows accepts."""

    field: str
    minimum: int
    maximum: int


# -- the cluster -------------------------------------------------------------------------------


@dataclass
class ClusterProperties:
    """Get-Cluster's common properties (the ones the lab models)."""

    same_subnet_delay: int = 1000  # ms between heartbeats on a subnet
    same_subnet_threshold: int = 10  # heartbeats missed before a route is declared down
    cross_subnet_delay: int = 1000
    cross_subnet_threshold: int = 20
    quarantine_threshold: int = 3
    quarantine_duration: int = 7200  # s
    dynamic_quorum: int = 1
    resiliency_default_period: int = 240  # s
    cluster_log_level: int = 3
    cluster_log_size: int = 300  # MB

    WINDOWS_NAMES: ClassVar[dict[str, str]] = {
        "same_subnet_delay": "SameSubnetDelay",
        "same_subnet_threshold": "SameSubnetThreshold",
        "cross_subnet_delay": "CrossSubnetDelay",
        "cross_subnet_threshold": "CrossSubnetThreshold",
        "quarantine_threshold": "QuarantineThreshold",
        "quarantine_duration": "QuarantineDuration",
        "dynamic_quorum": "DynamicQuorum",
        "resiliency_default_period": "ResiliencyDefaultPeriod",
        "cluster_log_level": "ClusterLogLevel",
        "cluster_log_size": "ClusterLogSize",
    }


# Ranges: [MSCS] clusters-samesubnetdelay (250..2000), -samesubnetthreshold (3..120),
# -crosssubnetdelay (250..4000), -crosssubnetthreshold (3..120); the others from their [MSCS] pages.
SETTABLE_CLUSTER_PROPERTIES: Final = {
    "SameSubnetDelay": Settable("same_subnet_delay", 250, 2000),
    "SameSubnetThreshold": Settable("same_subnet_threshold", 3, 120),
    "CrossSubnetDelay": Settable("cross_subnet_delay", 250, 4000),
    "CrossSubnetThreshold": Settable("cross_subnet_threshold", 3, 120),
    "QuarantineThreshold": Settable("quarantine_threshold", 0, 0xFFFFFFFF),
    "QuarantineDuration": Settable("quarantine_duration", 0, 0xFFFFFFFF),
    "DynamicQuorum": Settable("dynamic_quorum", 0, 1),
    "ResiliencyDefaultPeriod": Settable("resiliency_default_period", 0, 0xFFFFFFFF),
    "ClusterLogLevel": Settable("cluster_log_level", 0, 5),
    "ClusterLogSize": Settable("cluster_log_size", 8, 1024),
}


@dataclass
class ClusterNode:
    name: str  # upper case, as the lab's node names
    id: str  # "1", "2", ... (Windows prints the node id as a string)
    state: str = "Down"  # Up | Down | Paused | Joining
    node_weight: int = 1  # the configured vote
    dynamic_weight: int = 1  # the vote dynamic quorum gives it now
    drain_status: str = "NotInitiated"  # NotInitiated | InProgress | Completed | Failed
    build_number: int = 20348
    status_information: int = 0
    force_quorum: bool = False  # set by Start-ClusterNode -ForceQuorum until the node forms the cluster

    WINDOWS_NAMES: ClassVar[dict[str, str]] = {
        "name": "Name",
        "id": "Id",
        "state": "State",
        "node_weight": "NodeWeight",
        "dynamic_weight": "DynamicWeight",
        "drain_status": "DrainStatus",
        "build_number": "BuildNumber",
        "status_information": "StatusInformation",
    }


@dataclass
class ClusterNetwork:
    name: str  # "Cluster Network 1"
    id: str
    address: str  # "127.0.1.0"
    address_mask: str  # "255.255.255.0"
    prefix_length: int
    role: str = "ClusterAndClient"  # None | Cluster | Client | ClusterAndClient (settable)
    state: str = "Up"
    metric: int = 70384
    description: str = ""


SETTABLE_NETWORK_PROPERTIES: Final = ("Name", "Role", "Description", "Metric")


@dataclass
class NetworkInterface:
    name: str  # "PBX-N1 - Public", as Windows names it: "<node> - <adapter>"
    node: str
    network: str  # the cluster network's name
    adapter: str  # the NIC's name
    address: str
    state: str = "Up"  # Unavailable | Failed | Unreachable | Up
    heartbeat_port: int = 0  # UDP port the node's cluster service listens on (0 until it runs)


@dataclass
class Checkpoint:
    """A registry checkpoint of a resource: the key (relative to HKLM) and the values last copied."""

    key: str
    values: dict[str, dict[str, str | int]] = field(default_factory=dict)  # subkey path -> name -> value
    saved_at: float | None = None


@dataclass
class ClusterResource:
    name: str
    id: str
    resource_type: str  # one of RESOURCE_TYPES
    owner_group: str  # the group's name
    state: str = "Offline"  # Online | Offline | Failed | OnlinePending | OfflinePending | ...
    restart_action: int = 2  # 0 no restart, 1 restart only, 2 restart then fail the group over
    restart_threshold: int = 1
    restart_period: int = 900_000  # ms
    restart_delay: int = 500  # ms
    retry_period_on_failure: int = 3_600_000  # ms
    pending_timeout: int = 180_000  # ms
    is_core_resource: bool = False
    possible_owners: list[str] = field(default_factory=list)  # empty: every node
    dependency_expression: str = ""  # "([a] or [b]) and [c]"
    private: dict[str, str | int] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    failures: list[float] = field(default_factory=list)  # times of failures within RestartPeriod
    restart_at: float | None = None  # a restart the owner's cluster service will make (RestartDelay)
    pending_failure: bool = False  # Test-ClusterResourceFailure: the owner treats it as failed
    description: str = ""

    WINDOWS_NAMES: ClassVar[dict[str, str]] = {
        "name": "Name",
        "state": "State",
        "owner_group": "OwnerGroup",
        "resource_type": "ResourceType",
        "restart_action": "RestartAction",
        "restart_threshold": "RestartThreshold",
        "restart_period": "RestartPeriod",
        "restart_delay": "RestartDelay",
        "retry_period_on_failure": "RetryPeriodOnFailure",
        "pending_timeout": "PendingTimeout",
        "is_core_resource": "IsCoreResource",
        "id": "Id",
        "description": "Description",
    }


SETTABLE_RESOURCE_PROPERTIES: Final = {
    "RestartAction": Settable("restart_action", 0, 2),
    "RestartThreshold": Settable("restart_threshold", 0, 0xFFFFFFFF),
    "RestartPeriod": Settable("restart_period", 0, 0xFFFFFFFF),
    "RestartDelay": Settable("restart_delay", 0, 0xFFFFFFFF),
    "RetryPeriodOnFailure": Settable("retry_period_on_failure", 0, 0xFFFFFFFF),
    "PendingTimeout": Settable("pending_timeout", 0, 0xFFFFFFFF),
}


@dataclass
class ClusterGroup:
    name: str
    id: str
    group_type: str  # Cluster | AvailableStorage | GenericService
    owner_node: str | None = None
    state: str = "Offline"  # Online | Offline | Failed | PartialOnline | Pending
    persistent_state: int = 0  # 1: the cluster keeps it online (set by a start, cleared by a stop)
    failover_threshold: int = FAILOVER_THRESHOLD_AUTO
    failover_period: int = 6  # hours
    auto_failback_type: int = 0  # 0 prevent, 1 allow (needs preferred owners)
    failback_window_start: int = -1
    failback_window_end: int = -1
    preferred_owners: list[str] = field(default_factory=list)  # ordered; empty by default
    failovers: list[float] = field(default_factory=list)  # times of failovers within FailoverPeriod
    drained_from: str | None = None  # the node a drain moved it off, for Resume -Failback
    description: str = ""

    WINDOWS_NAMES: ClassVar[dict[str, str]] = {
        "name": "Name",
        "owner_node": "OwnerNode",
        "state": "State",
        "group_type": "GroupType",
        "failover_threshold": "FailoverThreshold",
        "failover_period": "FailoverPeriod",
        "auto_failback_type": "AutoFailbackType",
        "failback_window_start": "FailbackWindowStart",
        "failback_window_end": "FailbackWindowEnd",
        "persistent_state": "PersistentState",
        "id": "Id",
        "description": "Description",
    }


SETTABLE_GROUP_PROPERTIES: Final = {
    "FailoverThreshold": Settable("failover_threshold", 0, 0xFFFFFFFF),
    "FailoverPeriod": Settable("failover_period", 1, 1193),
    "AutoFailbackType": Settable("auto_failback_type", 0, 1),
    "FailbackWindowStart": Settable("failback_window_start", -1, 23),
    "FailbackWindowEnd": Settable("failback_window_end", -1, 23),
}


@dataclass
class QuorumConfig:
    """Get-ClusterQuorum: the type and the witness resource (None for no witness)."""

    quorum_type: str = "Majority"  # Majority | DiskOnly
    witness_resource: str | None = None  # the name of a Physical Disk resource (disk witness)
    file_share_witness: str | None = None  # \\server\share (the lab refuses shares it cannot reach)
    witness_dynamic_weight: int = 0


@dataclass
class Isolation:
    """A fault the lab injects: the node's traffic on ``network`` (None: every network) is cut."""

    node: str
    network: str | None = None


@dataclass
class ClusterDatabase:
    name: str  # the cluster name (NetBIOS, <= 15 characters)
    id: str
    domain: str
    fqdn: str
    created: float
    properties: ClusterProperties = field(default_factory=ClusterProperties)
    nodes: dict[str, ClusterNode] = field(default_factory=dict)  # by node name
    networks: dict[str, ClusterNetwork] = field(default_factory=dict)  # by network name
    interfaces: list[NetworkInterface] = field(default_factory=list)
    groups: dict[str, ClusterGroup] = field(default_factory=dict)  # by group name
    resources: dict[str, ClusterResource] = field(default_factory=dict)  # by resource name
    quorum: QuorumConfig = field(default_factory=QuorumConfig)
    isolations: list[Isolation] = field(default_factory=list)
    administrative_access_point: str = "ActiveDirectoryAndDns"
    next_disk_number: int = 1  # "Cluster Disk N"
    generation: int = 0  # bumped by every change, so the cluster services know to re-read

    def node_by_name(self, name: str) -> ClusterNode | None:
        return self.nodes.get(name.upper())

    def group_by_name(self, name: str) -> ClusterGroup | None:
        wanted = name.lower()
        return next((g for g in self.groups.values() if g.name.lower() == wanted), None)

    def resource_by_name(self, name: str) -> ClusterResource | None:
        wanted = name.lower()
        return next((r for r in self.resources.values() if r.name.lower() == wanted), None)

    def network_by_name(self, name: str) -> ClusterNetwork | None:
        wanted = name.lower()
        return next((n for n in self.networks.values() if n.name.lower() == wanted), None)

    def resources_of(self, group: str) -> list[ClusterResource]:
        wanted = group.lower()
        return [r for r in self.resources.values() if r.owner_group.lower() == wanted]

    def touch(self) -> None:
        self.generation += 1
