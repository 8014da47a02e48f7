"""Extensions as the operator manages them: validation, digest hashes, and change planning.

Pure functions: the CLI validates input and plans with these before it touches the database,
so a bad value is refused before anything changes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Literal

from pbxd.store.base import Extension

# Extension numbers are the user part of SIP URIs and what the dial plan matches: keep them to
# characters that need no escaping in a URI.
_NUMBER = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}\Z")  # \Z: "$" allows a final newline
NUMBER_EXPECTED = "1-64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit"
_MAX_DISPLAY_NAME = 64
_MAX_PASSWORD = 256

Outcome = Literal["added", "updated", "unchanged"]


class InvalidValueError(ValueError):
    """A value the operator gave is not acceptable; the message names field, value and rule."""


@dataclass(frozen=True, slots=True)
class PlannedChange:
    number: str
    outcome: Outcome
    desired: Extension
    # True when the extension exists with other settings and the caller did not allow updates.
    conflict: bool = False


def validate_number(number: str) -> str:
    if not _NUMBER.match(number):
        raise InvalidValueError(f'number: "{number}" is not an extension number ({NUMBER_EXPECTED})')
    return number


def validate_display_name(name: str) -> str:
    if len(name) > _MAX_DISPLAY_NAME:
        raise InvalidValueError(f'display name: "{name}" is longer than {_MAX_DISPLAY_NAME} characters')
    # The name goes into quoted From/To display names: quotes, backslashes and control
    # characters would need escaping that not every phone undoes.
    if any(ch in name for ch in '"\\') or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidValueError(
            f'display name: "{name}" contains a quote, a backslash or a control character; '
            "expected plain text"
        )
    return name


def validate_password(password: str) -> str:
    """Check a password without ever echoing it in the message."""
    if not password:
        raise InvalidValueError("password: empty; expected at least one character")
    if len(password) > _MAX_PASSWORD:
        raise InvalidValueError(f"password: longer than {_MAX_PASSWORD} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        raise InvalidValueError("password: contains a control character (a stray newline?); expected text")
    return password


def digest_ha1(number: str, realm: str, password: str) -> tuple[str, str]:
    """HA1 = H(username:realm:password) for MD5 (RFC 2617) and SHA-256 (RFC 7616, RFC 8760)."""
    secret = f"{number}:{realm}:{password}".encode()
    return hashlib.md5(secret, usedforsecurity=False).hexdigest(), hashlib.sha256(secret).hexdigest()


def make_extension(
    number: str, display_name: str, realm: str, password: str, enabled: bool = True
) -> Extension:
    validate_number(number)
    validate_display_name(display_name)
    validate_password(password)
    md5, sha256 = digest_ha1(number, realm, password)
    return Extension(number, display_name, realm, md5, sha256, enabled)


# Hex digits of each digest hash: MD5 is 128 bits, SHA-256 256 bits.
HA1_LENGTHS = {"ha1_md5": 32, "ha1_sha256": 64}
_HEX = frozenset("0123456789abcdef")


def validate_ha1(field: str, value: str) -> str:
    """A digest HA1 as lowercase hex of the right length; the value is never echoed (an HA1
    is as good as the password for registering as the extension)."""
    length = HA1_LENGTHS[field]
    algorithm = "MD5" if field == "ha1_md5" else "SHA-256"
    text = value.strip().lower()
    if len(text) != length or not set(text) <= _HEX:
        raise InvalidValueError(
            f"{field}: not a hash of {length} hexadecimal digits (found {len(text)} characters); "
            f"expected the hex of {algorithm}(number:realm:password)"
        )
    return text


def extension_from_hashes(
    number: str,
    display_name: str,
    *,
    realm: str,
    configured_realm: str,
    ha1_md5: str,
    ha1_sha256: str,
    enabled: bool = True,
) -> Extension:
    """An extension from digest hashes computed elsewhere (so the password never reaches this
    machine). ``realm`` is the realm they were computed with: it must be the PBX's."""
    validate_number(number)
    validate_display_name(display_name)
    if realm != configured_realm:
        raise InvalidValueError(
            f'realm: "{realm}" is not the configured realm "{configured_realm}" (sip.realm); '
            "hashes for another realm never authenticate: compute them with the configured realm"
        )
    md5 = validate_ha1("ha1_md5", ha1_md5)
    sha256 = validate_ha1("ha1_sha256", ha1_sha256)
    return Extension(number, display_name, realm, md5, sha256, enabled)


def with_password(existing: Extension, realm: str, password: str) -> Extension:
    validate_password(password)
    md5, sha256 = digest_ha1(existing.number, realm, password)
    return replace(existing, realm=realm, ha1_md5=md5, ha1_sha256=sha256)


def plan_change(existing: Extension | None, desired: Extension, *, update: bool) -> PlannedChange:
    """Decide what writing ``desired`` does: nothing when the stored extension already has the
    same settings (the same password under the same realm gives the same hashes)."""
    if existing is None:
        return PlannedChange(desired.number, "added", desired)
    if existing == desired:
        return PlannedChange(desired.number, "unchanged", desired)
    return PlannedChange(desired.number, "updated", desired, conflict=not update)
