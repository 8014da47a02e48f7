"""The cluster service of one lab node, as a real process: ``python -m wsfclab.cluster.service
--state-dir DIR --node NAME`` (the service controller runs it as ClusSvc).

What it does, in one loop:
- **Heartbeats.** Every SameSubnetDelay it sends a UDP datagram from its address on each cluster
  network (Role not None) to each peer's address on that network, and it listens on the same
  sockets; a peer is reachable while it was heard on some network within SameSubnetDelay x
  SameSubnetThreshold. The ports are chosen by the kernel and published in the cluster database
  (Windows uses UDP 3343 on every node; the lab's nodes share one host, and two labs may run at
  once). A cut made by ``wsfclab node isolate`` drops the datagrams at both ends.
- **Reservations.** It holds the kernel locks of the disks and groups it owns (``locks``) and
  answers the requests other processes send on its control socket, at once, whatever else it does.
- **Steps.** Every heartbeat, and at once when poked or when a monitored process exits, it takes the
  lab's lock without blocking its heartbeats, observes, lets ``model.decide`` rule, and carries the
  effects out through ``runtime``.

It reads the heartbeat settings without the lab's lock (the state file is replaced atomically), so
a long cmdlet holding the lock never silences it. It reports readiness to the service controller
through ``$NOTIFY_SOCKET`` ("READY=1") when one is given. SIGTERM stops it cleanly; SIGKILL (a node
crash) stops it at once, and the kernel drops its reservations.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsfclab import processes, services
from wsfclab.cluster import dependencies, events, locks, model, registry, runtime
from wsfclab.cluster.database import GENERIC_SERVICE, PHYSICAL_DISK, ClusterDatabase
from wsfclab.cluster.watch import StateWatch
from wsfclab.errors import LabError
from wsfclab.lab import Lab
from wsfclab.state import LabState, to_json

LOCK_RETRY = 0.02  # seconds between attempts to take the lab's lock
STOP_POLL = 1.0  # seconds at most before the heartbeat thread sees that it should stop


@dataclass
class HeartbeatConfig:
    cluster_id: str = ""
    delay: float = 1.0  # seconds
    threshold: int = 10
    own: dict[str, str] = field(default_factory=dict)  # network -> this node's address on it
    peers: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)  # network -> (node, ip, port)
    cut: set[tuple[str, str | None]] = field(default_factory=set)  # (node, network or None)

    @property
    def timeout(self) -> float:
        return self.delay * self.threshold

    def is_cut(self, node: str, network: str) -> bool:
        return (node, None) in self.cut or (node, network) in self.cut


def read_config(lab: Lab, node: str) -> HeartbeatConfig | None:
    """The heartbeat settings from the state file, read without the lab's lock."""
    try:
        data = json.loads((lab.state_dir / "state.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    cluster = data.get("cluster")
    if not cluster or node not in cluster.get("nodes", {}):
        return None
    roles = {name: net["role"] for name, net in cluster["networks"].items()}
    config = HeartbeatConfig(
        cluster_id=cluster["id"],
        delay=cluster["properties"]["same_subnet_delay"] / 1000,
        threshold=cluster["properties"]["same_subnet_threshold"],
        cut={(c["node"], c["network"]) for c in cluster.get("isolations", [])},
    )
    for interface in cluster["interfaces"]:
        if roles.get(interface["network"], "None") == "None":
            continue
        if interface["node"] == node:
            config.own[interface["network"]] = interface["address"]
        elif interface["heartbeat_port"]:
            config.peers.setdefault(interface["network"], []).append(
                (interface["node"], interface["address"], interface["heartbeat_port"])
            )
    return config


class Heartbeats(threading.Thread):
    """Sends and receives the heartbeats on its own thread, so that a step that starts a service (and
    waits for it) never silences the node, as the cluster network driver runs apart from the
    resource monitors on Windows."""

    def __init__(self, lab: Lab, node: str) -> None:
        super().__init__(name="heartbeats", daemon=True)
        self.lab = lab
        self.node = node
        self.config = HeartbeatConfig()
        self.sockets: dict[str, socket.socket] = {}  # network -> bound UDP socket
        self.heard: dict[str, float] = {}  # peer -> monotonic time last heard
        self.heard_on: dict[tuple[str, str], float] = {}  # (peer, network) -> monotonic time last heard
        self.stopping = threading.Event()
        self.grace_until = 0.0  # after a settings change, the old detection interval still applies
        self.old_timeout = 0.0

    def timeout(self) -> float:
        """The detection interval in force: when SameSubnetDelay or Threshold was just lowered, peers
        still beating at the old pace are not lost before the old interval has passed."""
        if time.monotonic() < self.grace_until:
            return max(self.config.timeout, self.old_timeout)
        return self.config.timeout

    def ports(self) -> dict[str, int]:
        return {network: sock.getsockname()[1] for network, sock in list(self.sockets.items())}

    def run(self) -> None:
        watch = StateWatch(self.lab.state_dir)
        try:
            self._read_settings()
            next_beat = time.monotonic()
            while not self.stopping.is_set() and not watch.gone:
                now = time.monotonic()
                if now >= next_beat:
                    self._send()
                    next_beat = now + self.config.delay
                wait = max(0.0, min(next_beat - time.monotonic(), STOP_POLL))
                by_fd = {sock.fileno(): sock for sock in self.sockets.values()}
                readable, _, _ = select.select([watch.fd, *by_fd], [], [], wait)
                for fd in readable:
                    if fd != watch.fd:
                        self._receive(by_fd[fd])
                    elif watch.changes() and self._read_settings():
                        next_beat = min(next_beat, time.monotonic() + self.config.delay)
        finally:
            watch.close()

    def _read_settings(self) -> bool:
        """Re-read the settings from the state file (it was replaced); True when they could be."""
        config = read_config(self.lab, self.node)
        if config is None:
            return False
        if self.config.cluster_id and config.timeout < self.config.timeout:
            self.old_timeout = self.config.timeout
            self.grace_until = time.monotonic() + self.config.timeout
        self._apply(config)
        return True

    def _apply(self, config: HeartbeatConfig) -> None:
        self.config = config
        for network, address in config.own.items():
            if network in self.sockets:
                continue
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((address, 0))
            except OSError:
                sock.close()
                continue
            sock.setblocking(False)
            self.sockets[network] = sock
        for network in [n for n in self.sockets if n not in config.own]:
            self.sockets.pop(network).close()

    def _send(self) -> None:
        for network, sock in list(self.sockets.items()):
            if self.config.is_cut(self.node, network):
                continue
            message = json.dumps({"c": self.config.cluster_id, "n": self.node, "net": network}).encode()
            for peer, address, port in self.config.peers.get(network, []):
                if self.config.is_cut(peer, network):
                    continue
                with contextlib.suppress(OSError):
                    sock.sendto(message, (address, port))

    def _receive(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(4096)
            except OSError:
                return
            try:
                beat = json.loads(data)
            except json.JSONDecodeError:
                continue
            network, peer = beat.get("net"), beat.get("n")
            if (
                beat.get("c") != self.config.cluster_id
                or not isinstance(peer, str)
                or not isinstance(network, str)
            ):
                continue
            if self.config.is_cut(self.node, network) or self.config.is_cut(peer, network):
                continue
            now = time.monotonic()
            self.heard[peer] = now
            self.heard_on[(peer, network)] = now


class ClusterService:
    def __init__(self, lab: Lab, node: str) -> None:
        self.lab = lab
        self.node = node.upper()
        self.table = locks.LockTable(lab.state_dir)
        runtime.LOCAL = runtime.LocalLocks(self.node, self.table)
        self.control = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.control.bind(locks.address(lab.state_dir, self.node))
        self.beats = Heartbeats(lab, self.node)
        self.started = time.monotonic()
        self.active = False
        self.stopping = False
        self.want_step = True
        self.watched: dict[int, int] = {}  # pid -> pidfd of a monitored service process
        self.snapshot: Snapshot | None = None
        self.loads = 0  # how many times the state was read from the file
        self.checkpointed: tuple[object, int] | None = None  # (registry file, loads) at the last copy

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._on_term)
        self.beats.start()
        _notify_ready()
        next_step = time.monotonic()
        while not self.stopping:
            now = time.monotonic()
            if now >= next_step:
                self.want_step = True
                next_step = now + self.beats.config.delay
            if self.want_step and self._try_step():
                self.want_step = False
            wait = max(0.0, next_step - time.monotonic())
            if self.want_step:
                wait = min(wait, LOCK_RETRY)
            self._serve(wait)
        self.beats.stopping.set()
        self.table.release_all()

    def _on_term(self, _signum: int, _frame: object) -> None:
        self.stopping = True

    def _serve(self, timeout: float) -> None:
        watched = set(self.watched.values())
        try:
            readable, _, _ = select.select([self.control.fileno(), *watched], [], [], timeout)
        except InterruptedError:
            return
        for fd in readable:
            if fd == self.control.fileno():
                self._answer()
            else:
                self.want_step = True  # a monitored process exited
                self._unwatch_fd(fd)

    def _answer(self) -> None:
        try:
            data, sender = self.control.recvfrom(65536)
            request: dict[str, Any] = json.loads(data)
        except (OSError, json.JSONDecodeError):
            return
        op = request.get("op")
        reply: dict[str, Any] = {"ok": True}
        if op == "acquire":
            reply["ok"] = self.table.acquire(str(request["lock"]))
        elif op == "release":
            self.table.release(str(request["lock"]))
        elif op == "held":
            reply["held"] = sorted(self.table.held())
        elif op == "poke":
            self.want_step = True
            return
        if sender:
            with contextlib.suppress(OSError):
                self.control.sendto(json.dumps(reply).encode(), sender)

    # -- a step --------------------------------------------------------------------------

    def _try_step(self) -> bool:
        """Take the lab's lock without waiting; run one step under it. False when it is busy."""
        path = self.lab.state_dir / "lock"
        try:
            handle = open(path, "a+b")  # noqa: SIM115 - closed below, whatever happens
        except FileNotFoundError:
            self._lab_gone()
            return True
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            try:
                self._step()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return True

    def _step(self) -> None:
        """One round of observe, decide, act. The state is read again only when another process
        saved it, and written only when this round changed it: a quiet cluster costs a stat, a look
        at its processes and a ruling of the model per heartbeat."""
        state = self._current_state()
        if state is None:
            return
        try:
            running = _running_processes(state)
            processes.refresh(state)
            changed = _running_processes(state) != running
            db = state.cluster
            generation = db.generation if db is not None else 0
            if db is None or self.node not in db.nodes:
                self._leave()
            else:
                self._publish_ports(db)
                changed = self._decide(state, db) or changed or db.generation != generation
            if changed:
                self._save_if_changed(state)
        except BaseException:
            self.snapshot = None  # half carried out: read the file again next round
            raise

    def _current_state(self) -> LabState | None:
        """The lab's state under the lock: this process's copy while the file is the one it last read
        or wrote, else the file's."""
        try:
            key = _file_key(self.lab.state_dir / "state.json")
        except FileNotFoundError:
            self._lab_gone()
            return None
        if self.snapshot is not None and self.snapshot.key == key:
            return self.snapshot.state
        try:
            state = self.lab._load()
        except LabError:
            self.snapshot = None
            return None
        self.snapshot = Snapshot(key, state, _canonical(state))
        self.loads += 1
        return state

    def _save_if_changed(self, state: LabState) -> None:
        text = _canonical(state)
        if self.snapshot is not None and text == self.snapshot.text:
            return
        self.lab._save(state)
        self.snapshot = Snapshot(_file_key(self.lab.state_dir / "state.json"), state, text)

    def _publish_ports(self, db: ClusterDatabase) -> None:
        ports = self.beats.ports()
        for interface in db.interfaces:
            if interface.node != self.node:
                continue
            port = ports.get(interface.network, 0)
            if interface.heartbeat_port != port:
                interface.heartbeat_port = port
                db.touch()

    def _observe(self, state: LabState, db: ClusterDatabase) -> model.Observation:
        now = time.monotonic()
        delay, timeout = self.beats.config.delay, self.beats.timeout()
        heard = dict(self.beats.heard)
        reachable = frozenset(p for p, t in heard.items() if now - t < timeout and p in db.nodes)
        fading = frozenset(p for p in reachable if now - heard[p] >= timeout - delay)
        live_peers = {n for n, v in db.nodes.items() if n != self.node and v.state in model.LIVE_STATES}
        joining = now - self.started < timeout and not live_peers <= reachable
        dead = frozenset(
            r.name
            for r in db.resources.values()
            if r.resource_type == GENERIC_SERVICE
            and r.state == "Online"
            and db.groups[r.owner_group].owner_node == self.node
            and not runtime.service_alive(state, r, self.node)
        )
        by_network: dict[str, set[str]] = {}
        for (peer, network), heard_at in dict(self.beats.heard_on).items():
            if now - heard_at < timeout:
                by_network.setdefault(network, set()).add(peer)
        return model.Observation(
            node=self.node,
            now=time.time(),
            reachable=reachable,
            heard_on={network: frozenset(peers) for network, peers in by_network.items()},
            fading=fading,
            joining=joining,
            witness_held=self._witness_held(state, db, reachable),
            dead_services=dead,
            active=self.active,
        )

    def _witness_held(self, state: LabState, db: ClusterDatabase, reachable: frozenset[str]) -> bool:
        """The witness vote is ours when we hold its reservation, when a peer we hear holds it, or
        when we can take it now (its holder is gone: arbitration)."""
        name = db.quorum.witness_resource
        res = db.resources.get(name) if name else None
        if res is None:
            return False
        disk = state.disks.get(str(res.private.get("DiskPath", "")))
        if disk is None:
            return False
        lock = locks.disk_lock(disk.key)
        if lock in self.table.held():
            return True
        if disk.owner_node in reachable and res.state == "Online":
            return True
        return self.table.acquire(lock)

    def _decide(self, state: LabState, db: ClusterDatabase) -> bool:
        """Rule and carry the effects out; True when there were any (they may have changed the
        state without touching the database: services started or stopped)."""
        self._forget_stale_online(db)
        observation = self._observe(state, db)
        effects = model.decide(db, observation)
        if effects:
            _trace(f"partition {sorted(model.partition_of(db, observation))} effects {effects}")
        for effect in effects:
            self._carry_out(state, db, effect)
        if self.active:
            self._drop_strays(state, db)
            self._save_checkpoints(db)
        self._watch(state, db)
        return bool(effects)

    def _carry_out(self, state: LabState, db: ClusterDatabase, effect: model.Effect) -> None:
        match effect:
            case model.Log(event_id, data):
                events.record(self.lab, self.node, event_id, **data)
            case model.SetActive(active):
                self.active = active
            case model.OnlineGroup(name):
                group = db.groups.get(name)
                if group is not None and group.owner_node == self.node:
                    runtime.online_group_here(self.lab, state, db, group, self.node)
            case model.OfflineGroup(name):
                group = db.groups.get(name)
                if group is not None:
                    self._offline_here(state, db, name)
            case model.TerminateResource(name):
                res = db.resources.get(name)
                if res is not None:
                    for other in [*dependencies.dependents_of(db, name), name]:
                        runtime.offline_resource(self.lab, state, db.resources[other], self.node)
                        if db.resources[other].state != "Failed":
                            db.resources[other].state = "Offline"
                    runtime.refresh_group_state(db, db.groups[res.owner_group])
            case model.OfflineEverything():
                for name in list(db.groups):
                    self._offline_here(state, db, name)
                self.table.release_all()
            case model.Poke(node):
                runtime.poke(self.lab, node)

    def _offline_here(self, state: LabState, db: ClusterDatabase, name: str) -> None:
        """Take the group's resources offline on this node. If the database gives the group to
        another node meanwhile, its states are that node's to report (Pending while it moves)."""
        group = db.groups[name]
        mine = self.table.held() & {locks.group_lock(group.id)}
        if not mine and group.owner_node != self.node:
            return
        saved = {r.name: r.state for r in db.resources_of(name)}
        for res_name in reversed(dependencies.online_order(db, name)):
            res = db.resources[res_name]
            runtime.offline_resource(self.lab, state, res, self.node)
        self.table.release(locks.group_lock(group.id))
        if group.owner_node == self.node:
            for res in db.resources_of(name):
                if res.state != "Failed":
                    res.state = "Offline"
            runtime.refresh_group_state(db, group)
        else:
            for res in db.resources_of(name):
                res.state = saved[res.name]
        db.touch()

    def _forget_stale_online(self, db: ClusterDatabase) -> None:
        """Resources the database calls online on this node while this process does not hold their
        group (the whole cluster went down, and this service started again) are offline in truth;
        the model then brings the groups the cluster keeps online back."""
        for group in db.groups.values():
            if group.owner_node != self.node or locks.group_lock(group.id) in self.table.held():
                continue
            for res in db.resources_of(group.name):
                if res.state in ("Online", "OfflinePending"):
                    res.state = "Offline"
                    db.touch()

    def _drop_strays(self, state: LabState, db: ClusterDatabase) -> None:
        """Reservations of groups this node does not own (an arbitration won for the witness, a
        role that failed over while this node was cut off) are released."""
        by_lock = {locks.group_lock(g.id): g for g in db.groups.values()}
        disk_groups = {}
        for res in db.resources.values():
            if res.resource_type == PHYSICAL_DISK:
                disk_groups[locks.disk_lock(str(res.private.get("DiskPath", "")))] = db.groups.get(
                    res.owner_group
                )
        for lock in self.table.held():
            group = by_lock.get(lock)
            if group is not None and group.owner_node != self.node:
                self._offline_here(state, db, group.name)
                continue
            owner_group = disk_groups.get(lock)
            if lock in disk_groups and (owner_group is None or owner_group.owner_node != self.node):
                self.table.release(lock)

    def _save_checkpoints(self, db: ClusterDatabase) -> None:
        """Copy the checkpointed keys of the roles online here into the database, when this node's
        registry changed or the database was read again since the last copy."""
        try:
            hive: tuple[int, int, int, int] | None = _file_key(registry.hive_path(self.lab, self.node))
        except FileNotFoundError:
            hive = None
        mark = (hive, self.loads)
        if mark == self.checkpointed:
            return
        for res in db.resources.values():
            group = db.groups.get(res.owner_group)
            mine = group is not None and group.owner_node == self.node
            if (
                res.checkpoints
                and res.state == "Online"
                and mine
                and runtime.save_checkpoints(self.lab, res, self.node)
            ):
                db.touch()
        self.checkpointed = mark

    def _watch(self, state: LabState, db: ClusterDatabase) -> None:
        """Follow the processes of the Generic Services online here, so that their exit wakes us."""
        pids = set()
        host = state.nodes[self.node]
        for res in db.resources.values():
            if res.resource_type != GENERIC_SERVICE or res.state != "Online":
                continue
            service = services.find_service(host, str(res.private.get("ServiceName", "")))
            if service is not None and service.pid is not None:
                pids.add(service.pid)
        for pid in [p for p in self.watched if p not in pids]:
            os.close(self.watched.pop(pid))
        for pid in pids - set(self.watched):
            with contextlib.suppress(OSError):
                self.watched[pid] = os.pidfd_open(pid)

    def _unwatch_fd(self, fd: int) -> None:
        for pid, watched in list(self.watched.items()):
            if watched == fd:
                os.close(self.watched.pop(pid))

    def _lab_gone(self) -> None:
        """The state folder was removed: there is no lab left to serve, and nobody who could stop
        this node's processes. Stop the services followed here and end."""
        _trace("the lab's state is gone: stopping")
        for pid in self.watched:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)  # the launcher made each service a group leader
        # A service started moments ago may not be watched yet, nor in the last state this
        # process read: every lab service runs in a folder of the state dir (its node's
        # C:\Windows\System32), so a process whose working folder was in it is one of them.
        for pid in _processes_working_in(self.lab.state_dir):
            if pid != os.getpid():
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
        self.snapshot = None
        self.stopping = True

    def _leave(self) -> None:
        """No cluster, or this node was evicted: hold nothing."""
        self.table.release_all()
        self.active = False


def _processes_working_in(folder: Path) -> list[int]:
    """PIDs whose working folder is ``folder`` or below it, removed or not (Linux /proc)."""
    prefix = str(folder)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd").removesuffix(" (deleted)")
        except OSError:
            continue
        if cwd == prefix or cwd.startswith(prefix + os.sep):
            found.append(int(entry.name))
    return found


@dataclass
class Snapshot:
    """The state as this process last read or wrote it: the file's identity then, the object, and
    its canonical text (to tell whether a round changed it)."""

    key: tuple[int, int, int, int]
    state: LabState
    text: str


def _file_key(path: Path) -> tuple[int, int, int, int]:
    """What changes whenever the file is replaced or written (it is replaced atomically on save)."""
    info = path.stat()
    return (info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size)


def _canonical(state: LabState) -> str:
    return json.dumps(to_json(state), sort_keys=True)


def _running_processes(state: LabState) -> list[int | None]:
    return [service.pid for node in state.nodes.values() for service in node.services.values()]


def _trace(text: str) -> None:
    """One line of the service's own trace (its log under logs/<NODE>/ClusSvc.log)."""
    print(f"{time.strftime('%Y/%m/%d-%H:%M:%S')} {text}", flush=True)


def _notify_ready() -> None:
    """Tell the service controller the service runs (the systemd notify protocol)."""
    target = os.environ.get("NOTIFY_SOCKET")
    if not target:
        return
    address = "\0" + target[1:] if target.startswith("@") else target
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, contextlib.suppress(OSError):
        sock.sendto(b"READY=1", address)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clussvc", description="The cluster service of one lab node.")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--node", required=True)
    args = parser.parse_args(argv)
    ClusterService(Lab(args.state_dir), args.node).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
