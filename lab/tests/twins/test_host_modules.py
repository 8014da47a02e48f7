"""Module twins answer real payloads of the real modules as the modules would on Windows.

`windows` (conftest.py) builds each payload with the installed ansible-core from the installed
module and sends it through NodeHost.exec_command, as the connection plugin does.
"""

from __future__ import annotations

import json
import typing as t

import pytest
from wsfclab.lab import Lab
from wsfclab.testing import change

Driver = t.Any  # conftest.WindowsDriver (pytest's conftest is not importable by name)


def test_win_ping_answers_with_its_data(windows: Driver) -> None:
    outcome = windows.run("ansible.windows.win_ping", {"data": "lab"})
    assert (outcome.rc, outcome.result) == (0, {"changed": False, "ping": "lab"})


def test_win_ping_crash_fails_like_the_module(windows: Driver) -> None:
    outcome = windows.run("ansible.windows.win_ping", {"data": "crash"})
    assert outcome.rc == 1
    assert outcome.result["failed"] is True
    assert outcome.result["msg"] == "Unhandled exception while executing module: boom"


def test_win_file_creates_once_and_check_mode_changes_nothing(windows: Driver) -> None:
    args = {"path": r"C:\PBX\data", "state": "directory"}
    checked = windows.run("ansible.windows.win_file", {**args, "_ansible_check_mode": True})
    assert checked.result == {"changed": True}
    assert not windows.local(r"C:\PBX\data").exists()
    assert windows.run("ansible.windows.win_file", args).result == {"changed": True}
    assert windows.local(r"c:/pbx/DATA").is_dir()
    assert windows.run("ansible.windows.win_file", args).result == {"changed": False}
    absent = windows.run("ansible.windows.win_file", {"path": r"C:\PBX\data", "state": "absent"})
    assert absent.result == {"changed": True}
    assert not windows.local(r"C:\PBX\data").exists()


def test_win_file_refuses_to_create_a_file(windows: Driver) -> None:
    outcome = windows.run("ansible.windows.win_file", {"path": r"C:\PBX\x.txt", "state": "file"})
    assert outcome.rc == 1
    assert outcome.result["msg"] == r"path C:\PBX\x.txt will not be created"


def test_arguments_are_checked_against_the_real_spec(windows: Driver) -> None:
    unknown = windows.run("ansible.windows.win_file", {"path": r"C:\x", "foo": 1})
    assert unknown.rc == 1
    assert unknown.result["msg"] == (
        "Unsupported parameters for (ansible.windows.win_file) module: foo. Supported parameters include: "
        "_diff_peek, _original_basename, access_time, access_time_format, dest, modification_time, "
        "modification_time_format, name, path, state"
    )
    missing = windows.run("ansible.windows.win_stat", {})
    assert missing.result["msg"] == "missing required arguments: path"
    choice = windows.run("ansible.windows.win_feature", {"name": "SNMP-Service", "state": "gone"})
    assert choice.result["msg"] == "value of state must be one of: present, absent. Got no match for: gone"
    typed = windows.run("ansible.windows.win_stat", {"path": r"C:\x", "get_checksum": "maybe"})
    assert typed.result["msg"].startswith(
        "argument for get_checksum is of type System.String and we were unable to convert to bool: "
        "The value 'maybe' is not a valid boolean."
    )


def test_win_stat_reports_checksums_and_kinds(windows: Driver) -> None:
    import hashlib

    target = windows.local(r"C:\PBX\pbx.toml")
    target.parent.mkdir(parents=True)
    target.write_bytes(b"[pbx]\n")
    outcome = windows.run(
        "ansible.windows.win_stat", {"path": r"C:\PBX\pbx.toml", "checksum_algorithm": "sha256"}
    )
    stat = outcome.result["stat"]
    assert stat["exists"] and stat["isreg"] and not stat["isdir"]
    assert stat["checksum"] == hashlib.sha256(b"[pbx]\n").hexdigest()
    assert stat["size"] == 6
    assert stat["path"] == r"C:\PBX\pbx.toml"
    folder = windows.run("ansible.windows.win_stat", {"path": r"C:\PBX"}).result["stat"]
    assert folder["isdir"] and folder["size"] == 6
    assert windows.run("ansible.windows.win_stat", {"path": r"C:\nothing"}).result["stat"] == {
        "exists": False
    }


def test_win_copy_protocol_query_then_single(windows: Driver, tmp_path: t.Any) -> None:
    import hashlib

    content = b"listen = 5060\n"
    sha1 = hashlib.sha1(content).hexdigest()
    files = [{"src": "/controller/settings.txt", "dest": "settings.txt", "checksum": sha1}]
    query = {"_copy_mode": "query", "dest": r"C:\PBX", "files": files, "directories": [], "symlinks": []}
    assert windows.run("ansible.windows.win_copy", query).result["files"] == files

    windows.host.exec_command(
        windows.bootstrap_command(),
        windows.payload("ansible.windows.win_file", {"path": r"C:\PBX\tmp", "state": "directory"}),
    )
    local = tmp_path / "settings.txt"
    local.write_bytes(content)
    windows.host.put_file(local, r"C:\PBX\tmp\source")
    single = {
        "_copy_mode": "single",
        "src": r"C:\PBX\tmp\source",
        "dest": r"C:\PBX\settings.txt",
        "_original_basename": "settings.txt",
    }
    assert windows.run("ansible.windows.win_copy", single).result == {"changed": True}
    assert windows.local(r"C:\PBX\settings.txt").read_bytes() == content
    assert windows.run("ansible.windows.win_copy", query).result["files"] == []


def test_setup_facts_follow_the_world_and_the_subset(windows: Driver) -> None:
    facts = windows.run("ansible.windows.setup", {}).result["ansible_facts"]
    assert facts["ansible_hostname"] == "PBX-N1"
    assert facts["ansible_os_family"] == "Windows"
    assert facts["ansible_windows_domain"] == "pbx.lab"
    assert facts["ansible_windows_domain_member"] is True
    assert facts["ansible_memtotal_mb"] == 8192
    addresses = facts["ansible_ip_addresses"]
    assert [ip for ip in addresses if "." in ip] == ["127.0.1.11", "127.0.2.11"]
    # Every NIC has an IPv6 link-local address, which .NET prints with its zone (the NIC's index).
    local = [ip for ip in addresses if ip.startswith("fe80::")]
    assert [ip.rsplit("%", 1)[1] for ip in local] == [
        str(n["interface_index"]) for n in facts["ansible_interfaces"]
    ]
    assert len(addresses) == 4
    assert [nic["connection_name"] for nic in facts["ansible_interfaces"]] == ["Public", "Cluster"]
    assert [nic["ipv6"] for nic in facts["ansible_interfaces"]] == [
        [{"address": ip, "prefix": "64"}] for ip in local
    ]
    assert facts["ansible_interfaces"][0]["default_gateway"] == "127.0.1.1"
    assert facts["ansible_env"]["USERPROFILE"] == r"C:\Users\Administrator"
    minimal = windows.run("ansible.windows.setup", {"gather_subset": ["!all", "!min", "memory"]})
    assert set(minimal.result["ansible_facts"]) == {
        "gather_subset",
        "module_setup",
        "ansible_memtotal_mb",
        "ansible_memfree_mb",
        "ansible_swaptotal_mb",
        "ansible_pagefiletotal_mb",
        "ansible_pagefilefree_mb",
    }
    odd = windows.run("ansible.windows.setup", {"gather_subset": ["!all", "nonsense"]})
    assert odd.result["warnings"] == ["invalid value nonsense specified in gather_subset"]


def test_win_feature_installs_with_tools_and_reports_like_install_windowsfeature(
    windows: Driver, lab: Lab
) -> None:
    args = {"name": ["Failover-Clustering"], "include_management_tools": True}
    checked = windows.run("ansible.windows.win_feature", {**args, "_ansible_check_mode": True}).result
    assert checked["changed"] and checked["exitcode"] == "Success"
    with lab.session() as state:
        assert not state.nodes["PBX-N1"].features["Failover-Clustering"].installed
    done = windows.run("ansible.windows.win_feature", args).result
    names = {entry["display_name"] for entry in done["feature_result"]}
    assert {"Failover Clustering", "Failover Cluster Management Tools"} <= names
    assert done["success"] and not done["reboot_required"]
    with lab.session() as state:
        assert state.nodes["PBX-N1"].features["RSAT-Clustering-PowerShell"].installed
    again = windows.run("ansible.windows.win_feature", args).result
    assert (again["changed"], again["exitcode"], again["feature_result"]) == (False, "NoChangeNeeded", [])


def test_win_feature_and_install_windowsfeature_leave_the_same_node(windows: Driver, lab: Lab) -> None:
    """win_feature calls Install-WindowsFeature on Windows: both install the same features, once
    each, and register the cluster service."""
    done = windows.run(
        "ansible.windows.win_feature", {"name": ["Failover-Clustering"], "include_management_tools": True}
    ).result
    twin_ids = [entry["id"] for entry in done["feature_result"]]
    assert len(twin_ids) == len(set(twin_ids))
    cmdlet = change(
        lab,
        "PBX-N2",
        ("Install-WindowsFeature", {"Name": "Failover-Clustering", "IncludeManagementTools": True}),
    )
    cmdlet_ids = [entry["Id"] for entry in cmdlet["results"][0]["output"][0]["FeatureResult"]]
    assert cmdlet_ids == twin_ids
    with lab.session() as state:
        one, two = state.nodes["PBX-N1"], state.nodes["PBX-N2"]
        assert {n for n, f in one.features.items() if f.installed} == {
            n for n, f in two.features.items() if f.installed
        }
        assert one.services["ClusSvc"] == two.services["ClusSvc"]
        assert one.services["ClusSvc"].start_mode == "Disabled"


def test_win_service_refuses_a_binary_the_lab_cannot_run(windows: Driver, lab: Lab) -> None:
    args = {"name": "Native", "path": r"C:\Program Files\native.exe", "state": "started"}
    outcome = windows.run("ansible.windows.win_service", args)
    assert outcome.rc == 1
    assert "unsupported in the lab" in outcome.result["msg"]
    assert "unsupported in the lab" in outcome.stderr


def test_win_service_in_check_mode_registers_nothing(windows: Driver, lab: Lab) -> None:
    args = {
        "name": "Later",
        "path": r"C:\Python312\python.exe C:\app.py",
        "start_mode": "manual",
        "_ansible_check_mode": True,
        "_ansible_diff": True,
    }
    outcome = windows.run("ansible.windows.win_service", args).result
    assert outcome["changed"]
    assert outcome["diff"]["before"] == ""
    assert outcome["diff"]["after"]["start_mode"] == "manual"
    with lab.session() as state:
        assert "Later" not in state.nodes["PBX-N1"].services


def test_the_password_of_a_service_never_leaves_the_module(windows: Driver) -> None:
    args = {
        "name": "WinRM",
        "username": "svc-pbx",
        "password": "Sup3r-Secret",
        "update_password": "always",
        "_ansible_check_mode": True,
        "_ansible_diff": True,
    }
    outcome = windows.run("ansible.windows.win_service", args)
    assert "Sup3r-Secret" not in json.dumps(outcome.result)
    assert outcome.result["diff"]["after"]["password"] == "CHANGED REDACTED"
    log = (windows.lab.state_dir / "logs" / "PBX-N1" / "wire.log").read_text()
    assert "Sup3r-Secret" not in log and "module ansible.windows.win_service" in log


def test_win_service_takes_an_account_by_its_translated_name(windows: Driver, lab: Lab) -> None:
    args = {"name": "WinRM", "username": "svc-pbx", "password": "Pbx-Service-1", "_ansible_diff": True}
    outcome = windows.run("ansible.windows.win_service", args).result
    assert outcome["changed"] and outcome["diff"]["after"]["username"] == "PBXLAB\\svc-pbx"
    with lab.session() as state:
        assert state.nodes["PBX-N1"].services["WinRM"].username == "PBXLAB\\svc-pbx"


def test_win_service_refuses_an_account_that_exists_nowhere_as_dotnet_does(windows: Driver, lab: Lab) -> None:
    for check_mode in (True, False):
        args = {"name": "WinRM", "username": "PBXLAB\\nobody", "_ansible_check_mode": check_mode}
        outcome = windows.run("ansible.windows.win_service", args)
        assert outcome.rc == 1
        assert outcome.result["msg"] == (
            'Unhandled exception while executing module: Exception calling "Translate" with "1" '
            'argument(s): "Some or all identity references could not be translated."'
        )
    with lab.session() as state:
        assert state.nodes["PBX-N1"].services["WinRM"].username == "NT AUTHORITY\\NetworkService"


def test_async_answers_at_once_and_async_status_reads_the_results_file(windows: Driver) -> None:
    started = windows.run(
        "ansible.windows.win_file", {"path": r"C:\PBX\async", "state": "directory"}, async_timeout=30
    )
    assert started.rc == 0
    assert started.result["started"] is True and started.result["finished"] is False
    job = started.result["ansible_job_id"]
    assert started.result["results_file"] == rf"C:\Users\Administrator\.ansible_async\{job}"
    status = windows.run(
        "ansible.windows.async_status", {"jid": job, "_async_dir": r"%USERPROFILE%\.ansible_async"}
    )
    assert status.result["finished"] is True and status.result["changed"] is True
    cleanup = windows.run(
        "ansible.windows.async_status",
        {"jid": job, "mode": "cleanup", "_async_dir": r"%USERPROFILE%\.ansible_async"},
    )
    assert cleanup.result["erased"].endswith(job)
    missing = windows.run(
        "ansible.windows.async_status", {"jid": job, "_async_dir": r"%USERPROFILE%\.ansible_async"}
    )
    assert missing.rc == 1 and missing.result["msg"].startswith("could not find job")


def test_become_runs_the_twin_as_the_become_user(windows: Driver) -> None:
    outcome = windows.run(
        "ansible.windows.setup",
        {"gather_subset": ["!all"]},
        become={"become_user": "PBXLAB\\svc-pbx", "become_pass": "Pbx-Service-1"},
    )
    assert outcome.result["ansible_facts"]["ansible_user_id"] == "svc-pbx"
    assert outcome.result["ansible_facts"]["ansible_user_dir"] == r"C:\Users\svc-pbx"
    log = (windows.lab.state_dir / "logs" / "PBX-N1" / "wire.log").read_text()
    assert "as PBXLAB\\svc-pbx" in log and "Pbx-Service-1" not in log


def _become(windows: Driver, user: str, password: str | None = None) -> t.Any:
    become = {"become_user": user, **({"become_pass": password} if password is not None else {})}
    return windows.run("ansible.windows.win_ping", {}, become=become)


def test_become_with_a_wrong_password_fails_as_logonuser_fails(windows: Driver) -> None:
    outcome = _become(windows, "PBXLAB\\svc-pbx", "not-the-password")
    assert outcome.rc == 1 and outcome.result["failed"]
    assert outcome.result["msg"] == (
        'failure during exec_wrapper: Exception calling "CreateProcessAsUser" with "9" argument(s): '
        '"Failed to logon PBXLAB\\svc-pbx (The user name or password is incorrect, '
        'Win32ErrorCode 1326 - 0x0000052E)"'
    )
    assert "not-the-password" not in json.dumps(outcome.result)
    log = (windows.lab.state_dir / "logs" / "PBX-N1" / "wire.log").read_text()
    assert "not-the-password" not in log and "become refused" in log


def test_become_as_an_account_that_exists_nowhere_fails_to_translate(windows: Driver) -> None:
    for user in ("PBXLAB\\nobody", "nobody", "OTHERDOM\\svc-pbx", "svc-pbx@other.lab"):
        outcome = _become(windows, user, "whatever")
        assert outcome.rc == 1, user
        assert outcome.result["msg"].endswith('"Some or all identity references could not be translated."'), (
            user
        )


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("PBXLAB\\deploy", "Deploy-Pass-1"),
        ("deploy@pbx.lab", "Deploy-Pass-1"),
        (".\\Administrator", "Deploy-Pass-1"),  # the node's own Administrator (the default password)
        ("PBXLAB\\svc-pbx", None),  # no password: an S4U logon, as runas does it
        ("SYSTEM", None),
    ],
)
def test_become_as_an_existing_account_runs(windows: Driver, user: str, password: str | None) -> None:
    outcome = _become(windows, user, password)
    assert (outcome.rc, outcome.result.get("ping")) == (0, "pong"), outcome.result


def test_a_module_without_a_twin_is_unsupported(windows: Driver) -> None:
    outcome = windows.run("ansible.windows.win_regedit", {"path": r"HKLM:\Software\Lab"})
    assert outcome.rc == 1
    assert outcome.result["msg"].startswith(
        "unsupported in the lab: module ansible.windows.win_regedit has no twin"
    )
    assert outcome.stderr.startswith("unsupported in the lab")


def test_cmdlet_pipelines_validates_its_spec_and_refuses_changes_in_check_mode(windows: Driver) -> None:
    missing = windows.run("pbxops.wsfc.cmdlet_pipelines", {"pipelines": [{"name": "x"}]})
    assert missing.result["msg"] == "missing required arguments: steps found in pipelines"
    changing = [
        {
            "name": "start winrm",
            "changes": True,
            "steps": [{"cmdlet": "Start-Service", "parameters": {"Name": "WinRM"}}],
        }
    ]
    refused = windows.run(
        "pbxops.wsfc.cmdlet_pipelines", {"pipelines": changing, "_ansible_check_mode": True}
    )
    assert refused.rc == 1
    assert refused.result["msg"] == "pipeline 'start winrm' changes the host and cannot run in check mode"
    reading = [
        {
            "name": "winrm",
            "steps": [{"cmdlet": "Get-Service", "parameters": {"Name": "WinRM"}}],
            "select": ["Name"],
        }
    ]
    read = windows.run("pbxops.wsfc.cmdlet_pipelines", {"pipelines": reading}).result
    assert read["changed"] is False
    assert [(r["name"], r["output"]) for r in read["results"]] == [("winrm", [{"Name": "WinRM"}])]


def test_win_service_dependencies_are_added_removed_and_set(windows: Driver, lab: Lab) -> None:
    def dependencies() -> list[str]:
        with lab.session() as state:
            return list(state.nodes["PBX-N1"].services["WinRM"].dependencies)

    start = dependencies()
    added = windows.run(
        "ansible.windows.win_service",
        {"name": "WinRM", "dependencies": ["MSiSCSI"], "dependency_action": "add"},
    )
    assert added.result["changed"] and dependencies() == [*start, "MSiSCSI"]
    again = windows.run(
        "ansible.windows.win_service",
        {"name": "WinRM", "dependencies": ["MSiSCSI"], "dependency_action": "add"},
    )
    assert not again.result["changed"]
    removed = windows.run(
        "ansible.windows.win_service",
        {"name": "WinRM", "dependencies": ["MSiSCSI"], "dependency_action": "remove"},
    )
    assert removed.result["changed"] and dependencies() == start
    exact = windows.run(
        "ansible.windows.win_service",
        {"name": "WinRM", "dependencies": ["MSiSCSI"], "_ansible_check_mode": True},
    )
    assert exact.result["changed"] and exact.result["dependencies"] == ["MSiSCSI"]
    assert dependencies() == start


def test_cmdlet_pipelines_takes_set_properties_steps_by_the_module_spec(windows: Driver) -> None:
    both = [{"name": "x", "changes": True, "steps": [{"cmdlet": "Get-Disk", "set_properties": {"A": 1}}]}]
    assert windows.run("pbxops.wsfc.cmdlet_pipelines", {"pipelines": both}).result["msg"] == (
        "parameters are mutually exclusive: cmdlet, set_properties found in pipelines -> steps"
    )
    assign = [
        {
            "name": "rename",
            "changes": True,
            "steps": [
                {"cmdlet": "Get-Disk", "parameters": {"Number": 0}},
                {"set_properties": {"FriendlyName": "System"}},
            ],
        }
    ]
    refused = windows.run("pbxops.wsfc.cmdlet_pipelines", {"pipelines": assign}).result
    assert (refused["step"], refused["cmdlet"], refused["error_id"]) == (
        2,
        "set_properties",
        "PropertyAssignmentException",
    )
