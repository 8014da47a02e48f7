"""Decode the exec manifest ansible-core 2.19 - 2.21 pipes into bootstrap_wrapper.ps1.

The input is ``<bootstrap JSON>\\n\\0\\0\\0\\0\\n<exec manifest JSON>`` (see
``ansible/executor/powershell/module_manifest.py:_get_bootstrap_input``). The bootstrap JSON names
``exec_wrapper`` and its parameters (MinOSVersion, MinPSVersion, TempPath, and PwshPath from
2.21); the manifest holds the scripts (base64) and the ordered actions the exec wrapper runs.
This module turns that into a `Request`: a module run (with become, async and the module's own
source and arguments), or one of the two helper actions (mkdtemp, expand user).

Secrets: `secure_params` are dropped here and never reach a log or a twin; only their names are
kept, and the become password only on `Become.password`, which no repr or comparison shows, so
that the host can check it against the account.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_SEPARATOR = b"\n\0\0\0\0\n"
_MODULE_PREFIX = "ansible_collections."
_MODULE_INFIX = ".plugins.modules."


class PayloadError(ValueError):
    """The exec payload cannot be decoded; the message says which part and why."""


@dataclass(frozen=True)
class Script:
    """One script of the manifest: its controller path and its decoded text."""

    path: str
    text: str


@dataclass(frozen=True)
class Action:
    name: str
    params: Mapping[str, Any]
    secure_param_names: tuple[str, ...] = ()
    become_password: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Manifest:
    bootstrap_params: Mapping[str, Any]
    scripts: Mapping[str, Script]
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Become:
    user: str
    logon_type: str | None
    logon_flags: str | None
    has_password: bool
    password: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Async:
    directory: str
    jid: str
    timeout: int


@dataclass(frozen=True)
class ModuleRun:
    """A module to run: what module_wrapper.ps1 would invoke, with the wrappers around it."""

    name: str  # fully qualified, e.g. "ansible.windows.win_file"
    source: str  # the module's PowerShell source as sent
    source_path: str  # where the module lives on the controller
    args: Mapping[str, Any]  # complex_args: task arguments plus the _ansible_* keys
    environment: Mapping[str, str] = field(default_factory=dict)
    become: Become | None = None
    async_job: Async | None = None
    temp_path: str | None = None
    basic_util: str | None = None  # Ansible.Basic.cs as sent, when the module uses it


@dataclass(frozen=True)
class MakeTempDirAction:
    directory: str
    name: str


@dataclass(frozen=True)
class ExpandUserAction:
    path: str


Request = ModuleRun | MakeTempDirAction | ExpandUserAction

_WRAPPERS_WITHOUT_EFFECT = frozenset({"async_watchdog.ps1"})


def parse_manifest(data: bytes) -> Manifest:
    """Split and decode the bootstrap input; raises PayloadError when it is not one."""
    parts = data.split(_SEPARATOR)
    if len(parts) < 2:
        raise PayloadError("the input has no '\\0\\0\\0\\0' separator after the bootstrap JSON")
    bootstrap = _load_json(parts[0], "bootstrap JSON")
    if bootstrap.get("name") != "exec_wrapper" or not isinstance(bootstrap.get("params"), dict):
        raise PayloadError(f"the bootstrap JSON runs {bootstrap.get('name')!r}, expected 'exec_wrapper'")
    manifest = _load_json(parts[1], "exec manifest JSON")
    raw_scripts = manifest.get("scripts")
    raw_actions = manifest.get("actions")
    if not isinstance(raw_scripts, dict) or not isinstance(raw_actions, list):
        raise PayloadError("the exec manifest has no 'scripts' mapping or no 'actions' list")
    scripts = {name: _decode_script(name, info) for name, info in raw_scripts.items()}
    actions = tuple(_decode_action(raw) for raw in raw_actions)
    return Manifest(bootstrap_params=bootstrap["params"], scripts=scripts, actions=actions)


def _load_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PayloadError(f"the {what} is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise PayloadError(f"the {what} is not a JSON object")
    return value


def _decode_script(name: str, info: object) -> Script:
    if not isinstance(info, dict) or not isinstance(info.get("script"), str):
        raise PayloadError(f"script {name!r} of the manifest has no base64 'script'")
    try:
        text = base64.b64decode(info["script"], validate=True).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError) as err:
        raise PayloadError(f"script {name!r} is not base64 of UTF-8 text: {err}") from err
    return Script(path=str(info.get("path", name)), text=text)


def _decode_action(raw: object) -> Action:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise PayloadError("an action of the manifest has no 'name'")
    params = raw.get("params") or {}
    secure = raw.get("secure_params") or {}
    if not isinstance(params, dict) or not isinstance(secure, dict):
        raise PayloadError(f"action {raw['name']!r} has params that are not mappings")
    password = secure.get("BecomePassword") if raw["name"] == "become_wrapper.ps1" else None
    return Action(
        name=raw["name"],
        params=params,
        secure_param_names=tuple(sorted(secure)),
        become_password=password if isinstance(password, str) else None,
    )


def interpret(manifest: Manifest) -> Request:
    """What the exec wrapper would do with this manifest; raises PayloadError for anything else."""
    become: Become | None = None
    async_job: Async | None = None
    actions = list(manifest.actions)
    while actions:
        action = actions.pop(0)
        params = action.params
        if action.name == "powershell_mkdtemp.ps1" and not actions:
            return MakeTempDirAction(directory=str(params["Directory"]), name=str(params["Name"]))
        if action.name == "powershell_expand_user.ps1" and not actions:
            return ExpandUserAction(path=str(params["Path"]))
        if action.name == "become_wrapper.ps1":
            become = Become(
                user=str(params.get("BecomeUser") or ""),
                logon_type=params.get("LogonType"),
                logon_flags=params.get("LogonFlags"),
                has_password="BecomePassword" in action.secure_param_names,
                password=action.become_password,
            )
        elif action.name == "async_wrapper.ps1":
            watchdog = actions[0] if actions else None
            if watchdog is None or watchdog.name != "async_watchdog.ps1":
                raise PayloadError("async_wrapper.ps1 is not followed by async_watchdog.ps1")
            async_job = Async(
                directory=str(params["AsyncDir"]),
                jid=str(params["AsyncJid"]),
                timeout=int(watchdog.params["Timeout"]),
            )
        elif action.name in _WRAPPERS_WITHOUT_EFFECT:
            continue
        elif action.name == "module_wrapper.ps1" and not actions:
            return _module_run(manifest, params, become, async_job)
        else:
            raise PayloadError(f"exec wrapper action {action.name!r} is not simulated")
    raise PayloadError("the exec manifest has no module_wrapper.ps1 action")


def _module_run(
    manifest: Manifest, params: Mapping[str, Any], become: Become | None, async_job: Async | None
) -> ModuleRun:
    script_name = str(params.get("Script", ""))
    if not params.get("ForModule"):
        raise PayloadError(f"{script_name!r} is run as a script, not as a module")
    script = manifest.scripts.get(script_name)
    if script is None:
        raise PayloadError(f"the module script {script_name!r} is not in the manifest")
    module_args: Mapping[str, Any] | None = None
    for variable in params.get("Variables") or []:
        if isinstance(variable, dict) and variable.get("Name") == "complex_args":
            module_args = variable.get("Value")
    if not isinstance(module_args, dict):
        raise PayloadError(f"the module {script_name!r} has no complex_args mapping")
    temp_path = manifest.bootstrap_params.get("TempPath")
    basic = manifest.scripts.get("Ansible.Basic.cs")
    return ModuleRun(
        name=module_name_from_script(script_name),
        source=script.text,
        source_path=script.path,
        args=module_args,
        environment=dict(params.get("Environment") or {}),
        become=become,
        async_job=async_job,
        temp_path=str(temp_path) if temp_path else None,
        basic_util=basic.text if basic is not None else None,
    )


def module_name_from_script(script_name: str) -> str:
    """``ansible_collections.ns.coll.plugins.modules.name.ps1`` -> ``ns.coll.name``."""
    stem = script_name.removesuffix(".ps1")
    if stem.startswith(_MODULE_PREFIX) and _MODULE_INFIX in stem:
        collection, _, leaf = stem[len(_MODULE_PREFIX) :].partition(_MODULE_INFIX)
        return f"{collection}.{leaf}"
    return stem  # a module outside collections, e.g. "ansible.legacy.name"
