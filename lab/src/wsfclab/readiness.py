"""How the lab's service controller learns that a service's program is running.

On Windows the program reports SERVICE_RUNNING to the service control manager, which fails the
start with error 1053 when no report comes within the services pipe timeout (30 s unless
``ServicesPipeTimeout`` says otherwise). A program on Linux has no SCM; the lab speaks the systemd
notification protocol (sd_notify(3)) instead, which any program can speak without knowing about
the lab: ``$NOTIFY_SOCKET`` names a datagram socket (a leading ``@`` means the abstract namespace),
and the program sends ``READY=1`` when it serves and ``STOPPING=1`` when it begins to shut down.
A program that sends ``STOPPING=1``, or exits, before ``READY=1`` has failed to start.
"""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Callable
from enum import Enum
from types import TracebackType

_POLL_SECONDS = 0.05  # how often the listener looks whether the program is still alive


class Outcome(Enum):
    READY = "ready"  # READY=1 came
    STOPPING = "stopping"  # STOPPING=1 came first
    EXITED = "exited"  # the program died without a word
    TIMEOUT = "timeout"  # nothing came in time


class Listener:
    """A notification socket for one start: ``address`` goes into the program's ``NOTIFY_SOCKET``."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        name = f"wsfclab-notify-{os.getpid()}-{os.urandom(6).hex()}"
        self._socket.bind("\0" + name)
        self.address = "@" + name

    def wait(self, alive: Callable[[], bool], timeout: float) -> Outcome:
        """Wait up to ``timeout`` seconds for the program to report, checking ``alive`` meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return Outcome.TIMEOUT
            readable, _, _ = select.select([self._socket], [], [], min(left, _POLL_SECONDS))
            if readable:
                fields = self._socket.recv(4096).decode("utf-8", "replace").splitlines()
                if "READY=1" in fields:
                    return Outcome.READY
                if "STOPPING=1" in fields:
                    return Outcome.STOPPING
            elif not alive():
                return Outcome.EXITED

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
