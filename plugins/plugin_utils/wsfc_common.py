# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the failover-cluster planners share: argument checks and reading cluster objects.

Pure Python: no ansible, no I/O. The executor returns cluster objects as plain JSON (enums by name),
and a nested object (a resource's ``OwnerGroup``, a parameter's ``ClusterObject``) comes back as a
map while the pipeline's depth lasts and as its string form below it; ``name_of`` reads either.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import PlanError

# NetBIOS computer names: 1-15 characters, letters, digits and hyphens, not all digits. Cluster,
# role and node names become computer objects in Active Directory, so they obey the same rule.
_NETBIOS = re.compile(r"^[A-Za-z0-9-]{1,15}$")


class ArgumentError(PlanError):
    """A module option whose value cannot work; the message starts with the option's name."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


def check_netbios_name(option: str, value: str) -> None:
    if not _NETBIOS.match(value) or value.isdigit():
        raise ArgumentError(
            option,
            f"{value!r} is not a valid NetBIOS name; expected 1 to 15 letters, digits or hyphens, "
            "not only digits",
        )


def check_ipv4_address(option: str, value: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ArgumentError(option, f"{value!r} is not an IPv4 address such as 10.0.0.10") from None


def parse_subnet(option: str, value: str) -> ipaddress.IPv4Network:
    """``10.0.0.0/24``; a host address with a prefix (``10.0.0.5/24``) is refused as ambiguous."""
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise ArgumentError(
            option, f"{value!r} is not an IPv4 network in CIDR form such as 10.0.0.0/24"
        ) from None


def check_positive(option: str, value: int | None, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        expected = "zero or more" if allow_zero else "more than zero"
        raise ArgumentError(option, f"{value} is out of range; expected {expected}")


def name_of(value: Any) -> str:
    """The name of a nested cluster object, whether rendered as a map or as its string form."""
    if isinstance(value, Mapping):
        return str(value.get("Name") or "")
    return "" if value is None else str(value)


def same_name(a: str, b: str) -> bool:
    """Cluster object names compare without regard to case, as WSFC compares them."""
    return a.casefold() == b.casefold()


def find_named(objects: Iterable[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    for obj in objects:
        if same_name(name_of(obj), name):
            return obj
    return None


def names(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    return [name_of(obj) for obj in objects]


def listing(values: Sequence[str]) -> str:
    """For messages: ``'A', 'B'`` or ``none``."""
    return ", ".join(repr(v) for v in values) if values else "none"


def resource_type(resource: Mapping[str, Any]) -> str:
    """A resource's type name (``Physical Disk``, ``Generic Service``, ``IP Address``)."""
    return name_of(resource.get("ResourceType"))


def parameters_by_object(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``Get-ClusterParameter`` rows as {object name: {parameter: value}}.

    The object a row belongs to is its ``ClusterObject``; the lab calls that property ``Object``
    (the column header of the default view), so the pipeline selects nothing and both are read.
    Keys are case-folded object names, so lookups need no care for case."""
    result: dict[str, dict[str, Any]] = {}
    for row in rows:
        owner = name_of(row.get("ClusterObject", row.get("Object"))).casefold()
        result.setdefault(owner, {})[str(row.get("Name"))] = row.get("Value")
    return result


def owner_names(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """``Get-ClusterOwnerNode`` rows ({ClusterObject, OwnerNodes}) as {object name: [node, ...]}."""
    result: dict[str, list[str]] = {}
    for row in rows:
        nodes = row.get("OwnerNodes") or []
        if not isinstance(nodes, list):
            nodes = [nodes]
        result[name_of(row.get("ClusterObject")).casefold()] = [name_of(n) for n in nodes]
    return result
