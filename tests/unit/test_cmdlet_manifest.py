"""The cmdlet manifest and the binder every test uses to check the calls we emit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from wsfclab.manifest import CmdletCallError, load_manifest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO.parent / "shared" / "reference" / "powershell-docs"


def test_manifest_is_current_with_the_help_pages() -> None:
    assert DOCS.is_dir(), f"the help pages are expected beside the repository at {DOCS}"
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_cmdlet_manifest.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_help_page_is_in_the_manifest() -> None:
    pages = {p.stem for p in DOCS.glob("*/*-*.md")}
    assert pages == set(load_manifest().cmdlets)


@pytest.mark.parametrize(
    ("cmdlet", "parameters", "pipeline_input", "expected_set"),
    [
        ("Get-Disk", {}, False, "ByNumber"),
        ("Get-Disk", {"Number": [1, 2]}, False, "ByNumber"),
        ("Get-Disk", {"UniqueId": "60022480"}, False, "ByUniqueId"),
        ("Set-Disk", {"Number": 1, "IsOffline": False}, False, "ByNumber"),
        ("Set-Disk", {"IsOffline": False}, True, "ByObject"),
        ("Initialize-Disk", {"Number": 1, "PartitionStyle": "gpt"}, False, "ByNumber"),
        (
            "New-Cluster",
            {"Name": "PBXCL1", "Node": ["N1", "N2"], "NoStorage": True},
            False,
            "__AllParameterSets",
        ),
        ("Set-ClusterQuorum", {"NodeAndDiskMajority": "Cluster Disk 1"}, False, "__AllParameterSets"),
        (
            "Install-WindowsFeature",
            {"Name": "Failover-Clustering", "IncludeManagementTools": True},
            False,
            "ComponentNamesAndRunningComputer",
        ),
        ("Format-Volume", {"DriveLetter": "D", "FileSystem": "NTFS"}, False, "ByDriveLetter"),
        ("Add-ClusterDisk", {}, True, "__AllParameterSets"),
    ],
)
def test_documented_calls_bind(
    cmdlet: str, parameters: dict, pipeline_input: bool, expected_set: str
) -> None:
    assert load_manifest().validate(cmdlet, parameters, pipeline_input=pipeline_input) == expected_set


def test_names_and_aliases_bind_case_insensitively() -> None:
    manifest = load_manifest()
    manifest.validate("get-disk", {"number": 1})
    assert manifest.canonical_name("Set-ClusterQuorum", "nodeanddiskmajority") == "DiskWitness"


@pytest.mark.parametrize(
    ("cmdlet", "parameters", "pipeline_input", "message"),
    [
        ("Get-Disks", {}, False, "'Get-Disks' is not a cmdlet"),
        ("Get-Disk", {"Numbr": 1}, False, "cannot be found that matches parameter name 'Numbr'"),
        ("Get-Disk", {"Num": 1}, False, "cannot be found"),  # prefixes are not accepted on purpose
        ("Get-Disk", {"Number": "one"}, False, "expected an integer or a list of integers"),
        ("Get-Disk", {"Number": -1}, False, "expected an integer or a list"),
        ("Set-Disk", {"Number": 1, "IsOffline": "no"}, False, "expected true or false"),
        ("Remove-ClusterNode", {"Name": "N2", "Force": "yes"}, False, "a switch takes true or false"),
        ("Format-Volume", {}, False, "-DriveLetter (parameter set ByDriveLetter)"),
        (
            "Initialize-Disk",
            {"Number": 1, "PartitionStyle": "ZFS"},
            False,
            "expected one of Unknown, MBR, GPT",
        ),
        ("Format-Volume", {"DriveLetter": "DE"}, False, "one character"),
        ("Where-Object", {"FilterScript": "{ $_.Number -eq 1 }"}, False, "cannot be written as a value"),
        ("Get-Disk", {"CimSession": "N1"}, False, "cannot be written as a value"),
        (
            "Add-ClusterGenericServiceRole",
            {"Name": "PBX"},
            False,
            "missing mandatory parameter(s) -ServiceName",
        ),
        # Several sets take -IsOffline, none of them the default: PowerShell cannot choose.
        ("Set-Disk", {"IsOffline": False}, False, "Parameter set cannot be resolved"),
        ("Get-Disk", {"Number": 1, "FriendlyName": "x"}, False, "different parameter sets"),
        (
            "Set-Disk",
            {"Number": 1, "IsOffline": False, "PartitionStyle": "GPT"},
            False,
            "different parameter sets",
        ),
        ("Get-Disk", {"Number": 1, "number": 2}, False, "more than once"),
    ],
)
def test_calls_windows_would_refuse_are_rejected(
    cmdlet: str, parameters: dict, pipeline_input: bool, message: str
) -> None:
    with pytest.raises(CmdletCallError) as error:
        load_manifest().validate(cmdlet, parameters, pipeline_input=pipeline_input)
    assert message in str(error.value)
