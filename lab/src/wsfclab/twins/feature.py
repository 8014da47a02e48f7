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

from wsfclab import features as server_manager
from wsfclab.catalog import FEATURES, feature_id
from wsfclab.state import Feature
from wsfclab.twins.base import ModuleFailure, TwinContext, unsupported


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
    if installing:
        wanted = server_manager.to_install(
            names,
            sub_features_too=params["include_sub_features"],
            management_tools=params["include_management_tools"],
        )
    else:
        wanted = server_manager.to_remove(names, management_tools=params["include_management_tools"])

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
            server_manager.set_installed(ctx.node, name, installing)
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
