"""Bad inventories are refused before any node is contacted, every problem at once.

The baseline is the real lab inventory (inventories/lab, read with its vault as Ansible reads
it); each case breaks one thing and checks the message names what to fix.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.inventory_checks import inventory_problems

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventories" / "lab"


@pytest.fixture(scope="module")
def lab_hostvars() -> dict[str, dict[str, Any]]:
    """Every node's variables as ansible-inventory resolves them, vault included."""
    run = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-inventory")), "-i", str(LAB), "--list",
         "--vault-password-file", str(LAB / "LAB-ONLY-vault-password.txt")],
        capture_output=True, text=True, timeout=120, check=True,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
    )  # fmt: skip
    listed = json.loads(run.stdout)
    hostvars: dict[str, dict[str, Any]] = listed["_meta"]["hostvars"]
    return {host: hostvars[host] for host in ("PBXA-N1", "PBXA-N2", "PBXB-N1", "PBXB-N2")}


def site_set(hostvars: dict[str, dict[str, Any]], site: str, **values: Any) -> dict[str, dict[str, Any]]:
    changed = copy.deepcopy(hostvars)
    for vars_ in changed.values():
        if vars_["pbx_site"] == site:
            vars_.update(values)
    return changed


def test_the_lab_inventory_is_fit_to_roll_out(lab_hostvars: dict[str, dict[str, Any]]) -> None:
    assert inventory_problems(list(lab_hostvars), lab_hostvars) == []


BAD_VALUES = [
    (
        {"cluster_name": "PBXA-CLUSTER-0001"},
        "cluster_name 'PBXA-CLUSTER-0001' has 17 characters; a NetBIOS name",
    ),
    ({"pbx_role_name": "PBX A"}, "pbx_role_name 'PBX A' is not a computer name"),
    (
        {"cluster_static_address": "127.0.9.20"},
        "cluster_static_address 127.0.9.20 is outside the public subnet",
    ),
    ({"pbx_role_ip": "127.0.11.50"}, "pbx_role_ip 127.0.11.50 is outside the public subnet 127.0.1.0/24"),
    (
        {"cluster_private_subnet": "127.0.1.128/25"},
        "cluster_public_subnet 127.0.1.0/24 and cluster_private_subnet 127.0.1.128/25 overlap",
    ),
    (
        {"pbx_number_range": "150-249"},
        "sites site-a (150-249) and site-b (200-299) have overlapping number ranges",
    ),
    ({"pbx_test_caller": "290"}, "extension '290' is outside the site's number range 100-199"),
    (
        {"cluster_public_subnet": "127.0.1.0/33"},
        "cluster_public_subnet '127.0.1.0/33' is not a subnet in CIDR form",
    ),
]


@pytest.mark.parametrize(("values", "expected"), BAD_VALUES)
def test_each_bad_value_is_named(
    lab_hostvars: dict[str, dict[str, Any]], values: dict[str, Any], expected: str
) -> None:
    hostvars = site_set(lab_hostvars, "site-a", **values)
    problems = inventory_problems(list(hostvars), hostvars)
    assert any(p.startswith((f"site site-a: {expected}", expected)) for p in problems), problems


def test_a_missing_or_placeholder_secret_is_named_but_never_shown(
    lab_hostvars: dict[str, dict[str, Any]],
) -> None:
    passwords = dict(lab_hostvars["PBXA-N1"]["vault_pbx_passwords"])
    del passwords["190"]
    passwords["101"] = "CHANGE-ME"
    hostvars = site_set(lab_hostvars, "site-a", vault_pbx_passwords=passwords)
    problems = inventory_problems(list(hostvars), hostvars)
    assert (
        "site site-a: the password of extension 190 (vault_pbx_passwords) is missing from the vault"
        in problems
    )
    placeholder = "site site-a: the password of extension 101 (vault_pbx_passwords) in the vault is still"
    assert f"{placeholder} the placeholder CHANGE-ME" in problems
    shown = "\n".join(problems)
    assert all(secret not in shown for secret in passwords.values() if secret != "CHANGE-ME")


def test_a_one_node_site_and_every_problem_at_once(lab_hostvars: dict[str, dict[str, Any]]) -> None:
    hostvars = site_set(lab_hostvars, "site-b", cluster_name="B" * 16, pbx_role_ip="10.9.9.9")
    del hostvars["PBXB-N2"]
    problems = inventory_problems(list(hostvars), hostvars)
    assert problems[0].startswith("site site-b: has 1 node (PBXB-N1); a failover cluster needs at least 2")
    assert len(problems) == 3, problems


def test_the_example_inventory_is_refused_until_its_placeholders_are_replaced() -> None:
    run = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-inventory")), "-i", str(ROOT / "inventories/example"),
         "--list"],
        capture_output=True, text=True, timeout=120, check=True,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
    )  # fmt: skip
    hostvars = json.loads(run.stdout)["_meta"]["hostvars"]
    nodes = [h for h in hostvars if h != "localhost"]
    problems = inventory_problems(nodes, hostvars)
    assert "site site-a: vault_deploy_password in the vault is still the placeholder CHANGE-ME" in problems
    assert all("CHANGE-ME" in p for p in problems), problems
