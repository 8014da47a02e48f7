"""Twin of ansible.windows.setup: facts of a lab node, consistent with the lab's world and state.

Fact names, shapes and the subset grouping follow setup.ps1 (min / network / hardware / external,
``!`` excludes, unknown names warned about). Values come from the node's state: OS, NICs, CPU,
memory, domain, boot time. Facts the lab has no source for (BIOS date, machine SID, ...) carry
stable, clearly synthetic values derived from the node name.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from wsfclab.cmdlets.network import link_local
from wsfclab.state import Nic, NodeState
from wsfclab.twins.base import TwinContext, unsupported

_GROUPS = {
    "min": ["date_time", "distribution", "dns", "env", "local", "platform", "powershell_version", "user"],
    "network": ["all_ipv4_addresses", "all_ipv6_addresses", "interfaces", "windows_domain", "winrm"],
    "hardware": ["bios", "memory", "processor", "uptime", "virtual"],
    "external": ["facter"],
}
_ALL = sorted({name for names in _GROUPS.values() for name in names})


def select_subsets(gather_subset: list[str], warnings: list[str]) -> set[str]:
    """setup.ps1's subset arithmetic: start from all, remove the excluded, add the explicit."""
    actual = set(_ALL)
    explicit: set[str] = set()
    exclude: set[str] = set()
    for item in gather_subset:
        if item.startswith("!"):
            excluded = item[1:]
            if excluded == "all":
                exclude |= set(_ALL) - set(_GROUPS["min"])
            elif excluded in _GROUPS:
                exclude |= set(_GROUPS[excluded])
            elif excluded in _ALL:
                exclude.add(excluded)
        elif item == "all":
            explicit |= set(_ALL)
        elif item in _GROUPS:
            explicit |= set(_GROUPS[item])
        elif item in _ALL:
            explicit.add(item)
        else:
            warnings.append(f"invalid value {item} specified in gather_subset")
    return (actual - exclude) | explicit


def _synthetic(node: NodeState, what: str, length: int = 8) -> str:
    return hashlib.sha256(f"{node.name}:{what}".encode()).hexdigest()[:length].upper()


def setup(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("fact_path"):
        local = ctx.local(params["fact_path"])
        if any(local.glob("*.ps1")) or any(local.glob("*.json")):
            raise unsupported("setup fact_path with local facts scripts")
    node = ctx.node
    subsets = select_subsets(params["gather_subset"], ctx.warnings)
    facts: dict[str, Any] = {"gather_subset": params["gather_subset"], "module_setup": True}
    now = datetime.now(UTC)
    boot = datetime.fromisoformat(node.boot_time)
    if boot.tzinfo is None:
        boot = boot.replace(tzinfo=UTC)
    # .NET lists each NIC's link-local IPv6 address (with its zone, "%<index>") before its IPv4 ones.
    up = [nic for nic in node.nics if nic.status == "Up"]
    addresses = [ip for nic in up for ip in (_link_local(node, nic), *(a.ip for a in nic.addresses))]
    short_domain = node.fqdn.partition(".")[2]

    if subsets & {"all_ipv4_addresses", "all_ipv6_addresses"}:
        facts["ansible_ip_addresses"] = [ip for ip in addresses if ip not in ("127.0.0.1", "::1")]
    if "bios" in subsets:
        facts.update(
            ansible_bios_date="01/01/2024",
            ansible_bios_version=f"LAB-{_synthetic(node, 'bios', 4)}",
            ansible_product_name=node.model,
            ansible_product_serial=node.os.serial_number,
            ansible_product_uuid=_uuid(node),
        )
    if "date_time" in subsets:
        facts["ansible_date_time"] = _date_time(now)
    if "distribution" in subsets:
        major = node.os.version.split(".")[0]
        facts.update(
            ansible_distribution=node.os.caption,
            ansible_distribution_version=f"{node.os.version}.0",
            ansible_distribution_major_version=major,
            ansible_os_family="Windows",
            ansible_os_name=node.os.caption,
            ansible_os_product_type={1: "workstation", 2: "domain_controller", 3: "server"}.get(
                node.os.product_type, "unknown"
            ),
            ansible_os_installation_type="Server",
            ansible_os_install_date=node.os.install_date,
        )
    if "env" in subsets:
        facts["ansible_env"] = {k: v.rstrip("\\") for k, v in ctx.env.variables.items()}
    if "interfaces" in subsets:
        facts["ansible_interfaces"] = [
            {
                "connection_name": nic.name,
                "default_gateway": nic.gateway,
                "dns_domain": short_domain or None,
                "interface_index": nic.if_index,
                "interface_name": nic.description,
                "ipv4": [{"address": a.ip, "prefix": str(a.prefix_length)} for a in nic.addresses],
                "ipv6": [{"address": _link_local(node, nic), "prefix": "64"}],
                "macaddress": nic.mac.replace("-", ":").upper(),
                "mtu": 1500,
                "speed": nic.link_speed_bps // 1000 // 1000,
            }
            for nic in node.nics
            if nic.status == "Up" and nic.addresses
        ]
    if "memory" in subsets:
        facts.update(
            ansible_memtotal_mb=node.memory_mb,
            ansible_memfree_mb=node.memory_mb * 3 // 4,
            ansible_swaptotal_mb=0,
            ansible_pagefiletotal_mb=1024,
            ansible_pagefilefree_mb=1024,
        )
    if "platform" in subsets:
        facts.update(
            ansible_domain=node.domain if node.part_of_domain else short_domain,
            ansible_fqdn=node.fqdn,
            ansible_hostname=node.name,
            ansible_netbios_name=node.name.upper()[:15],
            ansible_kernel=f"{node.os.version}.0",
            ansible_nodename=node.fqdn,
            ansible_machine_id=f"S-1-5-21-{int(_synthetic(node, 'sid'), 16)}",
            ansible_owner_name="Windows User",
            ansible_system="Win32NT",
            ansible_system_description="",
            ansible_system_vendor=node.manufacturer,
            ansible_reboot_pending=False,
            ansible_architecture=node.os.os_architecture,
            ansible_owner_contact="",
            ansible_architecture2="x86_64",
        )
    if "powershell_version" in subsets:
        facts["ansible_powershell_version"] = 5
    if "processor" in subsets:
        cpu = node.cpu
        processors: list[str] = []
        for index in range(cpu.logical_processors):
            processors += [str(index), "GenuineIntel", cpu.name]
        facts.update(
            ansible_processor=processors,
            ansible_processor_count=1,
            ansible_processor_vcpus=cpu.logical_processors,
            ansible_processor_cores=cpu.cores,
            ansible_processor_threads_per_core=cpu.logical_processors // max(cpu.cores, 1),
        )
    if "uptime" in subsets:
        facts["ansible_lastboot"] = boot.strftime("%Y-%m-%d %H:%M:%SZ")
        facts["ansible_uptime_seconds"] = max(0, round((now - boot).total_seconds()))
    if "user" in subsets:
        facts.update(
            ansible_user_dir=ctx.env.variables["USERPROFILE"],
            ansible_user_gecos="",
            ansible_user_id=ctx.env.variables["USERNAME"],
            ansible_user_sid=f"S-1-5-21-{int(_synthetic(node, 'sid'), 16)}-500",
        )
    if "windows_domain" in subsets:
        facts.update(
            ansible_windows_domain=node.domain,
            ansible_windows_domain_member=node.part_of_domain,
            ansible_windows_domain_role="Member server" if node.part_of_domain else "Stand-alone server",
        )
    if "virtual" in subsets:
        facts.update(ansible_virtualization_role="guest", ansible_virtualization_type="Hyper-V")
    return {"changed": False, "ansible_facts": facts}


def _link_local(node: NodeState, nic: Nic) -> str:
    return f"{link_local(node, nic)}%{nic.if_index}"


def _uuid(node: NodeState) -> str:
    raw = hashlib.sha256(f"{node.name}:uuid".encode()).hexdigest().upper()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:32]}"


def _date_time(now: datetime) -> dict[str, Any]:
    epoch = int(now.timestamp())
    return {
        "date": now.strftime("%Y-%m-%d"),
        "day": now.strftime("%d"),
        "epoch_local": str(epoch),
        "epoch": str(epoch),
        "epoch_int": epoch,
        "hour": now.strftime("%H"),
        "iso8601": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso8601_basic": now.strftime("%Y%m%dT%H%M%S%f"),
        "iso8601_basic_short": now.strftime("%Y%m%dT%H%M%S"),
        "iso8601_micro": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "minute": now.strftime("%M"),
        "month": now.strftime("%m"),
        "second": now.strftime("%S"),
        "time": now.strftime("%H:%M:%S"),
        "tz": "UTC",
        "tz_offset": "+00:00",
        "weekday": now.strftime("%A"),
        "weekday_number": now.strftime("%w"),
        "weeknumber": now.strftime("%W"),
        "year": now.strftime("%Y"),
    }
