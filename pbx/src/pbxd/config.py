"""The PBX configuration: what a TOML file says, as typed, validated dataclasses.

Loading and validation (``load_config``) turn a TOML document into a ``PbxConfig``; every
error names the key, the value found and what is expected.
"""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pbxd.sip.digest import SUPPORTED_ALGORITHMS
from pbxd.store import DEFAULT_SYNCHRONOUS, SYNCHRONOUS_MODES
from pbxd.store.url import DatabaseUrlError, SqliteUrl, is_windows_absolute, parse_database_url, redact_url

Transport = Literal["udp", "tcp"]


@dataclass(frozen=True, slots=True)
class Listen:
    """One socket to listen on, written "udp:127.0.0.1:5060" in the file."""

    transport: Transport
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport}:{self.host}:{self.port}"


MAX_WORKERS = 64


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
    # Digest algorithms offered in challenges, in order. MD5 alone by default: some phones
    # (baresip 1.0) give up when any challenge is SHA-256. Answers in either are verified.
    digest_algorithms: tuple[str, ...] = ("MD5",)
    # SIP worker processes (``pbxd.workers``): 1 runs everything in one process, as always;
    # more use more cores, each worker taking the calls whose Call-ID falls to it.
    workers: int = 1

    @property
    def listen_text(self) -> str:
        """The listen addresses as the file writes them, for log lines and messages."""
        return ", ".join(str(x) for x in self.listen)


@dataclass(frozen=True, slots=True)
class Trunk:
    """A peer PBX. Calls to numbers matching ``numbers`` cross to it; calls from
    ``trusted_sources`` (IP addresses) must authenticate with digest as ``username``, or, only
    with ``trust_source_address`` (an explicit opt-in: anyone able to send from those addresses
    can then call), are accepted by their source address alone."""

    name: str
    host: str
    port: int
    transport: Transport
    numbers: tuple[str, ...]  # regular expressions matched against the whole dialled number
    trusted_sources: tuple[str, ...]
    username: str | None = None
    password: str | None = None
    keepalive_interval: int = 30
    trust_source_address: bool = False


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
    or "postgresql://user@host:port/db". ``synchronous`` is SQLite's PRAGMA synchronous:
    FULL (the default) syncs every commit, so a registration answered 200 survives a power
    loss; NORMAL may lose the last commits then (never the file's integrity); EXTRA also syncs
    the folder."""

    url: str
    synchronous: str = "FULL"


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


# -- loading -------------------------------------------------------------------------------


class ConfigError(ValueError):
    """The file is not a valid configuration. ``problems`` lists every one found, each
    naming the key, the value found and what is expected."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# \Z, not $: "$" also matches before a final newline, which would then reach SIP headers.
_TRUNK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}\Z")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
# Keys whose values are never repeated in messages.
_SECRET_KEYS = frozenset({"password"})


def load_config(path: str | Path) -> PbxConfig:
    """Read and validate a TOML configuration file.

    Relative file paths in it (``log.file``, a relative ``sqlite:///`` path) are taken
    relative to the file's folder: a Windows service starts in System32, not beside its files.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(source), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(source), [f"not valid TOML: {exc}"]) from exc
    return parse_config(document, base_dir=source.resolve().parent, source=str(source))


def parse_config(document: dict[str, Any], *, base_dir: Path, source: str = "<config>") -> PbxConfig:
    """Validate a parsed TOML document; every problem is collected before raising."""
    reader = _Reader()
    config = reader.config(document, base_dir)
    if reader.problems or config is None:
        raise ConfigError(source, reader.problems)
    return config


def _show(key: str, value: object) -> str:
    """A value as it appears in messages: TOML-like, and hidden for secrets."""
    if key.rsplit(".", 1)[-1] in _SECRET_KEYS:
        return "(hidden)"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return str(value)


def resolve_path(value: str, base_dir: Path) -> str:
    """``value`` relative to ``base_dir`` unless it is absolute here or on Windows."""
    if is_windows_absolute(value) or Path(value).is_absolute():
        return value
    return str(base_dir / value)


class _Reader:
    """Walks the document, converting values and collecting problems instead of stopping at
    the first, so that the operator fixes the file in one pass."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, key: str, value: object, expected: str) -> None:
        self.problems.append(f"{key}: {_show(key, value)} is not {expected}")

    # -- generic values -------------------------------------------------------------------

    def table(self, where: str, value: object, allowed: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(where, value, "a table")
            return None
        for key in value:
            if key not in allowed:
                self.problems.append(
                    f"{where + '.' if where else ''}{key}: unknown key; expected one of: {', '.join(allowed)}"
                )
        return value

    def required(self, where: str, table: dict[str, Any], key: str) -> object:
        if key not in table:
            self.problems.append(f"{where}.{key}: missing; it is required")
            return None
        return table[key]

    def required_string(self, where: str, table: dict[str, Any], key: str) -> str | None:
        if key not in table:
            self.required(where, table, key)
            return None
        return self.string(f"{where}.{key}", table[key])

    def string(self, key: str, value: object, *, nonempty: bool = True) -> str | None:
        if not isinstance(value, str) or (nonempty and not value.strip()):
            self.problem(key, value, "a non-empty string" if nonempty else "a string")
            return None
        return value

    def integer(self, key: str, value: object, low: int, high: int) -> int | None:
        # TOML booleans are Python ints; refuse them explicitly.
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(key, value, f"an integer from {low} to {high}")
            return None
        return value

    def strings(self, key: str, value: object) -> list[str] | None:
        if not isinstance(value, list):
            self.problem(key, value, "an array of strings")
            return None
        result = [self.string(f"{key}[{i}]", item) for i, item in enumerate(value)]
        return None if any(item is None for item in result) else [item for item in result if item]

    def regex(self, key: str, value: object) -> str | None:
        text = self.string(key, value)
        if text is None:
            return None
        try:
            re.compile(text)
        except re.error as exc:
            self.problem(key, value, f"a regular expression ({exc})")
            return None
        return text

    # -- sections -------------------------------------------------------------------------

    def config(self, document: dict[str, Any], base_dir: Path) -> PbxConfig | None:
        self.table("", document, ("sip", "database", "log", "trunks", "dialplan"))
        for section in ("sip", "database"):
            if section not in document:
                self.problems.append(f"[{section}]: missing; the section is required")
        sip = self.sip(document["sip"]) if "sip" in document else None
        database = self.database(document["database"], base_dir) if "database" in document else None
        log = self.log(document.get("log", {}), base_dir)
        trunks = self.trunks(document.get("trunks", []))
        trunk_names = {t.name for t in trunks or ()}
        dialplan = self.dialplan(document.get("dialplan", []), trunk_names)
        if sip is None or database is None or log is None or trunks is None or dialplan is None:
            return None
        return PbxConfig(sip=sip, database=database, log=log, trunks=trunks, dialplan=dialplan)

    def listen(self, key: str, value: object) -> Listen | None:
        expected = '"transport:host:port" (transport udp or tcp, e.g. "udp:127.0.0.1:5060")'
        if not isinstance(value, str):
            self.problem(key, value, expected)
            return None
        transport, _, rest = value.partition(":")
        host, _, port_text = rest.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")  # IPv6 literals are written [::1]
        if transport not in ("udp", "tcp") or not host or not port_text.isdigit():
            self.problem(key, value, expected)
            return None
        if not _valid_host(host):
            self.problem(key, value, "a valid address: the host must be an IP address or a host name")
            return None
        port = int(port_text)
        if not 1 <= port <= 65535:
            self.problem(key, value, "a valid address: the port must be from 1 to 65535")
            return None
        return Listen(transport, host, port)  # type: ignore[arg-type]

    def sip(self, value: object) -> SipSettings | None:
        defaults = SipSettings(listen=(), realm="", domain="")
        integers = (
            "min_expires",
            "max_expires",
            "default_expires",
            "nonce_ttl",
            "ring_timeout",
            "auth_failures_per_minute",
        )
        table = self.table(
            "sip", value, ("listen", "realm", "domain", "digest_algorithms", "workers", *integers)
        )
        if table is None:
            return None
        listen_value = self.required("sip", table, "listen")
        listen: list[Listen | None] = []
        if listen_value is not None:
            if not isinstance(listen_value, list) or not listen_value:
                self.problem("sip.listen", listen_value, 'a non-empty array like ["udp:0.0.0.0:5060"]')
            else:
                listen = [self.listen(f"sip.listen[{i}]", item) for i, item in enumerate(listen_value)]
        realm = self.required_string("sip", table, "realm")
        if realm is not None and any(ch in '"\\' or ord(ch) < 32 or ord(ch) == 127 for ch in realm):
            self.problem(
                "sip.realm",
                realm,
                "a realm without quotes, backslashes or control characters (it is quoted in headers)",
            )
            realm = None
        domain = self.required_string("sip", table, "domain")
        if domain is not None and not _valid_host(domain.removeprefix("[").removesuffix("]")):
            self.problem("sip.domain", domain, "an IP address or a host name")
            domain = None
        algorithms = self.digest_algorithms(table.get("digest_algorithms", list(defaults.digest_algorithms)))
        numbers: dict[str, int | None] = {}
        for key in integers:
            numbers[key] = (
                self.integer(f"sip.{key}", table[key], 1, 86_400 * 7)
                if key in table
                else getattr(defaults, key)
            )
        workers = self.integer("sip.workers", table["workers"], 1, MAX_WORKERS) if "workers" in table else 1
        if (
            None in numbers.values()
            or workers is None
            or realm is None
            or domain is None
            or algorithms is None
            or not listen
            or None in listen
        ):
            return None
        ints = {k: v for k, v in numbers.items() if v is not None}
        if not ints["min_expires"] <= ints["default_expires"] <= ints["max_expires"]:
            self.problems.append(
                f"sip.default_expires: {ints['default_expires']} is not between sip.min_expires "
                f"({ints['min_expires']}) and sip.max_expires ({ints['max_expires']})"
            )
            return None
        return SipSettings(
            listen=tuple(x for x in listen if x),
            realm=realm,
            domain=domain,
            digest_algorithms=algorithms,
            workers=workers,
            **ints,
        )

    def digest_algorithms(self, value: object) -> tuple[str, ...] | None:
        expected = f'a non-empty array of distinct names from {list(SUPPORTED_ALGORITHMS)}, e.g. ["MD5"]'
        if (
            not isinstance(value, list)
            or not value
            or any(item not in SUPPORTED_ALGORITHMS for item in value)
            or len(set(value)) != len(value)
        ):
            self.problem("sip.digest_algorithms", value, expected)
            return None
        return tuple(value)

    def database(self, value: object, base_dir: Path) -> DatabaseSettings | None:
        table = self.table("database", value, ("url", "synchronous"))
        if table is None:
            return None
        url = self.required_string("database", table, "url")
        synchronous = table.get("synchronous", DEFAULT_SYNCHRONOUS)
        if not isinstance(synchronous, str) or synchronous.upper() not in SYNCHRONOUS_MODES:
            self.problem("database.synchronous", synchronous, f"one of {', '.join(SYNCHRONOUS_MODES)}")
            return None
        if url is None:
            return None
        try:
            target = parse_database_url(url)
        except DatabaseUrlError:
            self.problem(
                "database.url", redact_url(url), '"sqlite:///<path>" or "postgresql://user@host:port/db"'
            )
            return None
        if isinstance(target, SqliteUrl):
            url = "sqlite:///" + resolve_path(target.path, base_dir)
        elif "synchronous" in table:
            self.problems.append(
                "database.synchronous: applies to SQLite only; a PostgreSQL server's durability is its "
                "own setting (synchronous_commit)"
            )
            return None
        return DatabaseSettings(url, synchronous.upper())

    def log(self, value: object, base_dir: Path) -> LogSettings | None:
        table = self.table("log", value, ("level", "file"))
        if table is None:
            return None
        level = table.get("level", LogSettings().level)
        if not isinstance(level, str) or level.upper() not in _LOG_LEVELS:
            self.problem("log.level", level, f"one of {', '.join(_LOG_LEVELS)}")
            return None
        file: Path | None = None
        if "file" in table:
            text = self.string("log.file", table["file"])
            if text is None:
                return None
            file = Path(resolve_path(text, base_dir))
        return LogSettings(level=level.upper(), file=file)

    def trunks(self, value: object) -> tuple[Trunk, ...] | None:
        if not isinstance(value, list):
            self.problem("trunks", value, "an array of tables ([[trunks]])")
            return None
        trunks = [self.trunk(f"trunks[{i}]", item) for i, item in enumerate(value)]
        # Duplicates are looked for among all names written, valid trunks or not.
        names = [
            item["name"] for item in value if isinstance(item, dict) and isinstance(item.get("name"), str)
        ]
        for name in sorted({n for n in names if names.count(n) > 1}):
            self.problems.append(
                f"trunks: the name {json.dumps(name)} is used more than once; names must be unique"
            )
        if None in trunks or len(set(names)) != len(names):
            return None
        return tuple(t for t in trunks if t)

    def trunk(self, where: str, value: object) -> Trunk | None:
        keys = (
            "name",
            "host",
            "port",
            "transport",
            "numbers",
            "trusted_sources",
            "username",
            "password",
            "keepalive_interval",
            "trust_source_address",
        )
        table = self.table(where, value, keys)
        if table is None:
            return None
        for key in ("port", "numbers"):
            self.required(where, table, key)
        name = self.required_string(where, table, "name")
        if name is not None and not _TRUNK_NAME.match(name):
            self.problem(f"{where}.name", name, "a name of 1-32 letters, digits, '.', '_' or '-'")
            name = None
        host = self.required_string(where, table, "host")
        if host is not None and not _valid_host(host):
            self.problem(f"{where}.host", host, "an IP address or a host name")
            host = None
        port = self.integer(f"{where}.port", table["port"], 1, 65535) if "port" in table else None
        transport = table.get("transport", "udp")
        if transport not in ("udp", "tcp"):
            self.problem(f"{where}.transport", transport, '"udp" or "tcp"')
            transport = None
        numbers_value = table.get("numbers")
        numbers = None
        if "numbers" in table:
            if not isinstance(numbers_value, list) or not numbers_value:
                self.problem(f"{where}.numbers", numbers_value, "a non-empty array of regular expressions")
            else:
                patterns = [self.regex(f"{where}.numbers[{i}]", p) for i, p in enumerate(numbers_value)]
                numbers = None if None in patterns else tuple(p for p in patterns if p)
        sources = self.strings(f"{where}.trusted_sources", table.get("trusted_sources", []))
        for i, source in enumerate(sources or []):
            if not _is_ip(source):
                self.problem(f"{where}.trusted_sources[{i}]", source, "an IP address")
                sources = None
        username = self.string(f"{where}.username", table["username"]) if "username" in table else None
        password = self.string(f"{where}.password", table["password"]) if "password" in table else None
        if ("username" in table) != ("password" in table):
            self.problems.append(f"{where}: username and password go together; give both or neither")
            return None
        keepalive = self.integer(f"{where}.keepalive_interval", table.get("keepalive_interval", 30), 0, 3600)
        trust = table.get("trust_source_address", False)
        if not isinstance(trust, bool):
            self.problem(f"{where}.trust_source_address", trust, "true or false")
            return None
        if sources and "username" not in table and not trust:
            self.problems.append(
                f"{where}: trusted_sources without username and password would accept calls from "
                "those addresses unauthenticated (toll fraud for anyone who can send from them); "
                "set username and password for digest, or trust_source_address = true to accept "
                "that on purpose"
            )
            return None
        if None in (name, host, port, transport, numbers, sources, keepalive) or (
            "username" in table and (username is None or password is None)
        ):
            return None
        assert (
            name and host and port and numbers is not None and sources is not None and keepalive is not None
        )
        return Trunk(
            name=name,
            host=host,
            port=port,
            transport=transport,
            numbers=numbers,
            trusted_sources=tuple(sources),
            username=username,
            password=password,
            keepalive_interval=keepalive,
            trust_source_address=trust,
        )

    def dialplan(self, value: object, trunk_names: set[str]) -> tuple[DialRule, ...] | None:
        if not isinstance(value, list):
            self.problem("dialplan", value, "an array of tables ([[dialplan]])")
            return None
        rules = [self.rule(f"dialplan[{i}]", item, trunk_names) for i, item in enumerate(value)]
        return None if None in rules else tuple(r for r in rules if r)

    def rule(self, where: str, value: object, trunk_names: set[str]) -> DialRule | None:
        table = self.table(where, value, ("pattern", "action", "strip", "prefix"))
        if table is None:
            return None
        pattern = self.regex(f"{where}.pattern", table["pattern"]) if "pattern" in table else None
        self.required(where, table, "pattern")
        action = self.required_string(where, table, "action")
        if action is not None:
            kind, _, argument = action.partition(":")
            valid = (
                (kind == "local" and not argument)
                or (kind == "trunk" and argument in trunk_names)
                or (kind == "reject" and argument.isdigit() and 400 <= int(argument) <= 699)
            )
            if not valid:
                known = ", ".join(sorted(trunk_names)) or "none configured"
                self.problem(
                    f"{where}.action",
                    action,
                    f'"local", "trunk:<name>" (trunks: {known}) or "reject:<SIP status 400-699>"',
                )
                action = None
        strip = self.integer(f"{where}.strip", table.get("strip", 0), 0, 64)
        prefix = self.string(f"{where}.prefix", table.get("prefix", ""), nonempty=False)
        if pattern is None or action is None or strip is None or prefix is None:
            return None
        return DialRule(pattern=pattern, action=action, strip=strip, prefix=prefix)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _valid_host(host: str) -> bool:
    return _is_ip(host) or bool(_HOSTNAME.match(host))
