"""Disk reservations and group ownership as kernel locks, and how other processes ask for them.

A clustered disk on Windows is reserved by its owner with SCSI-3 persistent reservations; when the
owner dies, the survivors break the reservation. The lab's stand-in is an exclusive ``flock`` on
``cluster/locks/disk-<key>.lock`` in the state dir, held by the owner node's cluster service
process: the kernel lets one process hold it at a time and releases it the instant that process
dies, which is exactly the guarantee arbitration needs. A group's resources are online on a node
only while that node's cluster service holds ``group-<id>.lock`` as well (see the guide's
departures).

Only a cluster service process holds locks. Any other process (a cmdlet in an ansible fork, the
``wsfclab`` command) asks the node's cluster service over a datagram socket in the abstract
namespace (``\\0wsfclab-<state dir hash>-<NODE>``): ``acquire``, ``release``, ``held``, ``poke``. A
node whose cluster service is not running holds nothing and answers nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import uuid
from pathlib import Path
from typing import Any

RPC_TIMEOUT = 3.0


def lock_path(state_dir: Path, name: str) -> Path:
    return state_dir / "cluster" / "locks" / f"{name}.lock"


def disk_lock(disk_key: str) -> str:
    return f"disk-{disk_key}"


def group_lock(group_id: str) -> str:
    return f"group-{group_id}"


class LockTable:
    """The locks this process holds, by name (the cluster service's side)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._held: dict[str, int] = {}

    def acquire(self, name: str) -> bool:
        """Take the lock without waiting; True when this process holds it now."""
        if name in self._held:
            return True
        path = lock_path(self.state_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._held[name] = fd
        return True

    def release(self, name: str) -> None:
        fd = self._held.pop(name, None)
        if fd is not None:
            os.close(fd)  # closing the only descriptor drops the flock

    def release_all(self) -> None:
        for name in list(self._held):
            self.release(name)

    def held(self) -> set[str]:
        return set(self._held)


def address(state_dir: Path, node: str) -> bytes:
    digest = hashlib.sha256(str(state_dir).encode()).hexdigest()[:16]
    return f"\0wsfclab-{digest}-{node.upper()}".encode()


def call(
    state_dir: Path, node: str, request: dict[str, Any], timeout: float = RPC_TIMEOUT
) -> dict[str, Any] | None:
    """Send ``request`` to the node's cluster service and wait for its answer; None when no service
    listens (the node's cluster service is not running) or it does not answer within ``timeout``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(f"\0wsfclab-client-{uuid.uuid4().hex}".encode())
        sock.settimeout(timeout)
        try:
            sock.sendto(json.dumps(request).encode(), address(state_dir, node))
            data = sock.recv(65536)
        except (ConnectionRefusedError, FileNotFoundError, TimeoutError, OSError):
            return None
    answer: dict[str, Any] = json.loads(data)
    return answer


def notify(state_dir: Path, node: str, request: dict[str, Any]) -> None:
    """Send without waiting for an answer (a poke)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, contextlib.suppress(OSError):
        sock.sendto(json.dumps(request).encode(), address(state_dir, node))
