"""``pbxops.wsfc.sip_check`` against two real pbxd processes joined by trunks, as two sites are."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.pbxops.wsfc.plugins.action.sip_check import ActionModule
from pbxd_processes import Pbxd, free_port, trunked_pair

ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = {"190": "caller-secret-190", "191": "callee-secret-191", "290": "remote-secret-290"}


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pbxd, Pbxd]]:
    a, b = trunked_pair(tmp_path_factory.mktemp("pbxd"), "127.0.0.61", "127.0.0.62")
    try:
        for pbx in (a, b):
            pbx.start()
        for number, password in PASSWORDS.items():
            (a if number.startswith("1") else b).add_extension(number, password)
        yield a, b
    finally:
        a.stop()
        b.stop()


def args(a: Pbxd, b: Pbxd, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "server": a.host,
        "port": a.port,
        "caller": {"number": "190", "password": PASSWORDS["190"]},
        "callee": {"number": "191", "password": PASSWORDS["191"]},
        "trunk_calls": [
            {
                "site": "site-b",
                "server": b.host,
                "port": b.port,
                "callee": {"number": "290", "password": PASSWORDS["290"]},
            }
        ],
        "local_address": "127.0.0.1",
        "timeout": 5.0,
    }
    return {**values, **overrides}


def bindings(pbx: Pbxd) -> list[str]:
    with sqlite3.connect(f"file:{pbx.folder / 'pbx.db'}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute("SELECT aor FROM bindings")]


def calls(pbx: Pbxd) -> list[dict[str, Any]]:
    listed = pbx.cli("calls", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    result: list[dict[str, Any]] = json.loads(listed.stdout)["calls"]
    return result


def test_every_check_passes_a_call_crosses_the_trunk_and_nothing_stays_registered(
    sites: tuple[Pbxd, Pbxd],
) -> None:
    a, b = sites
    before_a, before_b = len(calls(a)), len(calls(b))
    report = ActionModule._check(args(a, b))
    assert report.ok, [c.as_dict() for c in report.checks]
    assert [c.name for c in report.checks][-1] == "call 190 -> 290 across the trunk to site-b"
    records_a = calls(a)[: len(calls(a)) - before_a]
    assert sorted(r["callee"] for r in records_a) == ["191", "290"]
    assert all(r["disposition"] == "answered" for r in records_a), records_a
    assert [r["callee"] for r in calls(b)[: len(calls(b)) - before_b]] == ["290"]
    assert bindings(a) == [] and bindings(b) == []


def test_a_wrong_password_fails_the_registration_without_showing_it(sites: tuple[Pbxd, Pbxd]) -> None:
    a, b = sites
    report = ActionModule._check(args(a, b, callee={"number": "191", "password": "not-the-password"}))
    failure = report.first_failure
    assert failure is not None and failure.name == f"REGISTER 191 at {a.host}:{a.port}"
    assert "refused the password" in failure.detail
    assert "not-the-password" not in json.dumps([c.as_dict() for c in report.checks])
    assert bindings(a) == []  # the caller, registered before the failure, was removed again


def test_a_pbx_that_does_not_answer_fails_the_options_check_quickly() -> None:
    port = free_port("127.0.0.63")
    report = ActionModule._check(
        {
            "server": "127.0.0.63",
            "port": port,
            "caller": {"number": "190", "password": "x"},
            "callee": {"number": "191", "password": "y"},
            "trunk_calls": [],
            "local_address": "127.0.0.1",
            "timeout": 1.0,
        }
    )
    assert [(c.name, c.ok) for c in report.checks] == [(f"OPTIONS 127.0.0.63:{port}", False)]
    assert "no answer within 1 s" in report.checks[0].detail


def test_the_module_runs_from_a_playbook_and_keeps_passwords_out_of_its_output(
    sites: tuple[Pbxd, Pbxd], tmp_path: Path
) -> None:
    a, b = sites
    playbook = tmp_path / "check.yml"
    task = {"pbxops.wsfc.sip_check": args(a, b), "register": "checked"}
    show = {"ansible.builtin.debug": {"var": "checked"}}
    playbook.write_text(
        json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [task, show]}]), encoding="utf-8"
    )
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-v",
            str(playbook),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all 6 SIP checks passed" in run.stdout
    for password in PASSWORDS.values():
        assert password not in run.stdout + run.stderr
