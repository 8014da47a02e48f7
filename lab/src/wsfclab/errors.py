"""The errors of the lab: its own refusals, and the Windows errors that simulated cmdlets throw.

Two families, never told apart by their message text:

``LabError``
    The lab cannot do something, or was asked wrongly; the message says what went wrong and what
    to do next. ``Unsupported`` is the one for "Windows could do this, the lab does not simulate
    it"; its message always starts "unsupported in the lab: ". Each carries ``error_id``, the id
    the executor's result reports when one stops a pipeline (``wsfclab.LabError``,
    ``wsfclab.Unsupported``).

``CmdletError``
    A terminating error exactly as Windows reports it, carried as data: the message, the
    FullyQualifiedErrorId, the ErrorCategory and, where Windows gives one, the target (the string
    form of ``CategoryInfo.TargetName``). A cmdlet raises it, a cluster API raises it, the executor
    twin reports ``error_id`` and ``error_category`` from it::

        raise CmdletError(
            "The cluster group 'PBX' was not found.",  # $_.Exception.Message
            "ClusterGroupNotFound,Microsoft.FailoverClusters.PowerShell.GetClusterGroupCommand",
            ErrorCategory.ObjectNotFound,
            target="PBX",
        )

    Inside a simulated cmdlet, ``call.fail(message, "Reason", category)`` appends the cmdlet name
    to the id (``Reason,Get-Disk``), which is the form the CDXML cmdlets use.

Warnings are not errors: a cmdlet writes them with ``call.warn(text)`` (see
``wsfclab.cmdlets.base.Call``), and the result lists them under the pipeline's ``warnings``.
"""

from __future__ import annotations

from enum import StrEnum


class LabError(Exception):
    """Something the lab cannot do, or was asked wrongly; the message tells the operator what next."""

    error_id = "wsfclab.LabError"


class WorldError(LabError):
    """The world description is invalid; the message names the key path, the value and what is expected."""


class Unsupported(LabError):
    """Windows could do this; the lab does not simulate it. ``what`` names the thing."""

    error_id = "wsfclab.Unsupported"
    PREFIX = "unsupported in the lab: "

    def __init__(self, what: str) -> None:
        super().__init__(self.PREFIX + what)
        self.what = what


class UndeclaredChange(LabError):
    """A changing cmdlet ran in a pipeline that says ``changes: false`` (see the lab guide)."""

    error_id = "wsfclab.UndeclaredChange"


class ErrorCategory(StrEnum):
    """System.Management.Automation.ErrorCategory, by the names ``CategoryInfo.Category`` shows."""

    NotSpecified = "NotSpecified"
    OpenError = "OpenError"
    CloseError = "CloseError"
    DeviceError = "DeviceError"
    DeadlockDetected = "DeadlockDetected"
    InvalidArgument = "InvalidArgument"
    InvalidData = "InvalidData"
    InvalidOperation = "InvalidOperation"
    InvalidResult = "InvalidResult"
    InvalidType = "InvalidType"
    MetadataError = "MetadataError"
    NotImplemented = "NotImplemented"
    NotInstalled = "NotInstalled"
    ObjectNotFound = "ObjectNotFound"
    OperationStopped = "OperationStopped"
    OperationTimeout = "OperationTimeout"
    SyntaxError = "SyntaxError"
    ParserError = "ParserError"
    PermissionDenied = "PermissionDenied"
    ResourceBusy = "ResourceBusy"
    ResourceExists = "ResourceExists"
    ResourceUnavailable = "ResourceUnavailable"
    ReadError = "ReadError"
    WriteError = "WriteError"
    FromStdErr = "FromStdErr"
    SecurityError = "SecurityError"
    ProtocolError = "ProtocolError"
    ConnectionError = "ConnectionError"
    AuthenticationError = "AuthenticationError"
    LimitsExceeded = "LimitsExceeded"
    QuotaExceeded = "QuotaExceeded"
    NotEnabled = "NotEnabled"


class CmdletError(Exception):
    """A terminating error as PowerShell reports it (see the module docstring)."""

    def __init__(
        self, message: str, error_id: str, category: ErrorCategory, *, target: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.category = ErrorCategory(category)
        self.target = target


def thrown(message: str) -> CmdletError:
    """What ``throw "text"`` gives in PowerShell: a RuntimeException whose id is the text itself."""
    return CmdletError(message, message, ErrorCategory.OperationStopped, target=message)
