"""Two sites as ``playbooks/status.yml`` reads them: site-a healthy, site-b with a node down."""

from __future__ import annotations

from typing import Any

GB = 1024**3


def cluster(
    name: str, prefix: str, *, n2_state: str, owner: str, witness_state: str = "Online"
) -> dict[str, Any]:
    return {
        "cluster": {"name": name, "domain": "pbx.lab"},
        "nodes": [
            {"name": f"{prefix}-N1", "state": "Up", "id": "1"},
            {"name": f"{prefix}-N2", "state": n2_state, "id": "2"},
        ],
        "networks": [
            {"name": "Cluster Network 1", "role": "ClusterAndClient", "address": "127.0.1.0", "state": "Up"},
            {"name": "Cluster Network 2", "role": "Cluster", "address": "127.0.2.0", "state": "Up"},
        ],
        "quorum": {"type": "Majority", "resource": "Cluster Disk 1"},
        "disks": [
            {
                "name": "Cluster Disk 1",
                "state": witness_state,
                "owner_node": f"{prefix}-N1",
                "owner_group": "Cluster Group",
                "size": 1 * GB,
                "free_space": GB // 2,
            },
            {
                "name": "Cluster Disk 2",
                "state": "Online",
                "owner_node": owner,
                "owner_group": "PBX",
                "size": 20 * GB,
                "free_space": 19 * GB,
            },
        ],
        "groups": [
            {
                "name": "Cluster Group",
                "owner_node": f"{prefix}-N1",
                "state": "Online",
                "is_core_group": True,
                "resources": [],
            },
            {
                "name": "PBX",
                "owner_node": owner,
                "state": "Online",
                "resources": [
                    {"name": "PBX", "resource_type": "Network Name", "state": "Online"},
                    {"name": "IP Address 127.0.1.50", "resource_type": "IP Address", "state": "Online"},
                    {"name": "pbxd", "resource_type": "Generic Service", "state": "Online"},
                ],
            },
        ],
        "events": [
            {
                "time": "2026-12-01T21:00:05Z",
                "level": "Information",
                "id": 1201,
                "node": f"{prefix}-N1",
                "message": "The Cluster service successfully brought the clustered role 'PBX' online.",
            },
            {
                "time": "2026-12-01T20:59:58Z",
                "level": "Critical",
                "id": 1135,
                "node": f"{prefix}-N1",
                "message": f"Cluster node '{prefix}-N2' was removed from the active failover cluster "
                "membership.",
            },
        ],
    }


def pbx(numbers: list[str], calls: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    return {
        "stats": {"registrations": len(numbers), "active_calls": 1, "extensions": 20},
        "registrations": [
            {
                "aor": n,
                "contact": f"sip:{n}@127.0.0.9:50{n}",
                "user_agent": "Yealink T46U",
                "expires": "2026-12-01T22:00:00Z",
            }
            for n in numbers
        ],
        "calls": [
            {
                "start": f"2026-12-01T21:0{i}:00Z",
                "caller": a,
                "callee": b,
                "route": route,
                "disposition": d,
                "duration": 42.0 if d == "answered" else None,
            }
            for i, (a, b, route, d) in enumerate(calls)
        ],
    }


def two_sites() -> list[dict[str, Any]]:
    return [
        {
            "name": "site-a",
            "role_ip": "127.0.1.50",
            "number_range": "100-199",
            "cluster": cluster("PBXA-CL", "PBXA", n2_state="Up", owner="PBXA-N1"),
            "pbx": pbx(
                ["100", "101", "102"], [("100", "201", "site-b", "answered"), ("101", "102", "local", "busy")]
            ),
        },
        {
            "name": "site-b",
            "role_ip": "127.0.2.50",
            "number_range": "200-299",
            "cluster": cluster("PBXB-CL", "PBXB", n2_state="Down", owner="PBXB-N1"),
            "pbx": pbx(["201"], [("100", "201", "site-a", "answered")]),
        },
    ]
