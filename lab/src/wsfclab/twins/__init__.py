"""Python twins of the Windows modules the collection's roles use, keyed by module name.

A module without a twin is not simulated: the host answers "unsupported in the lab" for it.

Adding a twin: read the real module's `.ps1` (and its action plugin, if it has one) in the installed
collection; write ``twin(ctx, params) -> result`` that returns the same keys, fails with the same
messages (raise ModuleFailure), honours ``ctx.check_mode`` (report, change nothing) and ``ctx.diff``
where the module does, and raises `unsupported(...)` for options the lab does not model. Arguments
arrive validated against the module's own spec (wsfclab.argspec). Register it below and test it with
a payload the installed ansible-core builds (lab/tests/twins/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wsfclab.twins.base import TwinContext
from wsfclab.twins.command import win_command
from wsfclab.twins.copy import win_copy
from wsfclab.twins.feature import win_feature
from wsfclab.twins.files import slurp, win_file, win_ping, win_stat
from wsfclab.twins.jobs import async_status, cmdlet_pipelines
from wsfclab.twins.package import win_package
from wsfclab.twins.service import win_service
from wsfclab.twins.setup import setup

Twin = Callable[[TwinContext, dict[str, Any]], dict[str, Any]]

TWINS: dict[str, Twin] = {
    "ansible.windows.async_status": async_status,
    "ansible.windows.setup": setup,
    "ansible.windows.slurp": slurp,
    "ansible.windows.win_command": win_command,
    "ansible.windows.win_copy": win_copy,
    "ansible.windows.win_feature": win_feature,
    "ansible.windows.win_file": win_file,
    "ansible.windows.win_package": win_package,
    "ansible.windows.win_ping": win_ping,
    "ansible.windows.win_service": win_service,
    "ansible.windows.win_stat": win_stat,
    "pbxops.wsfc.cmdlet_pipelines": cmdlet_pipelines,
}
