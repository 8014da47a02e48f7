# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the inventory into PBX settings (documentation: the .yml files beside this)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.inventory_checks import inventory_problems
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.sip_message import ha1
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.sites import SiteError, collect_sites, trunks_for
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
    hosts: list[str], hostvars: Mapping[str, Mapping[str, Any]], site: str
) -> list[dict[str, Any]]:
    try:
        trunks: list[dict[str, Any]] = trunks_for(site, collect_sites(hosts, hostvars))
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
        }
