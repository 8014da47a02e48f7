# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the inventory into PBX settings (documentation: the .yml files beside this)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_message import ha1
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.inventory_checks import (
    inventory_problems,
    site_groups,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.sites import (
    SiteError,
    collect_sites,
    peers_of,
    trunks_for,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.status_view import status_view


def pbx_sites(hosts: list[str], hostvars: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    try:
        sites = collect_sites(hosts, hostvars)
    except SiteError as error:
        raise AnsibleFilterError(str(error)) from None
    return [
        {
            "name": s.name,
            "role_ip": s.role_ip,
            "port": s.port,
            "number_range": str(s.numbers),
            "hosts": [host for host in hosts if hostvars[host].get("pbx_site") == s.name],
        }
        for s in sites
    ]


def pbx_trunks(
    hosts: list[str], hostvars: Mapping[str, Mapping[str, Any]], site: str, secret: str
) -> list[dict[str, Any]]:
    try:
        trunks: list[dict[str, Any]] = trunks_for(site, collect_sites(hosts, hostvars), str(secret or ""))
        return trunks
    except SiteError as error:
        raise AnsibleFilterError(str(error)) from None


def sip_ha1(password: str, number: str, realm: str, algorithm: str = "MD5") -> str:
    if not isinstance(password, str) or not password:
        raise AnsibleFilterError(f"sip_ha1: extension {number}: the password is empty or not a string")
    try:
        digest: str = ha1(algorithm, str(number), realm, password)
        return digest
    except ValueError as error:
        raise AnsibleFilterError(f"sip_ha1: {error}") from None


def pbx_inventory_problems(hosts: list[str], hostvars: Mapping[str, Mapping[str, Any]]) -> list[str]:
    problems: list[str] = inventory_problems(list(hosts), hostvars)
    return problems


def pbx_site_nodes(hosts: list[str], hostvars: Mapping[str, Mapping[str, Any]], site: str) -> list[str]:
    nodes: list[str] = site_groups(hosts, hostvars).get(str(site), [])
    if not nodes:
        raise AnsibleFilterError(f"site_nodes: no host of the inventory has pbx_site {site!r}")
    return nodes


def pbx_smoke_trunk_calls(
    hosts: list[str], hostvars: Mapping[str, Mapping[str, Any]], site: str
) -> list[dict[str, Any]]:
    """sip_check's ``trunk_calls`` for ``site``: each other site's test callee at its role IP."""
    try:
        peers = peers_of(site, collect_sites(hosts, hostvars))
    except SiteError as error:
        raise AnsibleFilterError(str(error)) from None
    groups = site_groups(hosts, hostvars)
    calls = []
    for peer in peers:
        far = hostvars[groups[peer.name][0]]
        number = str(far.get("pbx_test_callee"))
        password = (far.get("vault_pbx_passwords") or {}).get(number)
        if not password:
            raise AnsibleFilterError(
                f"smoke_trunk_calls: site {peer.name}: extension {number} (pbx_test_callee) "
                "has no password in vault_pbx_passwords"
            )
        calls.append(
            {
                "site": peer.name,
                "server": peer.role_ip,
                "port": peer.port,
                "callee": {"number": number, "password": password},
            }
        )
    return calls


def pbx_drill_phone(number: str, passwords: Mapping[str, str]) -> dict[str, str]:
    password = (passwords or {}).get(str(number))
    if not password:
        raise AnsibleFilterError(f"drill_phone: extension {number} has no password in vault_pbx_passwords")
    return {"number": str(number), "password": password}


def pbx_status_view(sites: list[dict[str, Any]], generated: str) -> dict[str, Any]:
    view: dict[str, Any] = status_view(sites, generated)
    return view


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "pbx_sites": pbx_sites,
            "pbx_trunks": pbx_trunks,
            "sip_ha1": sip_ha1,
            "status_view": pbx_status_view,
            "inventory_problems": pbx_inventory_problems,
            "site_nodes": pbx_site_nodes,
            "smoke_trunk_calls": pbx_smoke_trunk_calls,
            "drill_phone": pbx_drill_phone,
        }
