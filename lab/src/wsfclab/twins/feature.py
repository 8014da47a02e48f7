"""Twin of ansible.windows.win_feature over the node's feature table.

Install-WindowsFeature / Uninstall-WindowsFeature semantics from the catalogue (wsfclab.catalog):
parents are installed with a feature, ``include_sub_features`` adds the whole subtree and
``include_management_tools`` the feature's tools; uninstalling removes the subtree. The result has
win_feature.ps1's shape: ``exitcode``, ``feature_result`` (one entry per feature that changes, with
the catalogue's numeric ``id``), ``reboot_required``, ``success`` and ``changed`` when anything
changes. Under -WhatIf (check mode) the same entries are reported and nothing changes.
"""

from __future__ import annotations

from typing import Any

from wsfclab.catalog import FEATURES, feature_id
from wsfclab.state import Feature
from wsfclab.twins.base import ModuleFailure, TwinContext, unsupported


def _subtree(name: str) -> list[str]:
    children = [f.name for f in FEATURES.values() if f.parent == name]
    found = [name]
    for child in children:
        found.extend(_subtree(child))
    return found


def _ancestors(name: str) -> list[str]:
    chain: list[str] = []
    parent = FEATURES[name].parent
    while parent is not None:
        chain.insert(0, parent)
        parent = FEATURES[parent].parent
    return chain


def _canonical(name: str) -> str:
    for known in FEATURES:
        if known.lower() == name.lower():
            return known
    raise ModuleFailure(
        "Unhandled exception while executing module: ArgumentNotValid: The role, role service, or feature "
        f"name is not valid: '{name}'. The name was not found."
    )


def win_feature(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("source"):
        raise unsupported("win_feature source (the lab needs no installation media)")
    names = [_canonical(str(n)) for n in params["name"]]
    installing = params["state"] == "present"
    wanted: list[str] = []
    for name in names:
        if installing:
            group = [*_ancestors(name), name]
            if params["include_sub_features"]:
                group += _subtree(name)[1:]
            if params["include_management_tools"]:
                for tool in FEATURES[name].management_tools:
                    group += [*_ancestors(tool), tool]
        else:
            group = _subtree(name)
            if params["include_management_tools"]:
                group += list(FEATURES[name].management_tools)
        wanted += [n for n in group if n not in wanted]

    features = ctx.node.features
    changing = [n for n in wanted if _installed(features.get(n)) != installing]
    feature_result = []
    for name in changing:
        info = FEATURES[name]
        feature_result.append(
            {
                "id": feature_id(name),
                "display_name": info.display_name,
                "message": [],
                "reboot_required": False,
                "skip_reason": "NotSkipped",
                "success": True,
            }
        )
        if not ctx.check_mode:
            entry = features.get(name)
            if entry is None:
                features[name] = Feature(name, info.display_name, installing)
            else:
                entry.installed = installing
    return {
        "changed": bool(changing),
        "exitcode": "Success" if changing else "NoChangeNeeded",
        "feature_result": feature_result,
        "reboot_required": False,
        "success": True,
        "failed": False,
    }


def _installed(feature: Feature | None) -> bool:
    return feature is not None and feature.installed
