"""The documented signatures of the cmdlets we may call, and a binder that checks a call.

The data (``data/cmdlet_manifest.json``) is generated from Microsoft's help pages by
``scripts/build_cmdlet_manifest.py``. It is Windows knowledge, kept in one place: the lab uses
it to refuse calls that real Windows would refuse, and the collection's tests use it to prove that
every cmdlet call the collection emits exists as written.

``Manifest.validate`` binds parameters as PowerShell does, with one deliberate strictness:
parameter names must be written in full (or as a documented alias); PowerShell would also accept
an unambiguous prefix, which makes code fragile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from wsfclab.errors import CmdletError, ErrorCategory

ALL_SETS = "__AllParameterSets"
COMMAND_NOT_FOUND = "CommandNotFoundException,Microsoft.PowerShell.Commands.GetCommandCommand"


class CmdletCallError(CmdletError, ValueError):
    """A cmdlet call that PowerShell would refuse to bind, with the error id PowerShell gives it.

    Binding errors are ParameterBindingExceptions (category InvalidArgument) whose id names the
    reason and the cmdlet (``NamedParameterNotFound,Get-Disk``); an unknown cmdlet is Get-Command's
    ``CommandNotFoundException``.
    """

    def __init__(
        self,
        message: str,
        error_id: str,
        category: ErrorCategory = ErrorCategory.InvalidArgument,
        *,
        target: str | None = None,
    ) -> None:
        super().__init__(message, error_id, category, target=target)


@dataclass(frozen=True, slots=True)
class SetMembership:
    mandatory: bool
    position: int | None
    pipeline: tuple[str, ...]  # "ByValue", "ByPropertyName": how the parameter takes pipeline input


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    name: str
    type: str
    kind: str
    aliases: tuple[str, ...]
    accepted_values: tuple[str, ...] | None
    sets: Mapping[str, SetMembership]


@dataclass(frozen=True, slots=True)
class CmdletSpec:
    name: str
    module: str
    default_set: str | None
    parameter_sets: tuple[str, ...]
    parameters: Mapping[str, ParameterSpec]

    def parameter(self, name: str) -> ParameterSpec | None:
        """The parameter called ``name`` or one of its aliases, case-insensitively."""
        wanted = name.lower()
        for spec in self.parameters.values():
            if spec.name.lower() == wanted or wanted in (a.lower() for a in spec.aliases):
                return spec
        return None


_NOT_IN_SET = SetMembership(mandatory=False, position=None, pipeline=())


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _fits(spec: ParameterSpec, value: object) -> bool:
    """An integer that the parameter's type holds (unsigned types take no negative numbers)."""
    unsigned = _short_type(spec.type).startswith(("UInt", "Byte"))
    return isinstance(value, int) and not isinstance(value, bool) and (value >= 0 or not unsigned)


def _one_or_list(value: object, accepts: Callable[[object], bool]) -> bool:
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(accepts(v) for v in items)


# Object types an earlier pipeline's output can be passed as (never script blocks or credentials).
_REFERENCE_TYPES = {"CimInstance", "ServiceController"}


def _short_type(doc_type: str) -> str:
    return doc_type.rsplit(".", 1)[-1]


def is_output_reference(value: object) -> bool:
    """``{"output_of": "name"}``: the output objects of an earlier pipeline, for object parameters."""
    return isinstance(value, Mapping) and list(value) == ["output_of"] and isinstance(value["output_of"], str)


def _value_problem(spec: ParameterSpec, value: object) -> str | None:
    """Why ``value`` cannot bind to the parameter, or None when it can."""
    kind = spec.kind
    if kind == "switch":
        return None if value is True else "a switch takes true (leave it out for false)"
    if kind == "string":
        return None if isinstance(value, str) else "expected a string"
    if kind == "char":
        return None if isinstance(value, str) and len(value) == 1 else "expected one character"
    if kind == "char_list":
        items = value if isinstance(value, list) else [value]
        ok = bool(items) and all(isinstance(v, str) and len(v) == 1 for v in items)
        return None if ok else "expected one character or a list of single characters"
    if kind == "int":
        return None if _fits(spec, value) else f"expected an integer ({spec.type})"
    if kind == "bool":
        return None if isinstance(value, bool) else "expected true or false"
    if kind == "string_list":
        return (
            None
            if _one_or_list(value, lambda v: isinstance(v, str))
            else "expected a string or a list of strings"
        )
    if kind == "int_list":
        ok = _one_or_list(value, lambda v: _fits(spec, v))
        return None if ok else f"expected an integer or a list of integers ({spec.type})"
    if kind == "bool_list":
        return (
            None
            if _one_or_list(value, lambda v: isinstance(v, bool))
            else "expected true/false or a list of them"
        )
    if kind in ("enum", "enum_list"):
        items = value if isinstance(value, list) and kind == "enum_list" else [value]
        allowed = {v.lower() for v in spec.accepted_values or ()}
        ok = bool(items) and all(isinstance(v, str) and v.lower() in allowed for v in items)
        return None if ok else f"expected one of {', '.join(spec.accepted_values or ())}"
    if kind == "value":
        items = value if isinstance(value, list) else [value]
        return None if all(_is_scalar(v) for v in items) else "expected a plain value or a list of them"
    if is_output_reference(value) and _short_type(spec.type).rstrip("[]") in _REFERENCE_TYPES:
        return None
    return (
        f"a {spec.type} cannot be written as a value (script blocks, credentials and CIM objects never "
        "travel as values; objects reach a step on the pipeline from the step before, or as "
        "{output_of: <name>} from an earlier pipeline)"
    )


@dataclass(frozen=True, slots=True)
class Manifest:
    cmdlets: Mapping[str, CmdletSpec]

    def cmdlet(self, name: str) -> CmdletSpec:
        for spec in self.cmdlets.values():
            if spec.name.lower() == name.lower():
                return spec
        raise CmdletCallError(
            f"The term '{name}' is not a cmdlet documented for this project; "
            "add its help page to the reference and rebuild the manifest",
            COMMAND_NOT_FOUND,
            ErrorCategory.ObjectNotFound,
            target=name,
        )

    def canonical_name(self, cmdlet: str, parameter: str) -> str:
        spec = self.cmdlet(cmdlet).parameter(parameter)
        if spec is None:
            raise CmdletCallError(
                f"{cmdlet}: A parameter cannot be found that matches parameter name '{parameter}'.",
                f"NamedParameterNotFound,{self.cmdlet(cmdlet).name}",
            )
        return spec.name

    def validate(self, cmdlet: str, parameters: Mapping[str, object], *, pipeline_input: bool = False) -> str:
        """Bind ``parameters`` to ``cmdlet`` and return the parameter set they select.

        ``pipeline_input`` says that the step receives objects from a previous step, which then
        satisfy mandatory parameters that accept pipeline input (``Get-Disk | Set-Disk ...``).
        """
        spec = self.cmdlet(cmdlet)
        bound: list[ParameterSpec] = []
        for name, value in parameters.items():
            param = spec.parameter(name)
            if param is None:
                raise CmdletCallError(
                    f"{spec.name}: A parameter cannot be found that matches parameter name '{name}'. "
                    f"Documented parameters: {', '.join(sorted(spec.parameters))}",
                    f"NamedParameterNotFound,{spec.name}",
                )
            if param in bound:
                raise CmdletCallError(
                    f"{spec.name}: parameter -{param.name} is given more than once",
                    f"ParameterAlreadyBound,{spec.name}",
                )
            problem = _value_problem(param, value)
            if problem is not None:
                raise CmdletCallError(
                    f"{spec.name}: cannot bind -{param.name} to {value!r}: {problem}",
                    f"CannotConvertArgument,{spec.name}",
                )
            bound.append(param)
        return self._select_set(spec, bound, pipeline_input)

    def _select_set(self, spec: CmdletSpec, bound: list[ParameterSpec], pipeline_input: bool) -> str:
        candidates = [s for s in spec.parameter_sets if all(s in p.sets for p in bound)]
        if not candidates:
            detail = "; ".join(f"-{p.name}: {', '.join(p.sets)}" for p in bound)
            raise CmdletCallError(
                f"{spec.name}: Parameter set cannot be resolved using the specified named parameters "
                f"(they belong to different parameter sets: {detail})",
                f"AmbiguousParameterSet,{spec.name}",
            )
        complete = []
        missing_by_set = {}
        for set_name in candidates:
            missing = [
                p.name
                for p in spec.parameters.values()
                if (m := p.sets.get(set_name)) is not None
                and m.mandatory
                and p not in bound
                and not (pipeline_input and m.pipeline)
            ]
            if missing:
                missing_by_set[set_name] = missing
            else:
                complete.append(set_name)
        if not complete:
            shown = next((s for s in candidates if s == spec.default_set), candidates[0])
            names = ", ".join("-" + m for m in missing_by_set[shown])
            in_set = f" (parameter set {shown})" if shown != ALL_SETS else ""
            raise CmdletCallError(
                f"{spec.name}: missing mandatory parameter(s) {names}{in_set}",
                f"MissingMandatoryParameter,{spec.name}",
            )
        if pipeline_input and len(complete) > 1:
            # PowerShell binds pipeline objects ByValue first: the set with a free parameter that
            # takes the whole object (usually -InputObject) wins over sets fed by property names.
            by_value = [
                s
                for s in complete
                if any(
                    p not in bound and "ByValue" in p.sets.get(s, _NOT_IN_SET).pipeline
                    for p in spec.parameters.values()
                )
            ]
            complete = by_value or complete
        if len(complete) == 1:
            return complete[0]
        if spec.default_set in complete:
            return spec.default_set
        raise CmdletCallError(
            f"{spec.name}: Parameter set cannot be resolved using the specified named parameters "
            f"(it could be any of {', '.join(complete)}); add a parameter that tells them apart",
            f"AmbiguousParameterSet,{spec.name}",
        )


def _takes_object_by_value(spec: CmdletSpec, set_name: str, bound: list[ParameterSpec]) -> bool:
    return any(
        p not in bound and "ByValue" in p.sets.get(set_name, _NOT_IN_SET).pipeline
        for p in spec.parameters.values()
    )


def _parse(data: Mapping[str, object]) -> Manifest:
    cmdlets = {}
    for name, raw in data["cmdlets"].items():  # type: ignore[attr-defined]
        parameters = {
            pname: ParameterSpec(
                name=pname,
                type=p["type"],
                kind=p["kind"],
                aliases=tuple(p["aliases"]),
                accepted_values=tuple(p["accepted_values"]) if p["accepted_values"] else None,
                sets={
                    s: SetMembership(m["mandatory"], m["position"], tuple(m["pipeline"]))
                    for s, m in p["sets"].items()
                },
            )
            for pname, p in raw["parameters"].items()
        }
        cmdlets[name] = CmdletSpec(
            name=name,
            module=raw["module"],
            default_set=raw["default_set"],
            parameter_sets=tuple(raw["parameter_sets"]),
            parameters=parameters,
        )
    return Manifest(cmdlets)


@cache
def load_manifest() -> Manifest:
    text = resources.files("wsfclab").joinpath("data/cmdlet_manifest.json").read_text(encoding="utf-8")
    return _parse(json.loads(text))
