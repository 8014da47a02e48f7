"""The manifest's binder decides every call as PowerShell's binder does: the parameter set (the
default set first, then mandatory parameters), pipeline input by value and by property name, and
the confirmation a non-interactive host cannot give."""

from __future__ import annotations

import pytest
from wsfclab.lab import Lab
from wsfclab.manifest import NON_INTERACTIVE, CmdletCallError, load_manifest
from wsfclab.testing import change, connect_iscsi, output, pipeline, run

PORTAL = "127.0.3.10"


def _write_on_c(lab: Lab) -> None:
    with lab.session() as state:
        lab.resolve_path(state, "PBX-N1", r"C:\Windows\System32\config\SYSTEM").parent.mkdir(parents=True)
        lab.resolve_path(state, "PBX-N1", r"C:\Windows\System32\config\SYSTEM").write_text("hive")


def _c_survives(lab: Lab) -> bool:
    with lab.session() as state:
        return lab.resolve_path(state, "PBX-N1", r"C:\Windows\System32\config\SYSTEM").exists()


def test_format_volume_without_a_target_binds_the_default_set_and_needs_its_drive_letter(lab: Lab) -> None:
    """PowerShell picks ByDriveLetter (the default set) when nothing tells the sets apart, then
    prompts for -DriveLetter; a host that cannot prompt fails, and nothing is formatted."""
    _write_on_c(lab)
    result = change(lab, "PBX-N1", ("Format-Volume", {"FileSystem": "NTFS"}))
    assert result["error_id"] == "MissingMandatoryParameter,Format-Volume"
    assert "-DriveLetter" in result["msg"] and "ByDriveLetter" in result["msg"]
    assert _c_survives(lab)


def test_the_system_volume_cannot_be_formatted(lab: Lab) -> None:
    _write_on_c(lab)
    result = change(lab, "PBX-N1", ("Format-Volume", {"DriveLetter": "C", "FileSystem": "NTFS"}))
    assert result["error_id"] == "StorageWMI 42010,Format-Volume"
    assert result["msg"].endswith("The operation is not allowed on a system or critical partition.")
    assert _c_survives(lab)
    efi = change(
        lab, "PBX-N1", ("Get-Partition", {"DiskNumber": 0, "PartitionNumber": 1}), ("Format-Volume", {})
    )
    assert efi["error_id"] == "StorageWMI 42010,Format-Volume"


def test_a_prompting_cmdlet_fails_without_confirm_false_as_a_non_interactive_host_fails(lab: Lab) -> None:
    connect_iscsi(lab, "PBX-N1", PORTAL)
    refused = change(
        lab,
        "PBX-N1",
        ("Disconnect-IscsiTarget", {"NodeAddress": "iqn.1991-05.com.microsoft:san1-pbx-target"}),
    )
    assert refused["error_id"] == "InvalidOperation,Disconnect-IscsiTarget"
    assert refused["error_category"] == "InvalidOperation"
    assert refused["msg"].endswith(NON_INTERACTIVE)
    assert len(output(lab, "PBX-N1", "Get-IscsiSession")) == 1
    done = change(
        lab,
        "PBX-N1",
        ("Get-IscsiTarget", {}),
        ("Disconnect-IscsiTarget", {"Confirm": False}),
    )
    assert "failed" not in done, done
    assert output(lab, "PBX-N1", "Get-IscsiSession") == []


def test_confirm_true_makes_any_changing_cmdlet_prompt(lab: Lab) -> None:
    result = change(lab, "PBX-N1", ("Initialize-Disk", {"Number": 0, "Confirm": True}))
    assert result["error_id"] == "InvalidOperation,Initialize-Disk"


def test_no_prompt_comes_when_no_object_reaches_the_cmdlet(lab: Lab) -> None:
    change(lab, "PBX-N1", ("Start-Service", {"Name": "MSiSCSI"}))
    result = change(lab, "PBX-N1", ("Get-IscsiTarget", {}), ("Disconnect-IscsiTarget", {}))
    assert "failed" not in result, result


@pytest.mark.parametrize(
    ("parameters", "prompts"),
    [
        ({"Name": "N2"}, True),
        ({"Name": "N2", "Force": True}, False),
        ({"Name": "N2", "Force": False}, True),
        ({"Name": "N2", "Confirm": False}, False),
        ({"Name": "N2", "Force": True, "Confirm": True}, True),
    ],
)
def test_confirm_impact_high_prompts_unless_confirm_false_or_a_documented_force(
    parameters: dict[str, object], prompts: bool
) -> None:
    spec = load_manifest().cmdlet("Remove-ClusterNode")
    assert (spec.confirm_impact, spec.force_skips_confirmation) == ("High", True)
    binding = load_manifest().bind("Remove-ClusterNode", parameters)
    assert (binding.prompt_error() is not None) is prompts


def test_force_does_not_skip_a_prompt_its_page_does_not_say_it_skips() -> None:
    spec = load_manifest().cmdlet("Disconnect-IscsiTarget")
    assert (spec.confirm_impact, spec.force_skips_confirmation) == ("High", False)
    assert load_manifest().cmdlet("Get-Disk").confirm_impact == "Medium"


def test_a_switch_given_false_binds_as_minus_switch_colon_false() -> None:
    binding = load_manifest().bind("Remove-ClusterNode", {"Name": "N2", "Confirm": False})
    assert binding.parameters == {"Name": "N2", "Confirm": False}


def test_pipeline_objects_bind_by_property_name_when_no_parameter_takes_them_by_value(lab: Lab) -> None:
    """Connect-IscsiTarget -IsPersistent exists only in ByNodeAddress, whose -NodeAddress takes the
    piped target's NodeAddress property, as on Windows."""
    connect_iscsi(lab, "PBX-N1", PORTAL)
    (session,) = output(lab, "PBX-N1", "Get-IscsiSession", select=["IsPersistent"])
    assert session == {"IsPersistent": True}


def test_an_object_nothing_takes_is_not_bound(lab: Lab) -> None:
    result = run(lab, "PBX-N1", pipeline("x", ("Get-Service", {"Name": "WinRM"}), ("Get-Volume", {})))
    assert result["error_id"] == "InputObjectNotBound,Get-Volume"


def test_the_binder_names_what_a_set_lacks() -> None:
    with pytest.raises(CmdletCallError, match=r"-DriveLetter \(parameter set ByDriveLetter\)"):
        load_manifest().bind("Format-Volume", {"FileSystem": "NTFS"})
