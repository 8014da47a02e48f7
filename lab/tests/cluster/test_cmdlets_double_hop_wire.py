"""The double hop as ansible meets it: the executor module sent over the wire, with and without become.

The payload is what ansible-core builds for ``pbxops.wsfc.cmdlet_pipelines`` (and the runas become
wrapper); it goes through ``NodeHost.exec_command`` as the connection plugin sends it.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_worlds import stop, world
from wsfclab.host import NodeHost
from wsfclab.lab import Lab

REPO = Path(__file__).resolve().parents[3]
COLLECTIONS = REPO / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.append(str(COLLECTIONS))

MODULE = "pbxops.wsfc.cmdlet_pipelines"
NEW_CLUSTER = {
    "name": "create",
    "changes": True,
    "steps": [
        {
            "cmdlet": "New-Cluster",
            "parameters": {
                "Name": "PBXCL",
                "Node": ["N1", "N2"],
                "StaticAddress": ["127.0.1.20"],
                "NoStorage": True,
            },
        }
    ],
}


def _payload(args: dict[str, Any], become: dict[str, Any] | None) -> bytes:
    from ansible.executor import module_common
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import become_loader, shell_loader
    from ansible.template import Templar

    path = (
        COLLECTIONS
        / "ansible_collections"
        / "pbxops"
        / "wsfc"
        / "plugins"
        / "modules"
        / "cmdlet_pipelines.ps1"
    )
    become_plugin = None
    if become is not None:
        become_plugin = become_loader.get("runas")
        become_plugin.set_options(direct=become)
    shell = shell_loader.get("powershell")
    shell.set_options({})
    module_args = {
        "_ansible_check_mode": False,
        "_ansible_diff": False,
        "_ansible_module_name": MODULE,
        "_ansible_verbosity": 0,
        "_ansible_remote_tmp": "%TEMP%",
        **args,
    }
    built = module_common.modify_module(
        module_name=MODULE,
        module_path=str(path),
        module_args=module_args,
        templar=Templar(loader=DataLoader()),
        task_vars={},
        environment={},
        async_timeout=0,
        become_plugin=become_plugin,
        shell_plugin=shell,
    )
    return bytes(built.b_module_data)


def _bootstrap() -> str:
    from ansible.executor.powershell import module_manifest

    script = module_manifest._get_powershell_script("bootstrap_wrapper.ps1").decode()
    encoded = base64.b64encode(script.encode("utf-16-le")).decode()
    return f"powershell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand {encoded}"


def _send(
    lab: Lab,
    pipelines: list[dict[str, Any]],
    become: dict[str, Any] | None = None,
    *,
    user: str = "Administrator",
    credssp: bool = False,
) -> dict[str, Any]:
    host = NodeHost(lab, "N1", user, credssp=credssp)
    raw = host.exec_command(_bootstrap(), _payload({"pipelines": pipelines}, become))
    (line,) = [x for x in raw.stdout.decode().splitlines() if x.strip()]
    result: dict[str, Any] = json.loads(line)
    return result


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    built = world(tmp_path)
    yield built
    stop(built)


def test_over_the_wire_without_become_new_cluster_is_access_denied(lab: Lab) -> None:
    result = _send(lab, [NEW_CLUSTER])
    assert result["failed"]
    assert result["msg"].endswith("You do not have administrative privileges on the server 'N2'.")
    assert result["error_id"] == "New-Cluster,Microsoft.FailoverClusters.PowerShell.NewClusterCommand"


def test_over_the_wire_become_with_a_domain_password_reaches_the_other_node(lab: Lab) -> None:
    result = _send(
        lab, [NEW_CLUSTER], become={"become_user": "PBXLAB\\deploy", "become_pass": "Deploy-Pass-1"}
    )
    assert "failed" not in result, result
    assert result["results"][0]["output"][0]["Name"] == "PBXCL"


def test_over_the_wire_become_without_a_password_has_no_network_credentials(lab: Lab) -> None:
    result = _send(lab, [NEW_CLUSTER], become={"become_user": "PBXLAB\\deploy"})
    assert result["failed"]
    assert "You do not have administrative privileges on the server 'N2'." in result["msg"]


def test_over_the_wire_a_bare_user_name_is_the_domain_account_it_translates_to(lab: Lab) -> None:
    result = _send(lab, [NEW_CLUSTER], become={"become_user": "deploy", "become_pass": "Deploy-Pass-1"})
    assert "failed" not in result, result


def test_over_the_wire_a_local_account_cannot_reach_the_other_node(lab: Lab) -> None:
    result = _send(
        lab, [NEW_CLUSTER], become={"become_user": ".\\Administrator", "become_pass": "Deploy-Pass-1"}
    )
    assert result["failed"], result
    assert "You do not have administrative privileges on the server 'N2'." in result["msg"]


def test_over_the_wire_credssp_with_a_domain_account_reaches_the_other_node(lab: Lab) -> None:
    result = _send(lab, [NEW_CLUSTER], user="PBXLAB\\deploy", credssp=True)
    assert "failed" not in result, result
    assert result["results"][0]["output"][0]["Name"] == "PBXCL"


def test_over_the_wire_the_same_domain_account_without_credssp_is_access_denied(lab: Lab) -> None:
    result = _send(lab, [NEW_CLUSTER], user="PBXLAB\\deploy")
    assert result["failed"], result
    assert result["msg"].endswith("You do not have administrative privileges on the server 'N2'.")


def test_over_the_wire_credssp_delegates_a_local_account_nowhere(lab: Lab) -> None:
    """The delegated credentials are the node's own account, which no other node or domain knows."""
    result = _send(lab, [NEW_CLUSTER], user="Administrator", credssp=True)
    assert result["failed"], result
    assert "You do not have administrative privileges on the server 'N2'." in result["msg"]


def test_over_the_wire_a_passwordless_become_over_credssp_has_no_network_credentials(lab: Lab) -> None:
    """become runs the module under an S4U token of its own, whatever the connection delegated."""
    result = _send(
        lab, [NEW_CLUSTER], become={"become_user": "PBXLAB\\deploy"}, user="PBXLAB\\deploy", credssp=True
    )
    assert result["failed"], result
    assert "You do not have administrative privileges on the server 'N2'." in result["msg"]
