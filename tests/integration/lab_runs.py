"""Helpers for the module tests against the lab: playbook runs, their results, the lab's state,
and in-process runs of an action plugin whose round trips go straight to the lab's executor twin
(so that a test can change the host between the read and the apply)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

from wsfclab.cmdlets import run_pipelines
from wsfclab.lab import Lab

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PLAYBOOKS = HERE / "playbooks"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
TWO_NODES = REPO / "lab" / "examples" / "two-node-iscsi.yml"
THREE_SAS_NODES = REPO / "lab" / "examples" / "three-node-sas.yml"
INVENTORIES = {TWO_NODES: HERE / "inventory" / "hosts.yml", THREE_SAS_NODES: HERE / "inventory" / "sas.yml"}

if str(REPO / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "collections"))


@dataclass
class Run:
    """One ansible-playbook run: its JSON document, exit status and stderr."""

    document: dict[str, Any]
    rc: int
    stderr: str

    def results(self, task: str) -> dict[str, dict[str, Any]]:
        """Per-host results of the task with this name (the first play that has it)."""
        for play in self.document["plays"]:
            for entry in play["tasks"]:
                if entry["task"]["name"] == task:
                    return dict(entry["hosts"])
        raise AssertionError(f"no task named {task!r} in the run:\n{self.failures()}")

    def result(self, task: str, host: str) -> dict[str, Any]:
        return self.results(task)[host]

    def failures(self) -> str:
        lines = [self.stderr]
        for play in self.document.get("plays", []):
            for entry in play["tasks"]:
                for host, result in entry["hosts"].items():
                    if result.get("failed"):
                        lines.append(f"{entry['task']['name']} on {host}: {result.get('msg')}")
        return "\n".join(lines)


def run_playbook(state_dir: Path, world: Path, playbook: str, *extra: str) -> Run:
    environment = {
        **os.environ,
        "ANSIBLE_CONFIG": str(HERE / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_NOCOLOR": "1",
        "WSFCLAB_STATE_DIR": str(state_dir),
        "WSFCLAB_WORLD": str(world),
    }
    done = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(INVENTORIES[world]), str(PLAYBOOKS / playbook), *extra],
        cwd=HERE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"{playbook}: no JSON output (rc {done.returncode})\n{done.stdout}\n{done.stderr}"
        ) from None
    return Run(document, done.returncode, done.stderr)


def state_hash(state_dir: Path) -> str:
    """The lab's whole state (disks, pools, sessions, services, ...), as one hash."""
    return hashlib.sha256((state_dir / "state.json").read_bytes()).hexdigest()


@dataclass
class LabExecutor:
    """Answers the action's executor calls with the lab's twin of cmdlet_pipelines on one node;
    ``between`` runs once, after the first round trip (the read) and before the second."""

    lab: Lab
    node: str
    between: Callable[[], None] | None = None
    calls: list[list[dict[str, Any]]] = field(default_factory=list)

    def execute(self, module_args: dict[str, Any], check_mode: bool) -> dict[str, Any]:
        if len(self.calls) == 1 and self.between is not None:
            self.between()
        self.calls.append(module_args["pipelines"])
        with self.lab.session() as state:
            result: dict[str, Any] = run_pipelines(
                self.lab, state, self.node, module_args["pipelines"], check_mode
            )
        return result


def run_action(
    cls: type, args: dict[str, Any], executor: LabExecutor, *, check_mode: bool = False
) -> dict[str, Any]:
    """Run an action plugin of the collection as ansible-core would for one task, on the lab."""
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.diff = False
    task.no_log = False
    task.async_val = 0
    task.action = "pbxops.wsfc.test"
    connection = MagicMock()
    connection.become = None
    play_context = MagicMock()
    play_context.become = False
    action = cls(task, connection, play_context, MagicMock(), MagicMock(), None)
    action._execute_module = lambda module_name, module_args, task_vars=None: executor.execute(  # type: ignore[method-assign]
        module_args, check_mode
    )
    result: dict[str, Any] = action.run(task_vars={})
    return result
