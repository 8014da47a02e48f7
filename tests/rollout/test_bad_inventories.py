"""Bad inventories are refused by playbooks/site.yml before anything changes in the lab.

Each case copies inventories/lab (and, for what only the nodes can show, a site's world file),
breaks one thing, runs site.yml against fresh labs, and checks the message says what to fix
and that no lab changed: the labs' state files are byte for byte what they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "inventories" / "lab"
VAULT_FILE = LAB / "LAB-ONLY-vault-password.txt"
BIN = Path(sys.executable).parent
SITES = ("site-a", "site-b")


def state_digest(state: Path) -> dict[str, str]:
    """The sha256 of every site's state file (every lab change is saved there)."""
    return {site: hashlib.sha256((state / site / "state.json").read_bytes()).hexdigest() for site in SITES}


def without_iscsi_connections(state_file: Path) -> dict[str, Any]:
    """A site's lab state less what connecting to an iSCSI target changes: the initiator service,
    portals, sessions, and which nodes see the target's disks."""
    state: dict[str, Any] = json.loads(state_file.read_text())
    state.pop("counter")
    for node in state["nodes"].values():
        node["iscsi_portals"], node["iscsi_sessions"] = [], []
        node["services"].pop("MSiSCSI")
    for disk in state["disks"].values():
        disk["views"], disk["absent_views"] = {}, {}
    return state


def vault_values() -> dict[str, Any]:
    view = subprocess.run(
        [str(BIN / "ansible-vault"), "view", "--vault-password-file", str(VAULT_FILE),
         str(LAB / "group_vars/all/vault.yml")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    values: dict[str, Any] = yaml.safe_load(view.stdout)
    return values


class Case:
    """A copy of the lab inventory (and world files) in a folder of its own, to break."""

    def __init__(self, folder: Path) -> None:
        self.inventory = folder / "inventory"
        self.worlds = folder / "worlds"
        shutil.copytree(LAB, self.inventory)
        self.worlds.mkdir()
        for site in SITES:
            shutil.copy(REPO / "lab" / "examples" / f"pbx-{site}.yml", self.worlds / f"pbx-{site}.yml")
        main = self.inventory / "group_vars/all/main.yml"
        text = main.read_text().replace("{{ inventory_dir }}/../..", str(REPO))
        text = text.replace(
            f"{REPO}/lab/examples/pbx-{{{{ pbx_site }}}}.yml", f"{self.worlds}/pbx-{{{{ pbx_site }}}}.yml"
        )
        main.write_text(text)
        self.secrets = vault_values()
        (self.inventory / "group_vars/all/vault.yml").write_text(yaml.safe_dump(self.secrets))

    def site_vars(self, site: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = self.inventory / "group_vars" / f"{site.replace('-', '_')}.yml"
        values = yaml.safe_load(path.read_text())
        change(values)
        path.write_text(yaml.safe_dump(values))

    def world(self, site: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = self.worlds / f"pbx-{site}.yml"
        values = yaml.safe_load(path.read_text())
        change(values)
        path.write_text(yaml.safe_dump(values))

    def vault(self, change: Callable[[dict[str, Any]], None]) -> None:
        change(self.secrets)
        (self.inventory / "group_vars/all/vault.yml").write_text(yaml.safe_dump(self.secrets))

    def reset(self, state: Path) -> None:
        for site in SITES:
            subprocess.run(
                [str(BIN / "wsfclab"), "--state-dir", str(state / site),
                 "--world", str(self.worlds / f"pbx-{site}.yml"), "reset"],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip

    def run_site(self, state: Path) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "WSFCLAB_STATE_DIR": str(state),
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
        }
        return subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(REPO / "playbooks/site.yml")],
            capture_output=True, text=True, timeout=900, env=env, cwd=REPO, check=False,
        )  # fmt: skip


CASES: dict[str, tuple[str, Callable[[Case], None], str]] = {
    "a node with one NIC": (
        "world",
        lambda c: c.world("site-a", lambda w: w["nodes"][1]["nics"].pop()),
        "PBXA-N2",
    ),
    "overlapping subnets": (
        "inventory",
        lambda c: c.site_vars("site-a", lambda v: v.update(cluster_private_subnet="127.0.1.128/25")),
        "cluster_public_subnet 127.0.1.0/24 and cluster_private_subnet 127.0.1.128/25 overlap",
    ),
    "a cluster IP outside the public subnet": (
        "inventory",
        lambda c: c.site_vars("site-b", lambda v: v.update(cluster_static_address="127.0.9.20")),
        "cluster_static_address 127.0.9.20 is outside the public subnet 127.0.2.0/24",
    ),
    "a name over 15 characters": (
        "inventory",
        lambda c: c.site_vars("site-a", lambda v: v.update(pbx_role_name="PBXA-TELEPHONY-1")),
        "pbx_role_name 'PBXA-TELEPHONY-1' has 16 characters",
    ),
    "mismatched OS builds": (
        "world",
        lambda c: c.world(
            "site-b",
            lambda w: w["nodes"][1].update(
                os={
                    "caption": "Microsoft Windows Server 2019 Datacenter",
                    "version": "10.0.17763",
                    "build_number": "17763",
                }
            ),
        ),
        "17763",
    ),
    "a missing vault secret": (
        "inventory",
        lambda c: c.vault(lambda s: s["vault_pbx_passwords"].pop("191")),
        "the password of extension 191 (vault_pbx_passwords) is missing from the vault",
    ),
    "two sites with overlapping number ranges": (
        "inventory",
        lambda c: c.site_vars("site-b", lambda v: v.update(pbx_number_range="150-249")),
        "sites site-a (100-199) and site-b (150-249) have overlapping number ranges",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_inventory_is_refused_with_what_to_fix_and_nothing_changes(case: str, tmp_path: Path) -> None:
    _, breaks, expected = CASES[case]
    bad = Case(tmp_path)
    breaks(bad)
    bad.reset(tmp_path / "lab")
    before = state_digest(tmp_path / "lab")
    done = bad.run_site(tmp_path / "lab")
    assert state_digest(tmp_path / "lab") == before, "the lab changed although the inventory was refused"
    assert done.returncode != 0, done.stdout[-3000:]
    assert expected in done.stdout, done.stdout[-4000:]
    for secret in (*bad.secrets["vault_pbx_passwords"].values(), bad.secrets["vault_deploy_password"]):
        assert secret not in done.stdout + done.stderr


def test_a_disk_not_visible_on_every_node_is_refused_before_any_disk_is_touched(tmp_path: Path) -> None:
    # Whether a node sees an iSCSI LUN is known only once it has connected to the target, so
    # connecting is the one change made before the refusal; no disk, cluster or service is touched.
    bad = Case(tmp_path)
    bad.world("site-a", lambda w: w["shared_storage"]["iscsi_targets"][0]["initiators"].remove("PBXA-N2"))
    state = tmp_path / "lab"
    bad.reset(state)
    before = {site: without_iscsi_connections(state / site / "state.json") for site in SITES}
    done = bad.run_site(state)
    assert done.returncode != 0, done.stdout[-3000:]
    refused = done.stdout
    assert "fatal: [PBXA-N2]" in refused and "access list (LUN masking)" in refused, refused[-4000:]
    after = {site: without_iscsi_connections(state / site / "state.json") for site in SITES}
    assert after == before, "a disk, the cluster or a service changed although a node cannot see the disks"
