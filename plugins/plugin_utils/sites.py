# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBX sites of an inventory and the trunks that join them, as pure functions.

Every site (one cluster group) declares its PBX's role IP address and its number range; each
site gets a trunk to every other one, so adding a site to the inventory joins it to the others.
Number ranges that overlap are refused: a number would belong to two PBXes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class SiteError(ValueError):
    """An inventory whose sites cannot be joined; the message says which value to fix."""


@dataclass(frozen=True)
class NumberRange:
    first: str
    last: str

    def overlaps(self, other: NumberRange) -> bool:
        # Ranges of different widths hold different numbers ("100" is not "0100").
        return (
            len(self.first) == len(other.first)
            and int(self.first) <= int(other.last)
            and int(other.first) <= int(self.last)
        )

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass(frozen=True)
class Site:
    name: str
    role_ip: str
    port: int
    numbers: NumberRange


def parse_range(value: Any, where: str) -> NumberRange:
    """``"100-199"`` -> NumberRange("100", "199"): both ends the same number of digits."""
    text = str(value).strip() if isinstance(value, str | int) else ""
    first, dash, last = text.partition("-")
    first, last = first.strip(), last.strip()
    if not (dash and first.isdigit() and last.isdigit() and first.isascii() and last.isascii()):
        raise SiteError(f'{where}: {value!r} is not a number range "FIRST-LAST" such as "100-199"')
    if len(first) != len(last):
        raise SiteError(
            f"{where}: {value!r} has ends of different lengths; extension numbers of one site have one length"
        )
    if int(first) > int(last):
        raise SiteError(f"{where}: {value!r} starts after it ends")
    return NumberRange(first, last)


def site_from(host: str, hostvars: Mapping[str, Any]) -> Site:
    where = f"host {host}"
    name = hostvars.get("pbx_site")
    if not isinstance(name, str) or not name or not set(name) <= _NAME_CHARS or len(name) > 32:
        raise SiteError(
            f"{where}: pbx_site {name!r} is not a site name of 1-32 letters, digits, '.', '_' or '-'"
        )
    role_ip = hostvars.get("pbx_role_ip")
    try:
        role_ip = str(ip_address(str(role_ip)))
    except ValueError:
        raise SiteError(f"{where}: pbx_role_ip {role_ip!r} is not an IP address") from None
    port = hostvars.get("pbx_sip_port", 5060)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise SiteError(f"{where}: pbx_sip_port {port!r} is not a port number 1-65535")
    return Site(
        name, role_ip, port, parse_range(hostvars.get("pbx_number_range"), f"{where}: pbx_number_range")
    )


def collect_sites(hosts: Iterable[str], hostvars: Mapping[str, Mapping[str, Any]]) -> list[Site]:
    """One Site per distinct ``pbx_site``, checked: every host of a site agrees, ranges are disjoint."""
    sites: dict[str, tuple[str, Site]] = {}
    for host in hosts:
        site = site_from(host, hostvars[host])
        seen = sites.get(site.name)
        if seen is None:
            sites[site.name] = (host, site)
        elif seen[1] != site:
            raise SiteError(
                f"hosts {seen[0]} and {host} are both in site {site.name} but disagree on its role IP, "
                f"port or number range ({_show(seen[1])} against {_show(site)}); "
                "set them once, on the site's group"
            )
    found = [site for _order, site in sites.values()]
    for index, site in enumerate(found):
        for other in found[index + 1 :]:
            if site.numbers.overlaps(other.numbers):
                raise SiteError(
                    f"sites {site.name} ({site.numbers}) and {other.name} ({other.numbers}) "
                    "have overlapping "
                    "number ranges (pbx_number_range); give every site its own numbers"
                )
            if (site.role_ip, site.port) == (other.role_ip, other.port):
                raise SiteError(
                    f"sites {site.name} and {other.name} have the same role address "
                    f"{site.role_ip}:{site.port}; each PBX needs its own"
                )
    return sorted(found, key=lambda s: s.name)


def _show(site: Site) -> str:
    return f"{site.role_ip}:{site.port}, {site.numbers}"


def range_patterns(numbers: NumberRange) -> list[str]:
    """Regular expressions that match exactly the numbers of the range (fixed width).

    ``100-199`` -> ``["1\\d\\d"]``; ``150-249`` -> ``["1[5-9]\\d", "2[0-4]\\d"]``.
    """
    return _patterns(numbers.first, numbers.last)


def _patterns(low: str, high: str) -> list[str]:
    if not low:
        return [""]
    if low == high:
        return [low]
    # Common leading digits stay literal.
    if low[0] == high[0]:
        return [low[0] + rest for rest in _patterns(low[1:], high[1:])]
    width = len(low) - 1
    tail_all_low, tail_all_high = "0" * width, "9" * width
    result: list[str] = []
    first, last = int(low[0]), int(high[0])
    if low[1:] != tail_all_low:
        result += [low[0] + rest for rest in _patterns(low[1:], tail_all_high)]
        first += 1
    middle_last = last if high[1:] == tail_all_high else last - 1
    if first <= middle_last:
        if (first, middle_last) == (0, 9):
            digit = "\\d"
        else:
            digit = str(first) if first == middle_last else f"[{first}-{middle_last}]"
        result.append(digit + "\\d" * width)
    if high[1:] != tail_all_high:
        result += [high[0] + rest for rest in _patterns(tail_all_low, high[1:])]
    return result


def trunk_credentials(a: str, b: str, secret: str) -> tuple[str, str]:
    """The user name and password both PBXes of the trunk between sites ``a`` and ``b`` use.

    Each PBX challenges calls from the other and answers the other's challenges with the same
    pair, so both ends must agree: the name is the two site names in order, the password an
    HMAC of it under the inventory's one trunk secret, so every trunk has its own password and
    the vault holds a single value."""
    first, second = sorted((a, b))
    username = f"trunk.{first}.{second}"
    password = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
    return username, password


def peers_of(local: str, sites: list[Site]) -> list[Site]:
    """Every site but ``local``, which must be one of them."""
    names = [site.name for site in sites]
    if local not in names:
        raise SiteError(f"site {local!r} is not one of the inventory's sites ({', '.join(names) or 'none'})")
    return [site for site in sites if site.name != local]


def trunks_for(local: str, sites: list[Site], secret: str) -> list[dict[str, Any]]:
    """The pbxd ``[[trunks]]`` of site ``local``: one to every other site (pbxd routes a number
    that matches a trunk's ``numbers`` to it when no dial plan rule says otherwise), each
    authenticated with digest in both directions."""
    peers = peers_of(local, sites)
    if not secret:
        raise SiteError(
            "vault_pbx_trunk_secret is missing from the vault; the trunks' passwords derive from it"
        )
    trunks = []
    for site in peers:
        username, password = trunk_credentials(local, site.name, secret)
        trunks.append(
            {
                "name": site.name,
                "host": site.role_ip,
                "port": site.port,
                "numbers": range_patterns(site.numbers),
                "trusted_sources": [site.role_ip],
                "username": username,
                "password": password,
            }
        )
    return trunks
