"""Every operations playbook, run against the two lab sites after a full rollout.

One rollout (site.yml) per module, or the labs molecule's default scenario rolled out (its
side effect runs this module); the tests then run in file order, each leaving the labs as
the next one expects (roles online where they started); the upgrade comes last, since it leaves
site A on a newer pbxd than the inventory's wheels. About 5 minutes on 2 quiet cores.
The lab inventory's role addresses are fixed, so no other rolled-out lab may run meanwhile.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INVENTORY = REPO / "inventories" / "lab"
VAULT = INVENTORY / "LAB-ONLY-vault-password.txt"
SITES = {"site-a": ("PBXA-N1", "PBXA-N2"), "site-b": ("PBXB-N1", "PBXB-N2")}


def wsfclab(state: Path, site: str, *args: str) -> subprocess.CompletedProcess[str]:
    world = REPO / "lab" / "examples" / f"pbx-{site}.yml"
    return subprocess.run(
        [str(BIN / "wsfclab"), "--state-dir", str(state / site), "--world", str(world), *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


def playbook(state: Path, name: str, *extra: str, ok: bool = True) -> str:
    env = {**os.environ, "WSFCLAB_STATE_DIR": str(state), "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_NOCOLOR": "1", "MOLECULE_PROJECT_DIRECTORY": str(REPO)}  # fmt: skip
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), "--vault-password-file", str(VAULT),
         str(REPO / "playbooks" / name), *extra],
        capture_output=True, text=True, timeout=1800, env=env, cwd=REPO, check=False,
    )  # fmt: skip
    assert (done.returncode == 0) == ok, (
        f"{name} rc {done.returncode}:\n{done.stdout[-5000:]}\n{done.stderr[-2000:]}"
    )
    return done.stdout


def changed(stdout: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", stdout))


# Labs that site.yml has already rolled out (molecule's default scenario gives its own, which
# its destroy step removes); without it the module rolls out labs of its own.
ROLLED_OUT = "PBXOPS_ROLLED_OUT_LABS"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if os.environ.get(ROLLED_OUT):
        yield Path(os.environ[ROLLED_OUT])
        return
    state = tmp_path_factory.mktemp("labs")
    for site in SITES:
        wsfclab(state, site, "reset")
    try:
        rolled = playbook(state, "site.yml")
        assert "across the trunk to site-b: answered" in rolled
        yield state
    finally:
        for site, nodes in SITES.items():
            for node in nodes:
                subprocess.run(
                    [str(BIN / "wsfclab"), "--state-dir", str(state / site), "--world",
                     str(REPO / "lab" / "examples" / f"pbx-{site}.yml"), "node", "stop", node],
                    capture_output=True, timeout=120, check=False,
                )  # fmt: skip


def test_preflight_changes_nothing_on_a_built_site(lab: Path) -> None:
    assert changed(playbook(lab, "preflight.yml")) == 0


def test_status_writes_the_page_and_its_twin(lab: Path, tmp_path: Path) -> None:
    out = playbook(lab, "status.yml", "-e", f"status_report_dir={tmp_path}")
    assert "Every site is healthy" in out
    text = (tmp_path / "status.md").read_text()
    assert "| PBXA-N1 | Up | PBXA-PBX |" in text and "## site-b: OK" in text


def test_pbx_state_takes_a_role_offline_and_back(lab: Path) -> None:
    assert "role PBXB-PBX is Offline" in playbook(
        lab, "pbx_state.yml", "-e", "pbx_state=offline", "-e", "pbx_only_site=site-b"
    )
    assert "role PBXB-PBX is Online" in playbook(
        lab, "pbx_state.yml", "-e", "pbx_state=online", "-e", "pbx_only_site=site-b"
    )
    out = playbook(lab, "pbx_state.yml", "-e", "pbx_state=sideways", ok=False)
    assert "Give -e pbx_state=online or -e pbx_state=offline (got sideways)" in out


def test_failover_drill_reports_the_outage_and_loses_no_registration(lab: Path) -> None:
    out = playbook(lab, "failover_drill.yml")
    moves = re.findall(r"move (\S+) -> (\S+): outage (\d+) ms, (\d+) registration", out)
    assert len(moves) == 4, out[-3000:]
    assert all(lost == "0" for *_, lost in moves)
    assert [(a, b) for a, b, *_ in moves][:2] == [("PBXA-N1", "PBXA-N2"), ("PBXA-N2", "PBXA-N1")]


def test_backup_and_restore(lab: Path) -> None:
    out = playbook(lab, "pbx_backup.yml", "-e", f"pbx_backup_fetch_dir={lab}/backups")
    saved = re.findall(r"site-a: (C:\\PBXBackups\\(pbx-\S+\.db))", out)
    assert saved, out[-3000:]
    assert list((lab / "backups" / "site-a").glob("pbx-*.db"))
    restored = playbook(
        lab, "pbx_backup.yml", "-e", f"pbx_restore={saved[0][1]}", "-e", "pbx_only_site=site-a"
    )
    assert f"Put the database back, once the stopped pbxd has let go of it - {saved[0][0]}" in restored
    assert "across the trunk to site-b: answered" in playbook(lab, "smoke_test.yml")


def test_node_maintenance_keeps_the_pbx_reachable(lab: Path) -> None:
    out = playbook(lab, "node_maintenance.yml", "--limit", "site_a")
    maintained = re.findall(r"Maintenance of (\S+) \(1 node at a time\)", out)
    assert maintained == ["PBXA-N1", "PBXA-N2"], out[-3000:]
    # A smoke test while each node is paused and one after it is resumed: four in all.
    assert out.count("call 190 -> 191: answered") == 4, out[-3000:]


def test_node_remove_and_add_back(lab: Path) -> None:
    removed = playbook(lab, "node_remove.yml", "-e", "node=PBXA-N2")
    assert "Evict the node from the cluster - PBXA-N2" in removed
    added = playbook(lab, "node_add.yml", "-e", "node=PBXA-N2")
    assert "across the trunk to site-b: answered" in added


def test_upgrade_installs_a_new_version_and_rolls_back_a_broken_one(lab: Path, tmp_path: Path) -> None:
    def wheel(version: str, folder: Path, *, serves: bool = True) -> Path:
        source = tmp_path / f"src-{version}"
        shutil.copytree(REPO / "pbx", source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info"))
        project = source / "pyproject.toml"
        project.write_text(project.read_text().replace('version = "0.1.0"', f'version = "{version}"'))
        if not serves:
            # Installs, migrates and checks its configuration, but exits as soon as it is started.
            runner = source / "src" / "pbxd" / "runner.py"
            started = 'starting (Python %s, %s build)", version(), platform.python_version(), build())\n'
            assert started in runner.read_text()
            runner.write_text(
                runner.read_text().replace(started, started + "    return Outcome.STARTUP_FAILED\n")
            )
        subprocess.run([str(BIN / "pip"), "wheel", "--quiet", "--no-deps", "-w", str(folder), str(source)],
                       check=True, timeout=300)  # fmt: skip
        return folder

    def running_version() -> str:
        # The pbxd the cluster runs on site A's active node says its version when it starts.
        logs = sorted((lab / "site-a" / "logs").glob("*/pbxd.log"), key=lambda p: p.stat().st_mtime)
        return re.findall(r"pbxd (\S+) starting", logs[-1].read_text())[-1]

    good = wheel("0.1.1", tmp_path / "good")
    out = playbook(lab, "pbx_upgrade.yml", "-e", f"pbx_wheels_dir={good}", "--limit", "site_a")
    assert "Install pbxd 0.1.1" in out and "across the trunk to site-b: answered" in out
    assert running_version() == "0.1.1"
    broken = wheel("0.1.2", tmp_path / "broken", serves=False)
    failed = playbook(lab, "pbx_upgrade.yml", "-e", f"pbx_wheels_dir={broken}", "--limit", "site_a", ok=False)
    assert "the upgrade failed and was rolled back to pbxd 0.1.1" in failed
    assert running_version() == "0.1.1"
    # The inventory's wheels are older now: a rollout refuses to take the PBX back to them.
    refused = playbook(lab, "site.yml", "--limit", "site_a", ok=False)
    assert "D:\\PBX runs pbxd 0.1.1, newer than the pbxd 0.1.0 wheel" in refused
    assert running_version() == "0.1.1"
