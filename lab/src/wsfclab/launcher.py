"""Start one lab process detached, print its PID, and exit.

Run as ``python -m wsfclab.launcher`` with a JSON request on stdin: {"argv", "cwd", "log"}.
Because this launcher exits at once, the started process is re-parented to init, which reaps it:
the caller (an ansible worker, a test) can die or live on without leaving zombies behind.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main() -> None:
    request = json.loads(sys.stdin.read())
    with open(request["log"], "ab") as log:
        child = subprocess.Popen(
            request["argv"],
            cwd=request["cwd"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    print(child.pid)


if __name__ == "__main__":
    main()
