"""Installing and removing Windows features on a node, as Server Manager does it.

Install-WindowsFeature and ansible.windows.win_feature (which calls it) must leave the same node,
so both go through here: a feature's parents install with it, ``-IncludeAllSubFeature`` adds its
subtree, ``-IncludeManagementTools`` its tools (with their parents), every feature once, in that
order; installing a feature registers the services it brings (Failover Clustering: ``ClusSvc``).
"""

from __future__ import annotations

from collections.abc import Iterable

from wsfclab.catalog import FEATURE_SERVICES, FEATURES, feature_ancestry, sub_features
from wsfclab.state import Feature, NodeState, Service


def to_install(names: Iterable[str], *, sub_features_too: bool, management_tools: bool) -> list[str]:
    """The features an install of ``names`` (catalogue names) touches, each once, parents first."""
    wanted: list[str] = []
    for name in names:
        family = feature_ancestry(name)
        if sub_features_too:
            family += _descendants(name)
        if management_tools:
            for tool in FEATURES[name].management_tools:
                family += feature_ancestry(tool)
        wanted += [f for f in dict.fromkeys(family) if f not in wanted]
    return wanted


def to_remove(names: Iterable[str], *, management_tools: bool) -> list[str]:
    """The features an uninstall of ``names`` touches: each with its subtree (and its tools)."""
    wanted: list[str] = []
    for name in names:
        family = [name, *_descendants(name)]
        if management_tools:
            family += list(FEATURES[name].management_tools)
        wanted += [f for f in dict.fromkeys(family) if f not in wanted]
    return wanted


def set_installed(node: NodeState, name: str, installed: bool) -> None:
    """Install or remove one feature; installing registers the services it brings."""
    entry = node.features.get(name)
    if entry is None:
        node.features[name] = Feature(name, FEATURES[name].display_name, installed)
    else:
        entry.installed = installed
    if installed:
        _register_services(node, name)


def _descendants(name: str) -> list[str]:
    found = []
    for child in sub_features(name):
        found += [child, *_descendants(child)]
    return found


def _register_services(node: NodeState, feature: str) -> None:
    for builtin in FEATURE_SERVICES.get(feature, ()):
        node.services.setdefault(
            builtin.name,
            Service(
                name=builtin.name,
                display_name=builtin.display_name,
                path=builtin.path,
                start_mode=builtin.start_mode,
                state="Running" if builtin.running else "Stopped",
                username=builtin.username,
                description=builtin.description,
                emulated=True,
            ),
        )
