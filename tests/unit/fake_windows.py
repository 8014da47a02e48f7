"""A fake Windows host for action-plugin tests: it answers ``cmdlet_pipelines`` calls.

Every step it receives is checked against the cmdlet manifest (so a test fails when an action
plugin emits a cmdlet or parameter that Windows does not document), changing pipelines are
refused in check mode as the real executor refuses them, and each cmdlet is answered by a
handler the test supplies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wsfclab.manifest import load_manifest

# handler(parameters, pipeline_input) -> output objects
Handler = Callable[[dict[str, Any], list[Any]], list[Any]]


class CmdletFailure(Exception):
    def __init__(self, message: str, error_id: str) -> None:
        super().__init__(message)
        self.error_id = error_id


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
        pipelines = module_args["pipelines"]
        for pipeline in pipelines:
            for index, step in enumerate(pipeline["steps"]):
                if "set_properties" not in step:
                    manifest.validate(step["cmdlet"], step["parameters"], pipeline_input=index > 0)
        if check_mode:
            for pipeline in pipelines:
                if pipeline["changes"]:
                    return {
                        "failed": True,
                        "msg": f"pipeline '{pipeline['name']}' changes the host and cannot run in check mode",
                    }
        results: list[dict[str, Any]] = []
        changed = False
        for pipeline in pipelines:
            output: list[Any] = []
            warned: list[str] = []
            for index, step in enumerate(pipeline["steps"]):
                if "set_properties" in step:
                    # $object.Name = value on each input object (the handlers' objects are live).
                    for obj in output:
                        obj.update(step["set_properties"])
                    continue
                warned.extend(self.warnings.get(step["cmdlet"], []))
                try:
                    output = self.handlers[step["cmdlet"]](step["parameters"], output)
                except CmdletFailure as error:
                    where = f"pipeline '{pipeline['name']}' failed at step {index + 1} ({step['cmdlet']})"
                    return {
                        "failed": True,
                        "changed": changed,
                        "msg": f"{where}: {error}",
                        "pipeline": pipeline["name"],
                        "step": index + 1,
                        "cmdlet": step["cmdlet"],
                        "error_id": error.error_id,
                        "results": results,
                    }
            changed = changed or pipeline["changes"]
            selected = [
                {k: obj.get(k) for k in pipeline["select"]} if "select" in pipeline else obj for obj in output
            ]
            results.append({"name": pipeline["name"], "output": selected, "warnings": warned})
        return {"changed": changed, "results": results}
