"""The lab decodes exactly what the installed ansible-core and ansible.windows send a Windows host.

Every command and payload here is produced by the installed code itself (modify_module, the
powershell shell plugin, win_reboot's plugin_utils), then fed to wsfclab.wire.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable

import pytest
from wsfclab.wire import cmdline, payload, snippets

TRICKY_PATHS = [
    r"C:\Users\Administrator\AppData\Local\Temp\ansible-tmp-1-2",
    r"C:\Program Files\PBX\it's here",
    "C:\\PBX\\quote\u2019s",
    "C:/forward/slashes",
]


Builder = Callable[..., t.Any]
CommandFor = Callable[[t.Any, t.Any, str | None], tuple[str, bytes | None]]


def _request(shell: t.Any, built: t.Any, command_for: CommandFor) -> payload.Request:
    command, in_data = command_for(shell, built, None)
    parsed = cmdline.parse_command(command)
    assert parsed is not None
    assert snippets.classify(parsed.script) == snippets.Bootstrap()
    assert in_data is not None
    return payload.interpret(payload.parse_manifest(in_data))


def test_a_pipelined_module_run_decodes_to_the_module_its_source_and_its_arguments(
    shell: t.Any, module_builder: Builder, command_for: CommandFor
) -> None:
    built = module_builder(shell, {"name": "pbx", "state": "absent", "_ansible_diff": True})
    request = _request(shell, built, command_for)
    assert isinstance(request, payload.ModuleRun)
    assert request.name == "lab.probe.probe"
    assert request.source_path.endswith("probe.ps1")
    assert "$spec = @{" in request.source
    assert request.args["name"] == "pbx"
    assert request.args["state"] == "absent"
    assert request.args["_ansible_diff"] is True
    assert request.become is None
    assert request.async_job is None


def test_a_module_copied_to_the_host_first_is_named_by_the_command(
    shell: t.Any, module_builder: Builder, command_for: CommandFor
) -> None:
    built = module_builder(shell, {"name": "pbx"})
    remote = r"C:\Users\Administrator\AppData\Local\Temp\ansible-tmp-1\AnsiballZ_probe.ps1"
    command, in_data = command_for(shell, built, remote)
    parsed = cmdline.parse_command(command)
    assert parsed is not None
    assert snippets.classify(parsed.script) == snippets.Bootstrap()
    assert in_data is None
    # 2.21 passes the file as -EncodedArguments; 2.20 and older pipe it with `type <file> |`.
    assert remote in (*parsed.arguments, parsed.piped_file)
    manifest = payload.interpret(payload.parse_manifest(built.b_module_data))
    assert isinstance(manifest, payload.ModuleRun)


@pytest.mark.parametrize("password", ["s3cret-pw", None])
def test_become_travels_inside_the_payload_and_its_password_is_dropped(
    shell: t.Any, module_builder: Builder, command_for: CommandFor, password: str | None
) -> None:
    become = {"become_user": "svc-pbx", **({"become_pass": password} if password else {})}
    built = module_builder(shell, {"name": "pbx"}, become=become)
    request = _request(shell, built, command_for)
    assert isinstance(request, payload.ModuleRun)
    assert request.become == payload.Become(
        user="svc-pbx", logon_type=None, logon_flags=None, has_password=password is not None
    )
    assert "s3cret-pw" not in repr(request)


def test_async_runs_through_the_exec_wrapper_with_the_async_dir_and_timeout(
    shell: t.Any, module_builder: Builder, command_for: CommandFor
) -> None:
    built = module_builder(
        shell,
        {"name": "pbx"},
        async_timeout=45,
        environment={"ANSIBLE_ASYNC_DIR": r"%USERPROFILE%\.ansible_async"},
    )
    request = _request(shell, built, command_for)
    assert isinstance(request, payload.ModuleRun)
    assert request.async_job is not None
    assert request.async_job.directory == r"%USERPROFILE%\.ansible_async"
    assert request.async_job.timeout == 45
    assert request.async_job.jid.startswith("j")
    assert request.environment["ANSIBLE_ASYNC_DIR"] == r"%USERPROFILE%\.ansible_async"


@pytest.mark.parametrize("path", TRICKY_PATHS)
@pytest.mark.parametrize("recurse", [True, False])
def test_remove_decodes_path_and_recursion(shell: t.Any, path: str, recurse: bool) -> None:
    parsed = cmdline.parse_command(shell.remove(path, recurse=recurse))
    assert parsed is not None
    assert snippets.classify(parsed.script) == snippets.RemovePath(path, recurse)


@pytest.mark.parametrize("path", TRICKY_PATHS)
def test_exists_decodes_the_path(shell: t.Any, path: str) -> None:
    parsed = cmdline.parse_command(shell.exists(path))
    assert parsed is not None
    assert snippets.classify(parsed.script) == snippets.PathExists(path)


@pytest.mark.parametrize("directory", ["%TEMP%", r"C:\Windows\Temp\it's"])
def test_mkdtemp_in_both_forms(shell: t.Any, directory: str) -> None:
    parsed = cmdline.parse_command(shell.mkdtemp(basefile="ansible-tmp-7", tmpdir=directory))
    assert parsed is not None
    assert snippets.classify(parsed.script) == snippets.MakeTempDir(directory, "ansible-tmp-7")

    bootstrapped = shell._mkdtemp2(basefile="ansible-tmp-8", tmpdir=directory)
    parsed = cmdline.parse_command(bootstrapped.command)
    assert parsed is not None
    assert snippets.classify(parsed.script) == snippets.Bootstrap()
    manifest = payload.parse_manifest(bootstrapped.input_data)
    assert payload.interpret(manifest) == payload.MakeTempDirAction(directory, "ansible-tmp-8")


@pytest.mark.parametrize("path", ["~", "~\\Documents\\it's", r"C:\Literal Path"])
def test_expand_user_in_both_forms(shell: t.Any, path: str) -> None:
    parsed = cmdline.parse_command(shell.expand_user(path))
    assert parsed is not None
    assert snippets.classify(parsed.script) == snippets.ExpandUser(path)

    bootstrapped = shell._expand_user2(path)
    parsed = cmdline.parse_command(bootstrapped.command)
    assert parsed is not None
    assert snippets.classify(parsed.script) == snippets.Bootstrap()
    assert payload.interpret(payload.parse_manifest(bootstrapped.input_data)) == payload.ExpandUserAction(
        path
    )


def test_an_unknown_script_is_unsupported_and_a_bare_command_is_raw(shell: t.Any) -> None:
    # 2.21 encodes with _encode_pwsh_script_as_command, 2.20 and older with _encode_script.
    encode = getattr(shell, "_encode_pwsh_script_as_command", None) or shell._encode_script
    parsed = cmdline.parse_command(encode("Get-Process"))
    assert parsed is not None
    classified = snippets.classify(parsed.script)
    assert isinstance(classified, snippets.Unsupported)
    assert "Get-Process" in classified.reason
    assert cmdline.parse_command("Get-Process") is None
    assert cmdline.parse_command("ipconfig /all") is None


class _RecordingConnection:
    """Stands in for a connection plugin: records win_reboot's commands and answers like Windows."""

    def __init__(self) -> None:
        self.snippets: list[snippets.Snippet] = []
        self.boot_time = 133_000_000_000_000_000

    def get_option(self, name: str) -> t.Any:
        raise KeyError(name)

    def exec_command(
        self, cmd: str, in_data: bytes | None = None, sudoable: bool = True
    ) -> tuple[int, bytes, bytes]:
        parsed = cmdline.parse_command(cmd)
        assert parsed is not None, cmd
        snippet = snippets.classify(parsed.script)
        self.snippets.append(snippet)
        match snippet:
            case snippets.BootTimeQuery():
                return 0, str(self.boot_time).encode(), b""
            case snippets.Reboot():
                self.boot_time += 10_000_000
                return 0, b'{"stdout":"","stderr":"","rc":0}', b""
            case snippets.LogonReadyTest(marker):
                return 0, marker.encode(), b""
        return 1, b"", b"unsupported"

    def close(self) -> None:
        pass

    def reset(self) -> None:
        pass


def test_win_reboot_sends_the_commands_the_lab_recognises() -> None:
    from ansible_collections.ansible.windows.plugins.plugin_utils import _reboot

    connection = _RecordingConnection()
    result = _reboot.reboot_host("ansible.windows.win_reboot", connection, msg="it's a 'lab' reboot")
    assert result["rebooted"] and not result["failed"], result
    assert connection.snippets == [
        snippets.BootTimeQuery(),
        snippets.Reboot(delay=2, message="it's a 'lab' reboot", clears_logon_key=True),
        snippets.BootTimeQuery(),
        snippets.LogonReadyTest(marker=t.cast(snippets.LogonReadyTest, connection.snippets[-1]).marker),
    ]


def test_win_reboot_abort_is_recognised() -> None:
    from ansible_collections.ansible.windows.plugins.plugin_utils import _reboot

    connection = _RecordingConnection()
    _reboot._execute_command("win_reboot", connection, r"C:\Windows\System32\shutdown.exe /a")
    assert connection.snippets == [snippets.AbortShutdown()]


def test_the_ansible_basic_util_sent_with_a_module_names_its_pass_vars(
    shell: t.Any, module_builder: Builder, command_for: CommandFor
) -> None:
    from wsfclab.argspec import pass_vars_of

    request = _request(shell, module_builder(shell, {"name": "pbx"}), command_for)
    assert isinstance(request, payload.ModuleRun)
    assert request.basic_util is not None
    pass_vars = pass_vars_of(request.basic_util)
    assert {
        "check_mode",
        "diff",
        "module_name",
        "verbosity",
        "tmpdir",
        "remote_tmp",
        "ignore_unknown_opts",
    } <= set(pass_vars)
