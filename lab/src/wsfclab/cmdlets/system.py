"""Get-CimInstance (Win32_OperatingSystem, Win32_ComputerSystem, Win32_Service) and the Server
Manager cmdlets Get-WindowsFeature and Install-WindowsFeature."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from wsfclab import features
from wsfclab.catalog import (
    FEATURE_SERVICES,
    FEATURES,
    feature_ancestry,
    feature_id,
    feature_path,
    sub_features,
)
from wsfclab.cmdlets.base import Call, CimObject, cmdlet, matches
from wsfclab.errors import CmdletError, ErrorCategory, Unsupported
from wsfclab.ids import stable_hex
from wsfclab.state import NodeState, Service

_FILTER_TERM = re.compile(r"^\s*(\w+)\s*=\s*(?:'([^']*)'|\"([^\"]*)\"|(\w+))\s*$")


@cmdlet("Get-CimInstance")
def get_cim_instance(call: Call) -> list[CimObject]:
    class_name = call.get("ClassName")
    if class_name is None:
        raise Unsupported("Get-CimInstance only with -ClassName")
    namespace = str(call.get("Namespace", "root/cimv2")).replace("\\", "/").lower()
    builders = {
        "win32_operatingsystem": _operating_system,
        "win32_computersystem": _computer_system,
        "win32_service": _win32_services,
    }
    builder = builders.get(class_name.lower())
    if namespace != "root/cimv2" or builder is None:
        if class_name.lower().startswith(("win32_", "cim_", "msft_")):
            raise Unsupported(f"Get-CimInstance -ClassName {class_name} in {namespace}")
        raise CmdletError(
            "Invalid class ",
            "HRESULT 0x80041010,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand",
            ErrorCategory.MetadataError,
            target=f"{namespace}:{class_name}",
        )
    objects = builder(call.node)
    if call.get("Filter") is not None:
        objects = _apply_filter(objects, str(call.get("Filter")))
    wanted = call.as_list("Property")
    if wanted is not None:
        # -Property fetches only those properties; the others come back null.
        keep = {w.lower() for w in wanted}
        for obj in objects:
            obj.props = {k: (v if k.lower() in keep else None) for k, v in obj.props.items()}
    return objects


def _apply_filter(objects: list[CimObject], wql: str) -> list[CimObject]:
    """The WQL the lab understands: Property = 'value' terms joined with AND."""
    terms = []
    for part in re.split(r"\s+and\s+", wql, flags=re.IGNORECASE):
        match = _FILTER_TERM.match(part)
        if match is None:
            raise Unsupported(f"-Filter {wql!r}; the lab understands Name = 'value' AND ...")
        value = next(g for g in match.groups()[1:] if g is not None)
        terms.append((match.group(1).lower(), value.lower()))

    def keep(obj: CimObject) -> bool:
        props = {k.lower(): v for k, v in obj.props.items()}
        return all(str(props.get(k)).lower() == v for k, v in terms)

    return [o for o in objects if keep(o)]


def _boot_time(node: NodeState) -> datetime:
    return datetime.fromisoformat(node.boot_time)


def _operating_system(node: NodeState) -> list[CimObject]:
    os_info = node.os
    total_kb = node.memory_mb * 1024
    return [
        CimObject(
            "Win32_OperatingSystem",
            {
                "Caption": os_info.caption,
                "Version": os_info.version,
                "BuildNumber": os_info.build_number,
                "OSArchitecture": os_info.os_architecture,
                "ProductType": os_info.product_type,
                "OperatingSystemSKU": os_info.sku,
                "CSName": node.name,
                "Manufacturer": "Microsoft Corporation",
                "Name": f"{os_info.caption}|C:\\Windows|\\Device\\Harddisk0\\Partition3",
                "OSType": 18,
                "Status": "OK",
                "SystemDrive": "C:",
                "WindowsDirectory": "C:\\Windows",
                "SystemDirectory": "C:\\Windows\\system32",
                "BootDevice": "\\Device\\HarddiskVolume1",
                "SystemDevice": "\\Device\\HarddiskVolume3",
                "LastBootUpTime": _boot_time(node),
                "InstallDate": datetime.fromisoformat(os_info.install_date),
                "LocalDateTime": datetime.now().astimezone(),
                "SerialNumber": os_info.serial_number,
                "TotalVisibleMemorySize": total_kb,
                "FreePhysicalMemory": total_kb // 2,
                "NumberOfProcesses": 60 + sum(1 for s in node.services.values() if s.state == "Running"),
                "OSLanguage": 1033,
                "MUILanguages": ["en-US"],
                "Locale": "0409",
                "CountryCode": "1",
                "CodeSet": "1252",
                "ServicePackMajorVersion": 0,
                "ServicePackMinorVersion": 0,
                "RegisteredUser": "Windows User",
                "Organization": "",
            },
        )
    ]


def _computer_system(node: NodeState) -> list[CimObject]:
    domain_role = 3 if node.part_of_domain else 2  # member server / standalone server
    if node.os.product_type == 2:
        domain_role = 4
    return [
        CimObject(
            "Win32_ComputerSystem",
            {
                "Name": node.name,
                "DNSHostName": node.name.lower(),
                "Domain": node.domain,
                "PartOfDomain": node.part_of_domain,
                "Workgroup": None if node.part_of_domain else node.domain,
                "DomainRole": domain_role,
                "Manufacturer": node.manufacturer,
                "Model": node.model,
                "SystemType": "x64-based PC" if node.os.os_architecture == "64-bit" else "X86-based PC",
                "TotalPhysicalMemory": node.memory_mb * 1024 * 1024,
                "NumberOfProcessors": 1,
                "NumberOfLogicalProcessors": node.cpu.logical_processors,
                "HypervisorPresent": True,
                "PrimaryOwnerName": "Windows User",
                "Status": "OK",
                "CurrentTimeZone": 0,
            },
        )
    ]


def _win32_services(node: NodeState) -> list[CimObject]:
    return [win32_service(s) for s in sorted(node.services.values(), key=lambda s: s.name.lower())]


def process_id(service: Service) -> int:
    """A running service has a process: the real one's PID, or for an OS service the lab emulates
    a stable stand-in for its svchost.exe (a multiple of 4, as Windows PIDs are); 0 when stopped."""
    if service.state != "Running":
        return 0
    if service.pid is not None:
        return service.pid
    return 4 * (256 + int(stable_hex("svchost", service.path), 16) % 4096)


def win32_service(service: Service) -> CimObject:
    start_mode = {"Automatic": "Auto", "AutomaticDelayedStart": "Auto"}.get(
        service.start_mode, service.start_mode
    )
    return CimObject(
        "Win32_Service",
        {
            "Name": service.name,
            "DisplayName": service.display_name,
            "Description": service.description,
            "PathName": service.path,
            "StartMode": start_mode,
            "DelayedAutoStart": service.start_mode == "AutomaticDelayedStart",
            "State": service.state,
            "Started": service.state == "Running",
            "ProcessId": process_id(service),
            "StartName": service.username,
            "ServiceType": "Own Process",
            "Status": "OK",
            "AcceptStop": service.state == "Running",
            "ExitCode": 0,
        },
        ref=service.name,
    )


# -- Server Manager -----------------------------------------------------------------------


def feature_object(node: NodeState, name: str) -> CimObject:
    info = FEATURES[name]
    installed = node.features[name].installed
    return CimObject(
        "Microsoft.Windows.ServerManager.Commands.Feature",
        {
            "Name": name,
            "DisplayName": info.display_name,
            "Description": info.display_name,
            "Installed": installed,
            "InstallState": "Installed" if installed else "Available",
            "FeatureType": info.feature_type,
            "Path": feature_path(name),
            "Depth": len(feature_ancestry(name)),
            "DependsOn": list(info.depends_on),
            "Parent": info.parent,
            "SubFeatures": sub_features(name),
            "SystemService": [s.name for s in FEATURE_SERVICES.get(name, ())],
            "Notification": [],
            "BestPracticesModelId": None,
            "EventQuery": None,
            "PostConfigurationNeeded": False,
            "AdditionalInfo": {
                "MajorVersion": 10,
                "MinorVersion": 0,
                "NumericId": feature_id(name),
                "InstallName": name,
            },
        },
        ref=name,
    )


@cmdlet("Get-WindowsFeature")
def get_windows_feature(call: Call) -> list[CimObject]:
    patterns = call.as_list("Name")
    # An unknown name is not an error: Get-WindowsFeature just returns nothing for it.
    names = [n for n in FEATURES if patterns is None or matches(n, patterns)]
    return [feature_object(call.node, n) for n in names]


@cmdlet("Install-WindowsFeature", changes=True)
def install_windows_feature(call: Call) -> list[CimObject]:
    if call.has("Vhd") or call.has("ConfigurationFilePath") or call.has("ComputerName"):
        raise Unsupported("Install-WindowsFeature with -Vhd, -ConfigurationFilePath or -ComputerName")
    requested = []
    for name in call.as_list("Name") or []:
        match = next((f for f in FEATURES if f.lower() == str(name).lower()), None)
        if match is None:
            raise CmdletError(
                f"ArgumentNotValid: The role, role service, or feature name is not valid: '{name}'. "
                "The name was not found.",
                "NameDoesNotExist,Microsoft.Windows.ServerManager.Commands.AddWindowsFeatureCommand",
                ErrorCategory.InvalidArgument,
                target=str(name),
            )
        requested.append(match)
    wanted = features.to_install(
        requested,
        sub_features_too=bool(call.get("IncludeAllSubFeature")),
        management_tools=bool(call.get("IncludeManagementTools")),
    )
    to_install = [f for f in wanted if not call.node.features[f].installed]
    for name in to_install:
        features.set_installed(call.node, name, True)
    results: list[Any] = [
        CimObject(
            "Microsoft.Windows.ServerManager.Commands.FeatureOperationResult",
            {
                "DisplayName": FEATURES[n].display_name,
                "Id": feature_id(n),
                "Message": [],
                "Name": n,
                "RestartNeeded": False,
                "SkipReason": "NotSkipped",
                "Success": True,
            },
        )
        for n in to_install
    ]
    return [
        CimObject(
            "Microsoft.Windows.ServerManager.Commands.FeatureOperationResult",
            {
                "Success": True,
                "RestartNeeded": "No",
                "FeatureResult": results,
                "ExitCode": "Success" if to_install else "NoChangeNeeded",
            },
        )
    ]
