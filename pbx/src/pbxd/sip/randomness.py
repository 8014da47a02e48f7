"""Random tokens for tags, branches and nonce salts, drawn from the system's CSPRNG in blocks.

``secrets.token_hex`` makes one ``getrandom`` system call per token; under load a PBX makes
several tokens per call (To tags, branches, nonces), and on virtual machines those system calls
showed up in profiles at the cost of a ``sendto`` each. Here one call fills a block that serves
a few hundred tokens. The bytes are the same kind (``os.urandom``), so tokens stay as
unpredictable as RFC 3261 §19.3 asks of tags ("cryptographically random"). Used from the event
loop's thread only.
"""

from __future__ import annotations

import os

BLOCK_SIZE = 4096


class _Block:
    def __init__(self) -> None:
        self.data = b""
        self.used = 0

    def take(self, nbytes: int) -> bytes:
        if self.used + nbytes > len(self.data):
            self.data = os.urandom(max(BLOCK_SIZE, nbytes))
            self.used = 0
        start = self.used
        self.used += nbytes
        return self.data[start : self.used]


_BLOCK = _Block()


def token_hex(nbytes: int) -> str:
    """``nbytes`` random bytes as ``2 * nbytes`` hex digits, as ``secrets.token_hex``."""
    return _BLOCK.take(nbytes).hex()
