# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure planner of ``pbxops.wsfc.iscsi_target``: a portal, and a persistent login to one target.

The read takes one round trip: the initiator service (MSiSCSI), the portals, the targets they
offer and the sessions. While the service is stopped the iSCSI cmdlets fail (HRESULT 0x80070426),
so that read fails after the service pipeline; the plan then starts the service and does the rest
without knowing the portals and sessions, with steps that are safe to repeat: New-IscsiTargetPortal
returns an existing portal, and the login is piped through ``Where-Object IsConnected -eq $false``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.cmdlet import SWITCH, Pipeline, Step, change, read
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, Plan, PlanError

__all__ = ["initiator_stopped", "plan_iscsi_target", "read_iscsi"]

SERVICE = "MSiSCSI"
# The FullyQualifiedErrorId of an iSCSI cmdlet while the initiator service is not running.
SERVICE_NOT_STARTED = "HRESULT 0x80070426"
# MSFT_iSCSISession has no multipath property (Microsoft's class page): whether a session was made
# with multipath cannot be read back, so a session that exists is kept as it is.
SESSION_FIELDS = ("TargetNodeAddress", "IsPersistent", "AuthenticationType", "SessionIdentifier")


def read_iscsi() -> list[Pipeline]:
    return [
        read(
            "service",
            Step("Get-CimInstance", {"ClassName": "Win32_Service", "Filter": f"Name = '{SERVICE}'"}),
            select=("Name", "State", "StartMode"),
        ),
        read(
            "portals",
            Step("Get-IscsiTargetPortal"),
            select=("TargetPortalAddress", "TargetPortalPortNumber"),
        ),
        read("targets", Step("Get-IscsiTarget"), select=("NodeAddress", "IsConnected")),
        read("sessions", Step("Get-IscsiSession"), select=SESSION_FIELDS),
    ]


def initiator_stopped(failure: Mapping[str, Any]) -> bool:
    """Did the read fail only because the initiator service is not running?"""
    return failure.get("pipeline") == "portals" and str(failure.get("error_id", "")).startswith(
        SERVICE_NOT_STARTED
    )


def _auth(args: Mapping[str, Any]) -> dict[str, str]:
    if not args.get("chap_username"):
        return {}
    return {
        "AuthenticationType": "ONEWAYCHAP",
        "ChapUsername": args["chap_username"],
        "ChapSecret": args["chap_secret"],
    }


def _state(
    service: Mapping[str, Any],
    portal: bool,
    session: Mapping[str, Any] | None,
    args: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "service": {"state": service.get("State"), "start_mode": service.get("StartMode")},
        "portal": {"address": args["portal"], "port": args["port"], "present": portal},
        "target": {
            "iqn": args["target"],
            "connected": session is not None,
            "persistent": bool(session and session.get("IsPersistent")),
            "authentication": (session or {}).get("AuthenticationType"),
        },
    }


def _refuse(args: Mapping[str, Any], observed: Observed) -> None:
    running = observed.get("service")[0].get("State") == "Running"
    offered = sorted(str(t.get("NodeAddress")) for t in observed.get("targets"))
    portal_known = _portal_known(args, observed)
    if running and portal_known and args["target"].lower() not in [o.lower() for o in offered]:
        raise PlanError(
            f"target: {args['target']!r} is not offered to this host by portal "
            f"{args['portal']}:{args['port']}; the targets it offers are {offered or 'none'}. "
            "Check the IQN, and the target's access list (LUN masking) for this initiator",
            offered_targets=offered,
        )


def _portal_known(args: Mapping[str, Any], observed: Observed) -> bool:
    return any(
        p.get("TargetPortalAddress") == args["portal"] and p.get("TargetPortalPortNumber") == args["port"]
        for p in observed.get("portals")
    )


def plan_iscsi_target(args: Mapping[str, Any], observed: Observed) -> Plan:
    services = observed.get("service")
    if not services:
        raise PlanError(
            f"the iSCSI initiator service ({SERVICE}) does not exist on this host; "
            "check that the host runs Windows Server with its iSCSI initiator"
        )
    service = services[0]
    iqn = args["target"].lower()
    sessions = [s for s in observed.get("sessions") if str(s.get("TargetNodeAddress", "")).lower() == iqn]
    session = sessions[0] if sessions else None
    _refuse(args, observed)
    portal_known = _portal_known(args, observed)

    changes: list[Pipeline] = []
    if service.get("StartMode") != "Auto" or service.get("State") != "Running":
        # Automatic, so that persistent logins come back when the node boots.
        changes.append(
            change(
                "initiator service",
                Step(
                    "Set-Service",
                    {"Name": SERVICE, "StartupType": "Automatic", "Status": "Running", "PassThru": SWITCH},
                ),
                select=("Name", "Status", "StartType"),
            )
        )
    if not portal_known:
        portal = {
            "TargetPortalAddress": args["portal"],
            "TargetPortalPortNumber": args["port"],
            **_auth(args),
        }
        changes.append(
            change(
                "portal",
                Step("New-IscsiTargetPortal", portal),
                select=("TargetPortalAddress", "TargetPortalPortNumber"),
            )
        )
    if session is None:
        login: dict[str, Any] = {
            "IsPersistent": args["persistent"],
            "TargetPortalAddress": args["portal"],
            **_auth(args),
        }
        if args["multipath"]:
            login["IsMultipathEnabled"] = True
        changes.append(
            change(
                "login",
                Step("Get-IscsiTarget", {"NodeAddress": (args["target"],)}),
                Step("Where-Object", {"Property": "IsConnected", "EQ": SWITCH, "Value": False}),
                Step("Connect-IscsiTarget", login),
                select=SESSION_FIELDS,
            )
        )
    elif args["persistent"] and not session.get("IsPersistent"):
        changes.append(
            change(
                "persist",
                Step(
                    "Register-IscsiSession",
                    {
                        "SessionIdentifier": (str(session["SessionIdentifier"]),),
                        "IsMultipathEnabled": args["multipath"],
                    },
                ),
            )
        )

    expected_session = dict(session or {})
    expected_session.setdefault("AuthenticationType", "ONEWAYCHAP" if args.get("chap_username") else "NONE")
    expected_session["IsPersistent"] = args["persistent"] or bool(expected_session.get("IsPersistent"))
    running = {"State": "Running", "StartMode": "Auto"}

    def reported(applied: Observed) -> Mapping[str, Any]:
        logins = applied.get("login")
        service_now = applied.get("initiator service")
        service_state = {"State": service_now[0]["Status"], "StartMode": "Auto"} if service_now else service
        # An empty login output means the target was connected by the time the login ran (a
        # persistent login that came back when the service started).
        return _state(service_state, True, logins[0] if logins else expected_session, args)

    return Plan(
        changes=tuple(changes),
        before=_state(service, portal_known, session, args),
        after=_state(running, True, expected_session, args),
        reported=reported,
        # A portal added in this run could not be asked beforehand which targets it offers.
        advice={
            "login": (
                f"Check that portal {args['portal']}:{args['port']} offers {args['target']} to this "
                "host: the IQN, and that the target's access list (LUN masking) lets this node's initiator in"
            )
        },
    )
