"""The double hop: whether the credentials of the current call can reach a second machine.

A WinRM/PSRP logon with NTLM or Kerberos (without delegation) gives the remote session a token
that works on that node only. Cmdlets that reach other nodes or Active Directory (New-Cluster,
Add-/Remove-ClusterNode, Add-ClusterGenericServiceRole, Test-Cluster over several nodes) then fail
with access denied; the FailoverClusters pages say they "cannot be run remotely without CredSSP"
([PS] New-Cluster, 2012 help; the Clustering team's blog "PowerShell Remoting and the Double-Hop
Problem", 2009). Two ways lift it, as ansible users know them (ansible/ansible#68086):
- become with ``runas`` and the password of a domain account: the logon is interactive, so the
  credentials travel on (a passwordless become is an S4U logon, which has no network credentials);
- a CredSSP connection (``ansible_winrm_transport: credssp`` or ``ansible_psrp_auth: credssp``,
  which the lab's connection takes as well), which delegates the remote user's credentials to the
  node; they reach further only when they are a domain account's.

The connection layer says which one applies by entering ``logon(Logon(...))`` around a module run;
code outside any logon (a unit test calling the simulator directly) runs as a plain network logon.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Logon:
    """Who the call runs as on the node, and how it logged on."""

    user: str = "Administrator"
    domain_account: bool = False  # the user is an account of the domain (not the node's, not SYSTEM)
    become: bool = False  # runas through ansible's become
    become_password: bool = False  # the become user's password was given (an interactive logon)
    become_logon_type: str | None = None  # become_flags logon_type, when given
    credssp: bool = False  # the connection authenticated with CredSSP (delegated the user's credentials)

    @property
    def delegates(self) -> bool:
        """The session's credentials can authenticate on a second machine. Only a domain account's
        can: a local account's are known to its own node alone."""
        if not self.become:
            return self.credssp and self.domain_account
        # become runs the module under a token of its own, whatever the connection delegated. A
        # Network logon (become_flags logon_type=network) or a passwordless (S4U) one has no
        # credentials, which cannot hop again; the others (Interactive by default, Batch,
        # NewCredentials, ...) keep them.
        kind = (self.become_logon_type or "interactive").lower().replace("_", "")
        return self.become_password and self.domain_account and kind != "network"


_CURRENT: contextvars.ContextVar[Logon | None] = contextvars.ContextVar("wsfclab_logon", default=None)


@contextlib.contextmanager
def logon(value: Logon) -> Iterator[None]:
    token = _CURRENT.set(value)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current() -> Logon:
    """The logon of the call in progress; a plain network logon outside any ``logon`` block."""
    return _CURRENT.get() or Logon()
