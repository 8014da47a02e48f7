"""Cluster databases built in memory for the pure model tests (no lab, no processes)."""

from __future__ import annotations

from wsfclab.cluster.database import (
    GENERIC_SERVICE,
    IP_ADDRESS,
    NETWORK_NAME,
    PHYSICAL_DISK,
    ClusterDatabase,
    ClusterGroup,
    ClusterNode,
    ClusterResource,
)
from wsfclab.cluster.quorum import recompute_weights


def database(nodes: int = 2, *, witness: bool = True) -> ClusterDatabase:
    """A cluster of N1..Nn, all Up, with a disk witness (when asked) and the role "PBX" online on N1:
    IP <- Network Name, Disk, and the service depending on both."""
    db = ClusterDatabase(name="PBXCL", id="cluster-id", domain="pbx.lab", fqdn="pbxcl.pbx.lab", created=0.0)
    for i in range(1, nodes + 1):
        db.nodes[f"N{i}"] = ClusterNode(name=f"N{i}", id=str(i), state="Up")
    core = ClusterGroup(
        name="Cluster Group", id="g-core", group_type="Cluster", owner_node="N1", state="Online"
    )
    core.persistent_state = 1
    role = ClusterGroup(name="PBX", id="g-pbx", group_type="GenericService", owner_node="N1", state="Online")
    role.persistent_state = 1
    db.groups = {core.name: core, role.name: role}
    resources = [
        ClusterResource(name="IP Address 127.0.1.50", id="r-ip", resource_type=IP_ADDRESS, owner_group="PBX"),
        ClusterResource(name="PBX", id="r-nn", resource_type=NETWORK_NAME, owner_group="PBX"),
        ClusterResource(name="Cluster Disk 2", id="r-disk", resource_type=PHYSICAL_DISK, owner_group="PBX"),
        ClusterResource(name="Echo Service", id="r-svc", resource_type=GENERIC_SERVICE, owner_group="PBX"),
    ]
    resources[1].dependency_expression = "[IP Address 127.0.1.50]"
    resources[3].dependency_expression = "[PBX] and [Cluster Disk 2]"
    if witness:
        resources.append(
            ClusterResource(
                name="Cluster Disk 1", id="r-w", resource_type=PHYSICAL_DISK, owner_group="Cluster Group"
            )
        )
        db.quorum.witness_resource = "Cluster Disk 1"
    for res in resources:
        res.state = "Online"
        db.resources[res.name] = res
    recompute_weights(db, set(db.nodes))
    return db
