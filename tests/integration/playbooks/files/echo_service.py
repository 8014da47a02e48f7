"""A tiny TCP service for the lab integration tests: it answers every connection with a line
naming itself, so a test can prove that a Windows service registered with win_service really runs.

Usage: python echo_service.py --listen 127.0.1.11:5090 --name PBX-N1
It serves until SIGTERM (the lab's Stop-Service) or SIGINT. Once it listens it says so with the
sd_notify readiness protocol (READY=1 on $NOTIFY_SOCKET), as a service reports SERVICE_RUNNING.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys


def notify(state: bytes) -> None:
    """sd_notify(3): one datagram to $NOTIFY_SOCKET ("@" is the abstract namespace); nothing without it."""
    target = os.environ.get("NOTIFY_SOCKET", "")
    if not target:
        return
    address = "\0" + target[1:] if target.startswith("@") else target
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, contextlib.suppress(OSError):
        sock.sendto(state, address)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True, help="address:port to listen on (127.0.0.0/8 only)")
    parser.add_argument("--name", required=True)
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    if not host.startswith("127."):
        print(f"refusing to listen on {host}: the lab uses 127.0.0.0/8 only", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with socket.create_server((host, int(port))) as server:
        notify(b"READY=1")
        while True:
            connection, _ = server.accept()
            with connection:
                connection.sendall(f"echo-service {args.name}\n".encode())


if __name__ == "__main__":
    sys.exit(main())
