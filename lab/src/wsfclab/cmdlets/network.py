"""Get-NetAdapter, Get-NetIPAddress and Get-NetIPConfiguration over the node's NICs."""

from __future__ import annotations

from typing import Any

from wsfclab.cmdlets.base import Call, CimObject, cmdlet, filter_by, matches
from wsfclab.errors import ErrorCategory
from wsfclab.ids import stable_hex
from wsfclab.state import Nic, NodeState

INFINITE = "10675199.02:48:05.4775807"  # [TimeSpan]::MaxValue, the lifetime of a static address
LOOPBACK_INDEX = 1
LOOPBACK_ALIAS = "Loopback Pseudo-Interface 1"


def _speed(bps: int) -> str:
    return f"{bps // 1_000_000_000} Gbps" if bps >= 1_000_000_000 else f"{bps // 1_000_000} Mbps"


def adapter_object(node: NodeState, nic: Nic) -> CimObject:
    up = nic.status == "Up"
    return CimObject(
        "MSFT_NetAdapter",
        {
            "Name": nic.name,
            "InterfaceDescription": nic.description,
            "ifIndex": nic.if_index,
            "InterfaceIndex": nic.if_index,
            "Status": nic.status,
            "MacAddress": nic.mac,
            "LinkSpeed": _speed(nic.link_speed_bps) if up else "0 bps",
            "ReceiveLinkSpeed": nic.link_speed_bps if up else 0,
            "TransmitLinkSpeed": nic.link_speed_bps if up else 0,
            "Speed": nic.link_speed_bps if up else 0,
            "MediaType": "802.3",
            "PhysicalMediaType": "802.3",
            "NdisPhysicalMedium": 14,
            "MediaConnectionState": "Connected" if up else "Disconnected",
            "AdminStatus": "Up",
            "ifOperStatus": "Up" if up else "Down",
            "InterfaceGuid": nic.interface_guid,
            "DeviceID": nic.interface_guid,
            "ifAlias": nic.name,
            "ifName": f"ethernet_{32768 + nic.if_index}",
            "InterfaceName": f"ethernet_{32768 + nic.if_index}",
            "DriverDescription": nic.description,
            "MtuSize": 1500,
            "FullDuplex": True,
            "Virtual": False,
            "HardwareInterface": True,
            "ConnectorPresent": True,
            "VlanID": 0,
            "PromiscuousMode": False,
            "SystemName": node.fqdn,
        },
        ref=nic.name,
    )


@cmdlet("Get-NetAdapter")
def get_net_adapter(call: Call) -> list[CimObject]:
    adapters = [adapter_object(call.node, nic) for nic in call.node.nics]
    adapters = filter_by(call, adapters, "Name", "Name", "MSFT_NetAdapter")
    adapters = filter_by(call, adapters, "InterfaceDescription", "InterfaceDescription", "MSFT_NetAdapter")
    return filter_by(call, adapters, "InterfaceIndex", "InterfaceIndex", "MSFT_NetAdapter", wildcards=False)


def link_local(node: NodeState, nic: Nic) -> str:
    """The NIC's IPv6 link-local address (Windows gives every NIC one), without its zone."""
    suffix = stable_hex(node.name, nic.name, length=16).lower()
    groups = [suffix[i : i + 4].lstrip("0") or "0" for i in range(0, 16, 4)]
    return "fe80::" + ":".join(groups)


def address_objects(node: NodeState) -> list[CimObject]:
    """Every address of the node as MSFT_NetIPAddress, IPv6 link-local and loopback included."""
    rows: list[tuple[str, int, str, int, str, str, str]] = []
    for nic in node.nics:
        rows.append((link_local(node, nic), nic.if_index, nic.name, 64, "IPv6", "WellKnown", "Link"))
        for address in nic.addresses:
            rows.append(
                (address.ip, nic.if_index, nic.name, address.prefix_length, "IPv4", "Manual", "Manual")
            )
    rows.append(("::1", LOOPBACK_INDEX, LOOPBACK_ALIAS, 128, "IPv6", "WellKnown", "WellKnown"))
    rows.append(("127.0.0.1", LOOPBACK_INDEX, LOOPBACK_ALIAS, 8, "IPv4", "WellKnown", "WellKnown"))
    objects = []
    for ip, index, alias, prefix, family, prefix_origin, suffix_origin in rows:
        shown = f"{ip}%{index}" if ip.startswith("fe80") else ip
        objects.append(
            CimObject(
                "MSFT_NetIPAddress",
                {
                    "IPAddress": shown,
                    "InterfaceIndex": index,
                    "InterfaceAlias": alias,
                    "AddressFamily": family,
                    "Type": "Unicast",
                    "PrefixLength": prefix,
                    "PrefixOrigin": prefix_origin,
                    "SuffixOrigin": suffix_origin,
                    "AddressState": "Preferred",
                    "ValidLifetime": INFINITE,
                    "PreferredLifetime": INFINITE,
                    "SkipAsSource": False,
                    "PolicyStore": "ActiveStore",
                    "IPv4Address": ip if family == "IPv4" else None,
                    "IPv6Address": shown if family == "IPv6" else None,
                },
                ref=alias,
            )
        )
    return objects


_ADDRESS_FILTERS = (
    ("InterfaceIndex", False),
    ("InterfaceAlias", True),
    ("AddressFamily", False),
    ("Type", False),
    ("PrefixLength", False),
    ("PrefixOrigin", False),
    ("SuffixOrigin", False),
    ("AddressState", False),
    ("SkipAsSource", False),
)


@cmdlet("Get-NetIPAddress")
def get_net_ip_address(call: Call) -> list[CimObject]:
    objects = address_objects(call.node)
    conditions = []
    for param, wildcard in (("IPAddress", True), *_ADDRESS_FILTERS):
        values = call.as_list(param)
        if values is None:
            continue
        if wildcard:
            objects = [o for o in objects if matches(str(o.props[param]), [str(v) for v in values])]
        else:
            objects = [o for o in objects if any(_same(o.props[param], v) for v in values)]
        shown = " OR ".join(f"({param} {'LIKE' if wildcard else '='} '{v}')" for v in values)
        conditions.append(f"({shown})")
    if not objects and conditions:
        # Get-NetIPAddress filters with a CIM query, so a miss is the query's "not found".
        query = "SELECT * FROM MSFT_NetIPAddress  WHERE " + " AND ".join(conditions)  # noqa: S608 - message text
        raise call.fail(
            "No matching MSFT_NetIPAddress objects found by CIM query for instances of the "
            f"ROOT/StandardCimv2/MSFT_NetIPAddress class on the  CIM server: {query}. "
            "Verify query parameters and retry.",
            "CmdletizationQuery_NotFound",
            ErrorCategory.ObjectNotFound,
            target="MSFT_NetIPAddress",
        )
    return objects


def _same(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.lower() == wanted.lower()
    return bool(actual == wanted)


@cmdlet("Get-NetIPConfiguration")
def get_net_ip_configuration(call: Call) -> list[CimObject]:
    node = call.node
    nics = node.nics if call.get("All") else [n for n in node.nics if n.status == "Up"]
    alias = call.get("InterfaceAlias")
    index = call.get("InterfaceIndex")
    if alias is not None:
        nics = [n for n in node.nics if matches(n.name, [alias])]
        if not nics:
            raise call.fail(
                f"No MSFT_NetAdapter objects found with property 'Name' equal to '{alias}'.  "
                "Verify the value of the property and retry.",
                "CmdletizationQuery_NotFound_Name",
                ErrorCategory.ObjectNotFound,
                target=str(alias),
            )
    if index is not None:
        nics = [n for n in node.nics if n.if_index == index]
        if not nics:
            raise call.fail(
                f"No MSFT_NetAdapter objects found with property 'InterfaceIndex' equal to '{index}'.  "
                "Verify the value of the property and retry.",
                "CmdletizationQuery_NotFound_InterfaceIndex",
                ErrorCategory.ObjectNotFound,
                target=str(index),
            )
    addresses = address_objects(node)
    return [_configuration(node, nic, addresses) for nic in nics]


def _configuration(node: NodeState, nic: Nic, addresses: list[CimObject]) -> CimObject:
    mine = [a for a in addresses if a.props["InterfaceIndex"] == nic.if_index]
    gateways = []
    if nic.gateway is not None:
        gateways.append(
            CimObject(
                "MSFT_NetRoute",
                {
                    "DestinationPrefix": "0.0.0.0/0",
                    "NextHop": nic.gateway,
                    "InterfaceAlias": nic.name,
                    "InterfaceIndex": nic.if_index,
                    "RouteMetric": 0,
                    "AddressFamily": "IPv4",
                },
            )
        )
    dns = CimObject(
        "MSFT_DNSClientServerAddress",
        {
            "InterfaceAlias": nic.name,
            "InterfaceIndex": nic.if_index,
            "AddressFamily": "IPv4",
            "ServerAddresses": list(nic.dns_servers),
        },
    )
    network_category = "DomainAuthenticated" if node.part_of_domain and nic.gateway else "Public"
    return CimObject(
        "NetIPConfiguration",
        {
            "ComputerName": node.name,
            "InterfaceAlias": nic.name,
            "InterfaceIndex": nic.if_index,
            "InterfaceDescription": nic.description,
            "NetAdapter": adapter_object(node, nic),
            "NetProfile": CimObject(
                "MSFT_NetConnectionProfile",
                {
                    "Name": node.domain
                    if network_category == "DomainAuthenticated"
                    else "Unidentified network",
                    "InterfaceAlias": nic.name,
                    "NetworkCategory": network_category,
                },
            ),
            "IPv4Address": [a for a in mine if a.props["AddressFamily"] == "IPv4"],
            "IPv6Address": [],
            "IPv6LinkLocalAddress": [a for a in mine if a.props["AddressFamily"] == "IPv6"],
            "IPv4DefaultGateway": gateways,
            "IPv6DefaultGateway": [],
            "DNSServer": [dns] if nic.dns_servers else [],
        },
        ref=nic.name,
    )
