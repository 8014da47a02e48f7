"""Datagrams the kernel dropped on the PBX's UDP sockets (Linux only, an option for the shedder).

When the PBX cannot read its sockets fast enough, the kernel drops what overflows their
receive buffers, and the PBX never sees those requests: only their senders' retransmissions,
which look new. Linux counts the drops per socket in ``/proc/net/udp`` and ``/proc/net/udp6``
(the last column); ``drop_counter`` reads them for the configured UDP listen addresses.
Elsewhere (Windows) there is no such counter and ``drop_counter`` returns None: the shedder
then relies on its other measures, which work everywhere.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from pbxd.config import Listen

_TABLES = (Path("/proc/net/udp"), Path("/proc/net/udp6"))


def proc_address(host: str, port: int) -> str:
    """``host:port`` as /proc/net/udp writes it: the address in hex, in 32-bit words of host
    byte order (little-endian here), then the port in hex."""
    packed = ipaddress.ip_address(host).packed
    words = b"".join(packed[i : i + 4][::-1] for i in range(0, len(packed), 4))
    return f"{words.hex().upper()}:{port:04X}"


def read_drops(tables: Iterable[str], addresses: frozenset[str]) -> int:
    """The drops of the sockets bound to ``addresses`` (``proc_address`` form) in the text of
    /proc/net/udp tables."""
    total = 0
    for text in tables:
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 12 and fields[1] in addresses:
                total += int(fields[-1])
    return total


def drop_counter(listens: Iterable[Listen]) -> Callable[[], int] | None:
    """A function returning the drops so far on the UDP listen addresses given as IP
    addresses, or None where the kernel does not count them (not Linux) or none is given."""
    if not sys.platform.startswith("linux") or not _TABLES[0].exists():
        return None
    addresses = set()
    for listen in listens:
        if listen.transport != "udp":
            continue
        try:
            addresses.add(proc_address(listen.host, listen.port))
        except ValueError:
            continue  # a host name: its socket's address is not known here
    if not addresses:
        return None
    wanted = frozenset(addresses)

    def count() -> int:
        texts = []
        for table in _TABLES:
            try:
                texts.append(table.read_text())
            except OSError:
                continue
        return read_drops(texts, wanted)

    return count
