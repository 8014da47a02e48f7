"""Windows paths on a node -> folders in the state dir, and back.

A drive letter names a volume; a volume lives on a partition of a disk, and its files live in the
partition's folder. A letter resolves on a node only when the disk is visible AND online there, so
a shared disk's volume appears on exactly the node(s) that have it online, as on Windows.
Name lookup is case-insensitive like NTFS: an existing entry is found whatever its case, and a new
entry is created with the case given.
"""

from __future__ import annotations

import ntpath
import os
import re
from pathlib import Path

from wsfclab.errors import LabError, Unsupported
from wsfclab.state import LabState, Partition

_DRIVE = re.compile(r"^([A-Za-z]):(.*)$", re.DOTALL)
_INVALID = re.compile(r'[<>:"|?*\x00-\x1f]')


def volume_partitions(state: LabState, node: str) -> dict[str, Partition]:
    """Drive letter (upper case) -> partition, for the volumes this node can reach now."""
    letters: dict[str, Partition] = {}
    for disk in state.disks.values():
        view = disk.views.get(node)
        if view is None or view.is_offline:
            continue
        for part in disk.partitions:
            if part.drive_letter and part.folder:
                letters[part.drive_letter.upper()] = part
    return letters


def split_windows_path(path: str) -> tuple[str, list[str]]:
    """'c:/PBX\\app\\..\\x.toml' -> ('C', ['PBX', 'x.toml']); raises LabError for paths that are not
    absolute drive-letter paths."""
    raw = path
    if raw.startswith(("\\\\?\\", "//?/")):
        raw = raw[4:]
    if raw.startswith(("\\\\", "//")):
        raise Unsupported(f"UNC path {path!r}; use a drive-letter path such as C:\\dir")
    match = _DRIVE.match(raw)
    if match is None or (match.group(2) and match.group(2)[0] not in "\\/"):
        raise LabError(
            f"{path!r} is not an absolute Windows path; expected a drive-letter path such as C:\\dir\\file"
        )
    # Always exactly one leading backslash: two would make ntpath read a UNC share name.
    normal = ntpath.normpath("\\" + match.group(2).replace("/", "\\").lstrip("\\"))
    parts = [p for p in normal.split("\\") if p]
    for part in parts:
        if _INVALID.search(part):
            raise LabError(
                f'{path!r}: the name {part!r} has characters Windows does not allow in file names (<>:"|?*)'
            )
    return match.group(1).upper(), parts


def resolve(state: LabState, state_dir: Path, node: str, path: str) -> Path:
    letter, parts = split_windows_path(path)
    if node not in state.nodes:
        raise LabError(f"no node {node!r} in this lab; nodes are {', '.join(sorted(state.nodes))}")
    part = volume_partitions(state, node).get(letter)
    if part is None:
        raise LabError(
            f"{path!r}: drive {letter}: is not available on {node} (no online volume has that letter there); "
            "bring the disk online on this node or use another drive"
        )
    current = state_dir / part.folder
    for name in parts:
        current = current / _existing_name(current, name)
    return current


def _existing_name(folder: Path, name: str) -> str:
    if (folder / name).exists():
        return name
    try:
        entries = os.listdir(folder)
    except OSError:
        return name
    lowered = name.lower()
    return next((e for e in entries if e.lower() == lowered), name)


def to_windows(state: LabState, state_dir: Path, node: str, local: Path) -> str:
    target = Path(os.path.abspath(local))
    for letter, part in sorted(volume_partitions(state, node).items()):
        root = Path(os.path.abspath(state_dir / part.folder))
        if target == root or root in target.parents:
            rest = target.relative_to(root).parts
            return f"{letter}:\\" + "\\".join(rest)
    raise LabError(f"{local} is not inside any volume that {node} can reach")
