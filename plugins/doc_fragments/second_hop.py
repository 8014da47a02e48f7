# -*- coding: utf-8 -*-

# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # For modules whose cmdlets reach other nodes or Active Directory (the double hop).
    DOCUMENTATION = r"""
options: {}
notes:
  - This module runs cmdlets that reach other nodes or Active Directory from the host, a second
    hop that a plain WinRM, PSRP or SSH logon cannot make (Microsoft documents them as not runnable
    remotely without CredSSP). Use C(become=true) with C(become_method=runas) and a domain account
    as C(become_user), or connect with CredSSP or Kerberos delegation. Without any of them the module
    fails before it contacts the host, and says so.
  - The account needs to be a local administrator of every node. Creating a cluster also needs the
    right to create computer objects (and read all properties) in the organizational unit of the
    nodes' computer accounts, or a prestaged, disabled cluster name object that grants it full
    control.
seealso:
  - name: Understanding the double hop
    description: How credentials reach a second hop from a remote PowerShell session.
    link: https://learn.microsoft.com/powershell/scripting/learn/remoting/ps-remoting-second-hop
  - name: Become on Windows
    description: Ansible's runas become method.
    link: https://docs.ansible.com/ansible/latest/os_guide/windows_usage.html#become
"""
