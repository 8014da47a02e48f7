"""cluster_info: the whole cluster in one read round trip, or that there is none."""

from __future__ import annotations

from typing import Any

from action_harness import make_action
from ansible_collections.pbxops.wsfc.plugins.action.cluster_info import ActionModule
from ansible_collections.pbxops.wsfc.plugins.plugin_utils import cluster_info_reader as reader
from ansible_collections.pbxops.wsfc.plugins.plugin_utils.planning import Observed
from fake_cluster import FakeCluster
from fake_windows import CmdletFailure


def run(cluster: FakeCluster, task: dict[str, Any], **kw: Any) -> dict[str, Any]:
    host = cluster.host()
    result = make_action(ActionModule, task, host, **kw).run(task_vars={})
    result["_calls"] = host.calls
    return result


def pbx_cluster() -> FakeCluster:
    cluster = FakeCluster()
    cluster.add_disk("D1", "{00000000-0000-4000-8000-0000000000d1}", clustered_as="PBX-Data")
    cluster.add_role(
        {"Name": "PBX", "ServiceName": "pbxd", "StaticAddress": ("127.0.1.30",), "Storage": ("PBX-Data",)}, []
    )
    cluster.resource("PBX Service")["_deps"] = "[PBX] and [PBX-Data]"
    cluster.group("PBX")["_owners"] = ["PBX-N2", "PBX-N1"]
    return cluster


def test_the_whole_cluster_in_one_round_trip_changing_nothing() -> None:
    result = run(pbx_cluster(), {})
    assert result["changed"] is False
    assert result["round_trips"] == 1
    assert not any(p["changes"] for call in result["_calls"] for p in call["pipelines"])
    state = result["state"]
    assert state["exists"] is True
    assert state["name"] == "PBXCL"
    assert [n["name"] for n in state["nodes"]] == ["PBX-N1", "PBX-N2"]
    assert state["common_properties"]["same_subnet_threshold"] == 10
    assert [n["role"] for n in state["networks"]] == ["cluster_and_client", "cluster"]
    pbx = next(g for g in state["groups"] if g["name"] == "PBX")
    assert pbx["preferred_owners"] == ["PBX-N2", "PBX-N1"]
    assert sorted(pbx["resources"]) == ["IP Address 127.0.1.30", "PBX", "PBX Service", "PBX-Data"]
    service = next(r for r in state["resources"] if r["name"] == "PBX Service")
    assert service["dependency_expression"] == "[PBX] and [PBX-Data]"
    assert service["parameters"]["ServiceName"] == "pbxd"
    assert service["possible_owners"] == ["PBX-N1", "PBX-N2"]
    assert state["events"] == []


def test_no_cluster_is_reported_with_windows_reason_not_as_a_failure() -> None:
    result = run(FakeCluster(name=None), {})
    assert "failed" not in result
    assert result["state"]["exists"] is False
    assert "The cluster service is not running" in result["state"]["reason"]
    assert result["round_trips"] == 1


def test_check_mode_reads_the_same() -> None:
    assert run(pbx_cluster(), {}, check_mode=True)["state"]["exists"] is True


def test_events_are_read_only_when_asked_and_as_many_as_asked() -> None:
    assert "events" not in [p.name for p in reader.reads({"cluster": None, "events": 0})]
    (events,) = [p for p in reader.reads({"cluster": None, "events": 5}) if p.name == "events"]
    assert events.steps[0].parameters["ClassName"] == "Win32_NTLogEvent"
    assert "Microsoft-Windows-FailoverClustering" in str(events.steps[0].parameters["Filter"])
    assert events.steps[1].parameters == {"First": 5}


def test_a_named_cluster_is_read_remotely_by_every_pipeline() -> None:
    pipelines = reader.reads({"cluster": "PBXCL", "events": 0})
    assert pipelines[0].steps[0].parameters == {"Name": "PBXCL"}
    assert all(p.steps[0].parameters.get("Cluster") == "PBXCL" for p in pipelines[1:])


def test_events_become_plain_records() -> None:
    observed = Observed(
        outputs={
            "cluster": [{"Name": "PBXCL"}],
            "events": [
                {
                    "TimeGenerated": "2026-12-01T21:00:00.0000000Z",
                    "EventCode": 1069,
                    "Type": "Error",
                    "ComputerName": "PBX-N1",
                    "Message": "Cluster resource 'PBX Service' of type 'Generic Service' failed.",
                }
            ],
        }
    )
    (event,) = reader.cluster_document(observed)["events"]
    assert event == {
        "time": "2026-12-01T21:00:00.0000000Z",
        "event_id": 1069,
        "level": "Error",
        "node": "PBX-N1",
        "message": "Cluster resource 'PBX Service' of type 'Generic Service' failed.",
    }


def test_events_that_cannot_be_read_leave_a_warning_and_the_rest_of_the_cluster() -> None:
    cluster = pbx_cluster()
    cluster.fail_on["Get-CimInstance"] = [
        CmdletFailure(
            "Invalid class ",
            "HRESULT 0x80041010,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand",
        )
    ]
    result = run(cluster, {"events": 5})
    assert "failed" not in result
    assert result["round_trips"] == 1
    assert result["state"]["name"] == "PBXCL"
    assert "events" not in result["state"]
    (warning,) = result["warnings"]
    assert warning.startswith("the cluster's events could not be read, the rest of the cluster was: ")
    assert "Invalid class" in warning
