# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the status report shows, computed from what ``cluster_info`` and ``pbxd`` return.

Pure: the templates (the ``status_report`` role's templates) only lay out the view built here, so
every verdict (is this node healthy, is quorum at risk, is the PBX reachable) is decided and
tested in one place, and the HTML page and its Markdown twin cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# WSFC states (Get-ClusterNode, Get-ClusterGroup, Get-ClusterResource) and how they look.
_GOOD = {"up", "online", "running"}
_BUSY = {"paused", "joining", "pending", "onlinepending", "offlinepending", "partialonline", "unknown"}
_LEVELS = {"critical": "bad", "error": "bad", "warning": "warn", "information": "ok", "verbose": "ok"}
_UNITS = ("B", "KB", "MB", "GB", "TB")
# Groups that are not roles: the core cluster group and the pool of unassigned disks.
_NOT_ROLES = {"Cluster", "AvailableStorage"}


def tone(state: Any) -> str:
    """``ok``, ``warn`` or ``bad``: the colour a state gets on the page."""
    text = str(state or "").replace(" ", "").lower()
    if text in _GOOD:
        return "ok"
    if text in _BUSY:
        return "warn"
    return "bad"


def human_size(size: Any) -> str:
    """Bytes as Windows Explorer shows them (binary units, one decimal below 100)."""
    if not isinstance(size, int | float) or isinstance(size, bool) or size < 0:
        return "?"
    value, unit = float(size), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{value:.1f} {_UNITS[unit]}" if value < 100 and unit else f"{value:.0f} {_UNITS[unit]}"


def _text(mapping: Mapping[str, Any], *keys: str, default: str = "") -> str:
    for key in keys:
        value = mapping.get(key)
        if value not in (None, ""):
            return str(value)
    return default


def short_time(value: str) -> str:
    """``2026-12-01T22:19:31.592920+00:00`` -> ``2026-12-01 22:19:31``: what a person reads."""
    return value[:19].replace("T", " ") if len(value) >= 19 and value[10:11] == "T" else value


def _node_view(node: Mapping[str, Any], roles: list[dict[str, Any]]) -> dict[str, Any]:
    name = _text(node, "name")
    state = _text(node, "state", default="Unknown")
    return {
        "name": name,
        "state": state,
        "tone": tone(state),
        "roles": [role["name"] for role in roles if role["owner"].lower() == name.lower()],
    }


def _resource_view(resource: Mapping[str, Any]) -> dict[str, Any]:
    state = _text(resource, "state", default="Unknown")
    return {
        "name": _text(resource, "name"),
        "type": _text(resource, "resource_type"),
        "state": state,
        "tone": tone(state),
    }


def _role_view(group: Mapping[str, Any], resources: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    state = _text(group, "state", default="Unknown")
    return {
        "name": _text(group, "name"),
        "owner": _text(group, "owner_node", default="none"),
        "state": state,
        "tone": tone(state),
        "resources": [
            _resource_view(resources.get(str(name).casefold(), {"name": name}))
            for name in group.get("resources") or []
        ],
    }


def _disk_view(disk: Mapping[str, Any], witness: str, volumes: Mapping[str, Any]) -> dict[str, Any]:
    """A Physical Disk resource; its size and free space when the report was given its volume."""
    name = _text(disk, "name")
    volume: Mapping[str, Any] = volumes.get(name) or {}
    size, free = volume.get("size"), volume.get("free_space")
    used_pct = None
    if isinstance(size, int | float) and isinstance(free, int | float) and size > 0:
        used_pct = max(0, min(100, round(100 * (size - free) / size)))
    state = _text(disk, "state", default="Unknown")
    nearly_full = used_pct is not None and used_pct >= 90
    return {
        "name": name,
        "state": state,
        "tone": "warn" if nearly_full and tone(state) == "ok" else tone(state),
        "owner": _text(disk, "owner_node", default="none"),
        "group": _text(disk, "owner_group"),
        "size": human_size(size) if size is not None else "",
        "free": human_size(free) if free is not None else "",
        "used_pct": used_pct,
        "witness": bool(witness) and name.casefold() == witness.casefold(),
    }


def _quorum_view(
    quorum: Mapping[str, Any], nodes: list[dict[str, Any]], disks: list[dict[str, Any]]
) -> dict[str, Any]:
    """Votes as node majority with an optional witness counts them (wsfc-behaviour.md 3.4).

    Dynamic quorum can keep a cluster running with fewer votes after failures one at a time;
    the verdict is the static count, which is what one more failure risks."""
    kind = _text(quorum, "quorum_type", default="Unknown")
    witness_name = _text(quorum, "witness")
    witness = next((d for d in disks if d["witness"]), None)
    votes_total = len(nodes) + (1 if witness_name else 0)
    votes_up = sum(1 for n in nodes if n["tone"] == "ok") + (1 if witness and witness["tone"] == "ok" else 0)
    needed = votes_total // 2 + 1
    if votes_up < needed:
        verdict, quorum_tone = "lost", "bad"
    elif votes_up == needed and votes_total > 1:
        verdict, quorum_tone = "at risk: one more failure loses it", "warn"
    else:
        verdict, quorum_tone = "healthy", "ok"
    return {
        "type": kind,
        "resource": witness_name or "none",
        "votes_up": votes_up,
        "votes_total": votes_total,
        "needed": needed,
        "verdict": verdict,
        "tone": quorum_tone,
    }


def _event_view(event: Mapping[str, Any]) -> dict[str, Any]:
    level = _text(event, "level", default="Information")
    return {
        "time": short_time(_text(event, "time")),
        "level": level,
        "tone": _LEVELS.get(level.lower(), "warn"),
        "node": _text(event, "node"),
        "id": _text(event, "event_id"),
        "message": _text(event, "message"),
    }


def _pbx_view(pbx: Mapping[str, Any] | None) -> dict[str, Any]:
    if not pbx:
        return {
            "reachable": False,
            "tone": "bad",
            "registrations": [],
            "calls": [],
            "active_calls": 0,
            "error": "no data",
        }
    registrations = [
        {
            "number": _text(r, "aor", "number"),
            "contact": _text(r, "contact"),
            "user_agent": _text(r, "user_agent", default="-"),
            "expires": short_time(_text(r, "expires")),
        }
        for r in pbx.get("registrations") or []
    ]
    calls = [
        {
            "start": short_time(_text(c, "start")),
            "caller": _text(c, "caller"),
            "callee": _text(c, "callee"),
            "route": _text(c, "route").removeprefix("trunk:"),
            "result": _text(c, "disposition", default="in progress"),
            "tone": {"answered": "ok", "": "warn", "in progress": "warn"}.get(_text(c, "disposition"), "bad"),
            "seconds": "" if c.get("duration") is None else f"{float(c['duration']):.0f}",
        }
        for c in pbx.get("calls") or []
    ]
    stats = pbx.get("stats") or {}
    error = _text(pbx, "error")
    return {
        "reachable": not error,
        "tone": "bad" if error else "ok",
        "error": error,
        "registrations": registrations,
        "registered_count": int(stats.get("registrations", len(registrations)) or 0),
        "extensions": stats.get("extensions"),
        "active_calls": int(stats.get("active_calls", 0) or 0),
        "calls": calls,
        "answered": sum(1 for c in calls if c["result"] == "answered"),
        "failed": sum(1 for c in calls if c["tone"] == "bad"),
    }


def site_view(site: Mapping[str, Any]) -> dict[str, Any]:
    """One site: ``cluster`` is the ``state`` that ``pbxops.wsfc.cluster_info`` returned."""
    cluster: Mapping[str, Any] = site.get("cluster") or {}
    quorum_raw: Mapping[str, Any] = cluster.get("quorum") or {}
    resources = {str(r.get("name", "")).casefold(): r for r in cluster.get("resources") or []}
    roles = [
        _role_view(g, resources) for g in cluster.get("groups") or [] if g.get("group_type") not in _NOT_ROLES
    ]
    nodes = [_node_view(n, roles) for n in cluster.get("nodes") or []]
    witness = _text(quorum_raw, "witness")
    volumes: Mapping[str, Any] = site.get("volumes") or {}
    disks = [
        _disk_view(r, witness, volumes)
        for r in resources.values()
        if r.get("resource_type") == "Physical Disk"
    ]
    quorum = _quorum_view(quorum_raw, nodes, disks)
    pbx = _pbx_view(site.get("pbx"))
    events = sorted(
        (_event_view(e) for e in cluster.get("events") or []), key=lambda e: e["time"], reverse=True
    )
    tones = [quorum["tone"], pbx["tone"], *(n["tone"] for n in nodes), *(r["tone"] for r in roles)]
    tones += [d["tone"] for d in disks]
    health = "bad" if "bad" in tones or not cluster.get("exists") else "warn" if "warn" in tones else "ok"
    return {
        "name": _text(site, "name"),
        "cluster": _text(cluster, "name", default="?"),
        "role_ip": _text(site, "role_ip"),
        "number_range": _text(site, "number_range"),
        "error": _text(site, "error") or ("" if cluster.get("exists") else _text(cluster, "reason")),
        "health": health,
        "nodes": nodes,
        "roles": roles,
        "disks": disks,
        "networks": [
            {
                "name": _text(n, "name"),
                "role": _text(n, "role"),
                "subnet": _text(n, "subnet"),
                "state": _text(n, "state", default="Unknown"),
                "tone": tone(_text(n, "state")),
            }
            for n in cluster.get("networks") or []
        ],
        "quorum": quorum,
        "events": events[:20],
        "events_error": _text(site, "events_error"),
        "pbx": pbx,
    }


def status_view(sites: list[Mapping[str, Any]], generated: str) -> dict[str, Any]:
    views = [site_view(site) for site in sites]
    healths = [v["health"] for v in views]
    overall = "bad" if "bad" in healths or not views else "warn" if "warn" in healths else "ok"
    headline = {
        "ok": "Every site is healthy",
        "warn": "Running, with warnings",
        "bad": "Attention needed",
    }[overall]
    return {"generated": generated, "overall": overall, "headline": headline, "sites": views}
