"""The contract of the ``pbxops.wsfc.cmdlet_pipelines`` executor module, written once.

``plugins/modules/cmdlet_pipelines.ps1`` implements it on Windows. Two Python hosts run pipelines
through ``execute`` here: the lab's twin (``wsfclab.cmdlets.pipeline``, on simulated nodes) and the
collection's unit-test fake (``tests/unit/fake_windows.py``, on handlers a test supplies). Only how
one step runs and how an object is rendered differ between them (a ``StepRunner``); the rest is
this module:

1. Before anything runs, a call is refused when its shape is wrong (the message names the field),
   when a pipeline has no steps or starts with ``set_properties`` (there is nothing to assign to),
   or, in check mode, when any pipeline says ``changes: true`` (the refusal names the pipeline).
   A refusal says ``changed: false`` and has no results.
2. Pipelines run in order and steps in order; each step after the first receives the output of the
   step before. A cmdlet step names a plain Verb-Noun cmdlet; a parameter given as
   ``{"output_of": name}`` takes the output objects of that earlier pipeline.
3. A ``{"set_properties": {Name: value}}`` step assigns each property on every object it receives
   and passes the objects on; it changes the host.
4. The first error stops everything. The failure names the pipeline, the step (from 1), the cmdlet
   (``set_properties`` for that step), the error's id and category, keeps the results of the
   pipelines that completed, and says ``changed: true`` when a changing pipeline completed before
   it or when this changing pipeline failed after its first step (which may have changed the host).
5. On success ``changed`` is true when any pipeline that says ``changes: true`` ran; each result has
   the pipeline's ``name``, its rendered ``output`` and the ``warnings`` its steps wrote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from wsfclab.errors import CmdletError, thrown

SET_PROPERTIES = "set_properties"
_VERB_NOUN = re.compile(r"[A-Za-z]+-[A-Za-z0-9]+")
_PROPERTY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Step:
    """One step as a ``StepRunner`` receives it."""

    pipeline: str  # the pipeline's name
    index: int  # from 1
    changes: bool  # the pipeline says it changes the host
    warnings: list[str] = field(default_factory=list)  # the pipeline's warning stream


class StepRunner[T](Protocol):
    """What a host supplies: running one cmdlet or assignment step, and rendering one object."""

    def run_cmdlet(
        self,
        step: Step,
        cmdlet: str,
        parameters: Mapping[str, Any],
        references: Mapping[str, list[T]],
        piped: list[T] | None,
    ) -> list[T]:
        """Run ``cmdlet``. ``parameters`` are as sent (output references as ``{"output_of": ...}``);
        ``references`` has the objects behind each of them; ``piped`` is None for a first step.
        Raises ``CmdletError`` to stop the call."""
        ...

    def set_properties(self, step: Step, values: Mapping[str, Any], objects: list[T]) -> list[T]:
        """Assign ``values`` on every object (``$object.Name = value``) and return the objects."""
        ...

    def render(self, obj: T, select: Sequence[str] | None, depth: int) -> Any:
        """One output object as the module returns it."""
        ...


class _Stop(Exception):
    def __init__(self, index: int, label: str, error: CmdletError) -> None:
        super().__init__(error.message)
        self.index = index
        self.label = label
        self.error = error


def execute[T](pipelines: object, check_mode: bool, runner: StepRunner[T]) -> dict[str, Any]:
    """Run ``pipelines`` (the module's ``pipelines`` argument) and return the module's result."""
    problem = shape_problem(pipelines)
    if problem is not None:
        return {"failed": True, "msg": problem, "changed": False, "results": []}
    assert isinstance(pipelines, list)
    refusal = _refusal(pipelines, check_mode)
    if refusal is not None:
        return refusal
    results: list[dict[str, Any]] = []
    outputs: dict[str, list[T]] = {}
    changed = False
    for pipeline in pipelines:
        name = pipeline["name"]
        changes = bool(pipeline.get("changes", False))
        warnings: list[str] = []
        try:
            objects = _run(pipeline, changes, warnings, outputs, runner)
            select = pipeline.get("select")
            depth = int(pipeline.get("depth", 2))
            try:
                rendered = [runner.render(o, select, depth) for o in objects]
            except CmdletError as error:
                steps = pipeline["steps"]
                raise _Stop(len(steps), _label(steps[-1]), error) from error
        except _Stop as stop:
            return {
                "failed": True,
                "msg": f"pipeline '{name}' failed at step {stop.index} ({stop.label}): {stop.error.message}",
                "pipeline": name,
                "step": stop.index,
                "cmdlet": stop.label,
                "error_id": stop.error.error_id,
                "error_category": str(stop.error.category),
                "results": results,
                "changed": changed or (changes and stop.index > 1),
            }
        changed = changed or changes
        outputs[name] = objects
        results.append({"name": name, "output": rendered, "warnings": warnings})
    return {"changed": changed, "results": results}


def _refusal(pipelines: list[Mapping[str, Any]], check_mode: bool) -> dict[str, Any] | None:
    for pipeline in pipelines:
        name = pipeline["name"]
        message = None
        if not pipeline["steps"]:
            message = f"pipeline '{name}' has no steps; give it at least one"
        elif is_assignment(pipeline["steps"][0]):
            message = f"pipeline '{name}' starts with set_properties; a cmdlet must output the objects first"
        elif check_mode and pipeline.get("changes", False):
            message = f"pipeline '{name}' changes the host and cannot run in check mode"
        if message is not None:
            return {"failed": True, "msg": message, "pipeline": name, "changed": False, "results": []}
    return None


def is_assignment(step: Mapping[str, Any]) -> bool:
    """A ``set_properties`` step (after argument validation, the other keys are present as null)."""
    return step.get(SET_PROPERTIES) is not None


def _label(step: Mapping[str, Any]) -> str:
    return SET_PROPERTIES if is_assignment(step) else str(step["cmdlet"])


def _run[T](
    pipeline: Mapping[str, Any],
    changes: bool,
    warnings: list[str],
    outputs: Mapping[str, list[T]],
    runner: StepRunner[T],
) -> list[T]:
    objects: list[T] = []
    for index, raw in enumerate(pipeline["steps"], start=1):
        step = Step(pipeline["name"], index, changes, warnings)
        label = _label(raw)
        try:
            if is_assignment(raw):
                for name in raw[SET_PROPERTIES]:
                    if not _PROPERTY_NAME.fullmatch(name):
                        raise thrown(f"'{name}' is not a property name")
                objects = runner.set_properties(step, raw[SET_PROPERTIES], objects)
                continue
            if not _VERB_NOUN.fullmatch(label):
                # Get-Command would expand wildcards and module-qualified names.
                raise thrown(f"'{label}' is not a Verb-Noun cmdlet name")
            parameters = dict(raw.get("parameters") or {})
            references = {k: _dereference(k, v, outputs) for k, v in parameters.items() if _is_reference(v)}
            objects = runner.run_cmdlet(step, label, parameters, references, objects if index > 1 else None)
        except CmdletError as error:
            raise _Stop(index, label, error) from error
    return objects


def _is_reference(value: object) -> bool:
    return isinstance(value, Mapping) and list(value) == ["output_of"] and isinstance(value["output_of"], str)


def _dereference[T](parameter: str, value: Mapping[str, str], outputs: Mapping[str, list[T]]) -> list[T]:
    if value["output_of"] not in outputs:
        raise thrown(
            f"parameter -{parameter} refers to the output of '{value['output_of']}', "
            "which is not an earlier pipeline of this call"
        )
    return list(outputs[value["output_of"]])


def shape_problem(pipelines: object) -> str | None:
    """What is wrong with the shape of the ``pipelines`` argument, naming the field, or None."""
    if not isinstance(pipelines, list) or not pipelines:
        return "pipelines: expected a non-empty list of pipelines"
    for i, pipeline in enumerate(pipelines):
        where = f"pipelines[{i}]"
        if not isinstance(pipeline, Mapping):
            return f"{where}: expected a mapping with name and steps"
        if not isinstance(pipeline.get("name"), str) or not pipeline["name"]:
            return f"{where}.name: expected a non-empty string"
        if not isinstance(pipeline.get("changes", False), bool):
            return f"{where}.changes: expected true or false"
        select = pipeline.get("select")
        if select is not None and not (isinstance(select, list) and all(isinstance(s, str) for s in select)):
            return f"{where}.select: expected a list of property names"
        depth = pipeline.get("depth", 2)
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
            return f"{where}.depth: expected a non-negative integer"
        steps = pipeline.get("steps")
        if not isinstance(steps, list):
            return f"{where}.steps: expected a list of steps"
        for j, step in enumerate(steps):
            problem = _step_problem(step, f"{where}.steps[{j}]")
            if problem is not None:
                return problem
    return None


def _step_problem(step: object, where: str) -> str | None:
    if not isinstance(step, Mapping):
        return f"{where}: expected a mapping with cmdlet and parameters, or set_properties"
    if is_assignment(step):
        if step.get("cmdlet") is not None:
            return f"{where}: parameters are mutually exclusive: cmdlet, set_properties"
        if not isinstance(step[SET_PROPERTIES], Mapping):
            return f"{where}.set_properties: expected a mapping of property names to values"
        return None
    if not isinstance(step.get("cmdlet"), str):
        return f"{where}.cmdlet: expected a cmdlet name"
    if not isinstance(step.get("parameters", {}), Mapping):
        return f"{where}.parameters: expected a mapping of parameter names to values"
    return None
