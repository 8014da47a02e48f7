# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The double-hop rule: may cmdlets that reach other nodes or Active Directory run on this host?

New-Cluster, Add-ClusterNode, Remove-ClusterNode, Add-ClusterGenericServiceRole and Test-Cluster
over several nodes "cannot be run remotely without CredSSP" (their Microsoft pages): a network
logon has no credentials to pass on. They work when the task's credentials can travel a second
hop: become with runas (a new logon with the password), CredSSP, or Kerberos delegation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SECOND_HOP_HELP", "second_hop_means"]

SECOND_HOP_HELP = (
    "set become: true with become_method: runas and become_user: a domain account that is a local "
    "administrator of every node, or connect with CredSSP (ansible_winrm_transport: credssp, "
    "ansible_psrp_auth: credssp) or with Kerberos delegation (ansible_winrm_kerberos_delegation: true)"
)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def second_hop_means(become: bool, become_method: str | None, variables: Mapping[str, Any]) -> str | None:
    """How the task's credentials reach a second hop, or None when they cannot."""
    if become and (become_method or "").split(".")[-1] == "runas":
        return "become (runas)"
    transport = variables.get("ansible_winrm_transport")
    transports = [transport] if isinstance(transport, str) else list(transport or [])
    if "credssp" in [str(t).lower() for t in transports]:
        return "CredSSP"
    if str(variables.get("ansible_psrp_auth", "")).lower() == "credssp":
        return "CredSSP"
    if _truthy(variables.get("ansible_winrm_kerberos_delegation")) or _truthy(
        variables.get("ansible_psrp_negotiate_delegate")
    ):
        return "Kerberos delegation"
    return None
