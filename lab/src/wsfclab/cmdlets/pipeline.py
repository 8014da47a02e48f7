"""``run_pipelines``: the lab's side of the ``pbxops.wsfc.cmdlet_pipelines`` executor module.

It takes the module's ``pipelines`` argument and returns exactly the module's result shape
(lab-contract section 2): every step is checked against the documented signature with
``manifest.validate`` before it runs, step N+1 receives step N's output on the pipeline, output
objects are rendered as ConvertTo-Json would (enums as names, dates ISO 8601, nesting cut at
``depth``), and the first error stops everything with its message and FullyQualifiedErrorId.

One strictness Windows does not have: a pipeline that says ``changes: false`` but calls a cmdlet
that changes the host fails ("wsfclab.UndeclaredChange"), so check mode can be trusted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

# The cmdlet modules register themselves on import.
from wsfclab.cmdlets import iscsi, network, services, storage, system, utility  # noqa: F401
from wsfclab.cmdlets.base import REGISTRY, Call, CimObject, CmdletDef
from wsfclab.errors import CmdletError, ErrorCategory, LabError, UndeclaredChange, Unsupported, thrown
from wsfclab.manifest import CmdletCallError, CmdletSpec, is_output_reference, load_manifest
from wsfclab.state import LabState

if TYPE_CHECKING:
    from wsfclab.lab import Lab

_VERB_NOUN = re.compile(r"[A-Za-z]+-[A-Za-z0-9]+")


class _PipelineFailure(Exception):
    def __init__(self, step: int, cmdlet: str, error: CmdletError) -> None:
        super().__init__(error.message)
        self.step = step
        self.cmdlet = cmdlet
        self.error = error


def _lab_refusal(error: LabError) -> CmdletError:
    """A lab refusal in the shape of a cmdlet error: its own id, and a category that says which."""
    category = ErrorCategory.NotImplemented if isinstance(error, Unsupported) else ErrorCategory.NotSpecified
    return CmdletError(str(error), error.error_id, category)


def run_pipelines(
    lab: Lab, state: LabState, node: str, pipelines: list[dict[str, Any]], check_mode: bool
) -> dict[str, Any]:
    problem = _shape_problem(pipelines)
    if problem is not None:
        return {"failed": True, "msg": problem, "changed": False, "results": []}
    if check_mode:
        for pipeline in pipelines:
            if pipeline.get("changes", False):
                return {
                    "failed": True,
                    "msg": f"pipeline '{pipeline['name']}' changes the host and cannot run in check mode",
                    "pipeline": pipeline["name"],
                    "changed": False,
                    "results": [],
                }
    host = state.nodes.get(node.upper())
    if host is None:
        raise LabError(f"no node {node!r} in this lab; nodes are {', '.join(sorted(state.nodes))}")
    if not host.running:
        raise LabError(f"node {host.name} is not running; start it with `wsfclab node start {host.name}`")
    results: list[dict[str, Any]] = []
    outputs: dict[str, list[CimObject]] = {}  # for parameters given as {"output_of": name}
    changed = False
    for pipeline in pipelines:
        name = pipeline["name"]
        changes = bool(pipeline.get("changes", False))
        warnings: list[str] = []
        try:
            objects = _run_steps(lab, state, host.name, pipeline, changes, outputs=outputs, warnings=warnings)
        except _PipelineFailure as failure:
            changed = changed or (changes and failure.step > 1)
            return {
                "failed": True,
                "msg": f"pipeline '{name}' failed at step {failure.step} ({failure.cmdlet}): "
                + failure.error.message,
                "pipeline": name,
                "step": failure.step,
                "cmdlet": failure.cmdlet,
                "error_id": failure.error.error_id,
                "error_category": str(failure.error.category),
                "results": results,
                "changed": changed,
            }
        changed = changed or changes
        select = pipeline.get("select")
        depth = int(pipeline.get("depth", 2))
        outputs[name] = objects
        results.append(
            {"name": name, "output": [render(o, select, depth) for o in objects], "warnings": warnings}
        )
    return {"changed": changed, "results": results}


def _shape_problem(pipelines: object) -> str | None:
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
        if not isinstance(steps, list) or not steps:
            return f"{where}.steps: expected a non-empty list of steps"
        for j, step in enumerate(steps):
            if not isinstance(step, Mapping) or not isinstance(step.get("cmdlet"), str):
                return f"{where}.steps[{j}].cmdlet: expected a cmdlet name"
            if not isinstance(step.get("parameters", {}), Mapping):
                return f"{where}.steps[{j}].parameters: expected a mapping of parameter names to values"
    return None


def _run_steps(
    lab: Lab,
    state: LabState,
    node: str,
    pipeline: Mapping[str, Any],
    changes: bool,
    *,
    outputs: Mapping[str, list[CimObject]],
    warnings: list[str],
) -> list[CimObject]:
    manifest = load_manifest()
    objects: list[CimObject] = []
    for index, step in enumerate(pipeline["steps"], start=1):
        name = step["cmdlet"]
        raw = dict(step.get("parameters") or {})
        piped = index > 1
        if not _VERB_NOUN.fullmatch(name):
            # As the executor: Get-Command would expand wildcards and module-qualified names.
            raise _PipelineFailure(index, name, thrown(f"'{name}' is not a Verb-Noun cmdlet name"))
        try:
            spec = manifest.cmdlet(name)
            params = {
                manifest.canonical_name(spec.name, k): _dereference(k, v, outputs, index, name)
                for k, v in raw.items()
            }
            definition = REGISTRY.get(spec.name.lower())
            try:
                parameter_set = manifest.validate(name, raw, pipeline_input=piped)
            except CmdletCallError as exc:
                # The manifest cannot tell apart sets that differ only in which object they take
                # from the pipeline; the lab knows the class of the piped objects, as PowerShell does.
                resolved = _set_for_input(spec, params, definition, objects) if piped else None
                if resolved is None or "could be any of" not in str(exc):
                    raise
                parameter_set = resolved
        except CmdletCallError as exc:
            raise _PipelineFailure(index, name, exc) from exc
        _refuse_empty_mandatory(spec, parameter_set, params, index)
        if definition is None:
            raise _PipelineFailure(
                index, spec.name, _lab_refusal(Unsupported(f"{spec.name} is not simulated"))
            )
        if definition.changes and not changes:
            undeclared = UndeclaredChange(
                f"{spec.name} changes the host, but pipeline '{pipeline['name']}' says changes: false; "
                "mark it changes: true so that check mode skips it"
            )
            raise _PipelineFailure(index, spec.name, _lab_refusal(undeclared))
        host = state.nodes[node]
        try:
            if not piped:
                call = Call(lab, state, host, spec.name, parameter_set, params, warnings=warnings)
                objects = definition.handler(call)
                continue
            bindings = [(obj, _bind(definition.inputs, obj, params, spec.name)) for obj in objects]
            if definition.batch:
                call = Call(
                    lab, state, host, spec.name, parameter_set, params, inputs=objects, warnings=warnings
                )
                objects = definition.handler(call) if objects else []
                continue
            produced: list[CimObject] = []
            for obj, param in bindings:
                call = Call(
                    lab,
                    state,
                    host,
                    spec.name,
                    parameter_set,
                    params,
                    input=obj,
                    input_param=param,
                    warnings=warnings,
                )
                produced.extend(definition.handler(call))
            objects = produced
        except CmdletError as exc:
            raise _PipelineFailure(index, spec.name, exc) from exc
        except LabError as exc:
            raise _PipelineFailure(index, spec.name, _lab_refusal(exc)) from exc
    return objects


def _dereference(
    parameter: str, value: Any, outputs: Mapping[str, list[CimObject]], step: int, cmdlet: str
) -> Any:
    """A value, or for ``{"output_of": name}`` the output objects of that earlier pipeline."""
    if not is_output_reference(value):
        return value
    if value["output_of"] not in outputs:
        message = (
            f"parameter -{parameter} refers to the output of '{value['output_of']}', "
            "which is not an earlier pipeline of this call"
        )
        raise _PipelineFailure(step, cmdlet, thrown(message))
    return list(outputs[value["output_of"]])


def _refuse_empty_mandatory(
    spec: CmdletSpec, parameter_set: str, params: Mapping[str, Any], step: int
) -> None:
    """PowerShell's binder refuses an empty collection (an output reference to a pipeline that gave
    nothing) for a mandatory parameter that does not say [AllowEmptyCollection()]."""
    for name, value in params.items():
        membership = spec.parameters[name].sets.get(parameter_set)
        if value == [] and membership is not None and membership.mandatory:
            empty = CmdletCallError(
                f"Cannot bind argument to parameter '{name}' because it is an empty array.",
                f"ParameterArgumentValidationErrorEmptyArrayNotAllowed,{spec.name}",
            )
            raise _PipelineFailure(step, spec.name, empty)


def _set_for_input(
    spec: CmdletSpec, params: Mapping[str, Any], definition: CmdletDef | None, objects: list[CimObject]
) -> str | None:
    if definition is None or not objects:
        return None
    param = definition.inputs.get(objects[0].class_name) or definition.inputs.get("*")
    bound = [spec.parameters[p] for p in [*params, param] if p is not None and p in spec.parameters]
    sets = [s for s in spec.parameter_sets if all(s in p.sets for p in bound)]
    return sets[0] if sets else None


def _bind(inputs: Mapping[str, str], obj: CimObject, params: Mapping[str, Any], cmdlet: str) -> str:
    """The parameter a piped object binds to by value, or PowerShell's InputObjectNotBound error."""
    param = inputs.get(obj.class_name) or inputs.get("*")
    if param is None or param in params:
        raise CmdletError(
            "The input object cannot be bound to any parameters for the command either because the "
            "command does not take pipeline input or the input and its properties do not match any "
            "of the parameters that take pipeline input.",
            f"InputObjectNotBound,{cmdlet}",
            ErrorCategory.InvalidArgument,
            target=obj.class_name,
        )
    return param


def render(obj: CimObject, select: list[str] | None, depth: int) -> Any:
    """One output object as ConvertTo-Json -Depth ``depth`` gives it, keeping only ``select``."""
    if obj.class_name == "":  # a bare value (Select-Object -ExpandProperty)
        return _value(obj.props["Value"], 1, depth)
    names = select if select is not None else list(obj.props)
    found = {k.lower(): k for k in obj.props}
    return {name: _value(obj.props.get(found.get(name.lower(), name)), 1, depth) for name in names}


def _value(value: Any, level: int, depth: int) -> Any:
    if isinstance(value, CimObject):
        if level > depth:
            return value.class_name
        return {k: _value(v, level + 1, depth) for k, v in value.props.items()}
    if isinstance(value, list):
        return [_value(v, level, depth) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
