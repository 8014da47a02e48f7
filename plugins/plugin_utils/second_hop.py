# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The double-hop rule: may cmdlets that reach other nodes or Active Directory run on this host?

New-Cluster, Add-ClusterNode, Remove-ClusterNode, Add-ClusterGenericServiceRole and Test-Cluster
over several nodes "cannot be run remotely without CredSSP" (their Microsoft pages): a network
logon has no credentials to pass on. They work when the task's credentials can travel a second
hop (ansible/ansible#68086; wsfc-behaviour 3.5):
- become with runas, a domain account and its password: an interactive logon, whose credentials
  travel on (without a password it is an S4U logon, and ``logon_type=network`` gives a token
  without credentials: neither can hop);
- a CredSSP connection, or Kerberos with delegation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SECOND_HOP_HELP", "Become", "second_hop_problem"]

SECOND_HOP_HELP = (
    "set become: true with become_method: runas, become_user: a domain account that is a local "
    "administrator of every node, and its become_password; or connect with CredSSP "
    "(ansible_winrm_transport: credssp, ansible_psrp_auth: credssp) or with Kerberos delegation "
    "(ansible_winrm_kerberos_delegation: true)"
)


@dataclass(frozen=True)
class Become:
    """The task's become settings, as the runas become plugin takes them."""

    enabled: bool = False
    method: str | None = None
    user: str | None = None
    has_password: bool = False
    flags: str = ""


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _domain_account(user: str) -> bool:
    if "@" in user:
        return True
    domain, name = user.rpartition("\\")[::2]
    return bool(domain) and bool(name) and domain.upper() not in (".", "NT AUTHORITY", "BUILTIN")


def _connection_delegates(variables: Mapping[str, Any]) -> bool:
    transport = variables.get("ansible_winrm_transport")
    transports = [transport] if isinstance(transport, str) else list(transport or [])
    if "credssp" in [str(t).lower() for t in transports]:
        return True
    if str(variables.get("ansible_psrp_auth", "")).lower() == "credssp":
        return True
    return _truthy(variables.get("ansible_winrm_kerberos_delegation")) or _truthy(
        variables.get("ansible_psrp_negotiate_delegate")
    )


def second_hop_problem(become: Become, variables: Mapping[str, Any]) -> str | None:
    """Why the task's credentials cannot reach a second machine, or None when they can."""
    if _connection_delegates(variables):
        return None
    if not become.enabled or (become.method or "").split(".")[-1] != "runas":
        return f"the connection's credentials cannot travel that second hop: {SECOND_HOP_HELP}"
    user = become.user or ""
    if not _domain_account(user):
        return (
            f"become_user {user or 'SYSTEM'!r} is not a domain account, which other nodes and Active "
            "Directory would not know; become a domain account (DOMAIN\\user or user@domain)"
        )
    if not become.has_password:
        return (
            f"become without a password logs {user} on without network credentials (an S4U logon), "
            "which cannot travel a second hop; give its become_password"
        )
    if "logon_type=network" in become.flags.replace(" ", "").lower():
        return (
            "become_flags logon_type=network gives a token without credentials, which cannot travel a "
            "second hop; leave logon_type out (interactive)"
        )
    return None
