"""Twins of ansible.windows' file modules: win_file, win_stat, slurp, win_ping.

Each mirrors the real module's `.ps1` (same result keys, same failure messages) on the node's
folders. NTFS attributes the lab does not model (hidden, read-only, archive, owners, links) are
reported as a plain NTFS file or directory has them.
"""

from __future__ import annotations

import base64
import ntpath
import os
import shutil
from pathlib import Path
from typing import Any

from wsfclab.errors import LabError, Unsupported
from wsfclab.twins.base import ModuleFailure, TwinContext, file_checksum, unsupported


def _local_or_fail(ctx: TwinContext, path: str, result: dict[str, Any] | None = None) -> Path:
    try:
        return ctx.local(path)
    except LabError as err:
        raise ModuleFailure(str(err), unsupported=isinstance(err, Unsupported), **(result or {})) from err


def win_ping(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    data = params["data"]
    if data == "crash":
        raise ModuleFailure("Unhandled exception while executing module: boom")
    return {"changed": False, "ping": data}


def win_file(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    path: str = params["path"]
    state: str | None = params.get("state")
    result: dict[str, Any] = {"changed": False}
    if params.get("access_time") or params.get("modification_time"):
        raise unsupported("win_file access_time/modification_time (the lab keeps no timestamps of its own)")
    local = _local_or_fail(ctx, path, result)
    if local.is_dir() and params.get("_original_basename") is not None:
        path = ntpath.join(path, params["_original_basename"])
        local = _local_or_fail(ctx, path, result)

    if params.get("_diff_peek") is not None:
        appears_binary = local.is_file() and b"\0" in local.read_bytes()[:8192]
        return {
            "changed": False,
            "path": path,
            "change": False,
            "appears_binary": appears_binary,
            "state": "file" if local.exists() else "absent",
        }

    if state == "touch":
        if not local.exists():
            _require_parent(local, path, result)
            if not ctx.check_mode:
                # Out-File -Encoding ASCII of $null writes an empty line.
                local.write_bytes(b"\r\n")
        elif not ctx.check_mode:
            os.utime(local)
        result["changed"] = True

    if local.exists():
        if state == "absent":
            if not ctx.check_mode:
                if local.is_dir():
                    shutil.rmtree(local)
                else:
                    local.unlink()
            result["changed"] = True
        elif state == "directory" and not local.is_dir():
            raise ModuleFailure(f"path {path} is not a directory", **result)
        elif state == "file" and local.is_dir():
            raise ModuleFailure(f"path {path} is not a file", **result)
    elif state != "touch":
        if state is None:
            state = "file" if ntpath.basename(path.rstrip()) else "directory"
        if state == "directory":
            if not ctx.check_mode:
                local.mkdir(parents=True)
            result["changed"] = True
        elif state == "file":
            raise ModuleFailure(f"path {path} will not be created", **result)
    return result


def _require_parent(local: Path, path: str, result: dict[str, Any]) -> None:
    if not local.parent.is_dir():
        raise ModuleFailure(
            f"Could not find a part of the path '{path}'.",
            **result,
        )


def _timestamp(seconds: float) -> float:
    return round(seconds, 7)


def win_stat(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    path: str = params["path"]
    local = _local_or_fail(ctx, path)
    if not local.exists():
        return {"changed": False, "stat": {"exists": False}}
    info = local.stat()
    is_dir = local.is_dir()
    stat: dict[str, Any] = {
        "exists": True,
        "attributes": "Directory" if is_dir else "Archive",
        "isarchive": not is_dir,
        "isdir": is_dir,
        "ishidden": False,
        "isjunction": False,
        "islnk": False,
        "isreadonly": False,
        "isreg": not is_dir,
        "isshared": False,
        "nlink": 1,
        "hlnk_targets": [],
        "creationtime": _timestamp(info.st_ctime),
        "lastaccesstime": _timestamp(info.st_atime),
        "lastwritetime": _timestamp(info.st_mtime),
        "path": ctx.windows(local),
        "filename": local.name,
        "owner": "BUILTIN\\Administrators",
    }
    if is_dir:
        if params["get_size"]:
            stat["size"] = sum(p.stat().st_size for p in local.rglob("*") if p.is_file())
    else:
        stat["extension"] = local.suffix
        if params["get_checksum"]:
            stat["checksum"] = file_checksum(local, params["checksum_algorithm"])
        if params["get_size"]:
            stat["size"] = info.st_size
    return {"changed": False, "stat": stat}


def slurp(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    src: str = params["src"]
    result: dict[str, Any] = {"changed": False}
    local = _local_or_fail(ctx, src, result)
    if local.is_file():
        return {**result, "content": base64.b64encode(local.read_bytes()).decode(), "encoding": "base64"}
    if local.is_dir():
        raise ModuleFailure(f"Path {src} is a directory", **result)
    raise ModuleFailure(f"Path {src} is not found", **result)
