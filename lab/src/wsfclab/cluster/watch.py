"""Wake a process when the lab's state file is replaced, through Linux inotify (the lab runs on Linux
only), so that a cluster service at rest never polls the file.

The lab saves its state by writing ``state.tmp`` and renaming it over ``state.json``: the watch on the
state folder reports that rename (IN_MOVED_TO), and the folder's own removal or rename.
"""

from __future__ import annotations

import ctypes
import os
import struct
from pathlib import Path

IN_MOVED_TO = 0x00000080
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_IGNORED = 0x00008000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)

_libc = ctypes.CDLL(None, use_errno=True)


class StateWatch:
    """A file descriptor to select on; ``changes()`` drains it and says what happened."""

    def __init__(self, state_dir: Path, name: str = "state.json") -> None:
        self.name = name.encode()
        self.fd: int = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_init1: {os.strerror(ctypes.get_errno())}")
        mask = IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF
        if _libc.inotify_add_watch(self.fd, os.fsencode(state_dir), mask) < 0:
            errno = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(errno, f"inotify_add_watch {state_dir}: {os.strerror(errno)}")
        self.gone = False  # the state folder was removed or moved away

    def changes(self) -> bool:
        """Read the pending events; True when the state file was replaced or the folder went."""
        changed = False
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return changed
            offset = 0
            while offset + _EVENT.size <= len(data):
                _wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0")
                offset += _EVENT.size + length
                if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED):
                    self.gone = changed = True
                elif name == self.name:
                    changed = True

    def close(self) -> None:
        os.close(self.fd)
