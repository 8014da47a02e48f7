"""Recognise the PowerShell scripts ansible-core and ansible.windows send, once decoded.

The scripts are fixed texts with a few quoted values in them: the shell plugin's snippets
(temporary directory, user home expansion, remove, exists; one form up to ansible-core 2.20 and
another from 2.21), the bootstrap wrapper that runs an exec manifest, and the commands
ansible.windows' win_reboot sends. Each is matched against its exact shape and its values are
extracted; a script that matches no known shape is reported as unsupported, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wsfclab.wire.cmdline import unquote_pwsh_string

# What ansible-core's `_encode_script` (2.20 and older; ansible.windows' win_reboot too) wraps
# around a script: strict mode first, and this line to propagate the exit code last.
_STRICT_MODE = "Set-StrictMode -Version Latest"
_PRESERVE_RC = (
    "If (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) "
    "{ exit $LASTEXITCODE } Else { exit 1 } }"
)
_CONSOLE_ENCODING = "try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding } catch {}"

# A quoted PowerShell string literal: single quotes, with any of the five quote characters doubled.
_QUOTED = r"'(?:[^'\u2018\u2019\u201a\u201b]|['\u2018\u2019\u201a\u201b]{2})*'"
# A path ansible-core 2.21 leaves bare (see `_PWSH_BARE_CMD` in ansible/_internal/_powershell/_script.py).
_BARE_OR_QUOTED = rf"(?:{_QUOTED}|[\w\-\\\.\[\]/_~!%^:]+)"

_LOGON_UI_KEY = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked"
_BOOT_TIME_QUERY = (
    "(Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime).LastBootUpTime.ToFileTime()"
)


@dataclass(frozen=True)
class Bootstrap:
    """The bootstrap wrapper: runs the exec manifest read from stdin or from the file argument."""


@dataclass(frozen=True)
class MakeTempDir:
    directory: str
    name: str


@dataclass(frozen=True)
class ExpandUser:
    path: str


@dataclass(frozen=True)
class RemovePath:
    path: str
    recurse: bool


@dataclass(frozen=True)
class PathExists:
    path: str


@dataclass(frozen=True)
class BootTimeQuery:
    """win_reboot's query of the last boot time, as a Windows FILETIME integer."""


@dataclass(frozen=True)
class Reboot:
    """win_reboot's `shutdown.exe /r` command."""

    delay: int
    message: str
    clears_logon_key: bool


@dataclass(frozen=True)
class AbortShutdown:
    """win_reboot's `shutdown.exe /a`, sent when another shutdown was already scheduled."""


@dataclass(frozen=True)
class LogonReadyTest:
    """win_reboot's default post-reboot test: the AutoLogonChecked key exists, then a marker is echoed."""

    marker: str


@dataclass(frozen=True)
class Unsupported:
    reason: str


Snippet = (
    Bootstrap
    | MakeTempDir
    | ExpandUser
    | RemovePath
    | PathExists
    | BootTimeQuery
    | Reboot
    | AbortShutdown
    | LogonReadyTest
    | Unsupported
)


def normalise(script: str) -> list[str]:
    """The script's non-empty lines, stripped, without `_encode_script`'s strict-mode and rc wrapping."""
    lines = [line.strip() for line in script.splitlines() if line.strip()]
    if lines and lines[0] == _STRICT_MODE:
        lines = lines[1:]
    if lines and lines[-1] == _PRESERVE_RC:
        lines = lines[:-1]
    if lines and lines[-1].endswith("; " + _PRESERVE_RC):
        # win_reboot appends it to the command's last line, or alone when the command ends a line.
        lines[-1] = lines[-1][: -len("; " + _PRESERVE_RC)].rstrip()
        if not lines[-1]:
            lines.pop()
    return lines


def is_bootstrap_wrapper(lines: list[str]) -> bool:
    """True for bootstrap_wrapper.ps1 of ansible-core 2.19 - 2.21 (comments stripped or not)."""
    text = "\n".join(line for line in lines if not line.startswith("#"))
    return (
        text.startswith(("param([string]$InputFile)", 'if ($PSVersionTable.PSVersion -lt [Version]"5.1")'))
        and '[string]::Equals($in, "`0`0`0`0")' in text
        and "$splat[$obj.Name] = $obj.Value" in text
        and "& $cmd @splat" in text
    )


def classify(script: str) -> Snippet:
    """Identify a decoded -EncodedCommand script and extract its values."""
    lines = normalise(script)
    if not lines:
        return Unsupported("an empty PowerShell script")
    if is_bootstrap_wrapper(lines):
        return Bootstrap()
    text = "\n".join(lines)
    for recogniser in (_mkdtemp, _expand_user, _remove, _exists, _win_reboot):
        snippet = recogniser(text)
        if snippet is not None:
            return snippet
    first_line = lines[0] if len(lines[0]) <= 120 else lines[0][:117] + "..."
    return Unsupported(f"PowerShell script starting with {first_line!r}")


def _mkdtemp(text: str) -> MakeTempDir | None:
    match = re.fullmatch(
        rf"{re.escape(_CONSOLE_ENCODING)}\n"
        rf"\$tmp_path = \[System\.Environment\]::ExpandEnvironmentVariables\((?P<dir>{_QUOTED})\)\n"
        rf"\$tmp = New-Item -Type Directory -Path \$tmp_path -Name (?P<name>{_QUOTED})\n"
        r"Write-Output -InputObject \$tmp\.FullName",
        text,
    )
    if match is None:
        return None
    return MakeTempDir(unquote_pwsh_string(match["dir"]), unquote_pwsh_string(match["name"]))


def _expand_user(text: str) -> ExpandUser | None:
    prefix = re.escape(_CONSOLE_ENCODING) + "; "
    # 2.21: "(Get-Location).Path", 2.20 and older: "Write-Output (Get-Location).Path"
    if re.fullmatch(prefix + r"(?:Write-Output )?\(Get-Location\)\.Path", text):
        return ExpandUser("~")
    match = re.fullmatch(
        prefix + rf"(?:Write-Output )?\(\(Get-Location\)\.Path \+ (?P<rest>{_QUOTED})\)", text
    )
    if match:
        return ExpandUser("~" + unquote_pwsh_string(match["rest"]))
    match = re.fullmatch(prefix + rf"(?:Write-Output )?(?P<path>{_QUOTED})", text)
    if match:
        return ExpandUser(unquote_pwsh_string(match["path"]))
    return None


def _remove(text: str) -> RemovePath | None:
    match = re.fullmatch(rf"Remove-Item (?P<path>{_BARE_OR_QUOTED}) -Force(?P<recurse> -Recurse)?;?", text)
    if match is None:
        return None
    return RemovePath(unquote_pwsh_string(match["path"]), recurse=match["recurse"] is not None)


def _exists(text: str) -> PathExists | None:
    # 2.21
    match = re.fullmatch(rf"exit -not \(Test-Path -LiteralPath (?P<path>{_BARE_OR_QUOTED})\)", text)
    if match is None:
        # 2.20 and older
        match = re.fullmatch(
            rf"If \(Test-Path (?P<path>{_QUOTED})\)\n\{{\n\$res = 0;\n\}}\nElse\n\{{\n\$res = 1;\n\}}\n"
            r"Write-Output '\$res';\nExit \$res;",
            text,
        )
    if match is None:
        return None
    return PathExists(unquote_pwsh_string(match["path"]))


def _win_reboot(text: str) -> Snippet | None:
    if text == _BOOT_TIME_QUERY:
        return BootTimeQuery()
    if text == r"C:\Windows\System32\shutdown.exe /a":
        return AbortShutdown()
    match = re.fullmatch(
        rf"Get-Item -LiteralPath '{re.escape(_LOGON_UI_KEY)}' -ErrorAction Stop; "
        r"'(?P<marker>success-[0-9a-f-]+)'",
        text,
    )
    if match:
        return LogonReadyTest(match["marker"])
    match = re.fullmatch(
        r"\$ErrorActionPreference = 'Continue'\n"
        r"if \(\$(?P<clear>True|False)\) \{\n"
        rf"Remove-Item -LiteralPath '{re.escape(_LOGON_UI_KEY)}' -Force -ErrorAction SilentlyContinue\n"
        r"\}\n"
        r"\$stdout = \$null\n"
        r"\$stderr = \. \{ C:\\Windows\\System32\\shutdown\.exe /r /t (?P<delay>\d+) /c (?P<msg>"
        + _QUOTED
        + r") \| Set-Variable stdout \} 2>&1 \| ForEach-Object ToString\n"
        r"If \(Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue\) \{\n"
        r"\$rc = \$LASTEXITCODE\n"
        r"\} Else \{\n"
        r"\$rc=1\n"
        r"\}\n"
        r"ConvertTo-Json -Compress -InputObject @\{\n"
        r'stdout = \(@\(\$stdout\) -join "`n"\)\n'
        r'stderr = \(@\(\$stderr\) -join "`n"\)\n'
        r"rc = \$rc\n"
        r"\}",
        text,
    )
    if match:
        return Reboot(
            delay=int(match["delay"]),
            message=unquote_pwsh_string(match["msg"]),
            clears_logon_key=match["clear"] == "True",
        )
    return None
