"""Twin of ansible.windows.win_package for python.org's CPython installer.

Follows win_package.ps1 for a local ``path`` and ``state: present``: a missing file fails "the
file at the path '...' cannot be reached" (not in check mode); ``creates_path`` decides whether
the package is installed; the installer runs only when it is not (and not in check mode); the
result has ``changed``, ``rc``, ``reboot_required`` and, when the file was hashed, ``checksum``.

The only installer the lab runs is python.org's (``python-3.X.Y[-amd64].exe``), with the
documented command-line options of "Using Python on Windows" (``/quiet`` or ``/passive``,
``InstallAllUsers``, ``TargetDir``, ``Include_pip``): it lays out the installation's files,
where each ``python.exe`` is a stand-in that the lab runs as its own Python (see
``wsfclab.twins.command``). Without ``creates_path`` the real module needs a product id looked
up in the registry, which the lab does not model.
"""

from __future__ import annotations

import hashlib
import ntpath
import re
from typing import Any

from wsfclab.errors import LabError
from wsfclab.processes import split_command_line
from wsfclab.twins.base import ModuleFailure, TwinContext, unsupported

_PYTHON_INSTALLER = re.compile(r"^python-3\.(\d+)\.(\d+)(-amd64|-arm64)?\.exe$", re.IGNORECASE)
_UNMODELLED = ("product_id", "creates_version", "creates_service", "log_path", "chdir")
_OPTION = re.compile(r"^([A-Za-z_]+)=(.*)$")


def _arguments(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(a) for a in raw]
    return split_command_line(str(raw))


def _target_dir(ctx: TwinContext, minor: str, options: dict[str, str]) -> str:
    """TargetDir, or the installer's default for the install scope."""
    if "TargetDir" in options:
        return options["TargetDir"]
    if options.get("InstallAllUsers", "0") == "1":
        return f"C:\\Program Files\\Python3{minor}"
    return f"{ctx.env.variables['LOCALAPPDATA']}\\Programs\\Python\\Python3{minor}"


def _lay_out(ctx: TwinContext, target: str, version: str, minor: str, with_pip: bool) -> None:
    root = ctx.local(target)
    for folder in ("DLLs", "Lib\\site-packages", "libs", "Scripts" if with_pip else ""):
        if folder:
            (root / folder.replace("\\", "/")).mkdir(parents=True, exist_ok=True)
    stand_in = f"wsfclab stand-in for CPython {version}: the lab runs its own Python for this file\n"
    for name in ("python.exe", "pythonw.exe", f"python3{minor}.dll", "python3.dll"):
        (root / name).write_text(stand_in, encoding="utf-8")


def win_package(ctx: TwinContext, params: dict[str, Any]) -> dict[str, Any]:
    for option in _UNMODELLED:
        if params.get(option) not in (None, ""):
            raise unsupported(f"win_package {option}")
    if params.get("state") != "present":
        raise unsupported("win_package state=absent")
    if params.get("verify_signature"):
        raise unsupported("win_package verify_signature (the lab's installers are not signed)")
    path = str(params["path"])
    if path.lower().startswith("http"):
        raise unsupported("win_package from a URL (copy the installer to the node first)")
    creates = params.get("creates_path")
    if not creates:
        raise unsupported("win_package without creates_path (a product id needs the registry)")
    result: dict[str, Any] = {"changed": False, "reboot_required": False, "rc": 0}
    try:
        local = ctx.local(path)
    except LabError:
        local = None
    if (local is None or not local.is_file()) and not ctx.check_mode:
        raise ModuleFailure(f"the file at the path '{path}' cannot be reached", **result)
    try:
        installed = ctx.local(str(creates)).exists()
    except LabError:
        installed = False
    if installed:
        return result
    result["changed"] = True
    if ctx.check_mode:
        return result
    assert local is not None
    match = _PYTHON_INSTALLER.match(ntpath.basename(path))
    if match is None:
        raise unsupported(f"win_package runs only python.org's CPython installer in the lab, not {path!r}")
    data = local.read_bytes()
    algorithm = params.get("checksum_algorithm") or "sha1"
    checksum = hashlib.new(algorithm, data).hexdigest().upper()
    result["checksum"] = checksum
    if params.get("checksum") and params["checksum"] != checksum:
        expected = params["checksum"]
        message = f"The checksum for {path} did not match '{expected}', it was '{checksum}'"
        raise ModuleFailure(message, **result)
    switches = {a.lower() for a in _arguments(params.get("arguments")) if a.startswith("/")}
    if not switches & {"/quiet", "/passive"}:
        raise unsupported("the CPython installer without /quiet or /passive (it would wait for a person)")
    options = {m.group(1): m.group(2) for a in _arguments(params.get("arguments")) if (m := _OPTION.match(a))}
    minor, patch = match.group(1), match.group(2)
    target = _target_dir(ctx, minor, options)
    if not ntpath.isabs(target):
        # What the installer does with a relative TargetDir is not documented: refuse it.
        raise unsupported(f"the CPython installer with a relative TargetDir {target!r}")
    _lay_out(ctx, target, f"3.{minor}.{patch}", minor, options.get("Include_pip", "1") == "1")
    result.update(stdout="", stderr="")
    return result
