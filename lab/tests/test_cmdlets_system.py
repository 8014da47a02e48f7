"""CIM classes, features, network and service cmdlets, and the pipeline rules (check mode, select, depth)."""

from __future__ import annotations

import re

from wsfclab import processes
from wsfclab.lab import Lab
from wsfclab.testing import NOTIFY_READY, change, output, pipeline, run


def test_os_and_computer_facts_come_from_the_world(lab: Lab) -> None:
    (os_info,) = output(lab, "PBX-N1", "Get-CimInstance", {"ClassName": "Win32_OperatingSystem"})
    assert os_info["Caption"] == "Microsoft Windows Server 2022 Datacenter"
    assert (os_info["Version"], os_info["BuildNumber"], os_info["ProductType"]) == ("10.0.20348", "20348", 3)
    assert os_info["LastBootUpTime"].startswith("20")  # ISO 8601
    (cs,) = output(lab, "PBX-N1", "Get-CimInstance", {"ClassName": "Win32_ComputerSystem"})
    assert (cs["Domain"], cs["PartOfDomain"], cs["Workgroup"]) == ("pbx.lab", True, None)
    assert cs["TotalPhysicalMemory"] == 8192 * 1024**2


def test_an_unknown_class_is_invalid(lab: Lab) -> None:
    result = run(lab, "PBX-N1", pipeline("c", ("Get-CimInstance", {"ClassName": "NoSuchClass"})))
    assert (
        result["error_id"]
        == "HRESULT 0x80041010,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand"
    )


def test_install_windows_feature_reports_then_needs_no_change(lab: Lab) -> None:
    first = change(
        lab,
        "PBX-N1",
        ("Install-WindowsFeature", {"Name": "Failover-Clustering", "IncludeManagementTools": True}),
    )
    (result,) = first["results"][0]["output"]
    assert (result["Success"], result["RestartNeeded"], result["ExitCode"]) == (True, "No", "Success")
    names = [f["Name"] for f in result["FeatureResult"]]
    assert "Failover-Clustering" in names and "RSAT-Clustering-PowerShell" in names
    again = change(
        lab,
        "PBX-N1",
        ("Install-WindowsFeature", {"Name": "Failover-Clustering", "IncludeManagementTools": True}),
    )
    assert again["results"][0]["output"][0]["ExitCode"] == "NoChangeNeeded"
    assert again["results"][0]["output"][0]["FeatureResult"] == []
    (feature,) = output(lab, "PBX-N1", "Get-WindowsFeature", {"Name": "Failover-Clustering"})
    assert feature["Installed"] and feature["InstallState"] == "Installed"
    assert output(lab, "PBX-N1", "Get-Service", {"Name": "ClusSvc"})[0]["StartType"] == "Disabled"
    assert (
        output(lab, "PBX-N2", "Get-WindowsFeature", {"Name": "Failover-Clustering"})[0]["Installed"] is False
    )


def test_an_unknown_feature_cannot_be_installed(lab: Lab) -> None:
    result = change(lab, "PBX-N1", ("Install-WindowsFeature", {"Name": "Bogus-Feature"}))
    assert (
        result["error_id"]
        == "NameDoesNotExist,Microsoft.Windows.ServerManager.Commands.AddWindowsFeatureCommand"
    )
    assert output(lab, "PBX-N1", "Get-WindowsFeature", {"Name": "Bogus-Feature"}) == []


def test_network_cmdlets_show_the_world_nics(lab: Lab) -> None:
    adapters = output(lab, "PBX-N1", "Get-NetAdapter", select=["Name", "Status", "MacAddress"])
    assert adapters == [
        {"Name": "Public", "Status": "Up", "MacAddress": "00-15-5D-01-01-01"},
        {"Name": "Cluster", "Status": "Up", "MacAddress": "00-15-5D-01-02-01"},
    ]
    missing = run(lab, "PBX-N1", pipeline("n", ("Get-NetAdapter", {"Name": "Storage"})))
    assert missing["error_id"] == "CmdletizationQuery_NotFound_Name,Get-NetAdapter"
    v4 = output(lab, "PBX-N1", "Get-NetIPAddress", {"AddressFamily": "IPv4", "InterfaceAlias": "Cluster"})
    assert [(a["IPAddress"], a["PrefixLength"], a["PrefixOrigin"]) for a in v4] == [
        ("127.0.2.11", 24, "Manual")
    ]
    config = output(lab, "PBX-N1", "Get-NetIPConfiguration", {"InterfaceAlias": "Public"})[0]
    assert config["IPv4DefaultGateway"][0]["NextHop"] == "127.0.1.1"
    assert config["DNSServer"][0]["ServerAddresses"] == ["127.0.1.10"]


def test_service_cmdlets_share_the_service_table(lab: Lab) -> None:
    assert output(lab, "PBX-N1", "Get-Service", {"Name": "MSiSCSI"}, select=["Status", "StartType"]) == [
        {"Status": "Stopped", "StartType": "Manual"}
    ]
    change(lab, "PBX-N1", ("Set-Service", {"Name": "MSiSCSI", "StartupType": "Automatic"}))
    change(lab, "PBX-N1", ("Get-Service", {"Name": "msiscsi"}), ("Start-Service", {}))
    assert output(lab, "PBX-N1", "Get-Service", {"Name": "MSiSCSI"}, select=["Status", "StartType"]) == [
        {"Status": "Running", "StartType": "Automatic"}
    ]
    created = change(
        lab,
        "PBX-N1",
        ("New-Service", {"Name": "PBX", "BinaryPathName": r"C:\bin\pbx.exe", "StartupType": "Manual"}),
    )
    assert created["results"][0]["output"][0]["Name"] == "PBX"
    again = change(lab, "PBX-N1", ("New-Service", {"Name": "PBX", "BinaryPathName": r"C:\bin\pbx.exe"}))
    assert again["error_id"] == "CouldNotNewService,Microsoft.PowerShell.Commands.NewServiceCommand"
    unsupported = change(lab, "PBX-N1", ("Start-Service", {"Name": "PBX"}))
    assert unsupported["error_id"] == "wsfclab.Unsupported" and "unsupported in the lab" in unsupported["msg"]
    missing = run(lab, "PBX-N1", pipeline("s", ("Get-Service", {"Name": "Nope"})))
    assert missing["error_id"] == "NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.GetServiceCommand"
    (win32,) = output(
        lab, "PBX-N1", "Get-CimInstance", {"ClassName": "Win32_Service", "Filter": "Name = 'PBX'"}
    )
    assert win32["PathName"] == r"C:\bin\pbx.exe" and win32["StartMode"] == "Manual"


def test_check_mode_refuses_changing_pipelines_before_anything_runs(lab: Lab) -> None:
    result = run(
        lab,
        "PBX-N1",
        pipeline("read", ("Get-Service", {"Name": "MSiSCSI"})),
        pipeline("start iscsi", ("Start-Service", {"Name": "MSiSCSI"}), changes=True),
        check_mode=True,
    )
    assert (
        result["failed"]
        and result["msg"] == "pipeline 'start iscsi' changes the host and cannot run in check mode"
    )
    assert result["changed"] is False
    assert output(lab, "PBX-N1", "Get-Service", {"Name": "MSiSCSI"})[0]["Status"] == "Stopped"


def test_a_change_in_a_read_pipeline_is_refused(lab: Lab) -> None:
    result = run(lab, "PBX-N1", pipeline("sneaky", ("Start-Service", {"Name": "MSiSCSI"})))
    assert result["error_id"] == "wsfclab.UndeclaredChange"
    assert output(lab, "PBX-N1", "Get-Service", {"Name": "MSiSCSI"})[0]["Status"] == "Stopped"


def test_results_keep_completed_pipelines_and_stop_at_the_first_error(lab: Lab) -> None:
    result = run(
        lab,
        "PBX-N1",
        pipeline("first", ("Get-Disk", {"Number": 0}), select=["Number"]),
        pipeline("second", ("Get-Disk", {"Numbr": 0})),
        pipeline("never", ("Get-Disk", {})),
    )
    assert result["results"] == [{"name": "first", "output": [{"Number": 0}], "warnings": []}]
    assert result["step"] == 1 and result["error_id"] == "NamedParameterNotFound,Get-Disk"


def test_depth_turns_deeper_objects_into_names(lab: Lab) -> None:
    shallow = output(lab, "PBX-N1", "Get-NetIPConfiguration", {"InterfaceAlias": "Public"}, depth=0)[0]
    assert shallow["NetAdapter"] == "MSFT_NetAdapter"
    deep = output(lab, "PBX-N1", "Get-NetIPConfiguration", {"InterfaceAlias": "Public"}, depth=1)[0]
    assert deep["NetAdapter"]["Name"] == "Public"


def test_piping_an_object_to_a_cmdlet_that_cannot_take_it_fails(lab: Lab) -> None:
    result = change(lab, "PBX-N1", ("Get-NetAdapter", {}), ("Set-Disk", {"IsOffline": False}))
    assert result["failed"] and result["step"] == 2


def test_where_and_select_object_filter_the_pipeline(lab: Lab) -> None:
    result = run(
        lab,
        "PBX-N1",
        pipeline(
            "gw",
            ("Get-NetIPConfiguration", {}),
            ("Where-Object", {"Property": "InterfaceAlias", "EQ": True, "Value": "Cluster"}),
            ("Select-Object", {"ExpandProperty": "InterfaceIndex"}),
        ),
    )
    assert result["results"][0]["output"] == [7]


def test_a_python_service_runs_through_the_service_cmdlets(lab: Lab) -> None:
    root = lab.node_root("PBX-N1")
    (root / "PBX").mkdir()
    (root / "PBX" / "python.exe").write_text("")
    (root / "PBX" / "svc.py").write_text(NOTIFY_READY + "import time\ntime.sleep(60)\n")
    created = change(
        lab,
        "PBX-N1",
        (
            "New-Service",
            {"Name": "pbxd", "BinaryPathName": r'"C:\PBX\python.exe" C:\PBX\svc.py', "StartupType": "Manual"},
        ),
    )
    assert "failed" not in created, created
    started = run(
        lab, "PBX-N1", pipeline("s", ("Start-Service", {"Name": "pbxd", "PassThru": True}), changes=True)
    )
    assert started["results"][0]["output"][0]["Status"] == "Running"
    (win32,) = output(
        lab, "PBX-N1", "Get-CimInstance", {"ClassName": "Win32_Service", "Filter": "Name = 'pbxd'"}
    )
    pid = win32["ProcessId"]
    assert pid > 0 and processes.start_time(pid) is not None
    change(lab, "PBX-N1", ("Stop-Service", {"Name": "pbxd"}))
    assert processes.start_time(pid) is None
    assert output(lab, "PBX-N1", "Get-Service", {"Name": "pbxd"})[0]["Status"] == "Stopped"


def test_stopping_a_service_with_running_dependents_needs_force(lab: Lab) -> None:
    change(
        lab,
        "PBX-N1",
        ("New-Service", {"Name": "Child", "BinaryPathName": r"C:\x.exe", "DependsOn": ["LanmanServer"]}),
    )
    with lab.session() as state:
        state.nodes["PBX-N1"].services["Child"].state = "Running"  # as if it had started
    refused = change(lab, "PBX-N1", ("Stop-Service", {"Name": "LanmanServer"}))
    assert (
        refused["error_id"] == "ServiceHasDependentServices,Microsoft.PowerShell.Commands.StopServiceCommand"
    )
    forced = change(lab, "PBX-N1", ("Stop-Service", {"Name": "LanmanServer", "Force": True}))
    assert "failed" not in forced
    states = output(
        lab, "PBX-N1", "Get-Service", {"Name": ["LanmanServer", "Child"]}, select=["Name", "Status"]
    )
    assert states == [{"Name": "LanmanServer", "Status": "Stopped"}, {"Name": "Child", "Status": "Stopped"}]
    missing = change(lab, "PBX-N1", ("Set-Service", {"Name": "Nope", "StartupType": "Manual"}))
    assert missing["error_id"] == "InvalidOperationException,Microsoft.PowerShell.Commands.SetServiceCommand"


def test_select_of_a_property_the_lab_does_not_model_is_refused(lab: Lab) -> None:
    """Windows would give null for a misspelt name and a value for a real property the lab does not
    model; the lab cannot tell them apart, so it refuses rather than make a value up."""
    result = run(
        lab, "PBX-N1", pipeline("d", ("Get-Disk", {"Number": 0}), select=["Number", "AdapterSerialNumber"])
    )
    assert result["error_id"] == "wsfclab.Unsupported" and result["step"] == 1
    assert "MSFT_Disk has no property AdapterSerialNumber in the lab" in result["msg"]
    assert output(lab, "PBX-N1", "Get-Disk", {"Number": 0}, select=["number"]) == [{"number": 0}]


def test_unknown_and_unsimulated_cmdlets_fail_loudly(lab: Lab) -> None:
    unknown = run(lab, "PBX-N1", pipeline("x", ("Get-Nonsense", {})))
    # The executor looks the cmdlet up with Get-Command -ErrorAction Stop, which names itself in the id.
    assert unknown["error_id"] == "CommandNotFoundException,Microsoft.PowerShell.Commands.GetCommandCommand"
    unsimulated = run(lab, "PBX-N1", pipeline("x", ("Update-HostStorageCache", {})))
    assert unsimulated["error_id"] == "wsfclab.Unsupported"
    assert "unsupported in the lab: Update-HostStorageCache" in unsimulated["msg"]
    wrong_type = run(lab, "PBX-N1", pipeline("x", ("Get-Disk", {"Number": "one"})))
    assert wrong_type["failed"] and "-Number" in wrong_type["msg"]


def test_set_service_status_starts_and_stops(lab: Lab) -> None:
    change(lab, "PBX-N1", ("Set-Service", {"Name": "MSiSCSI", "Status": "Running"}))
    assert output(lab, "PBX-N1", "Get-Service", {"Name": "MSiSCSI"})[0]["Status"] == "Running"
    stopped = run(
        lab,
        "PBX-N1",
        pipeline(
            "s", ("Set-Service", {"Name": "MSiSCSI", "Status": "Stopped", "PassThru": True}), changes=True
        ),
    )
    assert stopped["results"][0]["output"][0]["Status"] == "Stopped"


def test_a_cmdlet_name_with_wildcards_or_a_module_is_refused_before_lookup(lab: Lab) -> None:
    # Get-Command would expand "Get-D*sk" to Get-Disk: the executor accepts plain Verb-Noun names only.
    for name in ("Get-D*sk", "Storage\\Get-Disk", "Get-Disk "):
        result = run(lab, "PBX-N1", pipeline("x", (name, {"Number": 0})))
        refusal = f"'{name}' is not a Verb-Noun cmdlet name"
        assert result["msg"] == f"pipeline 'x' failed at step 1 ({name}): {refusal}"
        assert result["error_id"] == refusal


def test_dates_come_back_in_the_executors_format(lab: Lab) -> None:
    """The executor writes dates with ``ToUniversalTime().ToString('o')``: UTC, seven fractional
    digits and Z."""
    (os_info,) = output(
        lab, "PBX-N1", "Get-CimInstance", {"ClassName": "Win32_OperatingSystem"}, select=["InstallDate"]
    )
    assert os_info["InstallDate"] == "2026-01-05T09:00:00.0000000Z"
    (boot,) = output(
        lab, "PBX-N1", "Get-CimInstance", {"ClassName": "Win32_OperatingSystem"}, select=["LocalDateTime"]
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", boot["LocalDateTime"])


def test_adapters_of_one_model_are_numbered_as_windows_numbers_them(lab: Lab) -> None:
    adapters = output(lab, "PBX-N1", "Get-NetAdapter", select=["Name", "InterfaceDescription"])
    assert adapters == [
        {"Name": "Public", "InterfaceDescription": "Microsoft Hyper-V Network Adapter"},
        {"Name": "Cluster", "InterfaceDescription": "Microsoft Hyper-V Network Adapter #2"},
    ]


def test_a_running_service_has_a_process_and_a_stopped_one_none(lab: Lab) -> None:
    services = output(
        lab,
        "PBX-N1",
        "Get-CimInstance",
        {"ClassName": "Win32_Service"},
        select=["Name", "State", "ProcessId"],
    )
    by_name = {s["Name"]: s for s in services}
    assert by_name["WinRM"]["State"] == "Running" and by_name["WinRM"]["ProcessId"] > 0
    assert by_name["WinRM"]["ProcessId"] % 4 == 0
    assert by_name["MSiSCSI"] == {"Name": "MSiSCSI", "State": "Stopped", "ProcessId": 0}
