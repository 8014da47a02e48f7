"""Readiness reports through the ``NOTIFY_SOCKET`` protocol (``sd_notify``).

A service controller that sets ``NOTIFY_SOCKET`` (systemd with ``Type=notify``, or the lab's
simulated service controller) learns from ``READY=1`` that the PBX really serves (listening, with
its database open) and from ``STOPPING=1`` that it is on its way down. The protocol is one
datagram of newline-separated ``KEY=value`` lines sent to the AF_UNIX datagram socket named by
the variable; a name starting with ``@`` is in Linux's abstract namespace (the ``@`` stands for
a NUL byte).

Without the variable (as under the Windows service controller) nothing is sent, and nothing
fails where AF_UNIX datagram sockets do not exist. A report that cannot be delivered is logged
and otherwise ignored: the PBX serves whether or not anyone listens.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("pbxd.notify")

NOTIFY_SOCKET = "NOTIFY_SOCKET"


def socket_address(value: str) -> str | bytes | None:
    """The address to send to for a ``NOTIFY_SOCKET`` value, or None if it names none pbxd
    can use (only AF_UNIX paths and abstract names are supported, as by most services)."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (for example ``"READY=1"``); True if a datagram was sent."""
    value = (os.environ if environ is None else environ).get(NOTIFY_SOCKET, "")
    if not value:
        return False
    family = getattr(socket, "AF_UNIX", None)
    address = socket_address(value)
    if family is None or address is None:
        log.warning("%s=%r: not a unix socket path or @name; readiness is not reported", NOTIFY_SOCKET, value)
        return False
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError as exc:
        log.warning("could not report %s to %s=%s: %s", state.split("\n", 1)[0], NOTIFY_SOCKET, value, exc)
        return False
    return True
