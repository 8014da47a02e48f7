"""A small failover cluster behind ``FakeWindows``, for the cluster modules' action tests.

It answers the FailoverClusters cmdlets the modules call with the objects the cmdlet pages and
wsfc-behaviour.md describe (names, states and enums by name, as the executor returns them), and
keeps what they change, so a test can run a module, run it again, and look at the cluster.
Objects are live dicts: a ``SetProperties`` step assigns to them as PowerShell assigns to the
object. Keys starting with ``_`` are the fake's own bookkeeping (private properties, owners,
dependencies), never selected by a module.

``fail_on`` makes a cmdlet fail (once, or always) with a Windows error, for the half-way tests.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from fake_windows import CmdletFailure, FakeWindows

COMMON_DEFAULTS = {
    "SameSubnetDelay": 1000,
    "SameSubnetThreshold": 10,
    "CrossSubnetDelay": 1000,
    "CrossSubnetThreshold": 20,
    "QuarantineThreshold": 3,
    "QuarantineDuration": 7200,
}

NOT_FOUND = "ObjectNotFound,Microsoft.FailoverClusters.PowerShell.{cmdlet}Command"


def _command(cmdlet: str) -> str:
    return cmdlet.replace("-", "")


def node(name: str, state: str = "Up") -> dict[str, Any]:
    return {
        "Name": name,
        "State": state,
        "DrainStatus": "NotInitiated",
        "Id": str(abs(hash(name)) % 100),
        "NodeWeight": 1,
        "DynamicWeight": 1,
        "StatusInformation": "Normal",
        "BuildNumber": 20348,
    }


def disk(number: int, unique_id: str, guid: str, size: int = 20 * 2**30) -> dict[str, Any]:
    return {
        "Number": number,
        "UniqueId": unique_id,
        "FriendlyName": "MSFT Virtual HD",
        "Size": size,
        "PartitionStyle": "GPT",
        "IsClustered": False,
        "Guid": guid,
        "Signature": None,
    }


@dataclass
class FakeCluster:
    """A cluster (or, with ``name=None``, nodes that are in none)."""

    name: str | None = "PBXCL"
    nodes: list[dict[str, Any]] = field(default_factory=lambda: [node("PBX-N1"), node("PBX-N2")])
    networks: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {
                "Name": "Cluster Network 1",
                "Address": "127.0.1.0",
                "AddressMask": "255.255.255.0",
                "Role": "ClusterAndClient",
                "State": "Up",
                "Metric": 70240,
            },
            {
                "Name": "Cluster Network 2",
                "Address": "127.0.2.0",
                "AddressMask": "255.255.255.0",
                "Role": "Cluster",
                "State": "Up",
                "Metric": 30240,
            },
        ]
    )
    disks: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    common: dict[str, Any] = field(default_factory=lambda: dict(COMMON_DEFAULTS))
    witness: str | None = None
    # cmdlet -> failures still to raise (each call pops one; an empty list never fails)
    fail_on: dict[str, list[CmdletFailure]] = field(default_factory=dict)
    # polls of a draining node before its DrainStatus is Completed (or the given final status)
    drain_polls: int = 0
    drain_result: str = "Completed"
    # groups that stay Pending whatever is asked of them (a resource that never comes online)
    stuck: set[str] = field(default_factory=set)
    service_display_names: dict[str, str] = field(default_factory=lambda: {"pbxd": "PBX Service"})
    _disk_counter: int = 0

    def __post_init__(self) -> None:
        if self.name is not None and not self.groups:
            self._default_groups()

    # --- building --------------------------------------------------------------------------

    def _default_groups(self) -> None:
        owner = self.nodes[0]["Name"]
        self.groups = [
            self._group("Cluster Group", owner, "Cluster"),
            self._group("Available Storage", owner, "AvailableStorage", state="Offline"),
        ]
        self.resources = [
            self._resource("Cluster IP Address", "Cluster Group", "IP Address", Address="127.0.1.20"),
            self._resource("Cluster Name", "Cluster Group", "Network Name", Name=self.name),
        ]

    def _group(self, name: str, owner: str, kind: str, state: str = "Online") -> dict[str, Any]:
        return {
            "Name": name,
            "OwnerNode": owner,
            "State": state,
            "GroupType": kind,
            "FailoverThreshold": 4294967295,
            "FailoverPeriod": 6,
            "AutoFailbackType": 0,
            "_owners": [],
        }

    def _resource(self, name: str, group: str, kind: str, **parameters: Any) -> dict[str, Any]:
        owner = next((g["OwnerNode"] for g in self.groups if g["Name"] == group), self.nodes[0]["Name"])
        return {
            "Name": name,
            "State": "Online",
            "OwnerGroup": group,
            "OwnerNode": owner,
            "ResourceType": kind,
            "RestartAction": 2,
            "RestartThreshold": 1,
            "RestartPeriod": 900000,
            "RestartDelay": 500,
            "RetryPeriodOnFailure": 3600000,
            "PendingTimeout": 180000,
            "IsCoreResource": group == "Cluster Group",
            "_params": dict(parameters),
            "_deps": "",
            "_owners": None,
            "_checkpoints": [],
        }

    def add_disk(self, unique_id: str, guid: str, *, clustered_as: str | None = None) -> dict[str, Any]:
        found = disk(len(self.disks) + 1, unique_id, guid)
        self.disks.append(found)
        if clustered_as:
            self._cluster_disk(found, clustered_as)
        return found

    def _cluster_disk(self, found: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        self._disk_counter += 1
        found["IsClustered"] = True
        resource = self._resource(
            name or f"Cluster Disk {self._disk_counter}",
            "Available Storage",
            "Physical Disk",
            DiskIdGuid=found["Guid"],
        )
        resource["State"] = "OnlinePending"
        self.resources.append(resource)
        return resource

    # --- lookups ---------------------------------------------------------------------------

    def group(self, name: str) -> dict[str, Any]:
        return next(g for g in self.groups if g["Name"].lower() == name.lower())

    def resource(self, name: str) -> dict[str, Any]:
        return next(r for r in self.resources if r["Name"].lower() == name.lower())

    def cluster_node(self, name: str) -> dict[str, Any]:
        return next(n for n in self.nodes if n["Name"].lower() == name.lower())

    def _cluster_object(self) -> dict[str, Any]:
        return {"Name": self.name, "Domain": "pbx.lab", "Id": "6f4b5c3e", **self.common, "_live": True}

    # --- the host --------------------------------------------------------------------------

    def host(self) -> FakeWindows:
        return FakeWindows(self.handlers())

    def handlers(self) -> dict[str, Any]:
        table = {
            "Get-Cluster": self.get_cluster,
            "New-Cluster": self.new_cluster,
            "Remove-Cluster": self.remove_cluster,
            "Get-ClusterNode": self.get_node,
            "Add-ClusterNode": self.add_node,
            "Remove-ClusterNode": self.remove_node,
            "Suspend-ClusterNode": self.suspend_node,
            "Resume-ClusterNode": self.resume_node,
            "Get-ClusterNetwork": self.get_network,
            "Get-ClusterNetworkInterface": lambda p, i: [],
            "Get-ClusterGroup": self.get_group,
            "Get-ClusterResource": self.get_resource,
            "Get-ClusterParameter": self.get_parameter,
            "Set-ClusterParameter": self.set_parameter,
            "Get-ClusterResourceDependency": self.get_dependency,
            "Set-ClusterResourceDependency": self.set_dependency,
            "Get-ClusterCheckpoint": self.get_checkpoint,
            "Add-ClusterCheckpoint": self.add_checkpoint,
            "Remove-ClusterCheckpoint": self.remove_checkpoint,
            "Get-ClusterOwnerNode": self.get_owner,
            "Set-ClusterOwnerNode": self.set_owner,
            "Add-ClusterGenericServiceRole": self.add_role,
            "Remove-ClusterGroup": self.remove_group,
            "Start-ClusterGroup": lambda p, i: self.group_state(p, "Online"),
            "Stop-ClusterGroup": lambda p, i: self.group_state(p, "Offline"),
            "Move-ClusterGroup": self.move_group,
            "Get-ClusterQuorum": self.get_quorum,
            "Set-ClusterQuorum": self.set_quorum,
            "Get-Disk": lambda p, i: list(self.disks),
            "Add-ClusterDisk": self.add_cluster_disk,
            "Where-Object": self.where,
            "Get-CimInstance": lambda p, i: [],
            "Select-Object": lambda p, i: i[: p.get("First", len(i))],
        }
        return {cmdlet: self._guarded(cmdlet, handler) for cmdlet, handler in table.items()}

    def _guarded(self, cmdlet: str, handler: Any) -> Any:
        def run(parameters: dict[str, Any], pipeline_input: list[Any]) -> list[Any]:
            pending = self.fail_on.get(cmdlet)
            if pending:
                raise pending.pop(0)
            needs_cluster = cmdlet not in (
                "New-Cluster",
                "Get-Disk",
                "Where-Object",
                "Get-CimInstance",
                "Select-Object",
            )
            if needs_cluster and self.name is None:
                raise CmdletFailure(
                    "The cluster service is not running. Make sure that the service is running on all "
                    "nodes in the cluster.",
                    f"ClusterCmdletException,Microsoft.FailoverClusters.PowerShell.{_command(cmdlet)}Command",
                )
            return list(handler(parameters, pipeline_input))

        return run

    def _missing(self, cmdlet: str, what: str) -> CmdletFailure:
        return CmdletFailure(f"{what} not found", NOT_FOUND.format(cmdlet=_command(cmdlet)))

    def get_cluster(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        if p.get("Name") and p["Name"].lower() != str(self.name).lower():
            raise CmdletFailure(
                f"Failed to connect to cluster '{p['Name']}'", "ClusterCmdletException,GetClusterCommand"
            )
        return [self._live_cluster()]

    def _live_cluster(self) -> dict[str, Any]:
        cluster = self._cluster_object()

        class Live(dict[str, Any]):
            def __setitem__(inner, key: str, value: Any) -> None:
                super().__setitem__(key, value)
                if key in self.common:
                    self.common[key] = value

        return Live(cluster)

    def new_cluster(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        if self.name is not None:
            raise CmdletFailure(
                "The node is already part of a cluster", "NodeAlreadyInCluster,NewClusterCommand"
            )
        self.name = p["Name"]
        self.nodes = [node(n) for n in p.get("Node", [])]
        self._default_groups()
        return [self._live_cluster()]

    def remove_cluster(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        assert p.get("Force"), "Remove-Cluster prompts without -Force"
        self.name = None
        self.groups, self.resources, self.nodes = [], [], []
        return []

    def get_node(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        if "Name" not in p:
            return list(self.nodes)
        found = [n for n in self.nodes if n["Name"].lower() in [x.lower() for x in p["Name"]]]
        if not found:
            raise self._missing("Get-ClusterNode", "node")
        for n in found:
            if n["DrainStatus"] == "InProgress":
                if self.drain_polls <= 0:
                    n["DrainStatus"] = self.drain_result
                self.drain_polls -= 1
        return found

    def add_node(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        assert p.get("NoStorage"), "the modules join nodes without their storage"
        added = []
        for name in p["Name"]:
            if any(n["Name"].lower() == name.lower() for n in self.nodes):
                raise CmdletFailure(
                    f"The node '{name}' is already part of the cluster",
                    "NodeAlreadyInCluster,AddClusterNodeCommand",
                )
            added.append(node(name))
        self.nodes.extend(added)
        return added

    def remove_node(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        assert p.get("Force"), "Remove-ClusterNode prompts without -Force"
        wanted = [x.lower() for x in p["Name"]]
        self.nodes = [n for n in self.nodes if n["Name"].lower() not in wanted]
        return []

    def suspend_node(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        found = self.cluster_node(p["Name"][0])
        found["State"] = "Paused"
        found["DrainStatus"] = "InProgress" if p.get("Drain") else "NotInitiated"
        return [found]

    def resume_node(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        found = self.cluster_node(p["Name"][0])
        found["State"] = "Up"
        found["DrainStatus"] = "NotInitiated"
        return [found]

    def get_network(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        if "Name" in p:
            found = [n for n in self.networks if n["Name"] in p["Name"]]
            if not found:
                raise self._missing("Get-ClusterNetwork", "network")
            return found
        return list(self.networks)

    def get_group(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        if "Name" in p:
            wanted = [p["Name"]] if isinstance(p["Name"], str) else p["Name"]
            found = [g for g in self.groups if g["Name"].lower() in [w.lower() for w in wanted]]
            if not found:
                raise self._missing("Get-ClusterGroup", "group")
            return found
        return list(self.groups)

    def where(self, p: dict[str, Any], pipeline_input: list[Any]) -> list[Any]:
        assert p.get("EQ"), "the modules filter with -EQ only"
        return [o for o in pipeline_input if str(o.get(p["Property"])).lower() == str(p["Value"]).lower()]

    def get_resource(self, p: dict[str, Any], pipeline_input: list[Any]) -> list[Any]:
        if pipeline_input:
            groups = [g["Name"] for g in pipeline_input]
            return [r for r in self.resources if r["OwnerGroup"] in groups]
        if "Name" in p:
            found = [r for r in self.resources if r["Name"].lower() in [x.lower() for x in p["Name"]]]
            if not found:
                raise self._missing("Get-ClusterResource", "resource")
            return found
        return list(self.resources)

    def get_parameter(self, _p: dict[str, Any], pipeline_input: list[Any]) -> list[Any]:
        return [
            {"ClusterObject": r["Name"], "Name": k, "Value": v}
            for r in pipeline_input
            for k, v in r["_params"].items()
        ]

    def set_parameter(self, p: dict[str, Any], pipeline_input: list[Any]) -> list[Any]:
        for r in pipeline_input:
            r["_params"][p["Name"]] = p["Value"]
        return []

    def get_dependency(self, _p: dict[str, Any], pipeline_input: list[Any]) -> list[Any]:
        return [{"Resource": r["Name"], "DependencyExpression": r["_deps"]} for r in pipeline_input]

    def set_dependency(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        self.resource(p["Resource"])["_deps"] = p["Dependency"]
        return []

    def get_checkpoint(self, _p: dict[str, Any], pipeline_input: list[Any]) -> list[Any]:
        return [{"Resource": r["Name"], "Name": key} for r in pipeline_input for key in r["_checkpoints"]]

    def add_checkpoint(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        self.resource(p["ResourceName"])["_checkpoints"].append(p["RegistryCheckpoint"])
        return []

    def remove_checkpoint(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        assert p.get("Force"), "Remove-ClusterCheckpoint prompts without -Force"
        self.resource(p["ResourceName"])["_checkpoints"].remove(p["CheckpointName"])
        return []

    def get_owner(self, _p: dict[str, Any], pipeline_input: list[Any]) -> list[Any]:
        rows = []
        for obj in pipeline_input:
            if "ResourceType" in obj:
                owners = obj["_owners"] if obj["_owners"] is not None else [n["Name"] for n in self.nodes]
            else:
                owners = obj["_owners"]
            rows.append(
                {"ClusterObject": obj["Name"], "OwnerNodes": [{"Name": n, "State": "Up"} for n in owners]}
            )
        return rows

    def set_owner(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        target = self.group(p["Group"]) if "Group" in p else self.resource(p["Resource"])
        target["_owners"] = list(p["Owners"])
        return []

    def add_role(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        name = p["Name"]
        if any(g["Name"].lower() == name.lower() for g in self.groups):
            raise CmdletFailure(
                f"A role called '{name}' already exists",
                "ClusterCmdletException,AddClusterGenericServiceRoleCommand",
            )
        group = self._group(name, self.nodes[0]["Name"], "GenericService")
        self.groups.append(group)
        self.resources.append(self._resource(name, name, "Network Name", Name=name))
        for address in p.get("StaticAddress", []):
            self.resources.append(
                self._resource(f"IP Address {address}", name, "IP Address", Address=address)
            )
        for disk_name in p.get("Storage", []):
            moved = self.resource(disk_name)
            moved["OwnerGroup"], moved["State"] = name, "Online"
        service = self._resource(
            self.service_display_names.get(p["ServiceName"], p["ServiceName"]),
            name,
            "Generic Service",
            ServiceName=p["ServiceName"],
            StartupParameters="",
            UseNetworkName=0,
        )
        service["_checkpoints"] = list(p.get("CheckpointKey", []))
        self.resources.append(service)
        return [group]

    def remove_group(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        assert p.get("Force") and p.get("RemoveResources")
        for name in p["Name"]:
            group = self.group(name)
            self.groups.remove(group)
            for r in [r for r in self.resources if r["OwnerGroup"] == group["Name"]]:
                if r["ResourceType"] == "Physical Disk":
                    r["OwnerGroup"] = "Available Storage"
                else:
                    self.resources.remove(r)
        return []

    def group_state(self, p: dict[str, Any], state: str) -> list[Any]:
        group = self.group(p["Name"])
        group["State"] = "Pending" if group["Name"] in self.stuck else state
        for r in self.resources:
            if r["OwnerGroup"] == group["Name"]:
                r["State"] = "OnlinePending" if group["Name"] in self.stuck else state
        return [group]

    def move_group(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        group = self.group(p["Name"])
        group["OwnerNode"] = self.cluster_node(p["Node"])["Name"]
        for r in self.resources:
            if r["OwnerGroup"] == group["Name"]:
                r["OwnerNode"] = group["OwnerNode"]
        return [group]

    def get_quorum(self, _p: dict[str, Any], _i: list[Any]) -> list[Any]:
        witness = copy.deepcopy(self.resource(self.witness)) if self.witness else None
        return [{"QuorumResource": witness, "QuorumType": "Majority"}]

    def set_quorum(self, p: dict[str, Any], _i: list[Any]) -> list[Any]:
        self.resources = [r for r in self.resources if r["ResourceType"] != "File Share Witness"]
        if p.get("NoWitness"):
            self.witness = None
        elif "DiskWitness" in p:
            self.resource(p["DiskWitness"])["OwnerGroup"] = "Cluster Group"
            self.witness = self.resource(p["DiskWitness"])["Name"]
        else:
            self.resources.append(
                self._resource(
                    "File Share Witness",
                    "Cluster Group",
                    "File Share Witness",
                    SharePath=p["FileShareWitness"],
                )
            )
            self.witness = "File Share Witness"
        return self.get_quorum({}, [])

    def add_cluster_disk(self, _p: dict[str, Any], pipeline_input: list[Any]) -> list[Any]:
        added = []
        for found in pipeline_input:
            if found["IsClustered"]:
                raise CmdletFailure(
                    "The disk is already clustered", "ClusterCmdletException,AddClusterDiskCommand"
                )
            added.append(self._cluster_disk(found))
        return added
