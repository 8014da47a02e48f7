"""Drive a lab node the way ansible-core does: real payloads of the real ansible.windows modules.

`windows.run(module, args)` builds the exec payload with the installed ansible-core for the
installed module (or this collection's cmdlet_pipelines), sends it through NodeHost.exec_command
exactly as the connection plugin would, and returns the parsed result and the rc.
"""

from __future__ import annotations

import base64
import inspect
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from wsfclab.host import CommandResult, NodeHost
from wsfclab.lab import Lab

REPO = Path(__file__).resolve().parents[3]
# `make setup` links the checkout as collections/ansible_collections/pbxops/wsfc; ansible-core names
# a module by its path under ansible_collections/, so the collection's module is reached through it.
COLLECTIONS = REPO / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.append(str(COLLECTIONS))


@dataclass
class Outcome:
    rc: int
    result: dict[str, Any]
    stderr: str


class WindowsDriver:
    def __init__(self, lab: Lab, node: str) -> None:
        self.lab = lab
        self.host = NodeHost(lab, node)

    def payload(
        self,
        module: str,
        args: dict[str, Any],
        *,
        async_timeout: int = 0,
        become: dict[str, Any] | None = None,
    ) -> bytes:
        import ansible_collections
        from ansible.executor import module_common
        from ansible.parsing.dataloader import DataLoader
        from ansible.plugins.loader import become_loader, shell_loader
        from ansible.template import Templar

        namespace, collection, leaf = module.split(".")
        path = next(
            Path(root) / namespace / collection / "plugins" / "modules" / f"{leaf}.ps1"
            for root in ansible_collections.__path__
            if (Path(root) / namespace / collection / "plugins" / "modules" / f"{leaf}.ps1").is_file()
        )
        become_plugin = None
        if become is not None:
            become_plugin = become_loader.get("runas")
            become_plugin.set_options(direct=become)
        shell = shell_loader.get("powershell")
        shell.set_options({})
        module_args = {
            "_ansible_check_mode": False,
            "_ansible_diff": False,
            "_ansible_module_name": module,
            "_ansible_verbosity": 0,
            "_ansible_remote_tmp": "%TEMP%",
            **args,
        }
        kwargs: dict[str, Any] = {
            "module_name": module,
            "module_path": str(path),
            "module_args": module_args,
            "templar": Templar(loader=DataLoader()),
            "task_vars": {},
            "environment": {"ANSIBLE_ASYNC_DIR": r"%USERPROFILE%\.ansible_async"} if async_timeout else {},
            "async_timeout": async_timeout,
            "become_plugin": become_plugin,
        }
        if "shell_plugin" in inspect.signature(module_common.modify_module).parameters:
            kwargs["shell_plugin"] = shell
        built = module_common.modify_module(**kwargs)
        return bytes(built.b_module_data)

    @staticmethod
    def bootstrap_command() -> str:
        from ansible.executor.powershell import module_manifest

        script = module_manifest._get_powershell_script("bootstrap_wrapper.ps1").decode()
        encoded = base64.b64encode(script.encode("utf-16-le")).decode()
        return (
            f"powershell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand {encoded}"
        )

    def run(self, module: str, args: dict[str, Any] | None = None, **options: Any) -> Outcome:
        raw = self.host.exec_command(self.bootstrap_command(), self.payload(module, args or {}, **options))
        return self.parse(raw)

    @staticmethod
    def parse(raw: CommandResult) -> Outcome:
        lines = [line for line in raw.stdout.decode().splitlines() if line.strip()]
        assert len(lines) == 1, raw
        return Outcome(raw.rc, json.loads(lines[0]), raw.stderr.decode())

    def local(self, windows_path: str) -> Path:
        with self.lab.session() as state:
            return self.lab.resolve_path(state, self.host.node_name, windows_path)


@pytest.fixture
def windows(lab: Lab) -> Iterator[WindowsDriver]:
    yield WindowsDriver(lab, "PBX-N1")
