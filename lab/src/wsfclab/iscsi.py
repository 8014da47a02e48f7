"""The iSCSI initiator of a node: portals, discovery, sessions, and the LUNs they bring.

A target is discovered through a portal with its address and port; it lists a node only when the
node's initiator is allowed in (LUN masking in the world file). Logging in to a target makes its
LUNs appear as disks on the node; logging out removes them. Persistent sessions are logged in again
when the node boots.
"""

from __future__ import annotations

from wsfclab.disks import add_view, remove_view
from wsfclab.state import IscsiSession, IscsiTargetState, LabState


def discovered_targets(state: LabState, node: str) -> list[IscsiTargetState]:
    """Targets the node's portals can see (SendTargets answers only for allowed initiators)."""
    host = state.nodes[node]
    found = []
    for target in state.iscsi_targets.values():
        reachable = any(
            p.address == target.portal_address and p.port == target.portal_port for p in host.iscsi_portals
        )
        if reachable and node in target.initiators:
            found.append(target)
    return found


def sessions_to(state: LabState, node: str, iqn: str) -> list[IscsiSession]:
    return [s for s in state.nodes[node].iscsi_sessions if s.target_iqn == iqn]


def login(state: LabState, node: str, session: IscsiSession) -> None:
    state.nodes[node].iscsi_sessions.append(session)
    _present_luns(state, node, session.target_iqn)


def logout(state: LabState, node: str, session: IscsiSession) -> None:
    state.nodes[node].iscsi_sessions.remove(session)
    if not sessions_to(state, node, session.target_iqn):
        for key in state.iscsi_targets[session.target_iqn].luns:
            remove_view(state.disks[key], node)


def _present_luns(state: LabState, node: str, iqn: str) -> None:
    for key in state.iscsi_targets[iqn].luns:
        disk = state.disks[key]
        if node not in disk.views:
            add_view(state, disk, node)


def drop_sessions(state: LabState, node: str, *, keep_persistent: bool) -> None:
    """The node goes down: every LUN leaves it; persistent sessions are remembered for the next boot."""
    host = state.nodes[node]
    host.iscsi_sessions = [s for s in host.iscsi_sessions if keep_persistent and s.is_persistent]
    for target in state.iscsi_targets.values():
        for key in target.luns:
            remove_view(state.disks[key], node)


def restore_persistent_sessions(state: LabState, node: str) -> list[str]:
    """At boot, log in to the targets of the remembered persistent sessions again."""
    problems = []
    for session in list(state.nodes[node].iscsi_sessions):
        target = state.iscsi_targets.get(session.target_iqn)
        if target is None or node not in target.initiators:
            state.nodes[node].iscsi_sessions.remove(session)
            problems.append(f"persistent iSCSI login to {session.target_iqn} failed: target not found")
            continue
        _present_luns(state, node, session.target_iqn)
    return problems
