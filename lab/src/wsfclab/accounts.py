"""Who can log on to a node: the domain's accounts and the node's local accounts.

Windows resolves an account name in two steps, and the lab follows both: the name is translated to
an account (``NTAccount.Translate``; an unknown one fails with "Some or all identity references
could not be translated."), then LogonUser checks the password (a wrong one fails with Win32 error
1326). ``DOMAIN\\user`` names the domain (NetBIOS or DNS name) or the node itself, ``.\\user`` the
node, ``user@dns.domain`` the domain; a bare ``user`` is looked up on the node first, then in the
domain the node has joined. The well-known service accounts (SYSTEM, LocalService, NetworkService)
always exist and have no password.

Passwords are kept salted and hashed (``state.Account``); they never appear in a log or a result.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from wsfclab.state import Account, LabState, NodeState

_ITERATIONS = 10_000
NOT_TRANSLATED = "Some or all identity references could not be translated."
LOGON_FAILURE = 1326  # ERROR_LOGON_FAILURE
LOGON_FAILURE_TEXT = "The user name or password is incorrect"
WELL_KNOWN = {
    "system": "NT AUTHORITY\\SYSTEM",
    "localsystem": "NT AUTHORITY\\SYSTEM",
    "localservice": "NT AUTHORITY\\LOCAL SERVICE",
    "local service": "NT AUTHORITY\\LOCAL SERVICE",
    "networkservice": "NT AUTHORITY\\NETWORK SERVICE",
    "network service": "NT AUTHORITY\\NETWORK SERVICE",
}


def new_account(name: str, password: str) -> Account:
    salt = secrets.token_bytes(16)
    return Account(name, salt.hex(), _digest(salt, password))


def _digest(salt: bytes, password: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, _ITERATIONS).hex()


@dataclass(frozen=True)
class Resolved:
    """An account found by name: how Windows writes it (``PBXLAB\\deploy``), and the entry itself
    (None for a well-known service account, which has no password)."""

    name: str
    account: Account | None


def translate(state: LabState, node: NodeState, name: str) -> Resolved | None:
    """The account ``name`` denotes on ``node``, or None when Windows could not translate it."""
    text = name.strip()
    well_known = WELL_KNOWN.get(text.lower().removeprefix("nt authority\\"))
    if well_known is not None:
        return Resolved(well_known, None)
    domain = state.domain if node.part_of_domain else None
    if "@" in text:
        user, _, suffix = text.rpartition("@")
        if domain is not None and suffix.lower() == domain.domain_name:
            return _find(domain.accounts, user, domain.netbios_name)
        return None
    if "\\" in text:
        prefix, _, user = text.partition("\\")
        if prefix in (".", "") or prefix.lower() == node.name.lower():
            return _find(node.local_accounts, user, node.name)
        if domain is not None and prefix.lower() in (domain.netbios_name.lower(), domain.domain_name):
            return _find(domain.accounts, user, domain.netbios_name)
        return None
    local = _find(node.local_accounts, text, node.name)
    if local is not None or domain is None:
        return local
    return _find(domain.accounts, text, domain.netbios_name)


def _find(accounts: list[Account], user: str, authority: str) -> Resolved | None:
    for account in accounts:
        if account.name.lower() == user.lower():
            return Resolved(f"{authority}\\{account.name}", account)
    return None


def password_matches(account: Account, password: str) -> bool:
    return hmac.compare_digest(_digest(bytes.fromhex(account.salt), password), account.digest)
