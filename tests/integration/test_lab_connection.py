"""The pbxops.wsfc.lab connection plugin: what it declares to ansible-core, and its failure modes."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.playbook.play_context import PlayContext

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "plugins" / "connection" / "lab.py"
WORLD = REPO / "lab" / "examples" / "two-node-iscsi.yml"


def load_plugin(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def connection(module: ModuleType, **options: Any) -> Any:
    """The plugin class of `module`, configured the way the plugin loader configures it."""
    loaded = loaded_connection(**options)
    plugin = module.Connection(PlayContext())
    plugin._options = dict(loaded._options)
    return plugin


@functools.cache
def _init_plugin_loader() -> None:
    """Once per process: ansible-core's collection finder can be installed only once."""
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader([str(REPO / "collections")])


def loaded_connection(**options: Any) -> Any:
    """pbxops.wsfc.lab as ansible-core's plugin loader loads it from this checkout."""
    from ansible.plugins.loader import connection_loader

    _init_plugin_loader()
    plugin = connection_loader.get("pbxops.wsfc.lab", PlayContext(), None)
    assert plugin is not None, "pbxops.wsfc.lab is not found: run `make setup` to link the collection"
    plugin.set_options(direct={"node": "PBX-N1", **options})
    return plugin


def test_it_declares_the_windows_path_for_every_supported_core() -> None:
    plugin = loaded_connection(state_dir="/nonexistent")
    assert plugin._shell.SHELL_FAMILY == "powershell"
    assert plugin.module_implementation_preferences == (".ps1", ".exe", "")
    assert plugin.always_pipeline_modules and plugin.has_native_async  # read by ansible-core 2.19 / 2.20
    assert plugin.is_pipelining_enabled(wrap_async=True)  # read by ansible-core 2.21
    assert plugin.allow_executable is False


def test_without_wsfclab_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "wsfclab" or m.startswith("wsfclab.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "wsfclab", None)  # makes `import wsfclab...` raise ImportError
    module = load_plugin("lab_connection_without_wsfclab")
    with pytest.raises(AnsibleError, match=r"needs the wsfclab package .* `make setup`"):
        connection(module, state_dir="/nonexistent")._connect()


def test_a_state_dir_without_a_lab_and_no_world_is_a_connection_failure(tmp_path: Path) -> None:
    with pytest.raises(AnsibleConnectionFailure, match="give a world file"):
        loaded_connection(state_dir=str(tmp_path / "empty"))._connect()


def test_commands_and_files_reach_the_node(tmp_path: Path) -> None:
    plugin = loaded_connection(state_dir=str(tmp_path / "state"), world=str(WORLD))
    rc, stdout, stderr = plugin.exec_command("Get-Process")
    assert rc == 1 and stdout == b"" and b"unsupported in the lab" in stderr
    source = tmp_path / "a.txt"
    source.write_text("hello")
    plugin.put_file(str(source), r"C:\Windows\Temp\a.txt")
    plugin.fetch_file(r"C:\Windows\Temp\a.txt", str(tmp_path / "b.txt"))
    assert (tmp_path / "b.txt").read_text() == "hello"
    with pytest.raises(AnsibleError, match="lab: Could not find a part of the path"):
        plugin.put_file(str(source), r"C:\No\Such\Dir\a.txt")


def _var_connection(tmp_path: Path, **variables: Any) -> Any:
    """The plugin set from inventory variables, as a play sets them."""
    from ansible.plugins.loader import connection_loader

    _init_plugin_loader()
    plugin = connection_loader.get("pbxops.wsfc.lab", PlayContext(), None)
    plugin.set_options(
        var_options=variables,
        direct={"node": "PBX-N1", "state_dir": str(tmp_path / "state"), "world": str(WORLD)},
    )
    return plugin


@pytest.mark.parametrize(
    ("variables", "credssp"),
    [
        ({}, False),
        ({"ansible_psrp_auth": "credssp"}, True),
        ({"ansible_psrp_auth": "negotiate"}, False),
        ({"ansible_winrm_transport": "credssp"}, True),
        ({"ansible_winrm_transport": ["credssp", "ntlm"]}, True),
        ({"ansible_winrm_transport": ["ntlm", "credssp"]}, False),  # the first transport that works is used
        ({"ansible_winrm_transport": ["kerberos"], "ansible_psrp_auth": "kerberos"}, False),
    ],
)
def test_the_authentication_the_connection_stands_for_decides_the_credssp_logon(
    tmp_path: Path, variables: dict[str, Any], credssp: bool
) -> None:
    plugin = _var_connection(tmp_path, **variables)
    plugin._connect()
    assert plugin._host.credssp is credssp


def test_an_unknown_winrm_transport_is_refused(tmp_path: Path) -> None:
    plugin = _var_connection(tmp_path, ansible_winrm_transport=["credsp"])
    with pytest.raises(AnsibleError, match=r"ansible_winrm_transport.*'credsp'.*credssp"):
        plugin._connect()


def test_an_unknown_psrp_auth_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AnsibleError, match=r"Invalid value 'credsp' for config 'auth'"):
        _var_connection(tmp_path, ansible_psrp_auth="credsp")


def test_winrm_and_psrp_settings_that_disagree_on_credssp_are_refused(tmp_path: Path) -> None:
    plugin = _var_connection(tmp_path, ansible_winrm_transport=["ntlm"], ansible_psrp_auth="credssp")
    with pytest.raises(AnsibleError, match=r"ansible_winrm_transport.*ansible_psrp_auth"):
        plugin._connect()
