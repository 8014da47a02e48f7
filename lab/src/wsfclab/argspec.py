"""Validate module arguments the way the real Windows module would, from the real module's spec.

The argument spec is read from the module source ansible-core sent in the payload:
- an ``Ansible.Basic`` module declares ``$spec = @{ options = @{ ... } ... }``: that hashtable
  literal is parsed (values a spec may hold: strings, numbers, booleans, arrays, hashtables);
- a legacy module reads its arguments with ``Get-AnsibleParam -name ... -type ... -default ...``:
  those calls are parsed, and the options its documentation lists are accepted too (the legacy
  modules leave documented options such as win_copy's ``remote_src`` to their action plugin).
The documentation (``DOCUMENTATION`` of the sibling ``.py``, or the ``.yml``) fills in what the
source cannot say in a literal (a type given as a PowerShell delegate such as ``$uint32Type``).

Validation follows ``Ansible.Basic.cs`` (``CheckArguments``): unsupported parameters, aliases,
mutually exclusive, required, defaults, type conversion, choices, required_together / one_of /
if / by, and sub-options, with the same messages. `_ansible_*` keys become `ModuleOptions`.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_BOOLEANS_TRUE = ("y", "yes", "on", "1", "true", "t", "1.0")
_BOOLEANS_FALSE = ("n", "no", "off", "0", "false", "f", "0.0")

# The `_ansible_*` keys Ansible.Basic accepts (AnsibleModule.passVars of ansible-core 2.21); the
# Ansible.Basic.cs a payload carries is read instead when there is one (see `pass_vars_of`).
_PASS_VARS = (
    "check_mode",
    "debug",
    "diff",
    "keep_remote_files",
    "ignore_unknown_opts",
    "inject_invocation",
    "module_name",
    "no_log",
    "remote_tmp",
    "selinux_special_fs",
    "shell_executable",
    "socket",
    "syslog_facility",
    "target_log_info",
    "tracebacks_for",
    "tmpdir",
    "verbosity",
    "version",
)


class ArgumentError(ValueError):
    """The arguments do not satisfy the spec; the message is the one the real module fails with."""


class SpecError(ValueError):
    """The module's argument spec cannot be read; the message names the module and the reason."""


@dataclass
class OptionSpec:
    type: str = "str"
    required: bool = False
    default: Any = None
    choices: list[Any] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    elements: str | None = None
    no_log: bool = False
    options: dict[str, OptionSpec] = field(default_factory=dict)
    apply_defaults: bool = False
    mutually_exclusive: list[list[str]] = field(default_factory=list)
    required_together: list[list[str]] = field(default_factory=list)
    required_one_of: list[list[str]] = field(default_factory=list)
    required_if: list[list[Any]] = field(default_factory=list)
    required_by: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ModuleSpec:
    options: dict[str, OptionSpec]
    supports_check_mode: bool = True
    mutually_exclusive: list[list[str]] = field(default_factory=list)
    required_together: list[list[str]] = field(default_factory=list)
    required_one_of: list[list[str]] = field(default_factory=list)
    required_if: list[list[Any]] = field(default_factory=list)
    required_by: dict[str, list[str]] = field(default_factory=dict)

    def as_option(self) -> OptionSpec:
        return OptionSpec(
            type="dict",
            options=self.options,
            mutually_exclusive=self.mutually_exclusive,
            required_together=self.required_together,
            required_one_of=self.required_one_of,
            required_if=self.required_if,
            required_by=self.required_by,
        )


@dataclass(frozen=True)
class ModuleOptions:
    """The `_ansible_*` settings of a module run."""

    check_mode: bool = False
    diff: bool = False
    verbosity: int = 0
    no_log: bool = False
    module_name: str = ""
    tmpdir: str | None = None
    remote_tmp: str | None = None


@dataclass(frozen=True)
class Validated:
    params: dict[str, Any]
    options: ModuleOptions
    no_log_values: frozenset[str]


# --------------------------------------------------------------------------------------------
# Reading the spec


# Arguments an ansible.windows action plugin sends to its legacy module, which the module never
# reads (Parse-Args ignores unknown keys): win_copy's query mode gets `symlinks` (see
# plugins/action/win_copy.py, `query_args`), reserved there for symlink support.
_LEGACY_IGNORED = {"ansible.windows.win_copy": ("symlinks",)}


def load_module_spec(source: str, source_path: str | None, module_name: str = "") -> ModuleSpec:
    """The argument spec of a module, from its PowerShell source and its documentation."""
    docs = _load_docs(source_path)
    spec_text = _find_spec_literal(source)
    if spec_text is not None:
        try:
            literal = PwshLiteralParser(spec_text).parse_value()
        except SpecError:
            if docs is None:
                raise
            return _spec_from_docs(docs)
        if not isinstance(literal, dict):
            raise SpecError("$spec is not a hashtable")
        return _spec_from_literal(literal, docs)
    legacy = _legacy_options(source)
    if legacy:
        documented = _spec_from_docs(docs).options if docs else {}
        for name, option in documented.items():
            if name not in legacy and not any(name in o.aliases for o in legacy.values()):
                legacy[name] = option
        for name in _LEGACY_IGNORED.get(module_name, ()):
            legacy.setdefault(name, OptionSpec(type="raw"))
        return ModuleSpec(options=legacy)
    if docs is not None:
        return _spec_from_docs(docs)
    raise SpecError("the module declares no $spec, reads no Get-AnsibleParam and has no documentation")


def _find_spec_literal(source: str) -> str | None:
    match = re.search(r"(?m)^\s*\$spec\s*=\s*(@\{)", source)
    if match is None:
        return None
    return source[match.start(1) :]


def _load_docs(source_path: str | None) -> dict[str, Any] | None:
    if not source_path:
        return None
    base = Path(source_path).with_suffix("")
    yml = base.with_suffix(".yml")
    py = base.with_suffix(".py")
    if yml.is_file():
        loaded = yaml.safe_load(yml.read_text(encoding="utf-8"))
        if isinstance(loaded, dict) and isinstance(loaded.get("DOCUMENTATION"), dict):
            documentation: dict[str, Any] = loaded["DOCUMENTATION"]
            return documentation
        return None
    if py.is_file():
        tree = ast.parse(py.read_text(encoding="utf-8"))
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "DOCUMENTATION" for t in node.targets)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                loaded = yaml.safe_load(node.value.value)
                return loaded if isinstance(loaded, dict) else None
    return None


def _spec_from_docs(docs: Mapping[str, Any]) -> ModuleSpec:
    return ModuleSpec(options=_doc_options(docs.get("options") or {}))


def _doc_options(raw: Mapping[str, Any]) -> dict[str, OptionSpec]:
    options: dict[str, OptionSpec] = {}
    for name, raw_doc in raw.items():
        doc = raw_doc or {}
        options[str(name)] = OptionSpec(
            type=str(doc.get("type", "str")),
            required=bool(doc.get("required", False)),
            default=doc.get("default"),
            choices=list(doc.get("choices") or []),
            aliases=[str(a) for a in doc.get("aliases") or []],
            elements=doc.get("elements"),
            no_log=bool(doc.get("no_log", False)),
            options=_doc_options(doc.get("suboptions") or {}),
        )
    return options


def _spec_from_literal(literal: Mapping[str, Any], docs: Mapping[str, Any] | None) -> ModuleSpec:
    documented = _doc_options((docs or {}).get("options") or {})
    root = _option_from_literal({"type": "dict", **literal}, OptionSpec(type="dict", options=documented))
    return ModuleSpec(
        options=root.options,
        supports_check_mode=bool(literal.get("supports_check_mode", False)),
        mutually_exclusive=root.mutually_exclusive,
        required_together=root.required_together,
        required_one_of=root.required_one_of,
        required_if=root.required_if,
        required_by=root.required_by,
    )


def _option_from_literal(raw: Mapping[str, Any], documented: OptionSpec | None) -> OptionSpec:
    def kind(key: str, fallback: str | None) -> str | None:
        value = raw.get(key, fallback)
        if isinstance(value, PwshVariable):
            # A delegate such as $uint32Type: the documentation says what it converts to.
            doc_value = getattr(documented, key, None) if documented else None
            return str(doc_value) if doc_value else "raw"
        return None if value is None else str(value)

    sub_docs = documented.options if documented else {}
    sub_raw = raw.get("options") or {}
    return OptionSpec(
        type=kind("type", "str") or "str",
        required=bool(raw.get("required", False)),
        default=raw.get("default"),
        choices=_as_list(raw.get("choices")),
        aliases=[str(a) for a in _as_list(raw.get("aliases"))],
        elements=kind("elements", None),
        no_log=bool(raw.get("no_log", False)),
        options={str(k): _option_from_literal(v or {}, sub_docs.get(str(k))) for k, v in sub_raw.items()},
        apply_defaults=bool(raw.get("apply_defaults", False)),
        mutually_exclusive=[_as_list(x) for x in _as_list(raw.get("mutually_exclusive"))],
        required_together=[_as_list(x) for x in _as_list(raw.get("required_together"))],
        required_one_of=[_as_list(x) for x in _as_list(raw.get("required_one_of"))],
        required_if=[_as_list(x) for x in _as_list(raw.get("required_if"))],
        required_by={
            str(k): [str(x) for x in _as_list(v)] for k, v in (raw.get("required_by") or {}).items()
        },
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


_GET_ANSIBLE_PARAM = re.compile(r"Get-AnsibleParam\b(?P<args>[^\r\n]*)", re.IGNORECASE)


def _legacy_options(source: str) -> dict[str, OptionSpec]:
    """Options a legacy (Parse-Args) module reads with Get-AnsibleParam, one call per line."""
    options: dict[str, OptionSpec] = {}
    for match in _GET_ANSIBLE_PARAM.finditer(source):
        args = match["args"]
        name_match = re.search(r"-name\s+[\"']([^\"']+)[\"']", args) or re.match(
            r"\s+(?:-obj\s+)?\$\w+\s+[\"']([^\"']+)[\"']", args
        )
        if name_match is None:
            continue
        name = name_match.group(1)
        if name.startswith("_ansible_"):
            continue
        option = OptionSpec(type=_legacy_value(args, "type") or "raw")
        default = re.search(r"-default\s+(\"[^\"]*\"|'[^']*'|\$true|\$false|\d+)", args, re.IGNORECASE)
        if default:
            option.default = _legacy_literal(default.group(1))
        choices = re.search(r"-validateset\s+((?:[\"'][^\"']*[\"']\s*,?\s*)+)", args, re.IGNORECASE)
        if choices:
            option.choices = re.findall(r"[\"']([^\"']*)[\"']", choices.group(1))
        aliases = re.search(r"-aliases\s+((?:[\"'][^\"']*[\"']\s*,?\s*)+)", args, re.IGNORECASE)
        if aliases:
            option.aliases = re.findall(r"[\"']([^\"']*)[\"']", aliases.group(1))
        option.required = bool(re.search(r"-failifempty\s+\$true", args, re.IGNORECASE))
        options[name] = option
    return options


def _legacy_value(args: str, flag: str) -> str | None:
    match = re.search(rf"-{flag}\s+[\"']([^\"']+)[\"']", args, re.IGNORECASE)
    return match.group(1) if match else None


def _legacy_literal(token: str) -> Any:
    if token.lower() == "$true":
        return True
    if token.lower() == "$false":
        return False
    if token[0] in "\"'":
        return token[1:-1]
    return int(token)


@dataclass(frozen=True)
class PwshVariable:
    """A `$name` in a spec literal (a delegate or a computed value the literal cannot say)."""

    name: str


class PwshLiteralParser:
    """Parse a PowerShell literal: `@{}` hashtables, `@()`/comma arrays, strings, numbers, booleans."""

    _TOKEN = re.compile(
        r"""
        (?P<ws>[ \t]+|`\r?\n)
      | (?P<comment><\#.*?\#>|\#[^\n]*)
      | (?P<nl>\r?\n)
      | (?P<open>@\{|@\(|\()
      | (?P<close>[})])
      | (?P<sep>[;,=])
      | (?P<sq>'(?:[^']|'')*')
      | (?P<dq>"(?:[^"`]|`.|"")*")
      | (?P<var>\$[\w:]+)
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<word>[A-Za-z_][\w\-]*)
        """,
        re.VERBOSE | re.DOTALL,
    )

    def __init__(self, text: str) -> None:
        self._tokens: list[tuple[str, str]] = []
        depth = 0
        position = 0
        while position < len(text):
            match = self._TOKEN.match(text, position)
            if match is None:
                raise SpecError(f"unexpected {text[position : position + 20]!r} in $spec")
            position = match.end()
            kind = match.lastgroup or ""
            if kind in ("ws", "comment"):
                continue
            self._tokens.append((kind, match.group()))
            if kind == "open":
                depth += 1
            elif kind == "close":
                depth -= 1
                if depth == 0:
                    break
        self._index = 0

    def _peek(self) -> tuple[str, str]:
        return self._tokens[self._index] if self._index < len(self._tokens) else ("eof", "")

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        self._index += 1
        return token

    def _skip_newlines(self) -> None:
        while self._peek()[0] == "nl":
            self._index += 1

    def parse_value(self) -> Any:
        first = self._parse_unary()
        if self._peek() != ("sep", ","):
            return first
        items = [first]
        while self._peek() == ("sep", ","):
            self._next()
            self._skip_newlines()
            items.append(self._parse_unary())
        return items

    def _parse_unary(self) -> Any:
        if self._peek() == ("sep", ","):
            self._next()
            return [self._parse_unary()]
        kind, text = self._next()
        if kind == "open" and text == "@{":
            return self._parse_hashtable()
        if kind == "open":
            return self._parse_array()
        if kind == "sq":
            return text[1:-1].replace("''", "'")
        if kind == "dq":
            if "$" in text:
                raise SpecError(f"expandable string {text} in $spec")
            return re.sub(r"`(.)", r"\1", text[1:-1]).replace('""', '"')
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "var":
            lowered = text.lower()
            if lowered in ("$true", "$false"):
                return lowered == "$true"
            if lowered == "$null":
                return None
            return PwshVariable(text[1:])
        if kind == "word":
            return text
        raise SpecError(f"unexpected {text!r} in $spec")

    def _parse_array(self) -> list[Any]:
        items: list[Any] = []
        self._skip_newlines()
        while self._peek()[0] != "close":
            value = self.parse_value()
            items.extend(value if isinstance(value, list) else [value])
            self._skip_newlines()
            if self._peek() == ("sep", ";"):
                self._next()
                self._skip_newlines()
        self._next()
        return items

    def _parse_hashtable(self) -> dict[str, Any]:
        table: dict[str, Any] = {}
        while True:
            while self._peek()[0] == "nl" or self._peek() == ("sep", ";"):
                self._next()
            kind, text = self._next()
            if kind == "close" and text == "}":
                return table
            if kind == "word":
                key = text
            elif kind in ("sq", "dq"):
                key = text[1:-1]
            else:
                raise SpecError(f"expected a hashtable key in $spec, got {text!r}")
            if self._next() != ("sep", "="):
                raise SpecError(f"expected '=' after key {key!r} in $spec")
            self._skip_newlines()
            table[key] = self.parse_value()


def pass_vars_of(basic_util: str | None) -> tuple[str, ...]:
    """The `_ansible_<name>` names an Ansible.Basic.cs accepts: its `passVars` dictionary's keys."""
    if basic_util is None:
        return _PASS_VARS
    block = re.search(
        r"passVars\s*=\s*new Dictionary<string, string>\(\)\s*\{(?P<body>.*?)\};", basic_util, re.DOTALL
    )
    if block is None:
        raise SpecError(
            "Ansible.Basic.cs has no passVars dictionary; the lab does not know this ansible-core"
        )
    return tuple(re.findall(r'\{\s*"(\w+)"\s*,', block["body"]))


# --------------------------------------------------------------------------------------------
# Validating


class ArgumentValidator:
    """Ansible.Basic's argument checks for one module run."""

    def __init__(
        self,
        module_name: str,
        expand_path: Callable[[str], str],
        pass_vars: tuple[str, ...] = _PASS_VARS,
        ignore_unknown: bool = False,
    ) -> None:
        self._module_name = module_name
        self._expand_path = expand_path
        self._pass_vars = pass_vars
        self._ignore_unknown = ignore_unknown
        self._context: list[str] = []
        self.no_log_values: set[str] = set()

    def _fail(self, message: str) -> ArgumentError:
        if self._context:
            message += " found in " + " -> ".join(self._context)
        return ArgumentError(message)

    def check(self, spec: OptionSpec, params: dict[str, Any], allow_pass_vars: bool) -> dict[str, Any]:
        aliases = self._aliases(spec, params)
        legal = list(spec.options) + list(aliases)
        if allow_pass_vars:
            legal += ["_ansible_" + name for name in self._pass_vars]
        self._unsupported(params, legal, allow_pass_vars)
        self._set_no_log(spec, params)
        self._pairs("parameters are mutually exclusive", spec.mutually_exclusive, params, lambda n, t: n > 1)
        missing = []
        for name, option in spec.options.items():
            if option.default is not None and name not in params:
                params[name] = option.default
            if option.required and name not in params:
                missing.append(name)
        if missing:
            raise self._fail("missing required arguments: " + ", ".join(missing))
        for name, option in spec.options.items():
            value = params.get(name)
            if value is not None:
                params[name] = self._convert(name, option, value)
        self._pairs(
            "parameters are required together", spec.required_together, params, lambda n, t: 0 < n < t
        )
        self._pairs("one of the following is required", spec.required_one_of, params, lambda n, t: n == 0)
        self._required_if(spec, params)
        for key, requires in spec.required_by.items():
            if key in params:
                absent = [r for r in requires if r not in params]
                if absent:
                    raise self._fail(f"missing parameter(s) required by '{key}': {', '.join(absent)}")
        for name, option in spec.options.items():
            params.setdefault(name, None)
            params[name] = self._sub_options(name, option, params[name])
        return params

    def _aliases(self, spec: OptionSpec, params: dict[str, Any]) -> dict[str, str]:
        aliases: dict[str, str] = {}
        for name, option in spec.options.items():
            for alias in option.aliases:
                aliases[alias] = name
                if alias in params:
                    params[name] = params.pop(alias)
        return aliases

    def _unsupported(self, params: dict[str, Any], legal: list[str], allow_pass_vars: bool) -> None:
        lowered = {name.lower(): name for name in legal}
        unsupported = sorted(k for k in params if k.lower() not in lowered)
        for key in [k for k in params if k not in legal and k.lower() in lowered]:
            params[lowered[key.lower()]] = params.pop(key)
        if allow_pass_vars:
            for key in [k for k in params if k.startswith("_ansible_") and k not in unsupported]:
                params.pop(key)
        if unsupported and self._ignore_unknown:
            # _ansible_ignore_unknown_opts (action plugins set it): unknown keys are dropped, not refused.
            for key in unsupported:
                params.pop(key)
        elif unsupported:
            shown = sorted(n for n in legal if not n.startswith("_ansible_"))
            message = f"Unsupported parameters for ({self._module_name}) module: {', '.join(unsupported)}"
            raise ArgumentError(f"{self._fail(message)}. Supported parameters include: {', '.join(shown)}")

    def _set_no_log(self, spec: OptionSpec, params: dict[str, Any]) -> None:
        for name, option in spec.options.items():
            if option.no_log and params.get(name) not in (None, ""):
                self.no_log_values.add(str(params[name]))

    def _pairs(
        self, message: str, groups: list[list[str]], params: dict[str, Any], bad: Callable[[int, int], bool]
    ) -> None:
        for group in groups:
            count = sum(1 for name in group if name in params)
            if bad(count, len(group)):
                raise self._fail(f"{message}: {', '.join(group)}")

    def _required_if(self, spec: OptionSpec, params: dict[str, Any]) -> None:
        for check in spec.required_if:
            key, value, requirements = check[0], check[1], _as_list(check[2])
            any_one = len(check) == 4 and bool(check[3])
            if params.get(key) is None or _to_str(params[key]) != _to_str(value):
                continue
            missing = [r for r in requirements if r not in params]
            if len(missing) >= (len(requirements) if any_one else 1):
                term = "any" if any_one else "all"
                raise self._fail(
                    f"{key} is {value} but {term} of the following are missing: {', '.join(missing)}"
                )

    def _convert(self, name: str, option: OptionSpec, value: Any) -> Any:
        try:
            converted = self.convert_type(option.type, value)
        except (ValueError, TypeError) as err:
            raise self._fail(
                f"argument for {name} is of type {_dotnet_type(value)} and we were unable to convert to "
                f"{option.type}: {err}"
            ) from err
        if option.choices:
            values = [_to_str(v) for v in (converted if option.type == "list" else [converted])]
            choices = [_to_str(c) for c in option.choices]
            lowered = {c.lower() for c in choices}
            no_match = [v for v in values if v.lower() not in lowered]
            if no_match:
                phrase = "one or more of" if option.type == "list" else "one of"
                raise self._fail(
                    f"value of {name} must be {phrase}: {', '.join(choices)}. "
                    f"Got no match for: {', '.join(no_match)}"
                )
        return converted

    def _sub_options(self, name: str, option: OptionSpec, value: Any) -> Any:
        if option.type == "list" and option.elements is not None and value is not None:
            result = []
            for element in value:
                if option.elements == "dict":
                    result.append(self._sub_spec(name, option, element))
                else:
                    try:
                        result.append(self.convert_type(option.elements, element))
                    except (ValueError, TypeError) as err:
                        raise self._fail(
                            f"argument for list entry {name} is of type {_dotnet_type(element)} and we were "
                            f"unable to convert to {option.elements}: {err}"
                        ) from err
            return result
        if option.type == "dict":
            return self._sub_spec(name, option, value)
        return value

    def _sub_spec(self, name: str, option: OptionSpec, value: Any) -> Any:
        if option.apply_defaults and option.options and value is None:
            value = {}
        elif not option.options or value is None:
            return value
        self._context.append(name)
        try:
            mapping = self.convert_type("dict", value)
            return self.check(option, dict(mapping), allow_pass_vars=False)
        finally:
            self._context.pop()

    def convert_type(self, kind: str, value: Any) -> Any:
        if kind == "str":
            return _to_str(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = _to_str(value).lower().strip()
            if text in _BOOLEANS_TRUE:
                return True
            if text in _BOOLEANS_FALSE:
                return False
            valid = ", ".join(_BOOLEANS_TRUE + _BOOLEANS_FALSE)
            raise ValueError(f"The value '{text}' is not a valid boolean. Valid booleans include: {valid}")
        if kind == "int":
            if isinstance(value, (bool, float)):
                raise ValueError("Input string was not in a correct format.")
            if isinstance(value, int):
                return value
            try:
                return int(_to_str(value).strip())
            except ValueError:
                raise ValueError("Input string was not in a correct format.") from None
        if kind == "float":
            return float(_to_str(value))
        if kind == "list":
            if isinstance(value, list):
                return value
            if isinstance(value, str):
                return [part.strip() for part in value.split(",")]
            if isinstance(value, int) and not isinstance(value, bool):
                return [value]
            raise ValueError(f"{_dotnet_type(value)} cannot be converted to a list")
        if kind == "dict":
            if isinstance(value, dict):
                return value
            if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
                loaded = json.loads(value)
                if isinstance(loaded, dict):
                    return loaded
            raise ValueError(f"{_dotnet_type(value)} cannot be converted to a dict")
        if kind == "path":
            text = _to_str(value)
            return text if text.startswith("\\\\?\\") else self._expand_path(text)
        if kind == "json":
            if isinstance(value, dict):
                return json.dumps(value)
            if isinstance(value, str):
                return value
            raise ValueError(f"{_dotnet_type(value)} cannot be converted to json")
        if kind in ("raw", "sid"):
            return value
        raise ValueError(f"the lab does not know the argument type {kind!r}")


def _to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _dotnet_type(value: Any) -> str:
    names = {bool: "System.Boolean", int: "System.Int32", float: "System.Double", str: "System.String"}
    if isinstance(value, dict):
        return "System.Collections.Generic.Dictionary`2[System.String,System.Object]"
    if isinstance(value, list):
        return "System.Collections.Generic.List`1[System.Object]"
    return names.get(type(value), "System.Object")


def validate(
    spec: ModuleSpec,
    module_name: str,
    args: Mapping[str, Any],
    expand_path: Callable[[str], str],
    pass_vars: tuple[str, ...] = _PASS_VARS,
) -> Validated:
    """Check a module's complex_args against its spec; raises ArgumentError with the module's message."""
    raw = dict(args)
    options = ModuleOptions(
        check_mode=bool(raw.get("_ansible_check_mode", False)),
        diff=bool(raw.get("_ansible_diff", False)),
        verbosity=int(raw.get("_ansible_verbosity", 0) or 0),
        no_log=bool(raw.get("_ansible_no_log", False)),
        module_name=str(raw.get("_ansible_module_name") or module_name),
        tmpdir=raw.get("_ansible_tmpdir"),
        remote_tmp=raw.get("_ansible_remote_tmp"),
    )
    validator = ArgumentValidator(
        options.module_name,
        expand_path,
        pass_vars,
        ignore_unknown=str(raw.get("_ansible_ignore_unknown_opts", False)).lower() in _BOOLEANS_TRUE,
    )
    params = validator.check(spec.as_option(), raw, allow_pass_vars=True)
    return Validated(params=params, options=options, no_log_values=frozenset(validator.no_log_values))
