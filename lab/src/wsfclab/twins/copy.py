"""Twin of ansible.windows.win_copy (and so of win_template, whose action plugin calls it).

The action plugin drives a protocol through the private ``_copy_mode`` argument (see
ansible_collections/ansible/windows/plugins/action/win_copy.py): ``query`` asks which of the
controller's files differ (by SHA-1), the plugin then uploads into a temp dir with put_file and
sends ``single`` (one file) or ``explode`` (a zip whose entry names are base64), or everything
happens on the host with ``remote``. This mirrors win_copy.ps1 mode by mode.
"""

from __future__ import annotations

import base64
import ntpath
import shutil
import zipfile
from pathlib import Path
from typing import Any

from wsfclab.errors import LabError, Unsupported
from wsfclab.twins.base import ModuleFailure, TwinContext, file_checksum


def win_copy(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"changed": False}
    if ctx.diff:
        result["diff"] = {}
    mode = params["_copy_mode"]
    try:
        if mode == "query":
            return _query(ctx, params, result)
        if mode == "single":
            return _single(ctx, params, result)
        if mode == "explode":
            return _explode(ctx, params, result)
        return _remote(ctx, params, result)
    except LabError as err:
        raise ModuleFailure(str(err), unsupported=isinstance(err, Unsupported), **result) from err


def _query(ctx: TwinContext, params: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    dest: str = params["dest"]
    changed_files = []
    changed_directories = []
    for file in params.get("files") or []:
        filename = file["dest"]
        filepath = ntpath.join(dest, filename)
        local = ctx.local(filepath)
        if local.is_dir():
            filename = ntpath.join(filename, ntpath.basename(file["src"].replace("/", "\\")))
            filepath = ntpath.join(dest, filename)
            local = ctx.local(filepath)
        if local.is_file():
            if params["force"] and file_checksum(local) != file.get("checksum"):
                changed_files.append(file)
        elif local.is_dir():
            raise ModuleFailure(
                f"cannot copy file to dest '{filepath}': object at path is already a directory", **result
            )
        else:
            changed_files.append(file)
    for directory in params.get("directories") or []:
        dirpath = ntpath.join(dest, directory["dest"])
        local = ctx.local(dirpath)
        if local.parent.is_file():
            raise ModuleFailure(
                f"cannot copy folder to dest '{dirpath}': object at parent directory path is already a file",
                **result,
            )
        if local.is_file():
            raise ModuleFailure(
                f"cannot copy folder to dest '{dirpath}': object at path is already a file", **result
            )
        if not local.is_dir():
            changed_directories.append(directory)
    return {**result, "files": changed_files, "directories": changed_directories, "symlinks": []}


def _single(ctx: TwinContext, params: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    src: str = params["src"]
    dest: str = params["dest"]
    source = ctx.local(src)
    if not source.is_file():
        raise ModuleFailure(f"Cannot copy src file: '{src}' as it does not exist", **result)
    remote_dest = dest
    if dest.endswith(("/", "\\")) or ctx.local(dest).is_dir():
        remote_dest = ntpath.join(dest, params.get("_original_basename") or "")
    parent_dir = ntpath.dirname(remote_dest.rstrip("\\/")) if remote_dest.rstrip("\\/") else ""
    parent = ctx.local(parent_dir) if parent_dir else ctx.local(".")
    if parent.is_file():
        raise ModuleFailure(f"object at destination parent dir '{parent_dir}' is currently a file", **result)
    if not parent.is_dir():
        if dest == remote_dest:
            raise ModuleFailure(f"Destination directory '{parent_dir}' does not exist", **result)
        parent.mkdir(parents=True)
    target = ctx.local(remote_dest)
    if params["backup"]:
        result["backup_file"] = _backup(ctx, target)
    shutil.copyfile(source, target)
    return {**result, "changed": True}


def _backup(ctx: TwinContext, target: Path) -> str | None:
    if not target.is_file():
        return None
    stamp = ctx.state.next_id()
    backup = target.with_name(f"{target.name}.{stamp}.bak")
    if not ctx.check_mode:
        shutil.copyfile(target, backup)
    return ctx.windows(backup)


def _explode(ctx: TwinContext, params: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    src: str = params["src"]
    source = ctx.local(src)
    if not source.is_file():
        raise ModuleFailure(f"Cannot expand src zip file: '{src}' as it does not exist", **result)
    dest = ctx.local(params["dest"])
    with zipfile.ZipFile(source) as archive:
        for entry in archive.infolist():
            name = base64.b64decode(entry.filename.rstrip("/")).decode("utf-8")
            target = ctx.local(ntpath.join(params["dest"], name.replace("/", "\\")))
            if entry.is_dir() or entry.filename.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(entry))
    dest.mkdir(parents=True, exist_ok=True)
    return {**result, "changed": True}


def _remote(ctx: TwinContext, params: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    src: str = params["src"]
    dest: str = params["dest"]
    result.update(src=src, dest=dest)
    source = ctx.local(src)
    if not source.exists():
        raise ModuleFailure(f"Cannot copy src file: '{src}' as it does not exist", **result)
    diff: list[str] = []
    if source.is_dir():
        result["operation"] = "folder_copy"
        if src.endswith(("/", "\\")):
            remote_dest = dest
        else:
            remote_dest = ntpath.join(dest, source.name)
            result["dest"] = remote_dest
        _copy_tree(ctx, source, remote_dest, force=params["force"], result=result, diff=diff)
        size = (
            sum(p.stat().st_size for p in ctx.local(remote_dest).rglob("*") if p.is_file())
            if (ctx.local(remote_dest).is_dir())
            else None
        )
    else:
        result["operation"] = "file_copy"
        result["original_basename"] = source.name
        remote_dest = dest
        if dest.endswith(("/", "\\")) or ctx.local(dest).is_dir():
            remote_dest = ntpath.join(dest, source.name)
        result["dest"] = remote_dest
        parent = ctx.local(ntpath.dirname(remote_dest))
        if parent.is_file():
            raise ModuleFailure(
                f"object at destination parent dir '{ntpath.dirname(remote_dest)}' is currently a file",
                **result,
            )
        if not parent.is_dir():
            if dest == remote_dest:
                raise ModuleFailure(
                    f"Destination directory '{ntpath.dirname(remote_dest)}' does not exist", **result
                )
            if not ctx.check_mode:
                parent.mkdir(parents=True)
        result["checksum"] = _copy_file(
            ctx, source, remote_dest, force=params["force"], result=result, diff=diff
        )
        target = ctx.local(remote_dest)
        size = target.stat().st_size if target.is_file() else None
    result["size"] = size
    if ctx.diff:
        result["diff"]["prepared"] = "".join(diff)
    return result


def _copy_file(
    ctx: TwinContext, source: Path, dest: str, *, force: bool, result: dict[str, Any], diff: list[str]
) -> str | None:
    checksum = file_checksum(source) if force else None
    target = ctx.local(dest)
    if target.is_dir():
        raise ModuleFailure(
            f"cannot copy file from '{ctx.windows(source)}' to '{dest}': dest is already a folder"
        )
    if target.is_file() and not (force and file_checksum(target) != checksum):
        return checksum
    if not target.parent.is_dir():
        if not ctx.check_mode:
            target.parent.mkdir(parents=True)
        diff.append(f"+{ntpath.dirname(dest)}\\\n")
    if target.is_file():
        diff.append(f"-{dest}\n")
    if not ctx.check_mode:
        shutil.copyfile(source, target)
    diff.append(f"+{dest}\n")
    result["changed"] = True
    return checksum


def _copy_tree(
    ctx: TwinContext, source: Path, dest: str, *, force: bool, result: dict[str, Any], diff: list[str]
) -> None:
    target = ctx.local(dest)
    if target.is_file():
        raise ModuleFailure(
            f"cannot copy folder from '{ctx.windows(source)}' to '{dest}': dest is already a file"
        )
    if not target.is_dir():
        if not ctx.check_mode:
            target.mkdir(parents=True)
        diff.append(f"+{dest}\\\n")
        result["changed"] = True
    for child in sorted(source.iterdir()):
        child_dest = ntpath.join(dest, child.name)
        if child.is_dir():
            _copy_tree(ctx, child, child_dest, force=force, result=result, diff=diff)
        else:
            _copy_file(ctx, child, child_dest, force=force, result=result, diff=diff)
