"""What every module twin receives and how it reports failure.

A twin is a function ``twin(ctx, params) -> result`` that does on the lab what the real Windows
module does on a host: ``params`` are the validated module arguments (defaults applied, aliases
resolved, types converted), ``ctx`` is the node it runs on, with the run's check/diff mode. It
returns the result dictionary the real module would print, or raises `ModuleFailure` (the real
module's FailJson). In check mode a twin reports what would change and changes nothing.
"""

from __future__ import annotations

import hashlib
import ntpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsfclab.argspec import ModuleOptions
from wsfclab.errors import Unsupported
from wsfclab.lab import Lab
from wsfclab.state import LabState, NodeState


class ModuleFailure(Exception):
    """The module fails (FailJson): ``msg`` plus any extra result keys."""

    def __init__(self, msg: str, *, unsupported: bool = False, **result: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.unsupported = unsupported  # the lab does not simulate it (the host says so on stderr too)
        self.result = result


def unsupported(what: str) -> ModuleFailure:
    """A failure for something the lab does not simulate; it never passes silently."""
    return ModuleFailure(Unsupported(what).args[0], unsupported=True)


@dataclass
class NodeEnvironment:
    """The process environment a module sees on the node (for %VAR% expansion)."""

    variables: dict[str, str]

    def expand(self, text: str) -> str:
        """[Environment]::ExpandEnvironmentVariables: %NAME% replaced when defined, kept when not."""

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            for key, value in self.variables.items():
                if key.lower() == name.lower():
                    return value
            return match.group(0)

        return re.sub(r"%([^%]+)%", replace, text)

    @classmethod
    def for_user(cls, node: NodeState, user: str, extra: dict[str, str] | None = None) -> NodeEnvironment:
        # USERNAME is the bare account name ("PBXLAB\\svc-pbx" and "svc-pbx@pbx.lab" log on as svc-pbx).
        prefix, _, name = user.rpartition("\\")
        name = name.partition("@")[0]
        profile = f"C:\\Users\\{name}"
        variables = {
            "ALLUSERSPROFILE": "C:\\ProgramData",
            "APPDATA": f"{profile}\\AppData\\Roaming",
            "COMPUTERNAME": node.name,
            "ComSpec": "C:\\Windows\\system32\\cmd.exe",
            "HOMEDRIVE": "C:",
            "HOMEPATH": f"\\Users\\{name}",
            "LOCALAPPDATA": f"{profile}\\AppData\\Local",
            "NUMBER_OF_PROCESSORS": str(node.cpu.logical_processors),
            "OS": "Windows_NT",
            "Path": "C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\",
            "PATHEXT": ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC;.CPL",
            "PROCESSOR_ARCHITECTURE": "AMD64",
            "ProgramData": "C:\\ProgramData",
            "ProgramFiles": "C:\\Program Files",
            "ProgramFiles(x86)": "C:\\Program Files (x86)",
            "PSModulePath": (
                "C:\\Program Files\\WindowsPowerShell\\Modules;"
                "C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules"
            ),
            "PUBLIC": "C:\\Users\\Public",
            "SystemDrive": "C:",
            "SystemRoot": "C:\\Windows",
            "TEMP": f"{profile}\\AppData\\Local\\Temp",
            "TMP": f"{profile}\\AppData\\Local\\Temp",
            "USERDOMAIN": _user_domain(node, prefix),
            "USERNAME": name,
            "USERPROFILE": profile,
            "windir": "C:\\Windows",
        }
        variables.update(extra or {})
        return cls(variables)


def _user_domain(node: NodeState, prefix: str) -> str:
    if prefix and prefix != ".":
        return prefix.upper()
    return node.domain.split(".")[0].upper() if node.part_of_domain else node.name


@dataclass
class TwinContext:
    lab: Lab
    state: LabState
    node: NodeState
    user: str
    options: ModuleOptions
    env: NodeEnvironment
    warnings: list[str] = field(default_factory=list)

    @property
    def check_mode(self) -> bool:
        return self.options.check_mode

    @property
    def diff(self) -> bool:
        return self.options.diff

    def local(self, windows_path: str) -> Path:
        """The local file behind a Windows path of this node (absolute or relative to the profile)."""
        path = windows_path
        if not re.match(r"^[A-Za-z]:", path) and not path.startswith(("\\\\", "//")):
            path = ntpath.join(self.env.variables["USERPROFILE"], path)
        return self.lab.resolve_path(self.state, self.node.name, path)

    def windows(self, local: Path) -> str:
        return self.lab.windows_path(self.state, self.node.name, local)


def file_checksum(path: Path, algorithm: str = "sha1") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()
