"""pbxd as a Windows service (pywin32), for a WSFC Generic Service role.

The cluster considers the role healthy only while the service controller says the service
runs, so the service ends itself, with a service-specific exit code, when the PBX becomes
unhealthy (see ``pbxd.runner.Outcome``), and stops within about two seconds when asked.

Two ways to host the service, both a full CPython on the shared disk (no venv: services do
not see a venv's paths):
- ``pythonservice`` (pywin32's host): the service binary is ``pythonservice.exe`` copied
  beside ``python.exe`` with ``python3XY.dll`` and ``pywintypes3XY.dll``; the class to run is
  in the service's ``PythonClass`` registry value and the configuration path in its
  ``Parameters\\config`` value.
- ``python``: the service binary is ``python.exe -m pbxd service run --config <file>``; python.exe
  hosts the service itself (``servicemanager.StartServiceCtrlDispatcher``).

Planning (paths, command lines, required files) is pure and tested on any platform; pywin32
is imported only on Windows, inside the functions that need it.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import ntpath
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from pbxd.runner import Outcome, StopRequest

log = logging.getLogger("pbxd.winservice")

Host = Literal["pythonservice", "python"]

SERVICE_CLASS = "pbxd.winservice.PbxService"
DISPLAY_NAME = "pbxd SIP PBX"
DESCRIPTION = "SIP registrar and proxy (pbxd), run as a Windows Server Failover Cluster Generic Service"
CONFIG_OPTION = "config"
ERROR_SERVICE_SPECIFIC_ERROR = 1066  # winerror.ERROR_SERVICE_SPECIFIC_ERROR


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """Everything ``service install`` registers, decided before anything is touched."""

    name: str
    display_name: str
    description: str
    host: Host
    exe_name: str
    exe_args: str
    # The full command line the service controller stores (ImagePath).
    image_path: str
    python_class: str
    config_path: str
    # Manual on every node: the cluster, not the node, decides where the service runs.
    start_type: str
    required_files: tuple[str, ...]


def plan_service(
    *,
    python_exe: str,
    config_path: str,
    name: str = "pbxd",
    host: Host = "pythonservice",
    version: tuple[int, int],
) -> ServicePlan:
    """The service registration for the interpreter at ``python_exe`` (a Windows path)."""
    if not name or any(ch in name for ch in '/\\"'):
        raise ValueError(f'--name: "{name}" is not a service name (no slashes or quotes)')
    if not ntpath.isabs(config_path):
        raise ValueError(f'--config: "{config_path}" is not an absolute path; services start in System32')
    folder = ntpath.dirname(python_exe)
    tag = f"{version[0]}{version[1]}"
    runtime = (ntpath.join(folder, f"python{tag}.dll"), ntpath.join(folder, f"pywintypes{tag}.dll"))
    required: tuple[str, ...]
    if host == "pythonservice":
        exe_name = ntpath.join(folder, "pythonservice.exe")
        exe_args = ""
        required = (exe_name, *runtime)
    else:
        exe_name = python_exe
        exe_args = subprocess.list2cmdline(["-m", "pbxd", "service", "run", "--config", config_path])
        required = (python_exe, runtime[0])
    image_path = subprocess.list2cmdline([exe_name]) + (f" {exe_args}" if exe_args else "")
    return ServicePlan(
        name=name,
        display_name=DISPLAY_NAME,
        description=DESCRIPTION,
        host=host,
        exe_name=exe_name,
        exe_args=exe_args,
        image_path=image_path,
        python_class=SERVICE_CLASS,
        config_path=config_path,
        start_type="manual",
        required_files=required,
    )


def missing_files(plan: ServicePlan, exists: Callable[[str], bool]) -> list[str]:
    return [path for path in plan.required_files if not exists(path)]


def _require_windows(action: str) -> None:
    if sys.platform != "win32":
        raise OSError(f"`pbxd service {action}` needs Windows (pywin32); use --dry-run to see the plan")


def command(action: str, config_path: Path, args: argparse.Namespace, out: TextIO) -> int:
    """``pbxd service install|remove|run``."""
    if action == "run":
        return run_service(config_path)
    if action == "remove":
        _require_windows(action)
        import win32serviceutil  # noqa: PLC0415  (Windows only)

        win32serviceutil.RemoveService(args.name)
        out.write(f"service {args.name} removed\n")
        return 0
    python_exe: str | None = args.python or (sys.executable if sys.platform == "win32" else None)
    if python_exe is None:
        raise ValueError("--python: needed outside Windows; the python.exe that will host the service")
    plan = plan_service(
        python_exe=python_exe,
        config_path=str(config_path),
        name=args.name,
        host=args.host,
        version=(sys.version_info.major, sys.version_info.minor),
    )
    if args.dry_run:
        out.write(json.dumps({"changed": False, **asdict(plan)}, indent=2) + "\n")
        return 0
    _require_windows(action)
    missing = missing_files(plan, os.path.exists)
    if missing:
        raise OSError(
            "the service host needs these files, missing: "
            + ", ".join(missing)
            + " (copy pythonservice.exe and pywintypes DLL from site-packages beside python.exe)"
        )
    _install(plan)
    out.write(f"service {plan.name} installed: {plan.image_path}\n")
    return 0


def _install(plan: ServicePlan) -> None:
    import win32service  # noqa: PLC0415
    import win32serviceutil  # noqa: PLC0415

    win32serviceutil.InstallService(
        pythonClassString=plan.python_class,
        serviceName=plan.name,
        displayName=plan.display_name,
        startType=win32service.SERVICE_DEMAND_START,
        exeName=plan.exe_name,
        exeArgs=plan.exe_args or None,
        description=plan.description,
    )
    win32serviceutil.SetServiceCustomOption(plan.name, CONFIG_OPTION, plan.config_path)


def run_service(config_path: Path) -> int:
    """``pbxd service run``. On Windows, host the service in this python.exe; elsewhere (the
    lab simulates the service controller with processes and signals) run in the foreground."""
    if sys.platform != "win32":
        from pbxd.config import load_config  # noqa: PLC0415
        from pbxd.runner import run  # noqa: PLC0415

        return run(load_config(config_path))
    import servicemanager  # noqa: PLC0415

    global _CONFIG_FROM_COMMAND_LINE  # noqa: PLW0603  (the service class is instantiated by pywin32)
    _CONFIG_FROM_COMMAND_LINE = str(config_path)
    servicemanager.Initialize()
    servicemanager.PrepareToHostSingle(_service_class())
    servicemanager.StartServiceCtrlDispatcher()
    return 0


_CONFIG_FROM_COMMAND_LINE: str | None = None


@functools.cache
def _service_class() -> Any:
    """Build the ServiceFramework subclass (pywin32 exists only on Windows)."""
    import win32service  # noqa: PLC0415
    import win32serviceutil  # noqa: PLC0415

    class _PbxService(win32serviceutil.ServiceFramework):  # type: ignore[misc]
        _svc_name_ = "pbxd"
        _svc_display_name_ = DISPLAY_NAME
        _svc_description_ = DESCRIPTION

        def __init__(self, args: list[str]) -> None:
            super().__init__(args)
            self.name = args[0]
            self.stop_request = StopRequest()

        def SvcStop(self) -> None:
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING, waitHint=3000)
            self.stop_request.request()

        def SvcRun(self) -> None:
            # Overridden (not SvcDoRun) to report our own exit code: after SvcRun returns
            # normally, pywin32 reports "stopped, exit code 0".
            self.ReportServiceStatus(win32service.SERVICE_RUNNING)
            outcome = _serve(self.name, self.stop_request)
            if outcome is not Outcome.STOPPED:
                self.ReportServiceStatus(
                    win32service.SERVICE_STOPPED,
                    win32ExitCode=ERROR_SERVICE_SPECIFIC_ERROR,
                    svcExitCode=int(outcome),
                )
                logging.shutdown()
                os._exit(int(outcome))
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING)

    return _PbxService


def _serve(service_name: str, stop: StopRequest) -> Outcome:
    import asyncio  # noqa: PLC0415

    import win32serviceutil  # noqa: PLC0415

    from pbxd.config import ConfigError, load_config  # noqa: PLC0415
    from pbxd.logs import setup_logging  # noqa: PLC0415
    from pbxd.runner import serve  # noqa: PLC0415

    config_path = _CONFIG_FROM_COMMAND_LINE or win32serviceutil.GetServiceCustomOption(
        service_name, CONFIG_OPTION
    )
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        log.error("%s", exc)
        return Outcome.STARTUP_FAILED
    setup_logging(config.log)
    return asyncio.run(serve(config, stop))


def __getattr__(name: str) -> Any:
    # ``PbxService`` is what the PythonClass registry value names; built on first access so
    # that importing this module never imports pywin32.
    if name == "PbxService":
        return _service_class()
    raise AttributeError(name)
