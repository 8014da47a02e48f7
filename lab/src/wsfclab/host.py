"""One lab node seen as a Windows host: what the `pbxops.wsfc.lab` connection plugin talks to.

``NodeHost(lab, node).exec_command(command, in_data)`` answers exactly what ansible-core sends a
Windows host (see wsfclab.wire) the way Windows would: module runs go to the module twins (with
their arguments validated against the real module's spec), the shell plugin's snippets act on the
node's folders, win_reboot's commands reboot the node. ``put_file`` / ``fetch_file`` copy between
the controller and the node's folders. Anything the lab does not recognise fails with a non-zero
rc and "unsupported in the lab: ..." on stderr; nothing passes silently.

Module arguments and become passwords are never logged: the node's wire log
(``logs/<NODE>/wire.log`` in the state dir) records what ran, as whom, and how it ended.
"""

from __future__ import annotations

import json
import ntpath
import shutil
import traceback
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wsfclab import accounts
from wsfclab.argspec import ArgumentError, SpecError, load_module_spec, pass_vars_of, validate
from wsfclab.cmdlets.cluster import hop
from wsfclab.errors import LabError, Unsupported
from wsfclab.lab import Lab
from wsfclab.nodes import reboot_node
from wsfclab.state import LabState, NodeState
from wsfclab.twins import TWINS
from wsfclab.twins.base import ModuleFailure, NodeEnvironment, TwinContext
from wsfclab.wire import cmdline, payload, snippets

_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_SYSTEM_PROFILE = "C:\\Windows\\system32\\config\\systemprofile"


class NodeUnreachable(LabError):
    """The node is powered off: a real connection would fail to reach it."""


@dataclass(frozen=True)
class CommandResult:
    rc: int
    stdout: bytes
    stderr: bytes


def _unsupported(what: str) -> CommandResult:
    return CommandResult(1, b"", f"{Unsupported(what)}\r\n".encode())


def _json_line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, separators=(",", ":")) + "\r\n").encode()


def _text(value: str, rc: int = 0) -> CommandResult:
    return CommandResult(rc, (value + "\r\n").encode(), b"")


def _error(message: str, rc: int = 1) -> CommandResult:
    return CommandResult(rc, b"", (message + "\r\n").encode())


def _filetime(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


class NodeHost:
    def __init__(self, lab: Lab, node: str, user: str = "Administrator", *, credssp: bool = False) -> None:
        self.lab = lab
        self.node_name = node.upper()
        self.user = user
        self.credssp = credssp  # the connection authenticates with CredSSP (delegated credentials)

    # -- files -----------------------------------------------------------------------------

    def put_file(self, local_path: Path, remote_path: str) -> None:
        with self.lab.session() as state:
            self._running(state)
            target = self._resolve(state, remote_path)
            if not target.parent.is_dir():
                raise LabError(f"Could not find a part of the path '{remote_path}' on {self.node_name}.")
            shutil.copyfile(local_path, target)

    def fetch_file(self, remote_path: str, local_path: Path) -> None:
        with self.lab.session() as state:
            self._running(state)
            source = self._resolve(state, remote_path)
            if not source.is_file():
                raise LabError(f"Path '{remote_path}' does not exist on {self.node_name} or is not a file.")
            shutil.copyfile(source, local_path)

    def _resolve(self, state: LabState, windows_path: str) -> Path:
        env = NodeEnvironment.for_user(state.nodes[self.node_name], self.user)
        return self.lab.resolve_path(state, self.node_name, env.expand(windows_path))

    def _running(self, state: LabState) -> NodeState:
        node = state.nodes.get(self.node_name)
        if node is None:
            raise LabError(
                f"no node {self.node_name!r} in this lab; nodes are {', '.join(sorted(state.nodes))}"
            )
        if not node.running:
            raise NodeUnreachable(
                f"{self.node_name} is not running (powered off or crashed); "
                f"start it with `wsfclab node start {self.node_name}`"
            )
        return node

    # -- commands --------------------------------------------------------------------------

    def exec_command(self, command: str, in_data: bytes | None = None) -> CommandResult:
        try:
            parsed = cmdline.parse_command(command)
        except cmdline.CommandLineError as err:
            return _unsupported(str(err))
        if parsed is None:
            shown = command if len(command) <= 100 else command[:97] + "..."
            return _unsupported(
                f"raw command {shown!r}; the lab answers only the encoded PowerShell that ansible-core "
                "and ansible.windows send (modules, shell snippets, win_reboot)"
            )
        snippet = snippets.classify(parsed.script)
        with self.lab.session() as state:
            node = self._running(state)
            result = self._dispatch(state, node, parsed, snippet, in_data)
        return result

    def _dispatch(
        self,
        state: LabState,
        node: NodeState,
        parsed: cmdline.PowerShellCommand,
        snippet: snippets.Snippet,
        in_data: bytes | None,
    ) -> CommandResult:
        env = NodeEnvironment.for_user(node, self.user)
        match snippet:
            case snippets.Bootstrap():
                return self._bootstrap(state, node, parsed, in_data)
            case snippets.MakeTempDir(directory, name):
                return self._mkdtemp(state, env, directory, name)
            case snippets.ExpandUser(path):
                return _text(self._expand_user(env, path))
            case snippets.RemovePath(path, recurse):
                return self._remove(state, env, path, recurse)
            case snippets.PathExists(path):
                exists = self._resolve_or_none(state, env, path)
                return CommandResult(0 if exists is not None and exists.exists() else 1, b"", b"")
            case snippets.BootTimeQuery():
                self._log("win_reboot boot time query", "", 0)
                return _text(str(_filetime(node.boot_time)))
            case snippets.Reboot():
                problems = reboot_node(self.lab, state, node.name)
                self._log("win_reboot shutdown /r", "", 0, "; ".join(problems))
                return _text(json.dumps({"stdout": "", "stderr": "", "rc": 0}, separators=(",", ":")))
            case snippets.AbortShutdown():
                return _error(
                    "Unable to abort the system shutdown because no shutdown was in progress.(1116)", 1116
                )
            case snippets.LogonReadyTest(marker):
                return _text(
                    f"\r\n    Hive: HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\"
                    f"CurrentVersion\\Winlogon\r\n\r\nName\r\n----\r\nAutoLogonChecked\r\n{marker}"
                )
            case snippets.Unsupported(reason):
                return _unsupported(reason)
        return _unsupported(f"script {type(snippet).__name__}")

    def _bootstrap(
        self, state: LabState, node: NodeState, parsed: cmdline.PowerShellCommand, in_data: bytes | None
    ) -> CommandResult:
        env = NodeEnvironment.for_user(node, self.user)
        source = parsed.arguments[0] if parsed.arguments else parsed.piped_file
        if source is not None:
            local = self._resolve_or_none(state, env, source)
            if local is None or not local.is_file():
                return _error(f"Could not find file '{source}'.")
            data = local.read_bytes()
        elif in_data:
            data = in_data
        else:
            return _unsupported("the bootstrap wrapper was sent without input")
        try:
            request = payload.interpret(payload.parse_manifest(data))
        except (payload.PayloadError, KeyError, TypeError, ValueError) as err:
            return _unsupported(f"exec payload: {err}")
        match request:
            case payload.MakeTempDirAction(directory, name):
                return self._mkdtemp(state, env, directory, name)
            case payload.ExpandUserAction(path):
                return _text(self._expand_user(env, path))
            case payload.ModuleRun():
                return self._run_module(state, node, request)
        return _unsupported(f"exec request {type(request).__name__}")

    # -- shell snippets ----------------------------------------------------------------------

    def _mkdtemp(self, state: LabState, env: NodeEnvironment, directory: str, name: str) -> CommandResult:
        path = ntpath.join(env.expand(directory), name)
        try:
            local = self.lab.resolve_path(state, self.node_name, path)
        except LabError as err:
            return _error(str(err))
        if local.exists():
            return _error(f"New-Item : An item with the specified name {path} already exists.")
        local.mkdir(parents=True)
        return _text(self.lab.windows_path(state, self.node_name, local))

    def _expand_user(self, env: NodeEnvironment, path: str) -> str:
        profile = env.variables["USERPROFILE"]
        if path == "~":
            return profile
        if path.startswith("~\\"):
            return ntpath.join(profile, path[2:])
        return path

    def _remove(self, state: LabState, env: NodeEnvironment, path: str, recurse: bool) -> CommandResult:
        local = self._resolve_or_none(state, env, path)
        if local is None or not local.exists():
            return _error(f"Remove-Item : Cannot find path '{path}' because it does not exist.")
        if local.is_dir():
            if any(local.iterdir()) and not recurse:
                return _error(
                    f"Remove-Item : The item at {path} has children and the Recurse parameter was not "
                    "specified."
                )
            shutil.rmtree(local)
        else:
            local.unlink()
        return CommandResult(0, b"", b"")

    def _resolve_or_none(self, state: LabState, env: NodeEnvironment, path: str) -> Path | None:
        try:
            return self.lab.resolve_path(state, self.node_name, env.expand(path))
        except LabError:
            return None

    # -- modules -----------------------------------------------------------------------------

    def _run_module(self, state: LabState, node: NodeState, run: payload.ModuleRun) -> CommandResult:
        user = self.user
        extra_env = {str(k): str(v) for k, v in run.environment.items()}
        if run.become is not None:
            user = run.become.user or "SYSTEM"
            refusal = _become_refusal(state, node, run.become)
            if refusal is not None:
                self._log(f"module {run.name}", user, 1, "become refused")
                return CommandResult(1, _json_line(refusal), b"")
        env = NodeEnvironment.for_user(node, user, extra_env)
        if user.upper() in ("SYSTEM", "NT AUTHORITY\\SYSTEM"):
            env.variables.update(
                USERPROFILE=_SYSTEM_PROFILE, TEMP="C:\\Windows\\TEMP", TMP="C:\\Windows\\TEMP"
            )
        with hop.logon(_logon(state, node, user, run.become, credssp=self.credssp)):
            result, unsupported = self._module_result(state, node, run, env, user)
        if run.async_job is not None:
            return self._finish_async(state, env, run, result)
        rc = 1 if result.get("failed") else 0
        self._log(f"module {run.name}", user, rc, "check mode" if run.args.get("_ansible_check_mode") else "")
        stderr = (str(result["msg"]) + "\r\n").encode() if unsupported else b""
        return CommandResult(rc, _json_line(result), stderr)

    def _module_result(
        self, state: LabState, node: NodeState, run: payload.ModuleRun, env: NodeEnvironment, user: str
    ) -> tuple[dict[str, Any], bool]:
        """The module's result, and whether it failed because the lab does not simulate something."""
        twin = TWINS.get(run.name)
        if twin is None:
            what = f"module {run.name} has no twin; the lab simulates {', '.join(sorted(TWINS))}"
            return _failed(str(Unsupported(what))), True
        try:
            spec = load_module_spec(run.source, run.source_path, run.name)
            validated = validate(spec, run.name, run.args, env.expand, pass_vars_of(run.basic_util))
        except SpecError as err:
            return _failed(str(Unsupported(f"the argument spec of {run.name} cannot be read: {err}"))), True
        except ArgumentError as err:
            return _failed(str(err)), False
        if validated.options.check_mode and not spec.supports_check_mode:
            skipped = {
                "changed": False,
                "skipped": True,
                "msg": f"remote module ({validated.options.module_name}) does not support check mode",
            }
            return skipped, False
        ctx = TwinContext(self.lab, state, node, user, validated.options, env)
        unsupported = False
        try:
            result = twin(ctx, validated.params)
        except ModuleFailure as failure:
            result = _failed(failure.msg, **failure.result)
            unsupported = failure.unsupported
        except LabError as err:
            result = _failed(str(err))
            unsupported = isinstance(err, Unsupported)
        except Exception as err:  # a twin bug must reach the operator, with its traceback
            result = _failed(f"Unhandled exception while executing module: {err}")
            result["exception"] = traceback.format_exc()
        if ctx.warnings:
            result["warnings"] = [*result.get("warnings", []), *ctx.warnings]
        return _mask_result(result, validated.no_log_values), unsupported

    def _finish_async(
        self, state: LabState, env: NodeEnvironment, run: payload.ModuleRun, result: dict[str, Any]
    ) -> CommandResult:
        """async_wrapper.ps1 answers at once; the watchdog later writes start info + module result."""
        assert run.async_job is not None
        # A stable stand-in for the watchdog's process id: derived from the job id, never from lab state.
        watchdog_pid = 4096 + zlib.crc32(run.async_job.jid.encode()) % 60000
        job_id = f"{run.async_job.jid}.{watchdog_pid}"
        async_dir = env.expand(run.async_job.directory)
        results_file = ntpath.join(async_dir, job_id)
        started = {
            "started": True,
            "finished": False,
            "results_file": results_file,
            "ansible_job_id": job_id,
            "_ansible_suppress_tmpdir_delete": True,
            "ansible_async_watchdog_pid": watchdog_pid,
        }
        try:
            local = self.lab.resolve_path(state, self.node_name, results_file)
        except LabError as err:
            return _error(str(err))
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(json.dumps({**started, **result, "finished": True}), encoding="utf-8")
        self._log(f"async module {run.name} as job {job_id}", env.variables["USERNAME"], 0)
        return CommandResult(0, _json_line(started), b"")

    def _log(self, what: str, user: str, rc: int, note: str = "") -> None:
        folder = self.lab.state_dir / "logs" / self.node_name
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        line = (
            f"{stamp} {what}" + (f" as {user}" if user else "") + f" rc={rc}" + (f" ({note})" if note else "")
        )
        with open(folder / "wire.log", "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def _failed(msg: str, **extra: Any) -> dict[str, Any]:
    return {"changed": False, **extra, "failed": True, "msg": msg}


def _mask(value: Any, secrets: frozenset[str]) -> Any:
    """Ansible.Basic's RemoveNoLogValues: no_log values never leave the module."""
    if not secrets:
        return value
    if isinstance(value, dict):
        return {k: _mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "********")
    return value


def _mask_result(result: dict[str, Any], secrets: frozenset[str]) -> dict[str, Any]:
    return {key: _mask(value, secrets) for key, value in result.items()}


def _become_refusal(state: LabState, node: NodeState, become: payload.Become) -> dict[str, Any] | None:
    """What the exec wrapper prints when runas cannot start the module as the become user: the
    account must translate (NTAccount.Translate) and, with a password, LogonUser must accept it
    (Ansible.Become.cs); without a password an existing account logs on by S4U."""
    user = become.user or "SYSTEM"
    resolved = accounts.translate(state, node, user)
    if resolved is None:
        reason, error_id = accounts.NOT_TRANSLATED, "IdentityNotMappedException"
    elif (
        resolved.account is not None
        and become.password is not None
        and not accounts.password_matches(resolved.account, become.password)
    ):
        name = user.removeprefix(".\\")
        shown = name if "\\" in name or "@" in name else f".\\{name}"
        code = accounts.LOGON_FAILURE
        reason = (
            f"Failed to logon {shown} ({accounts.LOGON_FAILURE_TEXT}, Win32ErrorCode {code} - 0x{code:08X})"
        )
        error_id = "Win32Exception"
    else:
        return None
    record = f'Exception calling "CreateProcessAsUser" with "9" argument(s): "{reason}"'
    exception = "\r\n".join(
        [
            record,
            "+ CategoryInfo          : NotSpecified: (:) [], MethodInvocationException",
            f"+ FullyQualifiedErrorId : {error_id}",
        ]
    )
    return {"failed": True, "msg": f"failure during exec_wrapper: {record}", "exception": exception}


def _logon(
    state: LabState, node: NodeState, user: str, become: payload.Become | None, *, credssp: bool
) -> hop.Logon:
    """How the module's session logged on, for cmdlets that must reach a second machine."""
    resolved = accounts.translate(state, node, user)
    domain = state.domain.netbios_name if state.domain is not None and node.part_of_domain else None
    in_domain = (
        resolved is not None and domain is not None and resolved.name.upper().startswith(f"{domain}\\")
    )
    if become is None:
        return hop.Logon(user=user, domain_account=in_domain, credssp=credssp)
    return hop.Logon(
        user=resolved.name if resolved is not None else user,
        domain_account=in_domain,
        become=True,
        become_password=become.has_password,
        become_logon_type=become.logon_type,
        credssp=credssp,
    )
