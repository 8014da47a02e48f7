"""``run_pipelines``: the lab's side of the ``pbxops.wsfc.cmdlet_pipelines`` executor module.

The executor's contract (step order, check-mode refusal, the failure result, the ``changed``
rule, warnings) is ``wsfclab.executor``; this module is how a step runs on a simulated node. Every
cmdlet step is bound by the manifest's binder (``Manifest.bind``: the parameter set, mandatory
parameters, the parameter each piped object binds to), refused as a non-interactive host refuses
it when it would ask for confirmation, and handed to the simulated cmdlet. Output objects are
rendered as ConvertTo-Json renders the executor's converted values (enums as names, dates in the
executor's round-trip UTC format, nesting cut at ``depth``).

Two strictnesses Windows does not have: a pipeline that says ``changes: false`` but calls a cmdlet
that changes the host fails (``wsfclab.UndeclaredChange``), so check mode can be trusted; and
``select`` of a property the lab does not model fails (``wsfclab.Unsupported``) instead of giving
null, so a playbook never reads a value the lab made up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

# The cmdlet modules register themselves on import.
from wsfclab.cmdlets import disks, iscsi, network, partitions, services, spaces, system, utility, volumes  # noqa: F401
from wsfclab.cmdlets.base import REGISTRY, Call, CimObject, CmdletDef
from wsfclab.errors import CmdletError, ErrorCategory, LabError, UndeclaredChange, Unsupported
from wsfclab.executor import Step, execute
from wsfclab.manifest import Binding, load_manifest
from wsfclab.state import LabState

if TYPE_CHECKING:
    from wsfclab.lab import Lab


def run_pipelines(
    lab: Lab, state: LabState, node: str, pipelines: list[dict[str, Any]], check_mode: bool
) -> dict[str, Any]:
    host = state.nodes.get(node.upper())
    if host is None:
        raise LabError(f"no node {node!r} in this lab; nodes are {', '.join(sorted(state.nodes))}")
    if not host.running:
        raise LabError(f"node {host.name} is not running; start it with `wsfclab node start {host.name}`")
    return execute(pipelines, check_mode, _NodeSteps(lab, state, host.name))


def lab_refusal(error: LabError) -> CmdletError:
    """A refusal of the lab itself in the shape of a cmdlet error: its own id, and a category
    that tells "not simulated" (NotImplemented) from the lab's other refusals."""
    category = ErrorCategory.NotImplemented if isinstance(error, Unsupported) else ErrorCategory.NotSpecified
    return CmdletError(str(error), error.error_id, category)


class _NodeSteps:
    """Runs steps on one node of the lab (a ``wsfclab.executor.StepRunner``)."""

    def __init__(self, lab: Lab, state: LabState, node: str) -> None:
        self.lab = lab
        self.state = state
        self.node = node

    def run_cmdlet(
        self,
        step: Step,
        cmdlet: str,
        parameters: Mapping[str, Any],
        references: Mapping[str, list[CimObject]],
        piped: list[CimObject] | None,
    ) -> list[CimObject]:
        try:
            return self._run(step, cmdlet, parameters, references, piped)
        except LabError as error:
            raise lab_refusal(error) from error

    def _run(
        self,
        step: Step,
        cmdlet: str,
        parameters: Mapping[str, Any],
        references: Mapping[str, list[CimObject]],
        piped: list[CimObject] | None,
    ) -> list[CimObject]:
        manifest = load_manifest()
        empty = [name for name, objects in references.items() if not objects]
        spec = manifest.cmdlet(cmdlet)
        definition = REGISTRY.get(spec.name.lower())
        if not piped:
            # A first step, or one whose input is empty: PowerShell binds what was given and,
            # with no object to process, runs nothing.
            binding = manifest.bind(cmdlet, parameters, pipeline_input=piped is not None, empty=empty)
            definition = self._check(step, binding, definition, runs=piped is None)
            if piped is not None:
                return []
            return definition.handler(self._call(step, binding, references))
        bindings = [self._bind_object(cmdlet, parameters, definition, obj, empty) for obj in piped]
        definition = self._check(step, bindings[0], definition, runs=True)
        if definition.batch:
            return definition.handler(self._call(step, bindings[0], references, inputs=piped))
        produced: list[CimObject] = []
        for obj, binding in zip(piped, bindings, strict=True):
            produced.extend(definition.handler(self._call(step, binding, references, input=obj)))
        return produced

    @staticmethod
    def _bind_object(
        cmdlet: str,
        parameters: Mapping[str, Any],
        definition: CmdletDef | None,
        obj: CimObject,
        empty: list[str],
    ) -> Binding:
        """Bind the call for one piped object; ``definition.inputs`` says which parameter takes
        its class by value."""
        manifest = load_manifest()
        if definition is None:
            return manifest.bind(cmdlet, parameters, pipeline_input=True, empty=empty)
        by_value = definition.inputs.get(obj.class_name) or definition.inputs.get("*")
        return manifest.bind_object(cmdlet, parameters, by_value=by_value, properties=obj.props, empty=empty)

    @staticmethod
    def _check(step: Step, binding: Binding, definition: CmdletDef | None, *, runs: bool) -> CmdletDef:
        """The lab's refusals, then the confirmation prompt, which comes only when the cmdlet
        processes an object (ShouldProcess runs in the process block)."""
        name = binding.cmdlet.name
        if definition is None:
            raise Unsupported(f"{name} is not simulated")
        if definition.changes_with(binding.parameters) and not step.changes:
            raise UndeclaredChange(
                f"{name} changes the host, but pipeline '{step.pipeline}' says changes: false; "
                "mark it changes: true so that check mode skips it"
            )
        prompt = binding.prompt_error() if runs else None
        if prompt is not None:
            raise prompt
        return definition

    def _call(
        self,
        step: Step,
        binding: Binding,
        references: Mapping[str, list[CimObject]],
        *,
        input: CimObject | None = None,
        inputs: list[CimObject] | None = None,
    ) -> Call:
        spec = binding.cmdlet
        values = dict(binding.parameters)
        for name, objects in references.items():
            values[binding.canonical(name)] = objects
        return Call(
            self.lab,
            self.state,
            self.state.nodes[self.node],
            spec.name,
            binding.parameter_set,
            values,
            input=input,
            input_param=binding.piped if input is not None else None,
            inputs=list(inputs or []),
            warnings=step.warnings,
        )

    def set_properties(
        self, step: Step, values: Mapping[str, Any], objects: list[CimObject]
    ) -> list[CimObject]:
        if not step.changes:
            raise lab_refusal(
                UndeclaredChange(
                    f"set_properties changes the host, but pipeline '{step.pipeline}' says changes: false; "
                    "mark it changes: true so that check mode skips it"
                )
            )
        for obj in objects:
            for name, value in values.items():
                obj.assign(name, value)
        return objects

    def render(self, obj: CimObject, select: Sequence[str] | None, depth: int) -> Any:
        return render(obj, select, depth)


def render(obj: CimObject, select: Sequence[str] | None, depth: int) -> Any:
    """One output object as ConvertTo-Json -Depth ``depth`` gives it, keeping only ``select``."""
    if obj.class_name == "":  # a bare value (Select-Object -ExpandProperty)
        return _value(obj.props["Value"], 1, depth)
    if select is None:
        return {name: _value(value, 1, depth) for name, value in obj.props.items()}
    found = {k.lower(): k for k in obj.props}
    missing = [name for name in select if name.lower() not in found]
    if missing:
        raise lab_refusal(
            Unsupported(
                f"{obj.class_name} has no property {', '.join(missing)} in the lab; it models "
                f"{', '.join(obj.props)}"
            )
        )
    return {name: _value(obj.props[found[name.lower()]], 1, depth) for name in select}


def _value(value: Any, level: int, depth: int) -> Any:
    if isinstance(value, CimObject):
        if level > depth:
            return value.class_name
        return {k: _value(v, level + 1, depth) for k, v in value.props.items()}
    if isinstance(value, list):
        return [_value(v, level, depth) for v in value]
    if isinstance(value, datetime):
        return executor_date(value)
    return value


def executor_date(value: datetime) -> str:
    """A date as the executor writes it: ``$date.ToUniversalTime().ToString('o')``, seven
    fractional digits and ``Z`` (``2026-01-05T09:00:00.0000000Z``)."""
    utc = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"
