# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connection to a simulated Windows node of a wsfclab lab (a thin adapter over wsfclab.host)."""

from __future__ import annotations

import os
import typing as t
from collections.abc import Callable
from pathlib import Path

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

WSFCLAB_IMPORT_ERROR: ImportError | None
try:
    from wsfclab.errors import LabError
    from wsfclab.host import NodeHost, NodeUnreachable
    from wsfclab.lab import Lab
except ImportError as import_error:
    WSFCLAB_IMPORT_ERROR = import_error
else:
    WSFCLAB_IMPORT_ERROR = None

DOCUMENTATION = r"""
name: lab
author: pbxops engineers
short_description: Run tasks against a simulated Windows node of a wsfclab lab
description:
  - Connects to one node of a lab built by C(wsfclab), the simulator of Windows Server nodes and
    failover clusters shipped in the C(lab/) folder of this collection's repository.
  - The plugin receives exactly what ansible-core sends a Windows host (encoded PowerShell
    commands, the exec wrapper payload of PowerShell modules, put_file and fetch_file) and hands it
    to C(wsfclab), which answers as Windows would by running Python twins of the modules.
  - Module arguments are validated against the real modules' argument specs. Anything the lab
    does not simulate (another module, a raw command) fails with "unsupported in the lab".
  - Uses the C(powershell) shell, pipelines modules and runs async tasks natively, like the
    C(psrp) connection.
  - Needs the C(wsfclab) Python package on the controller (C(make setup) installs it).
version_added: 0.1.0
requirements:
  - wsfclab (the lab package of this repository, installed by C(make setup))
options:
  state_dir:
    description:
      - The lab's state directory (its C(state.json), the nodes' C(C:\) folders, process logs).
      - A relative path is relative to the directory C(ansible-playbook) runs in.
    type: path
    default: .lab
    env:
      - name: WSFCLAB_STATE_DIR
    vars:
      - name: ansible_wsfclab_state_dir
  world:
    description:
      - The world file (YAML) the lab is built from when the state directory holds no lab yet.
      - When the state directory holds a lab built from another world, the connection fails and
        says to run C(wsfclab reset).
    type: path
    env:
      - name: WSFCLAB_WORLD
    vars:
      - name: ansible_wsfclab_world
  node:
    description:
      - The name of the lab node this host is (as in the world file; case-insensitive).
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: ansible_wsfclab_node
  remote_user:
    description:
      - The Windows account the tasks run as; it sets the profile directory (C(%USERPROFILE%),
        C(~)) and the C(ansible_user_id) fact. Become (C(runas)) switches to the become user.
    type: str
    default: Administrator
    vars:
      - name: ansible_user
    keyword:
      - name: remote_user
  transport:
    description:
      - The WinRM authentication this host uses in production, as the C(winrm) connection's O(transport)
        takes it from C(ansible_winrm_transport), so that one inventory serves both.
      - The first entry is the one used (each is accepted by the lab's nodes, so the C(winrm)
        connection would stop at the first). Only V(credssp) changes what the lab does; see O(auth).
      - Must agree with O(auth) about CredSSP when both are set.
    type: list
    elements: str
    vars:
      - name: ansible_winrm_transport
  auth:
    description:
      - The authentication protocol this host uses in production, as the C(psrp) connection's O(auth)
        takes it from C(ansible_psrp_auth) (default V(negotiate)).
      - With V(credssp) (here or as the first O(transport)), the module's session holds the remote
        user's delegated credentials, so cmdlets that reach another node or Active Directory
        (C(New-Cluster), C(Add-ClusterNode), ...) work when the remote user is a domain account,
        as on Windows. Any other protocol gives a token that cannot make a second hop; become with
        a domain account's password is the other way to lift it.
    type: str
    choices: [basic, certificate, negotiate, kerberos, ntlm, credssp]
    vars:
      - name: ansible_psrp_auth
  pipelining:
    description:
      - Modules are always pipelined, as with the C(psrp) connection; C(ANSIBLE_KEEP_REMOTE_FILES)
        makes ansible-core copy them to the node first instead.
    type: boolean
    default: true
    vars:
      - name: ansible_pipelining
"""

EXAMPLES = r"""
# inventories/lab/hosts.yml
all:
  vars:
    ansible_connection: pbxops.wsfc.lab
    ansible_wsfclab_state_dir: "{{ inventory_dir }}/../../.lab"
    ansible_wsfclab_world: "{{ inventory_dir }}/../../lab/examples/two-node-iscsi.yml"
  hosts:
    PBX-N1:
    PBX-N2:
"""

display = Display()

# The transports pywinrm offers (winrm.FEATURE_SUPPORTED_AUTHTYPES), which the winrm connection checks.
WINRM_TRANSPORTS = ("basic", "certificate", "ntlm", "kerberos", "plaintext", "ssl", "credssp")


class Connection(ConnectionBase):
    transport = "pbxops.wsfc.lab"
    module_implementation_preferences = (".ps1", ".exe", "")
    allow_executable = False
    has_pipelining = True
    # ansible-core 2.19 and 2.20 read these to pipeline modules and run async through the
    # PowerShell exec wrapper (as their psrp/winrm plugins set them); 2.21 reads
    # is_pipelining_enabled below.
    always_pipeline_modules = True
    has_native_async = True
    _shell_type = "powershell"
    _connected: bool

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._host: NodeHost | None = None
        super().__init__(*args, **kwargs)

    def _connect(self) -> Connection:
        self._connected_host()
        return self

    def _connected_host(self) -> NodeHost:
        """The node this connection talks to, opening the lab on first use."""
        if self._host is None:
            self._host = self._open_host()
        self._connected = True
        return self._host

    def _open_host(self) -> NodeHost:
        if WSFCLAB_IMPORT_ERROR is not None:
            raise AnsibleError(
                "the pbxops.wsfc.lab connection needs the wsfclab package on the controller; install it "
                f"with `make setup` (or `pip install -e lab/`) in the repository: {WSFCLAB_IMPORT_ERROR}"
            )
        state_dir = os.path.abspath(os.path.expanduser(self.get_option("state_dir")))
        world = self.get_option("world")
        try:
            lab = Lab.open(Path(state_dir), Path(os.path.expanduser(world)).absolute() if world else None)
        except LabError as err:
            raise AnsibleConnectionFailure(f"cannot open the lab in {state_dir}: {err}") from err
        node = self.get_option("node")
        user = self.get_option("remote_user") or "Administrator"
        credssp = self._credssp()
        shown = " over CredSSP" if credssp else ""
        display.vvv(f"LAB: node {node} of {state_dir} as {user}{shown}", host=node)
        return NodeHost(lab, node, user, credssp=credssp)

    def _credssp(self) -> bool:
        """Whether the session stands for a CredSSP logon, from the winrm or the psrp setting."""
        transports = [str(x).strip().lower() for x in self.get_option("transport") or []]
        unknown = [x for x in transports if x not in WINRM_TRANSPORTS]
        if unknown:
            raise AnsibleError(
                f"ansible_winrm_transport: {unknown[0]!r} is not a WinRM transport; expected one of "
                + ", ".join(WINRM_TRANSPORTS)
            )
        auth = self.get_option("auth")
        by_winrm = transports[0] == "credssp" if transports else None
        by_psrp = auth.lower() == "credssp" if auth else None
        if by_winrm is not None and by_psrp is not None and by_winrm != by_psrp:
            raise AnsibleError(
                f"ansible_winrm_transport ({', '.join(transports)}) and ansible_psrp_auth ({auth}) disagree "
                "about CredSSP; set the one of the connection this host uses in production"
            )
        return bool(by_winrm or by_psrp)

    def is_pipelining_enabled(self, wrap_async: bool = False) -> bool:
        return True

    def exec_command(
        self, cmd: str, in_data: bytes | None = None, sudoable: bool = True
    ) -> tuple[int, bytes, bytes]:
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        host = self._connected_host()
        display.vvvvv(f"LAB EXEC: {cmd[:120]}", host=host.node_name)
        result = self._call(host.exec_command, cmd, in_data)
        return result.rc, result.stdout, result.stderr

    def put_file(self, in_path: str, out_path: str) -> None:
        super().put_file(in_path, out_path)
        host = self._connected_host()
        display.vvv(f"PUT {in_path} TO {out_path}", host=host.node_name)
        self._call(host.put_file, in_path, out_path)

    def fetch_file(self, in_path: str, out_path: str) -> None:
        super().fetch_file(in_path, out_path)
        host = self._connected_host()
        display.vvv(f"FETCH {in_path} TO {out_path}", host=host.node_name)
        self._call(host.fetch_file, in_path, out_path)

    @staticmethod
    def _call(operation: Callable[..., t.Any], *args: t.Any) -> t.Any:
        """A powered-off node is unreachable, as a real host would be; other lab errors fail the task."""
        try:
            return operation(*args)
        except NodeUnreachable as err:
            raise AnsibleConnectionFailure(str(err)) from err
        except LabError as err:
            raise AnsibleError(f"lab: {err}") from err

    def reset(self) -> None:
        # A lab node keeps no session: reconnecting is opening the lab again.
        self.close()
        self._connect()

    def close(self) -> None:
        self._host = None
        self._connected = False
