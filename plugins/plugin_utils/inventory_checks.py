# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What can be wrong with an inventory before any node is contacted, listed all at once.

The node-side checks (NICs, OS builds, disks seen by every node) need a read of the nodes and
live in the ``preflight`` module; these need only the inventory, so a typo costs no round trip.
Each problem names the host or site, the variable, the value and what is expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.sites import SiteError, collect_sites, parse_range

# NetBIOS computer names: 1-15 characters, letters, digits and hyphens, not only digits
# (Microsoft: "Naming conventions in Active Directory for computers, domains, sites, and OUs").
_NETBIOS = re.compile(r"^[A-Za-z0-9-]{1,15}$")
PLACEHOLDER = "CHANGE-ME"
MIN_NODES = 2


def _netbios_problem(where: str, variable: str, value: Any) -> str | None:
    text = "" if value is None else str(value)
    if len(text) > 15:
        return f"{where}: {variable} {text!r} has {len(text)} characters; a NetBIOS name has at most 15"
    if not _NETBIOS.match(text) or text.isdigit():
        return (
            f"{where}: {variable} {text!r} is not a computer name: 1-15 letters, digits and hyphens, "
            "not only digits"
        )
    return None


def _network(where: str, variable: str, value: Any, problems: list[str]) -> IPv4Network | IPv6Network | None:
    try:
        return ip_network(str(value), strict=True)
    except ValueError:
        problems.append(f"{where}: {variable} {value!r} is not a subnet in CIDR form such as 10.1.0.0/24")
        return None


def _address_in(
    where: str, variable: str, value: Any, subnet: IPv4Network | IPv6Network | None, problems: list[str]
) -> None:
    try:
        address = ip_address(str(value))
    except ValueError:
        problems.append(f"{where}: {variable} {value!r} is not an IP address")
        return
    if subnet is not None and address not in subnet:
        problems.append(
            f"{where}: {variable} {address} is outside the public subnet {subnet} (cluster_public_subnet); "
            "clients reach the cluster and the PBX role only on the public network"
        )
    elif subnet is not None and address in (subnet.network_address, subnet.broadcast_address):
        problems.append(f"{where}: {variable} {address} is the network or broadcast address of {subnet}")


def _secret_problem(where: str, what: str, value: Any) -> str | None:
    if value is None or value == "":
        return f"{where}: {what} is missing from the vault"
    if not isinstance(value, str):
        return f"{where}: {what} in the vault is not a string"
    if value == PLACEHOLDER:
        return f"{where}: {what} in the vault is still the placeholder {PLACEHOLDER}"
    return None


def site_groups(hosts: Iterable[str], hostvars: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """The hosts of each site (``pbx_site``), in inventory order."""
    groups: dict[str, list[str]] = {}
    for host in hosts:
        groups.setdefault(str(hostvars[host].get("pbx_site")), []).append(host)
    return groups


def inventory_problems(hosts: list[str], hostvars: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every problem of the inventory; empty when it is fit to roll out."""
    problems: list[str] = []
    if not hosts:
        return ["the inventory has no host in the group pbx_clusters; add one group per site under it"]
    try:
        collect_sites(hosts, hostvars)
    except SiteError as error:
        problems.append(str(error))
    passwords_checked: set[str] = set()
    deploy_checked = False
    for site, members in site_groups(hosts, hostvars).items():
        where = f"site {site}"
        first = hostvars[members[0]]
        if len(members) < MIN_NODES:
            problems.append(
                f"{where}: has {len(members)} node ({', '.join(members)}); "
                f"a failover cluster needs at least {MIN_NODES}"
            )
        for host in members:
            problem = _netbios_problem(f"host {host}", "the node name", host.split(".")[0])
            if problem:
                problems.append(problem)
        for variable in ("cluster_name", "pbx_role_name"):
            problem = _netbios_problem(where, variable, first.get(variable))
            if problem:
                problems.append(problem)
        if str(first.get("cluster_name", "")).lower() == str(first.get("pbx_role_name", "")).lower():
            problems.append(
                f"{where}: cluster_name and pbx_role_name are both {first.get('cluster_name')!r}; "
                "each needs its own name"
            )
        public = _network(where, "cluster_public_subnet", first.get("cluster_public_subnet"), problems)
        private = _network(where, "cluster_private_subnet", first.get("cluster_private_subnet"), problems)
        if public is not None and private is not None and public.overlaps(private):
            problems.append(
                f"{where}: cluster_public_subnet {public} and cluster_private_subnet {private} overlap; "
                "the heartbeat network must be a subnet of its own"
            )
        _address_in(where, "cluster_static_address", first.get("cluster_static_address"), public, problems)
        _address_in(where, "pbx_role_ip", first.get("pbx_role_ip"), public, problems)
        if first.get("cluster_static_address") == first.get("pbx_role_ip"):
            problems.append(
                f"{where}: cluster_static_address and pbx_role_ip are both {first.get('pbx_role_ip')}"
            )
        problems += _extension_problems(where, first)
        passwords = first.get("vault_pbx_passwords") or {}
        for number in _numbers(first):
            if number not in passwords_checked:
                passwords_checked.add(number)
                problem = _secret_problem(
                    where,
                    f"the password of extension {number} (vault_pbx_passwords)",
                    passwords.get(number) if isinstance(passwords, Mapping) else None,
                )
                if problem:
                    problems.append(problem)
        if not deploy_checked:
            deploy_checked = True
            for secret in ("vault_deploy_password", "vault_pbx_trunk_secret"):
                problem = _secret_problem(where, secret, first.get(secret))
                if problem:
                    problems.append(problem)
    return problems


def _numbers(site_vars: Mapping[str, Any]) -> list[str]:
    extensions = site_vars.get("pbx_extensions") or []
    numbers = [str(e.get("number")) for e in extensions if isinstance(e, Mapping)]
    return numbers + [
        str(site_vars.get(k)) for k in ("pbx_test_caller", "pbx_test_callee") if site_vars.get(k) is not None
    ]


def _extension_problems(where: str, site_vars: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    try:
        numbers = parse_range(site_vars.get("pbx_number_range"), f"{where}: pbx_number_range")
    except SiteError:
        return problems  # already reported by collect_sites
    seen: set[str] = set()
    for number in _numbers(site_vars):
        in_range = (
            number.isdigit()
            and len(number) == len(numbers.first)
            and int(numbers.first) <= int(number) <= int(numbers.last)
        )
        if not in_range:
            problems.append(
                f"{where}: extension {number!r} is outside the site's number range {numbers} "
                "(pbx_number_range)"
            )
        if number in seen:
            problems.append(
                f"{where}: extension {number} is listed twice "
                "(pbx_extensions, pbx_test_caller, pbx_test_callee)"
            )
        seen.add(number)
    return problems
