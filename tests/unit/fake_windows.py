"""A fake Windows host for action-plugin tests: it answers ``cmdlet_pipelines`` calls.

It runs on the executor's contract as the lab does (``wsfclab.executor``: refusals before anything
runs, step order, the failure result, the ``changed`` rule, warnings), so the two cannot drift.
Every step it receives is first checked against the cmdlet manifest, so a test fails when an
action plugin emits a cmdlet or parameter that Windows does not document, and each cmdlet is
answered by a handler the test supplies. A cmdlet that would ask for confirmation fails as a
non-interactive host fails, as on Windows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wsfclab.errors import CmdletError, ErrorCategory
from wsfclab.executor import Step, execute, is_assignment
from wsfclab.manifest import load_manifest

# handler(parameters, pipeline_input) -> output objects (plain dicts)
Handler = Callable[[dict[str, Any], list[Any]], list[Any]]


class CmdletFailure(CmdletError):
    """A handler's way to make its cmdlet fail with ``error_id``."""

    def __init__(
        self, message: str, error_id: str, category: ErrorCategory = ErrorCategory.NotSpecified
    ) -> None:
        super().__init__(message, error_id, category)


@dataclass
class FakeWindows:
    handlers: dict[str, Handler]
    # cmdlet -> what it writes to the warning stream each time it runs
    warnings: dict[str, list[str]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    # per call, whether the executor was told to run with no_log (set by the action harness)
    no_log_flags: list[bool] = field(default_factory=list)

    def execute_module(
        self, module_name: str, module_args: dict[str, Any], check_mode: bool
    ) -> dict[str, Any]:
        assert module_name == "pbxops.wsfc.cmdlet_pipelines"
        self.calls.append(module_args)
        manifest = load_manifest()
        for pipeline in module_args["pipelines"]:
            for index, step in enumerate(pipeline["steps"]):
                if not is_assignment(step):
                    manifest.validate(step["cmdlet"], step["parameters"], pipeline_input=index > 0)
        return execute(module_args["pipelines"], check_mode, _Handlers(self))


class _Handlers:
    """The fake's ``wsfclab.executor.StepRunner``: the test's handlers over plain dicts."""

    def __init__(self, fake: FakeWindows) -> None:
        self.fake = fake

    def run_cmdlet(
        self,
        step: Step,
        cmdlet: str,
        parameters: Mapping[str, Any],
        references: Mapping[str, list[Any]],
        piped: list[Any] | None,
    ) -> list[Any]:
        binding = load_manifest().bind(cmdlet, parameters, pipeline_input=piped is not None)
        if piped == []:
            return []
        prompt = binding.prompt_error()
        if prompt is not None:
            raise prompt
        step.warnings.extend(self.fake.warnings.get(cmdlet, []))
        return self.fake.handlers[cmdlet]({**parameters, **references}, piped or [])

    def set_properties(self, step: Step, values: Mapping[str, Any], objects: list[Any]) -> list[Any]:
        for obj in objects:
            for name, value in values.items():
                if name not in obj:
                    raise CmdletError(
                        f"The property '{name}' cannot be found on this object. "
                        "Verify that the property exists and can be set.",
                        "PropertyNotFound",
                        ErrorCategory.InvalidOperation,
                    )
                obj[name] = value
        return objects

    def render(self, obj: Any, select: Sequence[str] | None, depth: int) -> Any:
        return obj if select is None else {name: obj.get(name) for name in select}
