"""The PBX configuration: what a TOML file says, as typed, validated dataclasses.

Loading and validation (``load_config``) turn a TOML document into a ``PbxConfig``; every
error names the key, the value found and what is expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Transport = Literal["udp", "tcp"]


@dataclass(frozen=True, slots=True)
class Listen:
    """One socket to listen on, written "udp:127.0.0.1:5060" in the file."""

    transport: Transport
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class SipSettings:
    listen: tuple[Listen, ...]
    realm: str
    # The host part the PBX answers to in Request-URIs (besides its listen addresses).
    domain: str
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    nonce_ttl: int = 300
    # Seconds an INVITE may ring before the PBX gives up (408 to the caller, "no_answer").
    ring_timeout: int = 60
    # Authentication failures from one source address allowed per minute before it is throttled.
    auth_failures_per_minute: int = 20


@dataclass(frozen=True, slots=True)
class Trunk:
    """A peer PBX. Calls to numbers matching ``numbers`` cross to it; calls from
    ``trusted_sources`` (IP addresses) are accepted without digest unless ``username`` is set,
    in which case the peer must authenticate as that user."""

    name: str
    host: str
    port: int
    transport: Transport
    numbers: tuple[str, ...]  # regular expressions matched against the whole dialled number
    trusted_sources: tuple[str, ...]
    username: str | None = None
    password: str | None = None
    keepalive_interval: int = 30


@dataclass(frozen=True, slots=True)
class DialRule:
    """A dial plan entry, tried in order: the first whose ``pattern`` (a regular expression)
    matches the whole dialled number decides. ``action`` is "local", "trunk:<name>" or
    "reject:<SIP status code>". ``strip`` digits are removed from the front and ``prefix``
    is prepended before routing."""

    pattern: str
    action: str
    strip: int = 0
    prefix: str = ""


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """``url`` is "sqlite:///<path>" (a file path, may be a Windows path on the cluster disk)
    or "postgresql://user@host:port/db"."""

    url: str


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: str = "INFO"
    file: Path | None = None


@dataclass(frozen=True, slots=True)
class PbxConfig:
    sip: SipSettings
    database: DatabaseSettings
    log: LogSettings = field(default_factory=LogSettings)
    trunks: tuple[Trunk, ...] = ()
    dialplan: tuple[DialRule, ...] = ()
