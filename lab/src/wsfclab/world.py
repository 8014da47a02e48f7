"""The lab world: a YAML description of the Windows machines, shared storage and directory.

``load_world(path)`` reads and validates a world file and returns a ``World``. Every problem is
reported with the key path (``nodes[1].nics[0].addresses[0]``), the value found and what is
expected, before anything is built. The format is documented in ``lab/README.md``; the examples
are in ``lab/examples/``.

Addresses must be on 127.0.0.0/8: the lab's processes really listen on them, and traffic never
leaves the machine.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wsfclab.catalog import BASELINE_FEATURES, FEATURES, lookup_feature
from wsfclab.errors import WorldError

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,14}$")
# A user logon name (sAMAccountName): 1-20 characters, none of " / \ [ ] : ; | = , + * ? < > @
_ACCOUNT_NAME = re.compile(r'^[^"/\\\[\]:;|=,+*?<>@]{1,20}$')
# The password of every account the world does not list explicitly (documented in the lab guide).
DEFAULT_PASSWORD = "Deploy-Pass-1"  # noqa: S105 - the simulated accounts' documented default
SERVICES_PIPE_TIMEOUT_MS = 30000  # HKLM\SYSTEM\CurrentControlSet\Control\ServicesPipeTimeout
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([-:][0-9A-Fa-f]{2}){5}$")
_IQN = re.compile(r"^iqn\.\d{4}-\d{2}\.[a-z0-9.-]+(:.+)?$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}

# What Windows Server 2022 Datacenter reports; a world overrides any of it per node.
DEFAULT_OS = {
    "caption": "Microsoft Windows Server 2022 Datacenter",
    "version": "10.0.20348",
    "build_number": "20348",
    "edition": "ServerDatacenter",
    "sku": 8,
    "architecture": "64-bit",
    "product_type": 3,
}


@dataclass(frozen=True)
class OsSpec:
    caption: str
    version: str
    build_number: str
    edition: str
    sku: int
    architecture: str
    product_type: int


@dataclass(frozen=True)
class NicSpec:
    name: str
    description: str
    mac: str  # normalised to Windows' "00-15-5D-01-02-03"
    addresses: tuple[tuple[str, int], ...]
    gateway: str | None
    dns_servers: tuple[str, ...]
    status: str  # "Up" | "Disconnected"


@dataclass(frozen=True)
class LocalDiskSpec:
    size: int
    friendly_name: str


@dataclass(frozen=True)
class AccountSpec:
    name: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class NodeSpec:
    name: str
    os: OsSpec
    domain_member: bool
    workgroup: str
    memory_mb: int
    cpu_name: str
    cpu_cores: int
    logical_processors: int
    manufacturer: str
    model: str
    nics: tuple[NicSpec, ...]
    local_disks: tuple[LocalDiskSpec, ...]  # the first one is the system disk (C:)
    features: tuple[str, ...]
    local_accounts: tuple[AccountSpec, ...]
    services_pipe_timeout_ms: int


@dataclass(frozen=True)
class LunSpec:
    name: str
    size: int


@dataclass(frozen=True)
class IscsiTargetSpec:
    name: str
    iqn: str
    portal_address: str
    portal_port: int
    initiators: tuple[str, ...]  # the nodes the target lets in (LUN masking)
    luns: tuple[LunSpec, ...]


@dataclass(frozen=True)
class SasDiskSpec:
    name: str
    size: int
    nodes: tuple[str, ...]
    friendly_name: str


@dataclass(frozen=True)
class DirectorySpec:
    domain_name: str
    netbios_name: str
    computer_ou: str
    deploying_account: str
    may_create_computer_objects: bool
    accounts: tuple[AccountSpec, ...]


@dataclass(frozen=True)
class World:
    name: str
    nodes: tuple[NodeSpec, ...]
    iscsi_targets: tuple[IscsiTargetSpec, ...]
    sas_disks: tuple[SasDiskSpec, ...]
    directory: DirectorySpec | None
    digest: str = field(default="")  # sha256 of the file text: tells a changed world from the same one


def load_world(path: Path) -> World:
    """Read and validate a world file; raises WorldError naming the key, the value and what is expected."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorldError(
            f"cannot read the world file {path}: {exc.strerror}; give an existing YAML file"
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorldError(f"world file {path} is not valid YAML: {exc}") from exc
    try:
        world = parse_world(data)
    except WorldError as exc:
        raise WorldError(f"world file {path}: {exc}") from exc
    return World(
        name=world.name,
        nodes=world.nodes,
        iscsi_targets=world.iscsi_targets,
        sas_disks=world.sas_disks,
        directory=world.directory,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


class _Reader:
    """Typed access to one mapping of the YAML document, with the key path for error messages."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise WorldError(f"{path or 'the document'}: expected a mapping, got {_show(data)}")
        self.data: Mapping[str, Any] = data
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def check_keys(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise WorldError(
                    f"{self.at(str(key))}: unknown key; expected one of {', '.join(sorted(allowed))}"
                )

    def get(self, key: str, kind: type, default: Any = None, *, required: bool = False) -> Any:
        if key not in self.data or self.data[key] is None:
            if required:
                raise WorldError(f"{self.at(key)}: missing; expected a {kind.__name__}")
            return default
        value = self.data[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            raise WorldError(f"{self.at(key)}: {_show(value)} is not a {kind.__name__}")
        return value

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.get(key, str, default, required=required)
        if value is not None and not value.strip():
            raise WorldError(f"{self.at(key)}: empty string; expected a non-empty string")
        return value

    def items(self, key: str, *, required: bool = False) -> list[tuple[str, Any]]:
        values = self.get(key, list, [], required=required)
        return [(f"{self.at(key)}[{i}]", v) for i, v in enumerate(values)]


def _show(value: object) -> str:
    return repr(value) if not isinstance(value, Mapping | list) else type(value).__name__


def parse_size(value: object, path: str) -> int:
    """'20GB', '512 MB' or a byte count -> bytes (binary units, as Windows reports sizes)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None:
        raise WorldError(f"{path}: {_show(value)} is not a size; expected e.g. 20GB, 512MB or a byte count")
    size = int(float(match.group(1)) * _UNITS[(match.group(2) or "B").upper()])
    if size <= 0:
        raise WorldError(f"{path}: {_show(value)} is not a positive size")
    return size


def _loopback(value: object, path: str) -> str:
    try:
        address = ipaddress.ip_address(value) if isinstance(value, str) else None
    except ValueError:
        address = None
    if address is None:
        raise WorldError(f"{path}: {_show(value)} is not an IPv4 address; expected e.g. 127.0.1.11")
    if address not in LOOPBACK:
        raise WorldError(
            f"{path}: {value} is not on 127.0.0.0/8; the lab only uses loopback addresses (127.x.y.z), "
            "so that nothing it runs reaches a real network"
        )
    return str(address)


def parse_world(data: object) -> World:
    root = _Reader(data, "")
    root.check_keys({"name", "nodes", "shared_storage", "active_directory"})
    name = root.text("name", "lab")
    directory = _parse_directory(root.data.get("active_directory"), root.at("active_directory"))
    nodes = tuple(_parse_node(v, p, directory) for p, v in root.items("nodes", required=True))
    if not nodes:
        raise WorldError("nodes: empty list; expected at least one node")
    _check_unique([(f"nodes[{i}].name", n.name) for i, n in enumerate(nodes)], "node name")
    _check_unique(
        [(f"nodes[{i}].nics[{j}].mac", nic.mac) for i, n in enumerate(nodes) for j, nic in enumerate(n.nics)],
        "MAC address",
    )
    _check_unique(
        [
            (f"nodes[{i}].nics[{j}].addresses[{k}]", ip)
            for i, n in enumerate(nodes)
            for j, nic in enumerate(n.nics)
            for k, (ip, _prefix) in enumerate(nic.addresses)
        ],
        "IP address",
    )
    node_names = {n.name for n in nodes}
    targets: tuple[IscsiTargetSpec, ...] = ()
    sas: tuple[SasDiskSpec, ...] = ()
    if root.data.get("shared_storage") is not None:
        storage = _Reader(root.data["shared_storage"], "shared_storage")
        storage.check_keys({"iscsi_targets", "sas_disks"})
        targets = tuple(_parse_target(v, p, node_names) for p, v in storage.items("iscsi_targets"))
        sas = tuple(_parse_sas(v, p, node_names) for p, v in storage.items("sas_disks"))
        _check_unique(
            [(f"shared_storage.iscsi_targets[{i}].iqn", t.iqn.lower()) for i, t in enumerate(targets)], "IQN"
        )
        _check_unique(
            [(f"shared_storage.iscsi_targets[{i}].name", t.name.lower()) for i, t in enumerate(targets)]
            + [(f"shared_storage.sas_disks[{i}].name", d.name.lower()) for i, d in enumerate(sas)],
            "shared storage name",
        )
    return World(name=name, nodes=nodes, iscsi_targets=targets, sas_disks=sas, directory=directory)


def _check_unique(entries: list[tuple[str, str]], what: str) -> None:
    seen: dict[str, str] = {}
    for path, value in entries:
        if value in seen:
            raise WorldError(
                f"{path}: {what} {value!r} is already used at {seen[value]}; each must be unique"
            )
        seen[value] = path


def _parse_directory(data: object, path: str) -> DirectorySpec | None:
    if data is None:
        return None
    r = _Reader(data, path)
    r.check_keys(
        {"domain", "netbios_name", "computer_ou", "deploying_account", "may_create_computer_objects"}
        | {"accounts"}
    )
    domain = r.text("domain", required=True).lower()
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
        raise WorldError(f"{r.at('domain')}: {domain!r} is not a DNS domain name; expected e.g. lab.example")
    netbios = r.text("netbios_name", domain.split(".")[0].upper()[:15]).upper()
    if not re.fullmatch(r"[A-Z0-9-]{1,15}", netbios):
        raise WorldError(
            f"{r.at('netbios_name')}: {netbios!r} is not a NetBIOS name; expected 1-15 letters/digits"
        )
    default_ou = "CN=Computers," + ",".join(f"DC={p}" for p in domain.split("."))
    deploying = r.text("deploying_account", f"{netbios}\\Administrator")
    prefix, _, deploying_user = deploying.rpartition("\\")
    if prefix.upper() != netbios or not _ACCOUNT_NAME.match(deploying_user):
        raise WorldError(
            f"{r.at('deploying_account')}: {deploying!r}; expected {netbios}\\<account> (a domain account)"
        )
    defaults = {"Administrator", deploying_user}
    accounts = _parse_accounts(r, "accounts", defaults)
    if deploying_user.lower() not in {a.name.lower() for a in accounts}:
        raise WorldError(
            f"{r.at('accounts')}: the deploying account {deploying_user!r} is not among them; add it"
        )
    return DirectorySpec(
        domain_name=domain,
        netbios_name=netbios,
        computer_ou=r.text("computer_ou", default_ou),
        deploying_account=f"{netbios}\\{deploying_user}",
        may_create_computer_objects=r.get("may_create_computer_objects", bool, True),
        accounts=accounts,
    )


def _parse_accounts(r: _Reader, key: str, defaults: set[str]) -> tuple[AccountSpec, ...]:
    """``key``: a list of {name, password}; when absent, ``defaults`` with the default password."""
    if key not in r.data:
        return tuple(AccountSpec(name, DEFAULT_PASSWORD) for name in sorted(defaults))
    accounts = []
    for p, v in r.items(key):
        entry = _Reader(v, p)
        entry.check_keys({"name", "password"})
        name = entry.text("name", required=True)
        if not _ACCOUNT_NAME.match(name):
            raise WorldError(
                f"{entry.at('name')}: {name!r} is not an account name; expected 1-20 characters "
                'without " / \\ [ ] : ; | = , + * ? < > @'
            )
        password = entry.data.get("password")
        if not isinstance(password, str) or not password:
            # The value is a secret: the message never shows it.
            raise WorldError(f"{entry.at('password')}: expected a non-empty string (the account's password)")
        accounts.append(AccountSpec(name, password))
    _check_unique([(f"{r.at(key)}[{i}].name", a.name.lower()) for i, a in enumerate(accounts)], "account")
    return tuple(accounts)


def _parse_node(data: object, path: str, directory: DirectorySpec | None) -> NodeSpec:
    r = _Reader(data, path)
    r.check_keys(
        {"name", "os", "domain_member", "workgroup", "memory_mb", "cpu", "manufacturer", "model", "nics"}
        | {"local_disks", "features", "local_accounts", "services_pipe_timeout_ms"}
    )
    name = r.text("name", required=True)
    if not _NODE_NAME.match(name):
        raise WorldError(
            f"{r.at('name')}: {name!r} is not a Windows computer name; "
            "expected 1-15 letters, digits or hyphens"
        )
    domain_member = r.get("domain_member", bool, directory is not None)
    if domain_member and directory is None:
        raise WorldError(
            f"{r.at('domain_member')}: true, but the world has no active_directory section to join"
        )
    nics = tuple(_parse_nic(v, p) for p, v in r.items("nics", required=True))
    if not nics:
        raise WorldError(f"{r.at('nics')}: empty list; expected at least one NIC")
    _check_unique([(f"{r.at('nics')}[{i}].name", n.name.lower()) for i, n in enumerate(nics)], "NIC name")
    _check_subnets(nics, r.at("nics"))
    disks = tuple(_parse_local_disk(v, p, i) for i, (p, v) in enumerate(r.items("local_disks")))
    cpu = _Reader(r.data.get("cpu") or {}, r.at("cpu"))
    cpu.check_keys({"name", "cores", "logical_processors"})
    cores = cpu.get("cores", int, 4)
    return NodeSpec(
        name=name.upper(),
        os=_parse_os(r.data.get("os"), r.at("os")),
        domain_member=domain_member,
        workgroup=r.text("workgroup", "WORKGROUP"),
        memory_mb=_positive(r, "memory_mb", 8192),
        cpu_name=cpu.text("name", "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz"),
        cpu_cores=cores,
        logical_processors=cpu.get("logical_processors", int, cores),
        manufacturer=r.text("manufacturer", "Microsoft Corporation"),
        model=r.text("model", "Virtual Machine"),
        nics=nics,
        local_disks=disks or (LocalDiskSpec(size=127 * 1024**3, friendly_name="Msft Virtual Disk"),),
        features=_parse_features(r),
        local_accounts=_parse_accounts(r, "local_accounts", {"Administrator"}),
        services_pipe_timeout_ms=_positive(r, "services_pipe_timeout_ms", SERVICES_PIPE_TIMEOUT_MS),
    )


def _positive(r: _Reader, key: str, default: int) -> int:
    value: int = r.get(key, int, default)
    if value <= 0:
        raise WorldError(f"{r.at(key)}: {value} is not positive")
    return value


def _parse_os(data: object, path: str) -> OsSpec:
    r = _Reader(data or {}, path)
    r.check_keys(set(DEFAULT_OS))
    values = {k: r.get(k, type(v), v) for k, v in DEFAULT_OS.items()}
    if values["architecture"] not in ("64-bit", "32-bit"):
        raise WorldError(f"{r.at('architecture')}: {values['architecture']!r}; expected 64-bit or 32-bit")
    if not re.fullmatch(r"\d+\.\d+\.\d+", values["version"]):
        raise WorldError(
            f"{r.at('version')}: {values['version']!r}; expected major.minor.build, e.g. 10.0.20348"
        )
    if values["version"].split(".")[2] != values["build_number"]:
        raise WorldError(
            f"{r.at('build_number')}: {values['build_number']!r} does not match the build in version "
            f"{values['version']!r}; Windows reports the same build in both"
        )
    if values["product_type"] not in (1, 2, 3):
        raise WorldError(
            f"{r.at('product_type')}: {values['product_type']}; expected 1 (workstation), 2 (DC), 3 (server)"
        )
    return OsSpec(**values)


def _parse_nic(data: object, path: str) -> NicSpec:
    r = _Reader(data, path)
    r.check_keys({"name", "description", "mac", "addresses", "gateway", "dns_servers", "status"})
    mac = r.text("mac", required=True)
    if not _MAC.match(mac):
        raise WorldError(f"{r.at('mac')}: {mac!r} is not a MAC address; expected e.g. 00-15-5D-01-02-03")
    addresses = []
    for p, v in r.items("addresses"):
        if not isinstance(v, str) or "/" not in v:
            raise WorldError(f"{p}: {_show(v)} is not an address with prefix; expected e.g. 127.0.1.11/24")
        ip, _, prefix = v.partition("/")
        if not prefix.isdigit() or not 1 <= int(prefix) <= 32:
            raise WorldError(f"{p}: prefix {prefix!r} in {v!r}; expected 1-32")
        addresses.append((_loopback(ip, p), int(prefix)))
    gateway = r.data.get("gateway")
    if gateway is not None:
        gateway = _loopback(gateway, r.at("gateway"))
        if not any(ipaddress.ip_address(gateway) in _subnet(ip, pl) for ip, pl in addresses):
            raise WorldError(f"{r.at('gateway')}: {gateway} is on none of this NIC's subnets")
    status = r.text("status", "Up")
    if status not in ("Up", "Disconnected"):
        raise WorldError(f"{r.at('status')}: {status!r}; expected Up or Disconnected")
    return NicSpec(
        name=r.text("name", required=True),
        description=r.text("description", "Microsoft Hyper-V Network Adapter"),
        mac=mac.upper().replace(":", "-"),
        addresses=tuple(addresses),
        gateway=gateway,
        dns_servers=tuple(_loopback(v, p) for p, v in r.items("dns_servers")),
        status=status,
    )


def _subnet(ip: str, prefix: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{ip}/{prefix}", strict=False)


def _check_subnets(nics: tuple[NicSpec, ...], path: str) -> None:
    """Windows allows it, but a node with two NICs on one subnet cannot be clustered: refuse it early."""
    seen: dict[ipaddress.IPv4Network, str] = {}
    for i, nic in enumerate(nics):
        for ip, prefix in nic.addresses:
            net = _subnet(ip, prefix)
            if net in seen and seen[net] != nic.name:
                raise WorldError(
                    f"{path}[{i}].addresses: {ip}/{prefix} is on subnet {net}, "
                    f"already used by NIC {seen[net]!r}; "
                    "give every NIC its own subnet"
                )
            seen[net] = nic.name


def _parse_local_disk(data: object, path: str, index: int) -> LocalDiskSpec:
    r = _Reader(data, path)
    r.check_keys({"size", "friendly_name"})
    size = parse_size(r.data.get("size"), r.at("size"))
    if index == 0 and size < 32 * 1024**3:
        raise WorldError(f"{r.at('size')}: the system disk needs at least 32GB (Windows Server's minimum)")
    return LocalDiskSpec(size=size, friendly_name=r.text("friendly_name", "Msft Virtual Disk"))


def _parse_features(r: _Reader) -> tuple[str, ...]:
    if r.data.get("features") is None:
        return BASELINE_FEATURES
    names = []
    for p, v in r.items("features"):
        info = lookup_feature(v) if isinstance(v, str) else None
        if info is None:
            raise WorldError(
                f"{p}: {_show(v)} is not a feature the lab knows; expected one of {', '.join(FEATURES)}"
            )
        names.append(info.name)
    return tuple(names)


def _node_list(r: _Reader, key: str, node_names: set[str]) -> tuple[str, ...]:
    names = []
    for p, v in r.items(key, required=True):
        if not isinstance(v, str) or v.upper() not in node_names:
            raise WorldError(
                f"{p}: {_show(v)} is not a node of this world; "
                f"expected one of {', '.join(sorted(node_names))}"
            )
        names.append(v.upper())
    if not names:
        raise WorldError(f"{r.at(key)}: empty list; expected at least one node")
    return tuple(names)


def _parse_target(data: object, path: str, node_names: set[str]) -> IscsiTargetSpec:
    r = _Reader(data, path)
    r.check_keys({"name", "iqn", "portal", "port", "initiators", "luns"})
    name = r.text("name", required=True)
    iqn = r.text("iqn", f"iqn.1991-05.com.microsoft:san-{name.lower()}-target").lower()
    if not _IQN.match(iqn):
        raise WorldError(
            f"{r.at('iqn')}: {iqn!r} is not an IQN; expected e.g. iqn.1991-05.com.microsoft:san-t1"
        )
    port = r.get("port", int, 3260)
    if not 1 <= port <= 65535:
        raise WorldError(f"{r.at('port')}: {port}; expected 1-65535")
    luns = []
    for p, v in r.items("luns", required=True):
        lun = _Reader(v, p)
        lun.check_keys({"name", "size"})
        luns.append(
            LunSpec(
                name=lun.text("name", required=True), size=parse_size(lun.data.get("size"), lun.at("size"))
            )
        )
    if not luns:
        raise WorldError(f"{r.at('luns')}: empty list; expected at least one LUN")
    # A LUN's disk is named after it (iscsi-<target>-<lun>), so two LUNs of one name would be one disk.
    _check_unique([(f"{r.at('luns')}[{i}].name", lun.name.lower()) for i, lun in enumerate(luns)], "LUN name")
    return IscsiTargetSpec(
        name=name,
        iqn=iqn,
        portal_address=_loopback(r.data.get("portal"), r.at("portal")),
        portal_port=port,
        initiators=_node_list(r, "initiators", node_names),
        luns=tuple(luns),
    )


def _parse_sas(data: object, path: str, node_names: set[str]) -> SasDiskSpec:
    r = _Reader(data, path)
    r.check_keys({"name", "size", "nodes", "friendly_name"})
    return SasDiskSpec(
        name=r.text("name", required=True),
        size=parse_size(r.data.get("size"), r.at("size")),
        nodes=_node_list(r, "nodes", node_names),
        friendly_name=r.text("friendly_name", "SEAGATE ST4000NM0025"),
    )
