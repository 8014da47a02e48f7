"""pbxops.wsfc.iscsi_target: its planner, and the action against a fake initiator."""

from __future__ import annotations

from typing import Any

import pytest
from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.iscsi_target import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.iscsi_plan import (
    initiator_stopped,
    plan_iscsi_target,
    read_iscsi,
)
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed, PlanError
from fake_windows import CmdletFailure, FakeWindows
from manifest_check import assert_calls_bind
from wsfclab.errors import ErrorCategory

IQN = "iqn.1991-05.com.microsoft:san1-pbx-target"
PORTAL = {"TargetPortalAddress": "127.0.3.10", "TargetPortalPortNumber": 3260}
SECRET = "s3cret-chap-16ch"


def args(**overrides: Any) -> dict[str, Any]:
    return {
        "portal": "127.0.3.10",
        "port": 3260,
        "target": IQN,
        "persistent": True,
        "multipath": False,
        "chap_username": None,
        "chap_secret": None,
        **overrides,
    }


def session(**overrides: Any) -> dict[str, Any]:
    return {
        "TargetNodeAddress": IQN,
        "IsPersistent": True,
        "AuthenticationType": "NONE",
        "SessionIdentifier": "ffffe0000000001-4000013700000002",
        **overrides,
    }


def observed(
    state: str = "Running",
    mode: str = "Auto",
    portals: list[dict[str, Any]] | None = None,
    sessions: list[dict[str, Any]] | None = None,
    offered: tuple[str, ...] = (IQN,),
) -> Observed:
    return Observed(
        outputs={
            "service": [{"Name": "MSiSCSI", "State": state, "StartMode": mode}],
            "portals": [PORTAL] if portals is None else portals,
            "targets": [{"NodeAddress": t, "IsConnected": bool(sessions)} for t in offered],
            "sessions": [session()] if sessions is None else sessions,
        }
    )


def names(plan: Any) -> list[str]:
    return [p.name for p in plan.changes]


def test_the_read_binds_and_is_one_round_trip() -> None:
    assert [p.name for p in read_iscsi()] == ["service", "portals", "targets", "sessions"]
    assert_calls_bind(read_iscsi())


def test_a_connected_persistent_target_needs_nothing() -> None:
    plan = plan_iscsi_target(args(), observed())
    assert plan.changes == ()
    assert plan.before["target"] == {
        "iqn": IQN,
        "connected": True,
        "persistent": True,
        "authentication": "NONE",
    }


def test_a_stopped_initiator_is_started_then_the_portal_and_login_are_added_safely() -> None:
    stopped = Observed(outputs={"service": [{"Name": "MSiSCSI", "State": "Stopped", "StartMode": "Manual"}]})
    plan = plan_iscsi_target(args(), stopped)
    assert names(plan) == ["initiator service", "portal", "login"]
    service = plan.changes[0].steps[0]
    assert dict(service.parameters)["StartupType"] == "Automatic"
    login = [s.cmdlet for s in plan.changes[2].steps]
    # A persistent login may come back by itself when the service starts: only unconnected targets log in.
    assert login == ["Get-IscsiTarget", "Where-Object", "Connect-IscsiTarget"]
    assert dict(plan.changes[2].steps[2].parameters) == {
        "IsPersistent": True,
        "TargetPortalAddress": "127.0.3.10",
    }
    assert plan.before["service"] == {"state": "Stopped", "start_mode": "Manual"}
    assert plan.after["service"] == {"state": "Running", "start_mode": "Auto"}
    assert_calls_bind(plan.changes)


def test_only_a_stopped_service_makes_a_failed_read_recoverable() -> None:
    assert initiator_stopped({"pipeline": "portals", "error_id": "HRESULT 0x80070426,Get-IscsiTargetPortal"})
    assert not initiator_stopped(
        {"pipeline": "portals", "error_id": "HRESULT 0xefff0003,Get-IscsiTargetPortal"}
    )
    assert not initiator_stopped({"pipeline": "service", "error_id": "HRESULT 0x80070426"})


def test_a_running_service_started_manually_is_made_automatic() -> None:
    plan = plan_iscsi_target(args(), observed(mode="Manual"))
    assert names(plan) == ["initiator service"]


def test_a_known_portal_without_a_session_only_logs_in_with_multipath_when_asked() -> None:
    plan = plan_iscsi_target(args(multipath=True), observed(sessions=[]))
    assert names(plan) == ["login"]
    assert dict(plan.changes[0].steps[2].parameters)["IsMultipathEnabled"] is True
    assert_calls_bind(plan.changes)


def test_a_target_the_portal_does_not_offer_is_refused_with_those_it_offers() -> None:
    with pytest.raises(PlanError) as raised:
        plan_iscsi_target(args(target="iqn.2000-01.com.example:other"), observed(sessions=[]))
    assert raised.value.msg == (
        "target: 'iqn.2000-01.com.example:other' is not offered to this host by portal 127.0.3.10:3260; "
        f"the targets it offers are ['{IQN}']. Check the IQN, and the target's access list (LUN masking) "
        "for this initiator"
    )
    assert raised.value.details == {"offered_targets": [IQN]}


def test_an_existing_session_is_kept_whatever_multipath_asks() -> None:
    """MSFT_iSCSISession does not say whether multipath was used: the session is left as it is."""
    assert plan_iscsi_target(args(multipath=True), observed()).changes == ()


def test_a_session_that_is_not_persistent_is_registered() -> None:
    plan = plan_iscsi_target(args(), observed(sessions=[session(IsPersistent=False)]))
    assert names(plan) == ["persist"]
    assert plan.changes[0].steps[0].cmdlet == "Register-IscsiSession"
    assert plan.after["target"]["persistent"] is True
    assert_calls_bind(plan.changes)


def test_chap_goes_to_the_portal_and_the_login() -> None:
    plan = plan_iscsi_target(args(chap_username="pbx", chap_secret=SECRET), observed(portals=[], sessions=[]))
    for pipeline in plan.changes:
        step = pipeline.steps[-1]
        assert step.parameters["AuthenticationType"] == "ONEWAYCHAP"
        assert step.parameters["ChapSecret"] == SECRET
    assert plan.after["target"]["authentication"] == "ONEWAYCHAP"
    assert_calls_bind(plan.changes)


def test_a_host_without_the_initiator_service_is_refused() -> None:
    with pytest.raises(PlanError, match=r"the iSCSI initiator service \(MSiSCSI\) does not exist"):
        plan_iscsi_target(args(), Observed(outputs={"service": []}))


class Initiator:
    """A fake initiator: the service, portals and sessions of one node."""

    def __init__(self, running: bool, allowed: bool = True) -> None:
        self.running = running
        self.allowed = allowed  # whether the target's access list lets this initiator in
        self.portals: list[dict[str, Any]] = []
        self.sessions: list[dict[str, Any]] = []

    def _require(self) -> None:
        if not self.running:
            raise CmdletFailure(
                "The service has not been started.", "HRESULT 0x80070426,Get-IscsiTargetPortal"
            )

    def handlers(self) -> dict[str, Any]:
        def service(_p: dict[str, Any], _i: list[Any]) -> list[Any]:
            state = "Running" if self.running else "Stopped"
            return [{"Name": "MSiSCSI", "State": state, "StartMode": "Auto" if self.running else "Manual"}]

        def set_service(_p: dict[str, Any], _i: list[Any]) -> list[Any]:
            self.running = True
            return [{"Name": "MSiSCSI", "Status": "Running", "StartType": "Automatic"}]

        def portals(_p: dict[str, Any], _i: list[Any]) -> list[Any]:
            self._require()
            return list(self.portals)

        def new_portal(p: dict[str, Any], _i: list[Any]) -> list[Any]:
            self.portals.append(PORTAL)
            return [PORTAL]

        def targets(p: dict[str, Any], _i: list[Any]) -> list[Any]:
            self._require()
            if self.portals and self.allowed:
                return [{"NodeAddress": IQN, "IsConnected": bool(self.sessions)}]
            if p.get("NodeAddress"):
                raise CmdletFailure(
                    f"No MSFT_iSCSITarget objects found with property 'NodeAddress' equal to '{IQN}'.  "
                    "Verify the value of the property and retry.",
                    "CmdletizationQuery_NotFound_NodeAddress,Get-IscsiTarget",
                    ErrorCategory.ObjectNotFound,
                )
            return []

        def sessions(_p: dict[str, Any], _i: list[Any]) -> list[Any]:
            self._require()
            return list(self.sessions)

        def where(_p: dict[str, Any], objects: list[Any]) -> list[Any]:
            return [o for o in objects if not o["IsConnected"]]

        def connect(p: dict[str, Any], objects: list[Any]) -> list[Any]:
            made = [
                session(
                    IsPersistent=p["IsPersistent"], AuthenticationType=p.get("AuthenticationType", "NONE")
                )
            ]
            self.sessions += made
            return made

        return {
            "Get-CimInstance": service,
            "Set-Service": set_service,
            "Get-IscsiTargetPortal": portals,
            "New-IscsiTargetPortal": new_portal,
            "Get-IscsiTarget": targets,
            "Get-IscsiSession": sessions,
            "Where-Object": where,
            "Connect-IscsiTarget": connect,
        }


def test_from_a_stopped_initiator_the_action_converges_in_two_round_trips_then_one() -> None:
    initiator = Initiator(running=False)
    fake = FakeWindows(initiator.handlers())
    first = make_action(ActionModule, args(), fake).run(task_vars={})
    assert first["changed"] is True and first["round_trips"] == 2, first
    assert first["state"]["target"]["connected"] is True
    second = make_action(ActionModule, args(), fake).run(task_vars={})
    assert second["changed"] is False and second["round_trips"] == 1


def test_a_target_that_does_not_let_a_new_initiator_in_fails_the_login_saying_what_to_check() -> None:
    # A first run cannot know before the portal is added that the target hides itself from this
    # node; the failed login then names the likely cause rather than only the missing object.
    result = make_action(
        ActionModule, args(), FakeWindows(Initiator(running=True, allowed=False).handlers())
    ).run(task_vars={})
    assert result["failed"] is True and result["pipeline"] == "login", result
    assert result["msg"].startswith(
        "pipeline 'login' failed at step 1 (Get-IscsiTarget): No MSFT_iSCSITarget"
    )
    assert (
        f"Check that portal 127.0.3.10:3260 offers {IQN} to this host: the IQN, and that the target's "
        "access list (LUN masking) lets this node's initiator in" in result["msg"]
    )


def test_check_mode_on_a_stopped_initiator_reports_the_change_and_makes_none() -> None:
    initiator = Initiator(running=False)
    result = make_action(ActionModule, args(), FakeWindows(initiator.handlers()), check_mode=True).run(
        task_vars={}
    )
    assert result["changed"] is True and result["round_trips"] == 1
    assert initiator.running is False and initiator.sessions == []


def test_the_chap_secret_never_appears_and_its_round_trip_runs_with_no_log() -> None:
    fake = FakeWindows(Initiator(running=True).handlers())
    result = make_action(ActionModule, args(chap_username="pbx", chap_secret=SECRET), fake, diff=True).run(
        task_vars={}
    )
    assert result["changed"] is True
    assert SECRET not in repr(result)
    assert fake.no_log_flags == [False, True]
