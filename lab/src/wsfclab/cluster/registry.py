"""HKEY_LOCAL_MACHINE of a lab node, as small as registry checkpoints need.

Each node keeps its keys in ``nodes/<NODE>/registry/HKLM.json``: key path (case kept, matched
without case as Windows does) -> value name -> value (str or int). Writes replace the file
atomically. A cluster checkpoint copies a key and its subkeys off the owner while the resource is
online and writes them onto the next owner before the resource comes online ([MSCS] checkpointing).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsfclab.lab import Lab

type Values = dict[str, str | int]
type Hive = dict[str, Values]


def _path(lab: Lab, node: str) -> Path:
    return lab.state_dir / "nodes" / node.upper() / "registry" / "HKLM.json"


def load(lab: Lab, node: str) -> Hive:
    try:
        data: Hive = json.loads(_path(lab, node).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data


def _save(lab: Lab, node: str, hive: Hive) -> None:
    path = _path(lab, node)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(hive, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _normal(key: str) -> str:
    return "\\".join(p for p in key.replace("/", "\\").split("\\") if p)


def set_value(lab: Lab, node: str, key: str, name: str, value: str | int) -> None:
    hive = load(lab, node)
    wanted = _normal(key)
    existing = next((k for k in hive if k.lower() == wanted.lower()), wanted)
    hive.setdefault(existing, {})[name] = value
    _save(lab, node, hive)


def get_value(lab: Lab, node: str, key: str, name: str) -> str | int | None:
    wanted = _normal(key).lower()
    for path, values in load(lab, node).items():
        if path.lower() == wanted:
            return values.get(name)
    return None


def read_tree(lab: Lab, node: str, key: str) -> dict[str, Values]:
    """The key and its subkeys: path relative to ``key`` ("" for the key itself) -> values."""
    base = _normal(key).lower()
    tree: dict[str, Values] = {}
    for path, values in load(lab, node).items():
        lowered = path.lower()
        if lowered == base or lowered.startswith(base + "\\"):
            tree[path[len(base) :].lstrip("\\")] = dict(values)
    return tree


def write_tree(lab: Lab, node: str, key: str, tree: dict[str, Values]) -> None:
    """Replace the key and its subkeys with ``tree`` (what a checkpoint restore does)."""
    base = _normal(key)
    hive = {
        p: v
        for p, v in load(lab, node).items()
        if not (p.lower() == base.lower() or p.lower().startswith(base.lower() + "\\"))
    }
    for relative, values in tree.items():
        hive[base + ("\\" + relative if relative else "")] = dict(values)
    _save(lab, node, hive)
