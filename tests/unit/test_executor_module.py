"""The executor module's PowerShell: valid syntax, no way to run text as code, and docs that match its spec.

No PowerShell runs here, so the script is parsed with tree-sitter-pwsh: the syntax is checked,
the argument spec is read out of the ``$spec`` literal and compared with the module documentation,
and the script is searched for anything that would evaluate controller-supplied text.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import tree_sitter
import tree_sitter_pwsh
import yaml

MODULES = Path(__file__).resolve().parents[2] / "plugins" / "modules"
SCRIPT = MODULES / "cmdlet_pipelines.ps1"
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language()))


def parse(source: bytes) -> tree_sitter.Node:
    return PARSER.parse(source).root_node


def nodes(root: tree_sitter.Node, kind: str) -> list[tree_sitter.Node]:
    found = [root] if root.type == kind else []
    for child in root.children:
        found.extend(nodes(child, kind))
    return found


def text(node: tree_sitter.Node) -> str:
    assert node.text is not None
    return node.text.decode()


def literal(node: tree_sitter.Node) -> Any:
    """A PowerShell literal (hashtable, array, string, $true/$false, integer) as a Python value."""
    if node.type == "array_expression":  # @(...)
        statements = [c for c in node.named_children if c.type == "statement_list"]
        if not statements:
            return []
        value = literal(statements[0].named_children[0])
        return value if isinstance(value, list) else [value]
    if node.type == "expression_with_unary_operator" and text(node).startswith(","):  # , item
        return [literal(node.named_children[-1])]
    if node.type == "array_literal_expression":  # a, b
        return [literal(c) for c in node.named_children]
    if node.type == "hash_literal_expression":
        return {
            text(entry.named_children[0]).strip(): literal(entry.named_children[-1])
            for entry in nodes(node, "hash_entry")
            if entry.parent is not None and entry.parent.parent == node
        }
    inner = [c for c in node.children if c.is_named]
    if node.type in ("pipeline", "pipeline_chain", "unary_expression", "integer_literal") and len(inner) == 1:
        return literal(inner[0])
    if node.type == "string_literal":
        return text(node)[1:-1]
    if node.type == "variable":
        return {"$true": True, "$false": False, "$null": None}[text(node).lower()]
    if node.type == "decimal_integer_literal":
        return int(text(node))
    raise AssertionError(f"not a literal: {node.type} {text(node)!r}")


def module_spec() -> dict[str, Any]:
    root = parse(SCRIPT.read_bytes())
    for assignment in nodes(root, "assignment_expression"):
        if text(assignment).startswith("$spec"):
            return literal(nodes(assignment, "hash_literal_expression")[0])  # type: ignore[no-any-return]
    raise AssertionError("no $spec in the module")


def documented_options() -> dict[str, Any]:
    tree = ast.parse((MODULES / "cmdlet_pipelines.py").read_text())
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and statement.targets[0].id == "DOCUMENTATION":  # type: ignore[attr-defined]
            return yaml.safe_load(ast.literal_eval(statement.value))["options"]  # type: ignore[no-any-return]
    raise AssertionError("no DOCUMENTATION")


def test_script_parses_without_errors() -> None:
    root = parse(SCRIPT.read_bytes())
    assert not root.has_error, [text(n) for n in nodes(root, "ERROR")]


def test_the_syntax_check_catches_broken_powershell() -> None:
    assert parse(b"function f { param($a) if ($a { 'x' } }").has_error


def compare(spec: dict[str, Any], docs: dict[str, Any], where: str) -> None:
    assert set(spec) == set(docs), f"{where}: spec {sorted(spec)} != documented {sorted(docs)}"
    for name, option in spec.items():
        doc = docs[name]
        assert option["type"] == doc["type"], f"{where}.{name}: type"
        assert option.get("required", False) == doc.get("required", False), f"{where}.{name}: required"
        assert option.get("elements") == doc.get("elements"), f"{where}.{name}: elements"
        assert option.get("default") == doc.get("default"), f"{where}.{name}: default"
        if "options" in option:
            compare(option["options"], doc["suboptions"], f"{where}.{name}")


def test_documentation_matches_the_argument_spec() -> None:
    spec = module_spec()
    assert spec["supports_check_mode"] is True
    compare(spec["options"], documented_options(), "options")


def test_a_step_is_either_a_cmdlet_or_set_properties() -> None:
    steps = module_spec()["options"]["pipelines"]["options"]["steps"]
    assert steps["mutually_exclusive"] == [["cmdlet", "set_properties"]]
    assert steps["required_one_of"] == [["cmdlet", "set_properties"]]
    documented = documented_options()["pipelines"]["suboptions"]["steps"]["suboptions"]
    assert (
        "Mutually exclusive with O(pipelines[].steps[].cmdlet)."
        in documented["set_properties"]["description"]
    )


def test_the_literal_reader_reads_arrays() -> None:
    root = parse(b"$x = @(, @('a', 'b'))")
    assert literal(nodes(root, "array_expression")[0]) == [["a", "b"]]


@pytest.mark.parametrize(
    "forbidden",
    [
        "invoke-expression",
        "iex ",
        "add-type",
        "[scriptblock]",
        "start-process",
        "new-object",
        "-encodedcommand",
    ],
)
def test_no_text_is_ever_evaluated_as_code(forbidden: str) -> None:
    assert forbidden not in SCRIPT.read_text().lower()


def test_the_only_invocations_are_of_a_command_looked_up_as_cmdlet_or_function() -> None:
    root = parse(SCRIPT.read_bytes())
    invoked = {text(c).split()[1] for c in nodes(root, "command") if text(c).startswith("& ")}
    assert invoked == {"$command"}
    lookup = [text(c) for c in nodes(root, "command") if text(c).startswith("Get-Command")]
    assert lookup == ["Get-Command -Name $step.cmdlet -CommandType Cmdlet, Function -ErrorAction Stop"]


def test_changing_pipelines_are_refused_in_check_mode_before_any_runs() -> None:
    source = SCRIPT.read_text()
    refusal = source.index("cannot run in check mode")
    first_invocation = source.index("& $command")
    assert refusal < first_invocation


def function_body(name: str) -> str:
    root = parse(SCRIPT.read_bytes())
    for function in nodes(root, "function_statement"):
        if f"function {name} " in text(function):
            return text(function)
    raise AssertionError(f"no function {name}")


def test_output_depth_counts_object_levels_as_the_contract_and_the_lab_do() -> None:
    """``depth: N`` renders N levels of nested objects as maps below each output object, whose own
    properties are level 1 (``wsfclab.cmdlets.pipeline.render``); collections are not a level."""
    whole = function_body("ConvertTo-SafeObject")
    assert "ConvertTo-SafeValue -Value $Object -Depth ($Depth + 1)" in whole
    assert "ConvertTo-SafeValue -Value $Object.$name -Depth $Depth" in whole
    value = function_body("ConvertTo-SafeValue")
    items = value.index("ConvertTo-SafeValue -Value $item -Depth $Depth")
    assert items < value.index("if ($Depth -le 0)"), "collections must not be cut into strings"


def test_only_a_plain_verb_noun_name_reaches_get_command() -> None:
    """Get-Command -Name expands wildcards ("Remove-*") and module-qualified names: the executor
    refuses anything but the collection's own Verb-Noun pattern, as the lab does, before the lookup."""
    source = SCRIPT.read_text()
    guard = source.index("if ($step.cmdlet -notmatch '^[A-Za-z]+-[A-Za-z0-9]+\\z')")
    assert guard < source.index("Get-Command -Name $step.cmdlet")


def test_the_check_mode_refusal_names_the_pipeline_as_the_lab_does() -> None:
    """wsfclab's twin adds ``pipeline`` to the refusal, which the action plugins pass on."""
    source = SCRIPT.read_text()
    assert "$module.Result.pipeline = $pipeline.name\n        $module.FailJson(" in source


def test_a_failure_after_the_first_step_of_a_changing_pipeline_reports_changed_as_the_lab_does() -> None:
    """``New-Partition | Format-Volume`` failing in Format-Volume has created a partition; the lab
    (wsfclab.cmdlets.pipeline) reports such failures as changed, and so must the executor."""
    catch = SCRIPT.read_text().split("catch {", 1)[1]
    marking = catch.index("if ($pipeline.changes -and $index -gt 0) { $module.Result.changed = $true }")
    assert marking < catch.index("$module.FailJson(")


def test_cim_bookkeeping_properties_are_left_out_as_the_lab_leaves_them_out() -> None:
    value = function_body("ConvertTo-SafeValue")
    assert "if ($property.Name -in $cimBookkeeping) { continue }" in value
    assert (
        "$cimBookkeeping = @('CimClass', 'CimInstanceProperties', 'CimSystemProperties', 'PSComputerName')"
        in (SCRIPT.read_text())
    )


def test_a_pipeline_without_steps_is_refused_before_anything_runs() -> None:
    source = SCRIPT.read_text()
    refusal = source.index("has no steps; give it at least one")
    assert refusal < source.index("& $command")


def test_set_properties_assigns_by_checked_member_name_and_never_as_script() -> None:
    """``$object.$name = value``: the name is a member name checked against the property pattern
    the collection's model uses, every name before anything is assigned; the value is data."""
    source = SCRIPT.read_text()
    block = source.split("if ($null -ne $step.set_properties) {", 1)[1].split("            else {", 1)[0]
    check = block.index(
        "if ($name -notmatch '^[A-Za-z_][A-Za-z0-9_]*\\z') { throw \"'$name' is not a property name\" }"
    )
    assignment = block.index("$object.$name = $entry.Value")
    assert check < block.index("foreach ($object in $output)") < assignment
    root = parse(SCRIPT.read_bytes())
    member_assignments = [
        text(a)
        for a in nodes(root, "assignment_expression")
        if nodes(a.named_children[0], "member_access") and text(a).startswith("$object.")
    ]
    assert member_assignments == ["$object.$name = $entry.Value"]


def test_a_pipeline_that_starts_with_set_properties_is_refused_before_anything_runs_as_the_lab_does() -> None:
    from wsfclab.executor import execute

    class Nothing:
        def run_cmdlet(self, *args: object) -> list[object]:
            raise AssertionError("nothing runs")

        set_properties = render = run_cmdlet

    pipelines = [{"name": "x", "changes": True, "steps": [{"set_properties": {"A": 1}}]}]
    lab = execute(pipelines, False, Nothing())  # type: ignore[arg-type]
    wording = lab["msg"].replace("'x'", "'$($pipeline.name)'")
    source = SCRIPT.read_text()
    refusal = source.index(f'$module.FailJson("{wording}")')
    assert refusal < source.index("& $command")
    naming = (
        "$module.Result.pipeline = $pipeline.name\n        $module.FailJson(\"pipeline '$($pipeline.name)'"
    )
    assert naming + " starts with" in source


def test_a_failed_step_reports_its_error_category_as_the_lab_does() -> None:
    catch = SCRIPT.read_text().split("catch {", 1)[1]
    category = catch.index("$module.Result.error_category = $_.CategoryInfo.Category.ToString()")
    assert category < catch.index("$module.FailJson(")
