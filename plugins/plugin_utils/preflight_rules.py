# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure rules of ``pbxops.wsfc.preflight``: can these nodes form this cluster?

Each rule reads the nodes' facts (``pbxops.wsfc.node_info``) and the cluster's desired settings,
and returns every violation it finds; ``check_cluster`` runs them all, so the operator sees
everything to fix at once. Sources: Microsoft's failover clustering prerequisites (the same OS
version and domain everywhere, every NIC on its own subnet; wsfc-behaviour 1.2, 1.3), the
15-character NetBIOS name limit, disk witness of at least 512 MB, basic disks only.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import PlanError

__all__ = [
    "Violation",
    "check_cluster",
    "check_preflight_arguments",
    "node_facts_of",
    "preflight_summary",
    "violations_message",
]

WITNESS_MINIMUM = 512 * 2**20
# Letters, digits and hyphens, at most 15 (NetBIOS), not only digits, no hyphen at either end.
NETBIOS = re.compile(r"^(?!-)(?![0-9]+$)[A-Za-z0-9-]{1,15}(?<!-)$")
INSTALLABLE = ("Installed", "Available")


@dataclass(frozen=True)
class Violation:
    """One thing to fix: on which node (or "cluster"), which field, what was found, what is expected."""

    node: str
    field: str
    found: Any
    expected: str

    @property
    def message(self) -> str:
        return f"{self.node}: {self.field} is {self.found}; expected {self.expected}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "field": self.field,
            "found": self.found,
            "expected": self.expected,
            "message": self.message,
        }


Facts = Mapping[str, Any]


def node_facts_of(entry: Mapping[str, Any]) -> Facts:
    """A node's facts: the ``state`` of a registered node_info result, or the facts themselves."""
    state = entry.get("state")
    return state if isinstance(state, Mapping) else entry


def _network(args: Mapping[str, Any], key: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.ip_network(args[key], strict=True)
    except ValueError as error:
        raise PlanError(
            f"{key}: {args[key]!r} is not an IPv4 subnet ({error}); expected a network such as 10.0.1.0/24"
        ) from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise PlanError(f"{key}: {args[key]!r} is not an IPv4 subnet; expected a network such as 10.0.1.0/24")
    return network


def _address(field: str, value: str) -> ipaddress.IPv4Address:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise PlanError(
            f"{field}: {value!r} is not an IPv4 address; expected an address such as 10.0.1.20"
        ) from None
    if not isinstance(address, ipaddress.IPv4Address):
        raise PlanError(f"{field}: {value!r} is not an IPv4 address; expected an address such as 10.0.1.20")
    return address


def check_preflight_arguments(args: Mapping[str, Any]) -> None:
    """Values that are not what their option takes, before any rule runs."""
    if not args["nodes"]:
        raise PlanError(
            "nodes: the list is empty; expected the node_info results of every node of the cluster"
        )
    for position, entry in enumerate(args["nodes"]):
        facts = node_facts_of(entry)
        missing = [k for k in ("hostname", "os", "domain", "nics", "disks", "features") if k not in facts]
        if missing:
            raise PlanError(
                f"nodes[{position}]: {', '.join(missing)} missing; expected what pbxops.wsfc.node_info "
                "returns (register its result and pass it, or its state)"
            )
    _network(args, "public_subnet")
    _network(args, "private_subnet")
    _address("cluster_ip", args["cluster_ip"])
    for position, role in enumerate(args["roles"]):
        for ip in role["ips"]:
            _address(f"roles[{position}].ips", ip)
    for ip in args["addresses_in_use"]:
        _address("addresses_in_use", ip)


def _ipv4_interfaces(nic: Mapping[str, Any]) -> list[ipaddress.IPv4Interface]:
    found = []
    for text in nic.get("ipv4") or []:
        interface = ipaddress.ip_interface(text)
        if isinstance(interface, ipaddress.IPv4Interface):
            found.append(interface)
    return found


def _names(args: Mapping[str, Any], nodes: Sequence[Facts]) -> list[Violation]:
    expected = "a NetBIOS name: 1 to 15 letters, digits and hyphens, not only digits, no hyphen at either end"
    named = [("cluster", "cluster_name", args["cluster_name"])]
    named += [("cluster", f"roles[{i}].name", role["name"]) for i, role in enumerate(args["roles"])]
    named += [(str(f["hostname"]), "hostname", f["hostname"]) for f in nodes]
    return [
        Violation(node, field, repr(name), expected)
        for node, field, name in named
        if not NETBIOS.match(str(name))
    ]


def _same_os(args: Mapping[str, Any], nodes: Sequence[Facts]) -> list[Violation]:
    del args
    reference = nodes[0]
    found = []
    for facts in nodes[1:]:
        for key in ("version", "build", "edition", "architecture"):
            mine, theirs = facts["os"].get(key), reference["os"].get(key)
            if mine != theirs:
                found.append(
                    Violation(
                        facts["hostname"],
                        f"os.{key}",
                        repr(mine),
                        f"{theirs!r} as on {reference['hostname']}",
                    )
                )
    return found


def _domain(args: Mapping[str, Any], nodes: Sequence[Facts]) -> list[Violation]:
    del args
    found = []
    joined = [f for f in nodes if f["domain"].get("joined")]
    for facts in nodes:
        if not facts["domain"].get("joined"):
            workgroup = facts["domain"].get("workgroup")
            found.append(
                Violation(
                    facts["hostname"],
                    "domain.joined",
                    f"false (workgroup {workgroup!r})",
                    "a member of the cluster's Active Directory domain",
                )
            )
    if joined:
        reference = joined[0]
        for facts in joined[1:]:
            mine, theirs = str(facts["domain"].get("name")), str(reference["domain"].get("name"))
            if mine.casefold() != theirs.casefold():
                found.append(
                    Violation(
                        facts["hostname"],
                        "domain.name",
                        repr(mine),
                        f"{theirs!r} as on {reference['hostname']}",
                    )
                )
    return found


def _nics(args: Mapping[str, Any], nodes: Sequence[Facts]) -> list[Violation]:
    public, private = _network(args, "public_subnet"), _network(args, "private_subnet")
    found = []
    for facts in nodes:
        up = [n for n in facts["nics"] if n.get("status") == "Up"]
        if len(up) < 2:
            names = [n.get("name") for n in up]
            found.append(
                Violation(
                    facts["hostname"],
                    "nics",
                    f"{len(up)} connected ({names})",
                    "at least two connected NICs, one public and one private",
                )
            )
        for label, network in (("public", public), ("private", private)):
            on = [n.get("name") for n in up if any(i.ip in network for i in _ipv4_interfaces(n))]
            if len(on) != 1:
                found.append(
                    Violation(
                        facts["hostname"],
                        f"nics ({label} subnet {network})",
                        f"{len(on)} connected NICs {on}",
                        f"exactly one connected NIC with an address in {network}",
                    )
                )
    return found


def _subnets(args: Mapping[str, Any], nodes: Sequence[Facts]) -> list[Violation]:
    del nodes
    public, private = _network(args, "public_subnet"), _network(args, "private_subnet")
    if public.overlaps(private):
        return [
            Violation(
                "cluster",
                "private_subnet",
                str(private),
                f"a subnet distinct from public_subnet {public} and not overlapping it",
            )
        ]
    return []


def _addresses(args: Mapping[str, Any], nodes: Sequence[Facts]) -> list[Violation]:
    public = _network(args, "public_subnet")
    node_addresses = {
        str(i.ip): str(f["hostname"]) for f in nodes for n in f["nics"] for i in _ipv4_interfaces(n)
    }
    in_use = set(args["addresses_in_use"])
    wanted = [("cluster_ip", args["cluster_ip"])]
    wanted += [(f"roles[{i}].ips", ip) for i, role in enumerate(args["roles"]) for ip in role["ips"]]
    found = []
    seen: dict[str, str] = {}
    for field, text in wanted:
        address = ipaddress.ip_address(text)
        if address not in public:
            found.append(Violation("cluster", field, text, f"an address inside the public subnet {public}"))
        elif address in (public.network_address, public.broadcast_address):
            kind = "network" if address == public.network_address else "broadcast"
            found.append(
                Violation(
                    "cluster",
                    field,
                    f"{text} (the {kind} address of {public})",
                    f"a host address of {public}",
                )
            )
        if text in node_addresses:
            found.append(
                Violation(
                    "cluster",
                    field,
                    f"{text} (an address of {node_addresses[text]})",
                    "an address no node uses",
                )
            )
        elif text in in_use:
            found.append(
                Violation("cluster", field, f"{text} (listed in addresses_in_use)", "an address not in use")
            )
        if text in seen:
            found.append(Violation("cluster", field, f"{text} (also {seen[text]})", "an address of its own"))
        seen.setdefault(text, field)
    return found


def _disks(args: Mapping[str, Any], nodes: Sequence[Facts]) -> list[Violation]:
    wanted = list(args["shared_disks"])
    if args.get("witness_disk") and args["witness_disk"] not in wanted:
        wanted.append(args["witness_disk"])
    found = []
    for uid in wanted:
        for facts in nodes:
            disk = next((d for d in facts["disks"] if str(d.get("unique_id")).upper() == uid.upper()), None)
            field = f"disks[{uid}]"
            if disk is None:
                found.append(
                    Violation(
                        facts["hostname"],
                        field,
                        "not listed by Get-Disk (not connected, not masked to this node, or a dynamic disk)",
                        "the shared disk, visible with the same unique id on every node, basic (not dynamic)",
                    )
                )
            elif disk.get("boot") or disk.get("system"):
                found.append(
                    Violation(
                        facts["hostname"],
                        field,
                        f"the boot or system disk (number {disk.get('number')})",
                        "a shared data disk",
                    )
                )
    return found


def _witness(args: Mapping[str, Any], nodes: Sequence[Facts]) -> list[Violation]:
    uid = args.get("witness_disk")
    if not uid:
        return []
    sizes = [
        d.get("size") for f in nodes for d in f["disks"] if str(d.get("unique_id")).upper() == uid.upper()
    ]
    if sizes and int(sizes[0] or 0) < WITNESS_MINIMUM:
        return [
            Violation(
                "cluster",
                "witness_disk",
                f"{uid} of {int(sizes[0] or 0) // 2**20} MB",
                "a witness disk of at least 512 MB",
            )
        ]
    return []


def _feature(args: Mapping[str, Any], nodes: Sequence[Facts]) -> list[Violation]:
    del args
    found = []
    for facts in nodes:
        state = facts["features"].get("failover_clustering")
        if state not in INSTALLABLE:
            found.append(
                Violation(
                    facts["hostname"],
                    "features.failover_clustering",
                    repr(state),
                    "Installed or Available (Removed needs the installation source restored first)",
                )
            )
    return found


RULES: tuple[Callable[[Mapping[str, Any], Sequence[Facts]], list[Violation]], ...] = (
    _names,
    _same_os,
    _domain,
    _subnets,
    _nics,
    _addresses,
    _disks,
    _witness,
    _feature,
)


def preflight_summary(args: Mapping[str, Any]) -> dict[str, Any]:
    """What was checked, for the result of a run that found nothing to fix."""
    return {
        "cluster_name": args["cluster_name"],
        "nodes": [str(node_facts_of(entry)["hostname"]) for entry in args["nodes"]],
        "rules": [rule.__name__.lstrip("_") for rule in RULES],
    }


def violations_message(violations: Sequence[Violation]) -> str:
    count = f"{len(violations)} violation{'s' if len(violations) != 1 else ''}"
    lines = "\n".join(f"- {v.message}" for v in violations)
    return f"preflight found {count}; fix them all, then run it again:\n{lines}"


def check_cluster(args: Mapping[str, Any]) -> list[Violation]:
    """Every violation of every rule, in the order of the rules and of the nodes."""
    nodes = [node_facts_of(entry) for entry in args["nodes"]]
    return [violation for rule in RULES for violation in rule(args, nodes)]
