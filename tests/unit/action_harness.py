"""Run a collection action plugin in-process against a ``FakeWindows`` host."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import PipelineAction
from fake_windows import FakeWindows


class FakeBecome:
    """The become plugin ansible-core hands the connection, with the options of the task."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.name = name
        self._options = options

    def get_option(self, name: str) -> Any:
        return self._options[name]


def make_action(
    cls: type[PipelineAction],
    args: dict[str, Any],
    fake: FakeWindows,
    *,
    check_mode: bool = False,
    diff: bool = False,
    become: bool = False,
    become_method: str = "runas",
    become_user: str = "PBXLAB\\deploy",
    become_pass: str | None = "the password",
    become_flags: str = "",
) -> PipelineAction:
    """The action as ansible-core builds it for a task, with the executor answered by ``fake``.

    The executor's arguments pass through the base's ``_update_module_args`` as they do when
    ansible-core runs a module, so tests see the ``_ansible_no_log`` flag the host would get.
    """
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.diff = diff
    task.no_log = False
    task.async_val = 0
    task.action = f"pbxops.wsfc.{cls.__module__.rsplit('.', 1)[-1]}"
    connection = MagicMock()
    connection._shell.tmpdir = "C:/Windows/Temp/ansible"
    connection.become = (
        FakeBecome(
            become_method,
            {"become_user": become_user, "become_pass": become_pass, "become_flags": become_flags},
        )
        if become
        else None
    )
    play_context = MagicMock()
    play_context.become = become
    play_context.become_method = become_method
    action = cls(task, connection, play_context, MagicMock(), MagicMock(), None)

    def execute_module(
        module_name: str, module_args: dict[str, Any], task_vars: Any = None
    ) -> dict[str, Any]:
        sent = dict(module_args)
        action._update_module_args(module_name, sent, task_vars or {})
        fake.no_log_flags.append(bool(sent["_ansible_no_log"]))
        return fake.execute_module(module_name, {"pipelines": sent["pipelines"]}, check_mode)

    action._execute_module = execute_module  # type: ignore[method-assign]
    return action
