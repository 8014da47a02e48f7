"""Twins of the modules that report on the host itself: async_status and the cmdlet-pipeline executor.

``async_status`` reads the results file the async wrapper wrote into the node's async dir
(``<AsyncDir>\\<jid>``), as async_status.ps1 does. ``pbxops.wsfc.cmdlet_pipelines`` hands the
validated pipelines to the cmdlet simulator (``wsfclab.cmdlets.run_pipelines``), which returns the
executor module's result shape.
"""

from __future__ import annotations

import json
import ntpath
import shutil
from typing import Any

from wsfclab.cmdlets import run_pipelines
from wsfclab.errors import LabError
from wsfclab.twins.base import ModuleFailure, TwinContext


def async_status(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    jid: str = params["jid"]
    async_dir: str = params["_async_dir"]
    log_path = ntpath.join(async_dir, jid)
    try:
        local = ctx.local(log_path)
    except LabError as err:
        raise ModuleFailure(str(err), ansible_job_id=jid, started=1, finished=1) from err
    if not local.exists():
        raise ModuleFailure(
            f"could not find job at '{async_dir}'", changed=False, ansible_job_id=jid, started=1, finished=1
        )
    if params["mode"] == "cleanup":
        if not ctx.check_mode:
            if local.is_dir():
                shutil.rmtree(local)
            else:
                local.unlink()
        return {"changed": False, "ansible_job_id": jid, "erased": log_path}
    raw = local.read_text(encoding="utf-8-sig")
    if not raw.strip():
        return {
            "changed": False,
            "results_file": log_path,
            "ansible_job_id": jid,
            "started": 1,
            "finished": 0,
        }
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ModuleFailure(
            f"Could not parse job output: {raw}",
            ansible_job_id=jid,
            results_file=log_path,
            started=1,
            finished=1,
        ) from err
    if "started" not in data:
        data["finished"] = 1
        data["ansible_job_id"] = jid
    elif "finished" not in data:
        data["finished"] = 0
    data.setdefault("changed", False)
    return dict(data)


def cmdlet_pipelines(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    result = run_pipelines(ctx.lab, ctx.state, ctx.node.name, params["pipelines"], ctx.check_mode)
    if result.get("failed"):
        extra = {k: v for k, v in result.items() if k not in ("failed", "msg")}
        raise ModuleFailure(str(result.get("msg", "")), **extra)
    return dict(result)
