"""The status report's verdicts, decided in one pure function."""

from __future__ import annotations

import copy

from ansible_collections.pbxops.wsfc.plugins.plugin_utils.status_view import human_size, status_view, tone
from status_samples import two_sites


def test_a_node_down_makes_its_site_and_the_report_a_warning_and_puts_quorum_at_risk() -> None:
    view = status_view(two_sites(), "2026-12-01T21:05:00Z")
    a, b = view["sites"]
    assert (a["health"], b["health"], view["overall"]) == ("ok", "bad", "bad")
    assert [n["tone"] for n in b["nodes"]] == ["ok", "bad"]
    assert b["quorum"] == {
        "type": "NodeAndDiskMajority",
        "resource": "Cluster Disk 1",
        "votes_up": 2,
        "votes_total": 3,
        "needed": 2,
        "verdict": "at risk: one more failure loses it",
        "tone": "warn",
    }
    assert a["quorum"]["verdict"] == "healthy"


def test_roles_owners_and_witness_are_shown_and_the_core_group_is_not() -> None:
    a = status_view(two_sites(), "t")["sites"][0]
    assert [r["name"] for r in a["roles"]] == ["PBX"]
    assert a["nodes"][0]["roles"] == ["PBX"] and a["nodes"][1]["roles"] == []
    assert [(d["name"], d["witness"], d["used_pct"], d["size"]) for d in a["disks"]] == [
        ("Cluster Disk 1", True, 50, "1.0 GB"),
        ("Cluster Disk 2", False, 5, "20.0 GB"),
    ]


def test_events_are_newest_first_with_critical_ones_marked() -> None:
    events = status_view(two_sites(), "t")["sites"][0]["events"]
    assert [e["id"] for e in events] == ["1201", "1135"]
    assert [e["tone"] for e in events] == ["ok", "bad"]


def test_the_pbx_counts_registrations_and_calls() -> None:
    pbx = status_view(two_sites(), "t")["sites"][0]["pbx"]
    assert (pbx["registered_count"], pbx["active_calls"], pbx["answered"], pbx["failed"]) == (3, 1, 1, 1)
    assert [c["result"] for c in pbx["calls"]] == ["answered", "busy"]


def test_an_unreachable_pbx_or_a_missing_cluster_is_a_problem() -> None:
    sites = two_sites()
    sites[0]["pbx"] = {"error": "the PBX role is offline"}
    del sites[1]["cluster"]
    a, b = status_view(sites, "t")["sites"]
    assert (a["health"], a["pbx"]["reachable"], a["pbx"]["error"]) == (
        "bad",
        False,
        "the PBX role is offline",
    )
    assert b["health"] == "bad" and b["nodes"] == []


def test_a_full_disk_warns_and_every_healthy_site_is_ok() -> None:
    sites = copy.deepcopy(two_sites())
    sites[1]["cluster"]["nodes"][1]["state"] = "Up"  # type: ignore[index]
    assert status_view(sites, "t")["overall"] == "ok"
    sites[1]["volumes"] = {"Cluster Disk 2": {"size": 100, "free_space": 1}}
    view = status_view(sites, "t")
    assert view["sites"][1]["disks"][1]["tone"] == "warn" and view["overall"] == "warn"


def test_tones_and_sizes() -> None:
    assert [tone(s) for s in ("Up", "Online", "Paused", "Online Pending", "Down", "Failed", None)] == [
        "ok", "ok", "warn", "warn", "bad", "bad", "bad",
    ]  # fmt: skip
    assert [human_size(x) for x in (512, 1536, 20 * 1024**3, 150 * 1024**3, -1, "x")] == [
        "512 B", "1.5 KB", "20.0 GB", "150 GB", "?", "?",
    ]  # fmt: skip


def test_times_are_shown_to_the_second_and_trunk_routes_by_site() -> None:
    sites = two_sites()
    sites[0]["pbx"]["calls"][0]["start"] = "2026-12-01T22:19:31.592920+00:00"  # type: ignore[index]
    sites[0]["pbx"]["calls"][0]["route"] = "trunk:site-b"  # type: ignore[index]
    call = status_view(sites, "t")["sites"][0]["pbx"]["calls"][0]
    assert (call["start"], call["route"]) == ("2026-12-01 22:19:31", "site-b")
