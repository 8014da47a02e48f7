#!/usr/bin/env python3
"""Build the cmdlet signature manifest from the official PowerShell help pages.

The pages (PlatyPS markdown, one per cmdlet) live in ``shared/reference/powershell-docs``
beside this repository. For every cmdlet the manifest records its parameter sets (from the
SYNTAX section) and, for every parameter, its documented type, aliases, accepted values, and
in which sets it is mandatory, positional, or fed from the pipeline (from the yaml blocks of the
PARAMETERS section). The result is committed as data so that nothing at run time or in CI needs
the pages:

    scripts/build_cmdlet_manifest.py [--docs DIR] [--output FILE] [--check]

``--check`` fails when the committed manifest differs from what the pages give.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DOCS = REPO.parent / "shared" / "reference" / "powershell-docs"
DEFAULT_OUTPUT = REPO / "lab" / "src" / "wsfclab" / "data" / "cmdlet_manifest.json"
ALL_SETS = "__AllParameterSets"

# How a documented type travels in JSON. Anything not listed here (CimInstance, CimSession,
# ScriptBlock, credentials, hashtables, ...) cannot be written as a plain value: steps get such
# objects from the pipeline instead, and script blocks are never sent at all.
KIND_BY_TYPE = {
    "SwitchParameter": "switch",
    "String": "string",
    "Char": "char",
    "Char[]": "char_list",
    "Guid": "string",
    "Uri": "string",
    "String[]": "string_list",
    "StringCollection": "string_list",
    "Int32": "int",
    "UInt16": "int",
    "UInt32": "int",
    "UInt64": "int",
    "Byte": "int",
    "Int32[]": "int_list",
    "UInt16[]": "int_list",
    "UInt32[]": "int_list",
    "UInt64[]": "int_list",
    "Byte[]": "int_list",
    "Boolean": "bool",
    "Boolean[]": "bool_list",
    # Feature objects bind from their names, as `Install-WindowsFeature -Name X` shows.
    "Feature[]": "string_list",
    # An untyped value (Set-ClusterParameter -Value, Where-Object -Value) takes any plain value.
    "PSObject": "value",
    "Object": "value",
    "Object[]": "value",
}


def _short_type(doc_type: str) -> str:
    """'System.Management.Automation.SwitchParameter' -> 'SwitchParameter'."""
    return doc_type.rsplit(".", 1)[-1]


def value_kind(doc_type: str, accepted_values: list[str] | None) -> str:
    short = _short_type(doc_type)
    if short in KIND_BY_TYPE:
        return KIND_BY_TYPE[short]
    if accepted_values:
        return "enum_list" if short.endswith("[]") else "enum"
    return "object"


def _sections(text: str, level: str) -> list[tuple[str, str]]:
    """Split markdown into (heading, body) pairs at headings of the given level ('##', '###')."""
    pattern = re.compile(rf"^{level} (.+)$", re.MULTILINE)
    matches = list(pattern.finditer(text))
    return [
        (m.group(1).strip(), text[m.end() : matches[i + 1].start() if i + 1 < len(matches) else len(text)])
        for i, m in enumerate(matches)
    ]


def _front_matter(text: str) -> dict[str, str]:
    block = text.split("---", 2)[1]
    fields = {}
    for line in block.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    return fields


def _syntax_sets(syntax: str) -> dict[str, list[str]]:
    """Parameter set name -> parameter names it lists, from the SYNTAX section."""
    named = _sections(syntax, "###")
    blocks = named or [(ALL_SETS, syntax)]
    sets = {}
    for heading, body in blocks:
        name = heading.replace("(Default)", "").strip()
        code = re.search(r"```[a-z]*\n(.*?)```", body, re.DOTALL)
        if code is None:
            raise ValueError(f"no syntax block under '{heading}'")
        sets[name] = [p for p in re.findall(r"(?:^|[\s\[])-(\w+)", code.group(1)) if p != "CommonParameters"]
    return sets


def _default_set(syntax: str) -> str | None:
    for heading, _ in _sections(syntax, "###"):
        if "(Default)" in heading:
            return heading.replace("(Default)", "").strip()
    return None


def _yaml_fields(block: str) -> dict[str, str]:
    fields = {}
    for line in block.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    return fields


def _parameter(name: str, body: str, set_names: list[str]) -> dict[str, Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", body, re.DOTALL)
    if not blocks:
        raise ValueError(f"parameter -{name} has no yaml block")
    doc_type = ""
    aliases: list[str] = []
    accepted: list[str] | None = None
    sets: dict[str, dict[str, Any]] = {}
    for block in blocks:
        fields = _yaml_fields(block)
        doc_type = fields["Type"]
        aliases = [a.strip() for a in fields.get("Aliases", "").split(",") if a.strip()]
        if fields.get("Accepted values"):
            accepted = [v.strip() for v in fields["Accepted values"].split(",")]
        listed = [s.strip() for s in fields["Parameter Sets"].split(",")]
        targets = set_names if listed == ["(All)"] else listed
        for set_name in targets:
            sets[set_name] = {
                "mandatory": fields.get("Required", "False").lower() == "true",
                "position": None if fields.get("Position", "Named") == "Named" else int(fields["Position"]),
                "pipeline": re.findall(r"ByValue|ByPropertyName", fields.get("Accept pipeline input", "")),
            }
    return {
        "type": doc_type,
        "kind": value_kind(doc_type, accepted),
        "aliases": aliases,
        "accepted_values": accepted,
        "sets": sets,
    }


def parse_page(text: str) -> dict[str, Any]:
    """One help page -> the cmdlet's manifest entry."""
    front = _front_matter(text)
    top = dict(_sections(text, "##"))
    syntax_sets = _syntax_sets(top["SYNTAX"])
    set_names = list(syntax_sets)
    parameters = {}
    for heading, body in _sections(top["PARAMETERS"], "###"):
        if not heading.startswith("-"):
            continue  # "### CommonParameters"
        name = heading[1:].strip()
        parameters[name] = _parameter(name, body, set_names)
    # A parameter listed in SYNTAX but documented only under "(All)" is covered above; one
    # listed in SYNTAX and missing from PARAMETERS would be a broken page: say so.
    for set_name, names in syntax_sets.items():
        for name in names:
            if name not in parameters:
                raise ValueError(f"{front['title']}: -{name} of set {set_name} is not documented")
    return {
        "module": front["Module Name"],
        "default_set": _default_set(top["SYNTAX"]),
        "parameter_sets": set_names,
        "parameters": parameters,
    }


def build(docs: Path) -> dict[str, Any]:
    cmdlets = {}
    for page in sorted(docs.glob("*/*.md")):
        text = page.read_text(encoding="utf-8")
        if not text.startswith("---"):
            continue  # README.md and licence files
        title = _front_matter(text)["title"]
        try:
            cmdlets[title] = parse_page(text)
        except (KeyError, ValueError) as error:
            raise SystemExit(f"{page}: cannot read the page: {error}") from error
    return {
        "source": "Microsoft PowerShell help pages (winserver2025-ps, Windows PowerShell 5.1)",
        "generated_by": "scripts/build_cmdlet_manifest.py",
        "cmdlets": cmdlets,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="folder of the help pages")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="manifest file to write")
    parser.add_argument("--check", action="store_true", help="fail if the committed manifest is stale")
    args = parser.parse_args(argv)
    if not args.docs.is_dir():
        print(f"error: the help pages folder {args.docs} does not exist; pass --docs", file=sys.stderr)
        return 2
    rendered = json.dumps(build(args.docs), indent=1, sort_keys=True) + "\n"
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != rendered:
            print(f"{args.output} is stale: run scripts/build_cmdlet_manifest.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(rendered, encoding="utf-8")
    print(f"wrote {len(json.loads(rendered)['cmdlets'])} cmdlets to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
