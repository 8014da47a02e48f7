"""Pure rules of the cluster cmdlets' arguments: names, and which networks a new cluster uses.

Nothing here reads the lab or raises Windows errors: each function returns what it found (a
problem or a plan), and the cmdlet turns a problem into the error Windows prints.

Networks (``plan_networks``)
    The Cluster service makes one cluster network per IPv4 subnet on which a node has an active
    NIC. A new network is always enabled for cluster use; when it has a default gateway it is
    also enabled for client use (Role 3, ``ClusterAndClient``), otherwise it is Role 1
    (``Cluster``): Microsoft's Ask the Core Team blog, "Cluster Networks in Windows Failover
    Clustering" (2017-02-03), "If the network has a default gateway, then it will also be enabled
    for Client use". IP Address resources come online only on networks with client access (event
    1223; [MSCS] IP Address resource type), so the cluster's own IP address can only live on a
    Role 3 network.

    Which networks need ``-StaticAddress`` or ``-IgnoreNetwork``: the New-Cluster page says "Networks
    with DHCP enabled are always included, but other networks need a static address ... or should
    be explicitly ignored". The administrative access point is what needs the address, and it can
    only be placed on client networks; a network without a default gateway is created cluster-only
    (blog above) and is never offered for the access point. The lab therefore asks for
    ``-StaticAddress``/``-IgnoreNetwork`` on every non-DHCP network that has a default gateway, and
    on no other. The lab's NICs are all statically addressed (a world has no DHCP).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# NetBIOS computer names: at most 15 characters (Microsoft, "Naming conventions in Active
# Directory for computers, domains, sites, and OUs", KB 909264); a cluster name is a computer
# name (MS-CMRP ApiSetClusterName). DNS host labels are letters, digits and hyphens, and a
# name of digits only is refused by DNS (same KB).
MAX_NETBIOS = 15
_DNS_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
_DN_PART = re.compile(r"^\s*(CN|OU|DC)\s*=\s*(.+?)\s*$", re.IGNORECASE)

ROLE_CLUSTER, ROLE_CLUSTER_AND_CLIENT = 1, 3  # ClusterNetworkRole Cluster, ClusterAndClient


@dataclass(frozen=True)
class ClusterName:
    """``-Name`` as New-Cluster reads it: a plain name, or a DN that also says where the CNO goes."""

    name: str
    container: str | None  # the OU of a distinguished name, e.g. "OU=Clusters,DC=pbx,DC=lab"


def parse_cluster_name(value: str) -> ClusterName | str:
    """The name, or the reason it is not a valid cluster (computer) name."""
    text = value.strip()
    container = None
    if "=" in text:
        parts = [p for p in text.split(",")]
        matches = [_DN_PART.match(p) for p in parts]
        if not all(matches) or matches[0] is None or matches[0].group(1).upper() != "CN":
            return f"'{value}' is neither a computer name nor a distinguished name starting with CN="
        text = matches[0].group(2)
        container = ",".join(f"{m.group(1).upper()}={m.group(2)}" for m in matches[1:] if m is not None)
        if not container:
            return f"'{value}' names no container after CN="
    if not text:
        return "the name is empty"
    if len(text) > MAX_NETBIOS:
        return f"'{text}' has {len(text)} characters; a NetBIOS computer name has at most {MAX_NETBIOS}"
    if not _DNS_LABEL.match(text):
        return (
            f"'{text}' may contain only letters, digits and hyphens, and may not start or end with a hyphen"
        )
    if text.isdigit():
        return f"'{text}' is all digits; a computer name needs at least one letter"
    return ClusterName(text.upper(), container)


@dataclass(frozen=True)
class NicAddress:
    """One active IPv4 address of a node's NIC, as the Cluster service discovers it."""

    node: str
    nic: str  # the adapter name ("Public")
    address: str
    prefix_length: int
    gateway: str | None
    dhcp: bool = False


@dataclass
class NetworkPlan:
    """One cluster network of a new cluster."""

    name: str  # "Cluster Network 1"
    subnet: ipaddress.IPv4Network
    role: int
    interfaces: list[NicAddress] = field(default_factory=list)
    static_address: str | None = None  # the cluster IP address on this network, if any
    ignored: bool = False

    @property
    def dhcp(self) -> bool:
        return bool(self.interfaces) and all(i.dhcp for i in self.interfaces)


@dataclass(frozen=True)
class NetworkProblem:
    """Why New-Cluster (or a role) refuses the addresses it was given; ``kind`` picks the error."""

    kind: (
        str  # "bad_address" | "bad_network" | "not_on_network" | "unconfigured" | "in_use" | "two_on_network"
    )
    value: str


def discover_networks(addresses: Iterable[NicAddress]) -> list[NetworkPlan]:
    """One network per subnet, numbered in the order the nodes' adapters show them, with the default
    role for it."""
    by_subnet: dict[ipaddress.IPv4Network, list[NicAddress]] = {}
    for item in addresses:
        subnet = ipaddress.IPv4Network(f"{item.address}/{item.prefix_length}", strict=False)
        by_subnet.setdefault(subnet, []).append(item)
    plans = []
    for number, subnet in enumerate(by_subnet, start=1):
        members = by_subnet[subnet]
        role = ROLE_CLUSTER_AND_CLIENT if any(m.gateway for m in members) else ROLE_CLUSTER
        plans.append(NetworkPlan(f"Cluster Network {number}", subnet, role, list(members)))
    return plans


def plan_networks(
    addresses: Iterable[NicAddress],
    static_addresses: Sequence[str],
    ignore_networks: Sequence[str],
    *,
    needs_address: bool,
) -> list[NetworkPlan] | NetworkProblem:
    """The networks of a new cluster, with the cluster IP address(es) placed; or the first problem.

    ``needs_address`` is false when the cluster gets no administrative access point, which needs no
    IP address at all.
    """
    addresses = list(addresses)
    plans = discover_networks(addresses)
    problem = place_addresses(
        plans,
        static_addresses,
        ignore_networks,
        needs_address=needs_address,
        in_use={a.address for a in addresses},
    )
    return plans if problem is None else problem


def place_addresses(
    plans: Sequence[NetworkPlan],
    static_addresses: Sequence[str],
    ignore_networks: Sequence[str],
    *,
    needs_address: bool,
    in_use: set[str],
) -> NetworkProblem | None:
    """Put each static address on its client network and mark the ignored networks, in place; the
    first problem, if any. Used by New-Cluster and by the role cmdlets (Add-ClusterGenericServiceRole
    applies the same rule to the cluster's networks)."""
    for text in ignore_networks:
        try:
            wanted = ipaddress.IPv4Network(text.strip(), strict=False)
        except ValueError:
            return NetworkProblem("bad_network", text)
        hits = [p for p in plans if p.subnet == wanted]
        if not hits:
            return NetworkProblem("bad_network", text)
        for plan in hits:
            plan.ignored = True
    for text in static_addresses:
        try:
            address = ipaddress.IPv4Address(text.strip())
        except ValueError:
            return NetworkProblem("bad_address", text)
        hosts = [
            p for p in plans if address in p.subnet and p.role == ROLE_CLUSTER_AND_CLIENT and not p.ignored
        ]
        if not hosts or address in (hosts[0].subnet.network_address, hosts[0].subnet.broadcast_address):
            return NetworkProblem("not_on_network", text)
        if str(address) in in_use:
            return NetworkProblem("in_use", text)
        if hosts[0].static_address is not None:
            return NetworkProblem("two_on_network", text)
        hosts[0].static_address = str(address)
    if needs_address:
        for plan in plans:
            client = plan.role == ROLE_CLUSTER_AND_CLIENT
            if client and not plan.ignored and not plan.dhcp and plan.static_address is None:
                return NetworkProblem(
                    "unconfigured", f"{plan.subnet.network_address}/{plan.subnet.prefixlen}"
                )
    return None
