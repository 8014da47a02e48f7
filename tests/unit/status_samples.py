"""Two sites as ``playbooks/status.yml`` reads them: site-a healthy, site-b with a node down."""

from __future__ import annotations

from typing import Any

GB = 1024**3


def cluster(
    name: str, prefix: str, *, n2_state: str, owner: str, witness_state: str = "Online"
) -> dict[str, Any]:
    """The ``state`` of ``pbxops.wsfc.cluster_info`` (plugins/plugin_utils/cluster_info_reader.py)."""

    def resource(name: str, kind: str, group: str, node: str, state: str = "Online") -> dict[str, Any]:
        return {"name": name, "state": state, "owner_group": group, "owner_node": node, "resource_type": kind}

    return {
        "exists": True,
        "name": name,
        "domain": "pbx.lab",
        "nodes": [
            {"name": f"{prefix}-N1", "state": "Up", "id": "1"},
            {"name": f"{prefix}-N2", "state": n2_state, "id": "2"},
        ],
        "networks": [
            {
                "name": "Cluster Network 1",
                "role": "cluster_and_client",
                "subnet": "127.0.1.0/24",
                "state": "Up",
            },
            {"name": "Cluster Network 2", "role": "cluster", "subnet": "127.0.11.0/24", "state": "Up"},
        ],
        "quorum": {"quorum_type": "NodeAndDiskMajority", "witness": "Cluster Disk 1"},
        "groups": [
            {
                "name": "Cluster Group",
                "owner_node": f"{prefix}-N1",
                "state": "Online",
                "group_type": "Cluster",
                "resources": ["Cluster Name", "Cluster IP Address", "Cluster Disk 1"],
            },
            {
                "name": "PBX",
                "owner_node": owner,
                "state": "Online",
                "group_type": "GenericService",
                "resources": ["PBX", "IP Address 127.0.1.50", "pbxd", "Cluster Disk 2"],
            },
        ],
        "resources": [
            resource("Cluster Name", "Network Name", "Cluster Group", f"{prefix}-N1"),
            resource("Cluster IP Address", "IP Address", "Cluster Group", f"{prefix}-N1"),
            resource("Cluster Disk 1", "Physical Disk", "Cluster Group", f"{prefix}-N1", witness_state),
            resource("PBX", "Network Name", "PBX", owner),
            resource("IP Address 127.0.1.50", "IP Address", "PBX", owner),
            resource("pbxd", "Generic Service", "PBX", owner),
            resource("Cluster Disk 2", "Physical Disk", "PBX", owner),
        ],
        "events": [
            {
                "time": "2026-12-01T21:00:05Z",
                "level": "Information",
                "event_id": 1201,
                "node": f"{prefix}-N1",
                "message": "The Cluster service successfully brought the clustered role 'PBX' online.",
            },
            {
                "time": "2026-12-01T20:59:58Z",
                "level": "Error",
                "event_id": 1135,
                "node": f"{prefix}-N1",
                "message": f"Cluster node '{prefix}-N2' was removed from the active failover cluster "
                "membership.",
            },
        ],
    }


VOLUMES = {
    "Cluster Disk 1": {"size": 1 * GB, "free_space": GB // 2},
    "Cluster Disk 2": {"size": 20 * GB, "free_space": 19 * GB},
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
            "volumes": VOLUMES,
            "pbx": pbx(
                ["100", "101", "102"], [("100", "201", "site-b", "answered"), ("101", "102", "local", "busy")]
            ),
        },
        {
            "name": "site-b",
            "role_ip": "127.0.2.50",
            "number_range": "200-299",
            "cluster": cluster("PBXB-CL", "PBXB", n2_state="Down", owner="PBXB-N1"),
            "volumes": VOLUMES,
            "pbx": pbx(["201"], [("100", "201", "site-a", "answered")]),
        },
    ]
