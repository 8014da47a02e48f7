"""A tiny TCP service for the lab integration tests: it answers every connection with a line
naming itself, so a test can prove that a Windows service registered with win_service really runs.

Usage: python echo_service.py --listen 127.0.1.11:5090 --name PBX-N1
It serves until SIGTERM (the lab's Stop-Service) or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys


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
        while True:
            connection, _ = server.accept()
            with connection:
                connection.sendall(f"echo-service {args.name}\n".encode())


if __name__ == "__main__":
    sys.exit(main())
