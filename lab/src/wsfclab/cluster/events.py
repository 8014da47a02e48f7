"""Cluster events: their IDs and messages, recorded per node, read back by ``wsfclab events`` and
Get-ClusterLog.

Messages are those of the FailoverClustering provider ([EVT] system-events.md, and the provider's
Operational channel for 1200-1204 and 1641), with the insertion strings filled in. Each node's
events are appended, one JSON object per line, to ``logs/<NODE>/cluster-events.jsonl`` in the state
dir; an append of one short line is atomic, so the node's cluster service and a cmdlet running on
its behalf never interleave within a record.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from wsfclab.lab import Lab

SOURCE = "Microsoft-Windows-FailoverClustering"

_NETWORK_HINT = (
    " Run the Validate a Configuration wizard to check your network configuration. If the condition "
    "persists, check for hardware or software errors related to the network adapter. Also check for "
    "failures in any other network components to which the node is connected such as hubs, switches, or "
    "bridges."
)

# id -> (level, channel, message with {placeholders})
MESSAGES: Final[dict[int, tuple[str, str, str]]] = {
    1024: (
        "Error",
        "System",
        "The registry checkpoint for cluster resource '{resource}' could not be restored to registry key "
        "HKEY_LOCAL_MACHINE\\{key}. The resource may not function correctly. Make sure that no other "
        "processes "
        "have open handles to registry keys in this registry subtree.",
    ),
    1038: (
        "Error",
        "System",
        "Ownership of cluster disk '{resource}' has been unexpectedly lost by this node. Run the Validate a "
        "Configuration wizard to check your storage configuration.",
    ),
    1040: (
        "Error",
        "System",
        "Generic service '{resource}' could not be brought online (with error '{error}') during an "
        "attempt to "
        "open the service. Possible causes include: the service is either not installed or the specified "
        "service name is invalid.",
    ),
    1041: (
        "Error",
        "System",
        "Generic service '{resource}' could not be brought online (with error '{error}') during an "
        "attempt to "
        "start the service. Possible cause: the specified service parameters might be invalid.",
    ),
    1042: (
        "Error",
        "System",
        "Generic service '{resource}' failed with error '{error}'. Please examine the application event log.",
    ),
    1069: (
        "Error",
        "System",
        "Cluster resource '{resource}' of type '{type}' in clustered role '{group}' failed.\n\nBased on the "
        "failure policies for the resource and role, the cluster service may try to bring the "
        "resource online "
        "on this node or move the group to another node of the cluster and then restart it. Check "
        "the resource "
        "and group state using Failover Cluster Manager or the Get-ClusterResource Windows "
        "PowerShell cmdlet.",
    ),
    1127: (
        "Error",
        "System",
        "Cluster network interface '{interface}' for cluster node '{node}' on network '{network}' failed."
        + _NETWORK_HINT,
    ),
    1135: (
        "Critical",
        "System",
        "Cluster node '{node}' was removed from the active failover cluster membership. The Cluster "
        "service on "
        "this node may have stopped. This could also be due to the node having lost communication with other "
        "active nodes in the failover cluster. Run the Validate a Configuration wizard to check your network "
        "configuration. If the condition persists, check for hardware or software errors related to the "
        "network adapters on this node. Also check for failures in any other network components to which the "
        "node is connected such as hubs, switches, or bridges.",
    ),
    1177: (
        "Critical",
        "System",
        "The Cluster service is shutting down because quorum was lost. This could be due to the loss "
        "of network "
        "connectivity between some or all nodes in the cluster, or a failover of the witness disk.\n\n"
        "Run the Validate a Configuration wizard to check your network configuration. If the condition "
        "persists, check for hardware or software errors related to the network adapter. Also check for "
        "failures in any other network components to which the node is connected such as hubs, switches, or "
        "bridges.",
    ),
    1193: (
        "Error",
        "System",
        "Cluster network name resource '{resource}' failed to create its associated computer object "
        "in domain "
        "'{domain}' for the following reason: {reason}.",
    ),
    1194: (
        "Error",
        "System",
        "Cluster network name resource '{resource}' failed to create its associated computer object "
        "in domain "
        "'{domain}' during: {during}.",
    ),
    1200: (
        "Information",
        "Operational",
        "The Cluster service is attempting to bring the clustered role '{group}' online.",
    ),
    1201: (
        "Information",
        "Operational",
        "The Cluster service successfully brought the clustered role '{group}' online.",
    ),
    1203: (
        "Information",
        "Operational",
        "The Cluster service is attempting to bring the clustered role '{group}' offline.",
    ),
    1204: (
        "Information",
        "Operational",
        "The Cluster service successfully brought the clustered role '{group}' offline.",
    ),
    1205: (
        "Error",
        "System",
        "The Cluster service failed to bring clustered role '{group}' completely online or offline. "
        "One or more "
        "resources may be in a failed state. This may impact the availability of the clustered role.",
    ),
    1223: (
        "Error",
        "System",
        "Cluster IP address resource '{resource}' cannot be brought online because the cluster network "
        "'{network}' is not configured to allow client access. Please use the Failover Cluster "
        "Manager snap-in "
        "to check the configured properties of the cluster network.",
    ),
    1254: (
        "Error",
        "System",
        "Clustered role '{group}' has exceeded its failover threshold. It has exhausted the "
        "configured number "
        "of failover attempts within the failover period of time allotted to it and will be left in a failed "
        "state. No additional attempts will be made to bring the role online or fail it over to another node "
        "in the cluster. Please check the events associated with the failure. After the issues causing the "
        "failure are resolved the role can be brought online manually or the cluster may attempt to bring it "
        "online again after the restart delay period.",
    ),
    1641: (
        "Information",
        "Operational",
        "Clustered role '{group}' is moving from cluster node '{source}' to cluster node '{target}'.",
    ),
}


@dataclass(frozen=True)
class Event:
    time: float
    node: str
    id: int
    level: str
    channel: str
    message: str
    data: dict[str, str]

    @property
    def time_created(self) -> str:
        """As the executor prints dates: UTC with seven fractional digits."""
        stamp = datetime.fromtimestamp(self.time, UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond:06d}0Z"


def log_path(lab: Lab, node: str) -> os.PathLike[str]:
    return lab.state_dir / "logs" / node.upper() / "cluster-events.jsonl"


def record(lab: Lab, node: str, event_id: int, /, **data: str) -> Event:
    """Append one event to the node's log."""
    level, channel, template = MESSAGES[event_id]
    event = Event(
        time=time.time(),
        node=node.upper(),
        id=event_id,
        level=level,
        channel=channel,
        message=template.format(**data),
        data={k: str(v) for k, v in data.items()},
    )
    path = lab.state_dir / "logs" / node.upper() / "cluster-events.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(asdict(event), sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return event


def read(lab: Lab, *, node: str | None = None, since: float | None = None) -> list[Event]:
    """Every recorded event (of one node, or all), oldest first."""
    root = lab.state_dir / "logs"
    if not root.is_dir():
        return []
    found: list[Event] = []
    for folder in sorted(root.iterdir()):
        if node is not None and folder.name != node.upper():
            continue
        path = folder / "cluster-events.jsonl"
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash mid-write; Windows loses such a record too
            event = Event(**raw)
            if since is None or event.time >= since:
                found.append(event)
    found.sort(key=lambda e: e.time)
    return found


def render_log(lab: Lab, node: str, *, since: float | None = None, local_time: bool = False) -> str:
    """The node's cluster log as Get-ClusterLog writes it: one line per entry,
    ``<pid>.<tid>::<date>-<time> <LEVEL> [<component>] <text>``. The lab has no per-thread trace of
    its own, so the entries are its events (see the guide)."""
    lines = []
    for event in read(lab, node=node, since=since):
        moment = datetime.fromtimestamp(event.time, UTC)
        if local_time:
            moment = moment.astimezone()
        stamp = moment.strftime("%Y/%m/%d-%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
        level = {"Critical": "ERR ", "Error": "ERR ", "Warning": "WARN", "Information": "INFO"}[event.level]
        text = event.message.replace("\n", " ")
        lines.append(f"00000000.00000000::{stamp} {level} [EVT] {event.id}: {text}")
    return "\n".join(lines) + ("\n" if lines else "")
