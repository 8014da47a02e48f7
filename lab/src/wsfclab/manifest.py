"""The documented signatures of the cmdlets we may call, and a binder that checks a call.

The data (``data/cmdlet_manifest.json``) is generated from Microsoft's help pages by
``scripts/build_cmdlet_manifest.py``. It is Windows knowledge, kept in one place: the lab uses
it to refuse calls that real Windows would refuse, and the collection's tests use it to prove that
every cmdlet call the collection emits exists as written.

``Manifest.bind`` binds parameters as PowerShell does (the parameter set, mandatory parameters,
pipeline input) and is the one place those rules live; ``Binding.prompt_error`` says when the call
would ask for confirmation. One deliberate strictness: parameter names must be written in full (or
as a documented alias); PowerShell would also accept an unambiguous prefix, which makes code
fragile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from wsfclab.errors import CmdletError, ErrorCategory

ALL_SETS = "__AllParameterSets"
COMMAND_NOT_FOUND = "CommandNotFoundException,Microsoft.PowerShell.Commands.GetCommandCommand"
NON_INTERACTIVE = (
    "Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."
)

# The cmdlets whose ConfirmImpact is High: with the default $ConfirmPreference (High) they ask
# before they change anything, unless the call says -Confirm:$false. The value says whether the
# page documents -Force as running "without prompting for confirmation". The help pages do not
# print ConfirmImpact; these are the cmdlets whose pages show the prompt in an example or say that
# the cmdlet asks by default. Add a cmdlet here when its page does.
CONFIRM_IMPACT_HIGH: Mapping[str, bool] = {
    "Disconnect-IscsiTarget": False,  # Example 1 shows the "Are you sure" prompt; there is no -Force
    "Remove-Cluster": True,  # "prompts the user for confirmation"; -Force "without prompting"
    "Remove-ClusterCheckpoint": True,  # -Force: "By default the cmdlet will ask for confirmation"
    "Remove-ClusterGroup": True,  # Example 1 "prompts the user for confirmation"
    "Remove-ClusterNode": True,  # -Force: "By default the cmdlet will ask for confirmation"
    "Remove-ClusterResource": True,  # Example 1 "prompts the user for confirmation"
}


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
    confirm_impact: str = "Medium"  # "High": it asks before it changes anything (see CONFIRM_IMPACT_HIGH)
    force_skips_confirmation: bool = False

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
        # true is -Name, false is -Name:$false (which matters for -Confirm:$false)
        return None if isinstance(value, bool) else "a switch takes true or false"
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
class Binding:
    """A call bound as PowerShell binds it: the parameter set, and the parameters by canonical name."""

    cmdlet: CmdletSpec
    parameter_set: str
    parameters: Mapping[str, object]
    piped: str | None = None  # the parameter the pipeline object is bound to, when known

    def canonical(self, name: str) -> str:
        """The documented name of the parameter given as ``name`` (which may be an alias)."""
        param = self.cmdlet.parameter(name)
        assert param is not None, name  # bind() refused unknown names
        return param.name

    def prompt_error(self) -> CmdletError | None:
        """The error a non-interactive host gives when this call would ask for confirmation.

        PowerShell prompts when the cmdlet's ConfirmImpact reaches ``$ConfirmPreference`` (High by
        default) or when ``-Confirm`` is given; ``-Confirm:$false`` never prompts, and neither does
        a documented ``-Force`` that skips the confirmation. A host without a user (ansible's) cannot
        ask, so the cmdlet fails before it changes anything.
        """
        confirm = self.parameters.get("Confirm")
        if confirm is False:
            return None
        forced = self.cmdlet.force_skips_confirmation and self.parameters.get("Force") is True
        if confirm is True or (self.cmdlet.confirm_impact == "High" and not forced):
            return CmdletError(
                NON_INTERACTIVE,
                f"InvalidOperation,{self.cmdlet.name}",
                ErrorCategory.InvalidOperation,
            )
        return None


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
        """Bind ``parameters`` to ``cmdlet`` and return the parameter set they select (see ``bind``)."""
        return self.bind(cmdlet, parameters, pipeline_input=pipeline_input).parameter_set

    def bind(
        self,
        cmdlet: str,
        parameters: Mapping[str, object],
        *,
        pipeline_input: bool = False,
        piped: str | None = None,
        empty: Collection[str] = (),
    ) -> Binding:
        """Bind a call as PowerShell's parameter binder does, or raise its binding error.

        ``pipeline_input`` says that the step receives objects from a previous step. ``piped``
        names the parameter each object binds to when the caller knows it (the lab knows the
        class of its objects); without it the objects may satisfy any mandatory parameter that
        takes pipeline input, which is all that a caller who never sees the objects can check.
        ``empty`` names parameters whose value turned out to be an empty collection (an output
        reference to a pipeline that gave nothing).
        """
        spec = self.cmdlet(cmdlet)
        bound: list[ParameterSpec] = []
        canonical: dict[str, object] = {}
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
            canonical[param.name] = value
        if piped is not None:
            bound.append(spec.parameters[piped])
        if pipeline_input and piped is None:
            parameter_set = self._sets_for_unseen_input(spec, bound)
        else:
            parameter_set = self._select_set(spec, bound)
        for param in bound:
            membership = param.sets.get(parameter_set)
            if param.name in empty and membership is not None and membership.mandatory:
                raise CmdletCallError(
                    f"Cannot bind argument to parameter '{param.name}' because it is an empty array.",
                    f"ParameterArgumentValidationErrorEmptyArrayNotAllowed,{spec.name}",
                )
        return Binding(spec, parameter_set, canonical, piped)

    def bind_object(
        self,
        cmdlet: str,
        parameters: Mapping[str, object],
        *,
        by_value: str | None,
        properties: Mapping[str, object],
        empty: Collection[str] = (),
    ) -> Binding:
        """Bind a call for one piped object as PowerShell binds pipeline input: by value to
        ``by_value`` (the parameter that takes the object's type) when a parameter set that holds
        the named parameters takes it by value; otherwise by property name, to each parameter that
        takes pipeline input by property name and whose name or alias is one of the object's
        ``properties`` (``Get-IscsiTarget | Connect-IscsiTarget`` binds -NodeAddress that way).
        An object that binds to nothing is PowerShell's InputObjectNotBound."""
        spec = self.cmdlet(cmdlet)
        given = {self.canonical_name(spec.name, name) for name in parameters}
        sets = [s for s in spec.parameter_sets if all(s in spec.parameters[g].sets for g in given)]
        if by_value is not None and by_value not in given:
            takes = spec.parameters[by_value].sets
            if any(s in takes and "ByValue" in takes[s].pipeline for s in sets):
                return self.bind(cmdlet, parameters, pipeline_input=True, piped=by_value, empty=empty)
        found = {name.lower(): value for name, value in properties.items() if value is not None}
        by_name: dict[str, object] = {}
        for param in sorted(spec.parameters.values(), key=lambda p: spec.default_set not in p.sets):
            if param.name in given:
                continue
            value = next((found[n.lower()] for n in (param.name, *param.aliases) if n.lower() in found), None)
            usable = [s for s in sets if s in param.sets and "ByPropertyName" in param.sets[s].pipeline]
            if value is not None and usable and _value_problem(param, value) is None:
                by_name[param.name] = value
                sets = usable
        if not by_name:
            raise CmdletCallError(
                "The input object cannot be bound to any parameters for the command either because the "
                "command does not take pipeline input or the input and its properties do not match any "
                "of the parameters that take pipeline input.",
                f"InputObjectNotBound,{spec.name}",
            )
        return self.bind(cmdlet, {**parameters, **by_name}, empty=empty)

    def _select_set(self, spec: CmdletSpec, bound: list[ParameterSpec]) -> str:
        """PowerShell's choice once every parameter is bound (ValidateParameterSets, then the
        mandatory check): the one set left; else the default set when it is among them; else the
        one set whose mandatory parameters are all given. The chosen set's mandatory parameters
        must then be bound: a host that cannot prompt fails with MissingMandatoryParameter."""
        candidates = self._candidates(spec, bound)
        if len(candidates) == 1:
            chosen = candidates[0]
        elif spec.default_set in candidates:
            chosen = spec.default_set
        else:
            complete = [s for s in candidates if not _missing(spec, s, bound, ())]
            if len(complete) == 1:
                chosen = complete[0]
            elif not complete and len(candidates) == len(spec.parameter_sets):
                # Nothing narrowed the sets and none is the default: PowerShell asks for the
                # mandatory parameters of the set it reports, the first one declared.
                chosen = candidates[0]
            else:
                raise CmdletCallError(
                    f"{spec.name}: Parameter set cannot be resolved using the specified named parameters "
                    f"(it could be any of {', '.join(complete or candidates)}); add a parameter that "
                    "tells them apart",
                    f"AmbiguousParameterSet,{spec.name}",
                )
        missing = _missing(spec, chosen, bound, ())
        if missing:
            names = ", ".join("-" + m for m in missing)
            in_set = f" (parameter set {chosen})" if chosen != ALL_SETS else ""
            raise CmdletCallError(
                f"{spec.name}: missing mandatory parameter(s) {names}{in_set}",
                f"MissingMandatoryParameter,{spec.name}",
            )
        return chosen

    def _sets_for_unseen_input(self, spec: CmdletSpec, bound: list[ParameterSpec]) -> str:
        """A set a step with pipeline input of an unknown class can bind: one whose missing
        mandatory parameters all take pipeline input, preferring a set with a free parameter that
        takes the whole object (PowerShell binds ByValue first), then the default."""
        candidates = self._candidates(spec, bound)
        complete = [s for s in candidates if not _missing(spec, s, bound, ("ByValue", "ByPropertyName"))]
        if not complete:
            shown = next((s for s in candidates if s == spec.default_set), candidates[0])
            names = ", ".join("-" + m for m in _missing(spec, shown, bound, ("ByValue", "ByPropertyName")))
            in_set = f" (parameter set {shown})" if shown != ALL_SETS else ""
            raise CmdletCallError(
                f"{spec.name}: missing mandatory parameter(s) {names}{in_set}",
                f"MissingMandatoryParameter,{spec.name}",
            )
        by_value = [
            s
            for s in complete
            if any(
                p not in bound and "ByValue" in p.sets.get(s, _NOT_IN_SET).pipeline
                for p in spec.parameters.values()
            )
        ]
        complete = by_value or complete
        # Which of several sets the objects choose depends on their class, which only the host
        # that runs the step sees; the default set, else the first, stands for them here.
        return spec.default_set if spec.default_set in complete else complete[0]

    @staticmethod
    def _candidates(spec: CmdletSpec, bound: list[ParameterSpec]) -> list[str]:
        candidates = [s for s in spec.parameter_sets if all(s in p.sets for p in bound)]
        if not candidates:
            detail = "; ".join(f"-{p.name}: {', '.join(p.sets)}" for p in bound)
            raise CmdletCallError(
                f"{spec.name}: Parameter set cannot be resolved using the specified named parameters "
                f"(they belong to different parameter sets: {detail})",
                f"AmbiguousParameterSet,{spec.name}",
            )
        return candidates


def _missing(
    spec: CmdletSpec, set_name: str, bound: list[ParameterSpec], fed_by: tuple[str, ...]
) -> list[str]:
    """The mandatory parameters of ``set_name`` not bound, except those pipeline input may feed."""
    return [
        p.name
        for p in spec.parameters.values()
        if (m := p.sets.get(set_name)) is not None
        and m.mandatory
        and p not in bound
        and not any(way in m.pipeline for way in fed_by)
    ]


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
            confirm_impact="High" if name in CONFIRM_IMPACT_HIGH else "Medium",
            force_skips_confirmation=CONFIRM_IMPACT_HIGH.get(name, False),
        )
    return Manifest(cmdlets)


@cache
def load_manifest() -> Manifest:
    text = resources.files("wsfclab").joinpath("data/cmdlet_manifest.json").read_text(encoding="utf-8")
    return _parse(json.loads(text))
