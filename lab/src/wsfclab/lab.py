"""The lab handle: one state dir, its lock, its persisted state and its folders.

``Lab.open(state_dir, world_file)`` builds a lab from a world on first use and re-opens it after.
``with lab.session() as state:`` takes an exclusive lock across processes (ansible runs its forks in
parallel), loads the state, refreshes the liveness of the processes it tracks, and saves atomically
(write to a temporary file, then rename) when the block ends normally. An exception leaves the
stored state as it was. ``with lab.released():`` inside a session stores what the session changed so
far and lets other processes (the nodes' cluster services) take the lock meanwhile; the session then
goes on with the state as they left it.

Layout of a state dir:
    state.json              the LabState
    lock                    the flock target
    nodes/<NODE>/C/         the node's C:\\
    disks/<disk>/<n>/       the files of partition n of a disk (one folder per disk)
    logs/<NODE>/<svc>.log   output of the lab's real processes
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from wsfclab import paths, processes
from wsfclab.build import initial_state
from wsfclab.errors import LabError
from wsfclab.state import VERSION, LabState, from_json, to_json
from wsfclab.world import load_world

STATE_FILE = "state.json"
DEFAULT_STATE_DIR = Path(".lab")


class Lab:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(os.path.abspath(state_dir))
        self._held: LabState | None = None  # the state of the session this process is inside
        self._lock_file: BinaryIO | None = None  # the flock handle of that session

    # -- opening and resetting -------------------------------------------------------------

    @classmethod
    def open(cls, state_dir: Path, world_file: Path | None = None) -> Lab:
        lab = cls(state_dir)
        state_path = lab.state_dir / STATE_FILE
        if not state_path.exists():
            if world_file is None:
                raise LabError(
                    f"no lab state in {lab.state_dir}; give a world file (--world FILE) to build the lab"
                )
            lab.reset(world_file)
            return lab
        if world_file is not None:
            world = load_world(world_file)
            with lab._locked():
                stored = lab._load()
            if stored.world_digest != world.digest:
                raise LabError(
                    f"the lab in {lab.state_dir} was built from another world ({stored.world_file}, "
                    f"{stored.world_name!r}); run "
                    f"`wsfclab --state-dir {lab.state_dir} --world {world_file} reset` "
                    "to rebuild it from this one"
                )
        return lab

    def reset(self, world_file: Path | None = None) -> None:
        """Stop every lab process and rebuild the state and folders from the world file."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            old = self._load() if (self.state_dir / STATE_FILE).exists() else None
            if world_file is None:
                if old is None:
                    raise LabError(f"no lab state in {self.state_dir}; give a world file to build the lab")
                world_file = Path(old.world_file)
            world = load_world(world_file)  # validate before anything is stopped or removed
            if old is not None:
                processes.stop_all(old)
            for sub in ("nodes", "disks", "logs"):
                shutil.rmtree(self.state_dir / sub, ignore_errors=True)
            state = initial_state(world, str(Path(os.path.abspath(world_file))))
            self._create_folders(state)
            self._save(state)

    def _create_folders(self, state: LabState) -> None:
        for name in state.nodes:
            root = self.node_root(name)
            for sub in ("Windows/System32", "Windows/Temp", "Program Files", "ProgramData", "Users/Public"):
                (root / sub).mkdir(parents=True, exist_ok=True)
        for disk in state.disks.values():
            (self.state_dir / disk.folder).mkdir(parents=True, exist_ok=True)

    # -- sessions ------------------------------------------------------------------------

    @contextlib.contextmanager
    def session(self) -> Iterator[LabState]:
        if self._held is not None:  # nested use in one process shares the outer session
            yield self._held
            return
        with self._locked():
            state = self._load()
            processes.refresh(state)
            self._held = state
            try:
                yield state
            finally:
                self._held = None
            self._save(state)

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """Inside a session: save its state, release the lock for the block, then take the lock
        again and reload the state into the session's own object (its top-level fields are
        replaced, so look objects up again from the state afterwards)."""
        state, handle = self._held, self._lock_file
        if state is None or handle is None:
            raise LabError("the lab's lock can be released only inside a session that holds it")
        self._save(state)
        fcntl.flock(handle, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_EX)
            fresh = self._load()
            processes.refresh(fresh)
            for field in dataclasses.fields(fresh):
                setattr(state, field.name, getattr(fresh, field.name))

    def peek(self) -> LabState:
        """The stored state, read without the lock (a save replaces the file at once): for watching
        what other processes write, never for changing it."""
        return self._load()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            outer, self._lock_file = self._lock_file, handle
            try:
                yield
            finally:
                self._lock_file = outer
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _load(self) -> LabState:
        path = self.state_dir / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise LabError(
                f"no lab state in {self.state_dir}; build it with "
                f"`wsfclab --state-dir {self.state_dir} --world FILE reset`"
            ) from exc
        except json.JSONDecodeError as exc:
            raise LabError(
                f"{path} is damaged ({exc}); rebuild the lab with "
                f"`wsfclab --state-dir {self.state_dir} reset`"
            ) from exc
        if data.get("version") != VERSION:
            raise LabError(
                f"{path} has state format {data.get('version')}, this wsfclab uses {VERSION}; "
                f"rebuild the lab with `wsfclab --state-dir {self.state_dir} reset`"
            )
        return from_json(LabState, data)

    def _save(self, state: LabState) -> None:
        path = self.state_dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(to_json(state), handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    # -- files ---------------------------------------------------------------------------

    def local(self, relative: str) -> Path:
        """A state-dir relative path (as stored in the state) -> absolute local path."""
        return self.state_dir / relative

    def node_root(self, node: str) -> Path:
        return self.state_dir / "nodes" / node.upper() / "C"

    def resolve_path(self, state: LabState, node: str, path: str) -> Path:
        return paths.resolve(state, self.state_dir, node.upper(), path)

    def windows_path(self, state: LabState, node: str, local_path: Path) -> str:
        return paths.to_windows(state, self.state_dir, node.upper(), local_path)
