"""Windows knowledge the lab needs to build nodes: the feature catalogue and the built-in services.

This is data, not behaviour. Feature names, display names and the parent/child tree follow
``Get-WindowsFeature`` on Windows Server 2022; the numeric ``Id`` values are the lab's own (real
Ids are not documented in the reference) and the lab README says so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FeatureInfo:
    name: str
    display_name: str
    feature_type: str  # "Role" | "Role Service" | "Feature"
    parent: str | None = None
    depends_on: tuple[str, ...] = ()
    management_tools: tuple[str, ...] = ()  # installed too with -IncludeManagementTools


_FEATURES = (
    FeatureInfo("FileAndStorage-Services", "File and Storage Services", "Role"),
    FeatureInfo("File-Services", "File and iSCSI Services", "Role Service", "FileAndStorage-Services"),
    FeatureInfo("FS-FileServer", "File Server", "Role Service", "File-Services"),
    FeatureInfo("Storage-Services", "Storage Services", "Role Service", "FileAndStorage-Services"),
    FeatureInfo(
        "Failover-Clustering",
        "Failover Clustering",
        "Feature",
        management_tools=("RSAT-Clustering-Mgmt", "RSAT-Clustering-PowerShell"),
    ),
    FeatureInfo("Multipath-IO", "Multipath I/O", "Feature"),
    FeatureInfo("NET-Framework-45-Features", ".NET Framework 4.8 Features", "Feature"),
    FeatureInfo("NET-Framework-45-Core", ".NET Framework 4.8", "Feature", "NET-Framework-45-Features"),
    FeatureInfo("PowerShellRoot", "Windows PowerShell", "Feature"),
    FeatureInfo("PowerShell", "Windows PowerShell 5.1", "Feature", "PowerShellRoot"),
    FeatureInfo("RSAT", "Remote Server Administration Tools", "Feature"),
    FeatureInfo("RSAT-Feature-Tools", "Feature Administration Tools", "Feature", "RSAT"),
    FeatureInfo("RSAT-Clustering", "Failover Clustering Tools", "Feature", "RSAT-Feature-Tools"),
    FeatureInfo("RSAT-Clustering-Mgmt", "Failover Cluster Management Tools", "Feature", "RSAT-Clustering"),
    FeatureInfo(
        "RSAT-Clustering-PowerShell",
        "Failover Cluster Module for Windows PowerShell",
        "Feature",
        "RSAT-Clustering",
    ),
    FeatureInfo(
        "RSAT-Clustering-AutomationServer", "Failover Cluster Automation Server", "Feature", "RSAT-Clustering"
    ),
    FeatureInfo(
        "RSAT-Clustering-CmdInterface", "Failover Cluster Command Interface", "Feature", "RSAT-Clustering"
    ),
    FeatureInfo("RSAT-Role-Tools", "Role Administration Tools", "Feature", "RSAT"),
    FeatureInfo("RSAT-AD-Tools", "AD DS and AD LDS Tools", "Feature", "RSAT-Role-Tools"),
    FeatureInfo(
        "RSAT-AD-PowerShell", "Active Directory module for Windows PowerShell", "Feature", "RSAT-AD-Tools"
    ),
    FeatureInfo("SNMP-Service", "SNMP Service", "Feature"),
    FeatureInfo("Telnet-Client", "Telnet Client", "Feature"),
    FeatureInfo("Windows-Defender", "Microsoft Defender Antivirus", "Feature"),
    FeatureInfo("WoW64-Support", "WoW64 Support", "Feature"),
)

FEATURES: dict[str, FeatureInfo] = {f.name: f for f in _FEATURES}

# What a fresh Windows Server 2022 installation reports as Installed.
BASELINE_FEATURES = (
    "FileAndStorage-Services",
    "Storage-Services",
    "NET-Framework-45-Features",
    "NET-Framework-45-Core",
    "PowerShellRoot",
    "PowerShell",
    "Windows-Defender",
    "WoW64-Support",
)


def feature_id(name: str) -> int:
    """The lab's stable numeric Id for a feature (its position in the catalogue)."""
    return [f.name for f in _FEATURES].index(name) + 1


def feature_path(name: str) -> str:
    """'Remote Server Administration Tools\\Feature Administration Tools\\...' as Get-WindowsFeature shows."""
    names = feature_ancestry(name)
    return "\\".join(FEATURES[n].display_name for n in names)


def feature_ancestry(name: str) -> list[str]:
    """The feature and its parents, root first."""
    chain = [name]
    parent = FEATURES[name].parent
    while parent is not None:
        chain.insert(0, parent)
        parent = FEATURES[parent].parent
    return chain


def sub_features(name: str) -> list[str]:
    return [f.name for f in _FEATURES if f.parent == name]


def lookup_feature(name: str) -> FeatureInfo | None:
    """Feature names are case-insensitive on Windows."""
    wanted = name.lower()
    return next((f for f in _FEATURES if f.name.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class BuiltinService:
    """A Windows service that ships with the OS; the lab emulates it without a process."""

    name: str
    display_name: str
    path: str
    start_mode: str
    running: bool
    description: str
    username: str = "LocalSystem"


BUILTIN_SERVICES = (
    BuiltinService(
        "WinRM",
        "Windows Remote Management (WS-Management)",
        r"C:\Windows\System32\svchost.exe -k NetworkService -p",
        "Automatic",
        True,
        "Windows Remote Management (WinRM) service implements the WS-Management protocol for remote "
        "management.",
        r"NT AUTHORITY\NetworkService",
    ),
    BuiltinService(
        "MSiSCSI",
        "Microsoft iSCSI Initiator Service",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p",
        "Manual",
        False,
        "Manages Internet SCSI (iSCSI) sessions from this computer to remote iSCSI target devices.",
    ),
    BuiltinService(
        "LanmanServer",
        "Server",
        r"C:\Windows\system32\svchost.exe -k smbsvcs",
        "Automatic",
        True,
        "Supports file, print, and named-pipe sharing over the network for this computer.",
    ),
    BuiltinService(
        "seclogon",
        "Secondary Logon",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p",
        "Manual",
        False,
        "Enables starting processes under alternate credentials.",
    ),
)

# Installing a feature registers these services (Failover Clustering brings the cluster service,
# which stays Disabled until the node joins a cluster).
FEATURE_SERVICES: dict[str, tuple[BuiltinService, ...]] = {
    "Failover-Clustering": (
        BuiltinService(
            "ClusSvc",
            "Cluster Service",
            r"C:\Windows\Cluster\clussvc.exe",
            "Disabled",
            False,
            "Enables servers to work together as a cluster.",
        ),
    ),
}
