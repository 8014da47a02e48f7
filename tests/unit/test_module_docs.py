"""Every action plugin's argument spec is exactly what its module documentation says.

ansible-test's validate-modules cannot run here (it asks PowerShell for specs), so this test does
its job for the collection's action plugins: the documentation is rendered by ansible-doc, as users
see it (doc fragments included), and compared with ``argument_spec`` of the plugin's class, option
by option and suboption by suboption. Every plugin in ``plugins/action`` is checked.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from ansible.plugins.action import ActionBase
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.pipeline_action import PipelineAction

REPO = Path(__file__).resolve().parents[2]
ACTIONS = sorted(p.stem for p in (REPO / "plugins" / "action").glob("*.py") if p.stem != "__init__")
ANSIBLE_DOC = Path(sys.executable).with_name("ansible-doc")
# What an option's spec means when a key is left out, in the documentation and in argument specs.
IMPLIED = {
    "type": "str",
    "required": False,
    "default": None,
    "choices": None,
    "elements": None,
    "aliases": (),
}


def action_class(name: str) -> type[Any]:
    """The plugin's action class: a PipelineAction, or (sip_check, which sends SIP from the
    controller) a plain ActionBase with an ``argument_spec``."""
    module = importlib.import_module(f"ansible_collections.pbxops.wsfc.plugins.action.{name}")
    classes = [
        c
        for c in vars(module).values()
        if inspect.isclass(c)
        and issubclass(c, (PipelineAction, ActionBase))
        and hasattr(c, "argument_spec")
        and c.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"{name}: expected one action class, found {classes}"
    return classes[0]


def _ansible_doc(*names: str, json_output: bool = True) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections")}
    environment.pop("ANSIBLE_CONFIG", None)
    form = ["--json"] if json_output else []
    return subprocess.run(
        [str(ANSIBLE_DOC), *form, "-t", "module", *(f"pbxops.wsfc.{n}" for n in names)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


@cache
def rendered_docs() -> tuple[dict[str, Any], dict[str, str]]:
    """``ansible-doc --json`` of every module with an action plugin, in one run, and the error of
    each module that does not render (one bad module fails the whole run, so then one by one)."""
    done = _ansible_doc(*ACTIONS)
    if done.returncode == 0:
        return json.loads(done.stdout), {}
    docs: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in ACTIONS:
        alone = _ansible_doc(name)
        if alone.returncode == 0:
            docs.update(json.loads(alone.stdout))
        else:
            errors[f"pbxops.wsfc.{name}"] = alone.stderr
    return docs, errors


@cache
def text_errors() -> dict[str, str]:
    """The modules whose documentation does not render as text (what ``ansible-doc NAME`` shows
    users: it formats every description, which the JSON form does not), with the error."""
    if _ansible_doc(*ACTIONS, json_output=False).returncode == 0:
        return {}
    errors = {}
    for name in ACTIONS:
        alone = _ansible_doc(name, json_output=False)
        if alone.returncode != 0:
            errors[name] = alone.stderr
    return errors


def documentation(name: str) -> dict[str, Any]:
    docs, errors = rendered_docs()
    key = f"pbxops.wsfc.{name}"
    assert key not in errors, f"ansible-doc cannot render {key}: {errors.get(key)}"
    assert key in docs, f"ansible-doc does not find {key}: is plugins/modules/{name}.py missing?"
    doc: dict[str, Any] = docs[key]["doc"]
    return doc


def normalised(options: dict[str, Any], suboptions_key: str) -> dict[str, Any]:
    """Options in one comparable form: every key spelled out, suboptions likewise."""
    spelled: dict[str, Any] = {}
    for name, option in options.items():
        entry = {key: option.get(key, implied) for key, implied in IMPLIED.items()}
        entry["aliases"] = tuple(sorted(entry["aliases"] or ()))
        if entry["choices"] is not None:
            entry["choices"] = list(entry["choices"])
        nested = option.get(suboptions_key)
        entry["options"] = normalised(nested, suboptions_key) if nested else None
        spelled[name] = entry
    return spelled


def test_every_action_plugin_is_found() -> None:
    assert ACTIONS, "no action plugins in plugins/action"


@pytest.mark.parametrize("name", ACTIONS)
def test_argument_spec_equals_the_documentation(name: str) -> None:
    documented = normalised(documentation(name).get("options") or {}, "suboptions")
    spec = normalised(action_class(name).argument_spec, "options")
    assert spec == documented


@pytest.mark.parametrize("name", ACTIONS)
def test_the_documentation_renders_as_users_read_it(name: str) -> None:
    assert name not in text_errors(), f"ansible-doc pbxops.wsfc.{name} fails: {text_errors()[name]}"


@pytest.mark.parametrize("name", ACTIONS)
def test_every_no_log_option_is_documented_as_secret(name: str) -> None:
    """A no_log option says so in its documentation, for the reader of ansible-doc."""
    docs = documentation(name).get("options") or {}

    def secrets(spec: dict[str, Any], path: str = "") -> list[str]:
        found = []
        for option, value in spec.items():
            if value.get("no_log"):
                found.append(path + option)
            found += secrets(value.get("options") or {}, f"{path}{option}.")
        return found

    for dotted in secrets(action_class(name).argument_spec):
        node: dict[str, Any] = {"suboptions": docs}
        for part in dotted.split("."):
            node = node["suboptions"][part]
        assert (
            "no_log" in " ".join(node["description"]).lower()
            or "secret" in " ".join(node["description"]).lower()
        ), f"{name}: {dotted} is no_log but its description does not say it is kept secret"


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_is_in_the_collection_action_group(name: str) -> None:
    runtime = (REPO / "meta" / "runtime.yml").read_text()
    assert f"    - {name}\n" in runtime, f"{name} is missing from action_groups in meta/runtime.yml"
