"""Build what the installed ansible-core really sends a Windows host, for the wire contract tests.

These tests run in the main venv (ansible-core 2.21) and in the contract venvs of 2.19 and 2.20
(scripts/contract-venvs.sh). They import ansible; wsfclab itself never does.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# A throw-away collection with one Ansible.Basic module: ansible-core builds real payloads for it.
PROBE_COLLECTIONS = Path(__file__).parent / "probe_collection"
PROBE_MODULE = PROBE_COLLECTIONS / "ansible_collections/lab/probe/plugins/modules/probe.ps1"
if str(PROBE_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(PROBE_COLLECTIONS))


@pytest.fixture
def shell() -> Any:
    from ansible.plugins.loader import shell_loader

    plugin = shell_loader.get("powershell")
    plugin.set_options({})
    return plugin


@pytest.fixture
def module_builder() -> Callable[..., Any]:
    return build_module


@pytest.fixture
def command_for() -> Callable[[Any, Any, str | None], tuple[str, bytes | None]]:
    return module_command


def build_module(
    shell: Any,
    args: dict[str, Any],
    *,
    async_timeout: int = 0,
    become: dict[str, Any] | None = None,
    environment: dict[str, str] | None = None,
) -> Any:
    """The installed core's `modify_module` for the probe module, as an action plugin calls it."""
    from ansible.executor import module_common
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import become_loader
    from ansible.template import Templar

    become_plugin = None
    if become is not None:
        become_plugin = become_loader.get("runas")
        become_plugin.set_options(direct=become)
    kwargs: dict[str, Any] = {
        "module_name": "lab.probe.probe",
        "module_path": str(PROBE_MODULE),
        "module_args": {"_ansible_check_mode": False, "_ansible_module_name": "lab.probe.probe", **args},
        "templar": Templar(loader=DataLoader()),
        "task_vars": {},
        "environment": environment or {},
        "async_timeout": async_timeout,
        "become_plugin": become_plugin,
    }
    if "shell_plugin" in inspect.signature(module_common.modify_module).parameters:
        kwargs["shell_plugin"] = shell  # 2.21 and later
    return module_common.modify_module(**kwargs)


def module_command(shell: Any, built: Any, remote_path: str | None) -> tuple[str, bytes | None]:
    """The command line (and stdin) ActionBase._execute_module sends for a built module.

    2.21 asks the module for its command (``_BuiltModule.get_command_args``); 2.20 and older ask the
    shell plugin (``build_module_command``), piping the payload (or ``type``-ing the remote file).
    """
    get_command_args = getattr(built, "get_command_args", None)
    if get_command_args is not None:
        command_args, in_data = get_command_args(remote_path)
        return shell.join(command_args), in_data
    command = shell.build_module_command("", built.shebang, remote_path or "")
    return command, None if remote_path else built.b_module_data
