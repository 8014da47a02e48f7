"""What every simulated cmdlet shares: output objects, Windows errors, the call context, the registry.

A cmdlet is a function ``(call) -> list[CimObject]`` registered with ``@cmdlet(name, inputs=...)``.
``inputs`` maps the class of a pipeline object to the parameter it binds to (``{"MSFT_Disk":
"InputObject"}``), as PowerShell's ByValue binding does; a step that receives objects of another
class fails as PowerShell fails. With pipeline input the function runs once per input object
(PowerShell's process block), with ``call.input`` set.

A cmdlet fails with ``raise call.fail(message, "Reason", ErrorCategory.X, target=...)`` (a
``wsfclab.errors.CmdletError`` whose id is ``Reason,<Cmdlet>``) or raises ``CmdletError`` itself
when Windows names a .NET class in the id; it writes to the warning stream with
``call.warn("text")``, as ``Write-Warning`` does, and goes on.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wsfclab.errors import CmdletError, ErrorCategory
from wsfclab.state import LabState, NodeState

if TYPE_CHECKING:
    from wsfclab.lab import Lab


# Assigns a property on the lab entity behind an object: takes the value as sent, refuses it with
# the CmdletError Windows gives (a wrong type, a value out of range), applies it to the state and
# returns the value the object then shows.
Setter = Callable[[Any], Any]


@dataclass
class CimObject:
    """An object a cmdlet returns: its .NET/CIM class, its public properties in Windows' order, a
    reference to the lab entity behind it (a disk key, a service name) for the next pipeline step,
    and a setter for each property Windows lets a script assign (``settable``; every other property
    is read-only, as on Windows). Cluster, group and resource objects list their common properties
    there, so that ``(Get-Cluster).SameSubnetDelay = 2000`` works and ``.Name`` of a disk does not.
    """

    class_name: str
    props: dict[str, Any]
    ref: str | None = None
    settable: Mapping[str, Setter] = field(default_factory=dict)

    def assign(self, name: str, value: Any) -> None:
        """``$object.<name> = value`` as PowerShell does it: property names are case-insensitive;
        an unknown property and a read-only one fail with PowerShell's errors."""
        found = next((k for k in self.props if k.lower() == name.lower()), None)
        if found is None:
            raise CmdletError(
                f"The property '{name}' cannot be found on this object. "
                "Verify that the property exists and can be set.",
                "PropertyNotFound",
                ErrorCategory.InvalidOperation,
            )
        setter = next((s for k, s in self.settable.items() if k.lower() == name.lower()), None)
        if setter is None:
            raise CmdletError(
                f"'{name}' is a ReadOnly property.",
                "PropertyAssignmentException",
                ErrorCategory.InvalidOperation,
            )
        self.props[found] = setter(value)


@dataclass
class Call:
    lab: Lab
    state: LabState
    node: NodeState
    cmdlet: str
    parameter_set: str
    params: dict[str, Any]  # canonical parameter names -> values
    input: CimObject | None = None
    input_param: str | None = None  # the parameter the pipeline object bound to
    inputs: list[CimObject] = field(default_factory=list)  # every piped object, for batch cmdlets
    warnings: list[str] = field(default_factory=list)  # the pipeline's warning stream, shared by its steps

    def has(self, name: str) -> bool:
        return name in self.params or self.input_param == name

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def as_list(self, name: str) -> list[Any] | None:
        value = self.params.get(name)
        if value is None:
            return None
        return value if isinstance(value, list) else [value]

    def fail(
        self, message: str, error_id: str, category: ErrorCategory, *, target: str | None = None
    ) -> CmdletError:
        """The error to raise, with the cmdlet name appended to ``error_id`` as CDXML cmdlets do."""
        return CmdletError(message, f"{error_id},{self.cmdlet}", category, target=target)

    def warn(self, message: str) -> None:
        """Write ``message`` to the warning stream (``WARNING: ...`` on a console); the cmdlet goes on."""
        self.warnings.append(message)


Handler = Callable[[Call], list[CimObject]]


@dataclass(frozen=True)
class CmdletDef:
    name: str
    handler: Handler
    inputs: dict[str, str] = field(default_factory=dict)  # "*" binds objects of any class
    changes: bool = False
    batch: bool = False  # runs once over all piped objects (Select-Object -First needs them together)
    reads_with: tuple[str, ...] = ()  # switches with which a changing cmdlet only reads (Test-Cluster -List)

    def changes_with(self, parameters: Mapping[str, Any]) -> bool:
        """Whether a call with these (canonical) parameters changes the host."""
        return self.changes and not any(parameters.get(switch) for switch in self.reads_with)


REGISTRY: dict[str, CmdletDef] = {}


def cmdlet(
    name: str,
    *,
    inputs: dict[str, str] | None = None,
    changes: bool = False,
    batch: bool = False,
    reads_with: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        REGISTRY[name.lower()] = CmdletDef(name, handler, dict(inputs or {}), changes, batch, reads_with)
        return handler

    return register


def matches(value: str | None, patterns: Iterable[str]) -> bool:
    """PowerShell -like matching: case-insensitive, with * ? [] wildcards."""
    if value is None:
        return False
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def has_wildcard(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def filter_by(
    call: Call, objects: list[CimObject], param: str, prop: str, class_name: str, *, wildcards: bool = True
) -> list[CimObject]:
    """Keep the objects whose ``prop`` matches one of the values of ``param``; a value without
    wildcards that matches nothing is the cmdletization "not found" error, as in CDXML cmdlets."""
    values = call.as_list(param)
    if values is None:
        return objects
    kept: list[CimObject] = []
    for value in values:
        if wildcards and isinstance(value, str):
            found = [o for o in objects if matches(_text(o.props.get(prop)), [value])]
        else:
            found = [o for o in objects if _equal(o.props.get(prop), value)]
        if not found and not (wildcards and isinstance(value, str) and has_wildcard(value)):
            raise not_found(call, class_name, param, value)
        kept.extend(o for o in found if o not in kept)
    return kept


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _equal(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.lower() == wanted.lower()
    return bool(actual == wanted)


def not_found(call: Call, class_name: str, param: str, value: Any) -> CmdletError:
    return call.fail(
        f"No {class_name} objects found with property '{param}' equal to '{value}'.  "
        "Verify the value of the property and retry.",
        f"CmdletizationQuery_NotFound_{param}",
        ErrorCategory.ObjectNotFound,
        target=str(value),
    )


# Storage Management API return codes and their messages (windows-driver-docs,
# "Storage Management API Common Return Codes"); errors surface as "StorageWMI <code>,<Cmdlet>".
STORAGE_MESSAGES = {
    40000: "Not enough available capacity",
    40005: (
        "You must specify a size by using either the Size or the UseMaximumSize parameter. "
        "You can specify only one of these parameters at a time."
    ),
    40018: (
        "The specified object is managed by the Microsoft Failover Clustering component. The disk must be in "
        "cluster maintenance mode and the cluster resource status must be online to perform this operation."
    ),
    41000: "The disk has not been initialized.",
    41001: "The disk has already been initialized.",
    41002: "The disk is read only.",
    41003: "The disk is offline.",
    41009: "Operation not supported on a critical disk.",
    41013: "Cannot convert the style of a disk with data or other known partitions on it.",
    42002: "The requested access path is already in use.",
    42010: "The operation is not allowed on a system or critical partition.",  # MSFT_Volume.Format
    43001: "The specified file system is not supported",
    43006: "Cannot perform the requested operation when the drive is read only",
    47001: "This subsystem does not support creation of virtual disks with the specified provisioning type.",
    48000: "This operation is not supported on primordial storage pools.",
    48004: (
        "There are not enough physical disks in the storage pool to create the specified virtual disk "
        "configuration."
    ),
    49000: "No resiliency setting with that name exists.",
    49002: "The value for PhysicalDiskRedundancy is outside of the supported range of values.",
    49003: "The value for NumberOfDataCopies is outside of the supported range of values.",
    51000: "One of the physical disks specified is not supported by this operation.",
    51001: "Not enough physical disks were specified to successfully complete the operation.",
    51002: "One of the physical disks specified is already in use.",
}


# The CDXML adapter reports these return codes with category NotSpecified and target "StorageWMI"
# ("NotSpecified: (StorageWMI:ROOT/Microsoft/.../MSFT_Disk) [Initialize-Disk], CimException").
def storage_error(call: Call, code: int) -> CmdletError:
    return call.fail(
        STORAGE_MESSAGES[code], f"StorageWMI {code}", ErrorCategory.NotSpecified, target="StorageWMI"
    )
