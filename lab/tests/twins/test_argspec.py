"""Argument specs are read from module sources and enforced with Ansible.Basic's rules and messages."""

from __future__ import annotations

import pytest
from wsfclab.argspec import (
    ArgumentError,
    ModuleSpec,
    OptionSpec,
    PwshLiteralParser,
    PwshVariable,
    SpecError,
    load_module_spec,
    pass_vars_of,
    validate,
)

SPEC_SOURCE = r"""
#!powershell
#AnsibleRequires -CSharpUtil Ansible.Basic
$spec = @{
    options = @{
        # comments are ignored
        name = @{ type = 'str'; required = $true; aliases = @( 'service' ) }
        mode = @{ type = "str"; choices = 'auto', 'manual'; default = 'auto' }
        ports = @{ type = 'list'; elements = 'int' }
        delay = @{ type = $uint32Type; aliases = , 'wait' }
        actions = @{
            type = 'list'
            elements = 'dict'
            options = @{
                kind = @{ type = 'str'; required = $true; choices = 'restart', 'none' }
                extra = @{ type = 'dict'; default = @{} }
            }
        }
        secret = @{ type = 'str'; no_log = $true }
        user = @{ type = 'str' }
    }
    mutually_exclusive = @(, @('ports', 'delay'))
    required_if = @(, @('mode', 'manual', @('user')))
    required_by = @{ secret = 'user' }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
"""

LEGACY_SOURCE = r"""
$params = Parse-Args $args -supports_check_mode $true
$src = Get-AnsibleParam -obj $params -name "src" -type "path" -aliases "path" -failifempty $true
$mode = Get-AnsibleParam $params "mode" -Default "status" -ValidateSet "status", "cleanup"
$force = Get-AnsibleParam -obj $params -name 'force' -type 'bool' -default $true
"""


def _expand(path: str) -> str:
    return path.replace("%TEMP%", r"C:\Temp")


def _spec() -> ModuleSpec:
    return load_module_spec(SPEC_SOURCE, None)


def test_the_spec_literal_is_parsed_with_arrays_hashtables_and_delegates() -> None:
    spec = _spec()
    assert spec.supports_check_mode
    assert spec.options["name"].aliases == ["service"]
    assert spec.options["mode"].choices == ["auto", "manual"]
    assert spec.options["delay"].aliases == ["wait"]
    assert spec.options["delay"].type == "raw"  # a delegate without documentation accepts the value as is
    assert spec.options["actions"].options["extra"].default == {}
    assert spec.mutually_exclusive == [["ports", "delay"]]
    assert spec.required_if == [["mode", "manual", ["user"]]]
    assert spec.required_by == {"secret": ["user"]}
    assert PwshLiteralParser("@{ t = $uint32Type }").parse_value() == {"t": PwshVariable("uint32Type")}


def test_a_spec_with_an_expression_the_lab_cannot_read_fails_clearly() -> None:
    with pytest.raises(SpecError, match="expandable string"):
        load_module_spec('$spec = @{ options = @{ a = @{ default = "$env:TEMP" } } }', None)


def test_legacy_get_ansibleparam_calls_become_the_spec() -> None:
    spec = load_module_spec(LEGACY_SOURCE, None)
    assert spec.options["src"] == OptionSpec(type="path", required=True, aliases=["path"])
    assert spec.options["mode"].choices == ["status", "cleanup"]
    assert spec.options["mode"].default == "status"
    assert spec.options["force"].default is True
    done = validate(spec, "ansible.windows.slurp", {"path": r"%TEMP%\x", "force": "no"}, _expand)
    assert done.params["src"] == r"C:\Temp\x"
    assert done.params["force"] is False


def test_defaults_aliases_types_and_pass_vars() -> None:
    args = {"service": "pbx", "ports": "5060, 5061", "_ansible_check_mode": True, "_ansible_diff": "yes"}
    done = validate(_spec(), "lab.probe", args, _expand)
    assert done.params["name"] == "pbx"
    assert done.params["ports"] == [5060, 5061]
    assert done.params["mode"] == "auto"
    assert done.params["secret"] is None
    assert done.options.check_mode and done.options.diff
    assert "_ansible_check_mode" not in done.params


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required arguments: name"),
        (
            {"name": "a", "colour": "red", "Bogus": 1},
            "Unsupported parameters for (lab.probe) module: Bogus, colour. Supported parameters include: "
            "actions, delay, mode, name, ports, secret, service, user, wait",
        ),
        (
            {"name": "a", "mode": "sometimes"},
            "value of mode must be one of: auto, manual. Got no match for: sometimes",
        ),
        ({"name": "a", "ports": [1], "wait": 3}, "parameters are mutually exclusive: ports, delay"),
        ({"name": "a", "mode": "manual"}, "mode is manual but all of the following are missing: user"),
        ({"name": "a", "secret": "x"}, "missing parameter(s) required by 'secret': user"),
        ({"name": "a", "actions": [{"extra": {}}]}, "missing required arguments: kind found in actions"),
        (
            {"name": "a", "actions": [{"kind": "explode"}]},
            "value of kind must be one of: restart, none. Got no match for: explode found in actions",
        ),
        (
            {"name": "a", "ports": ["x"]},
            "argument for list entry ports is of type System.String and we were unable to convert to int: "
            "Input string was not in a correct format.",
        ),
    ],
)
def test_bad_arguments_fail_with_the_module_message(args: dict[str, object], message: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        validate(_spec(), "lab.probe", args, _expand)
    assert str(caught.value) == message


def test_keys_match_case_insensitively_like_ansible_basic() -> None:
    done = validate(_spec(), "lab.probe", {"NAME": "pbx", "Mode": "manual", "user": "u"}, _expand)
    assert done.params["name"] == "pbx" and done.params["mode"] == "manual"


def test_no_log_values_are_collected_for_masking() -> None:
    done = validate(_spec(), "lab.probe", {"name": "a", "secret": "hunter2", "user": "u"}, _expand)
    assert done.no_log_values == frozenset({"hunter2"})


def test_ignore_unknown_opts_drops_unknown_keys_instead_of_failing() -> None:
    done = validate(
        _spec(), "lab.probe", {"name": "a", "extra": 1, "_ansible_ignore_unknown_opts": True}, _expand
    )
    assert "extra" not in done.params and done.params["name"] == "a"


def test_pass_vars_come_from_the_ansible_basic_util_when_there_is_one() -> None:
    basic = (
        "private Dictionary<string, string> passVars = new Dictionary<string, string>()\n"
        '{\n{ "check_mode", "CheckMode" },\n{ "future_var", null },\n};'
    )
    assert pass_vars_of(basic) == ("check_mode", "future_var")
    done = validate(
        _spec(), "lab.probe", {"name": "a", "_ansible_future_var": 1}, _expand, pass_vars_of(basic)
    )
    assert "_ansible_future_var" not in done.params
    with pytest.raises(
        ArgumentError, match=r"Unsupported parameters for \(lab.probe\) module: _ansible_diff"
    ):
        validate(_spec(), "lab.probe", {"name": "a", "_ansible_diff": True}, _expand, pass_vars_of(basic))
