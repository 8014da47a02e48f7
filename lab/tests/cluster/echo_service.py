"""A tiny service for the failover tests: it listens on ADDRESS:PORT and tells each client the name
of the node it runs on (COMPUTERNAME), then closes. It reports readiness on $NOTIFY_SOCKET."""

import os
import socket
import sys


def main() -> None:
    address, port = sys.argv[1], int(sys.argv[2])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(16)
    target = os.environ.get("NOTIFY_SOCKET")
    if target:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.sendto(b"READY=1", "\0" + target[1:] if target.startswith("@") else target)
    while True:
        conn, _ = server.accept()
        with conn:
            conn.sendall(os.environ.get("COMPUTERNAME", "?").encode() + b"\n")


if __name__ == "__main__":
    main()
