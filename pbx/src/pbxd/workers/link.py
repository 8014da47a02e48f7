"""One end of a front-worker link: a loopback TCP connection carrying ``wire`` frames.

Frames are written in batches, once per turn of the event loop, so that a burst of messages
costs one system call rather than one each; ``send_now`` writes at once (for frames whose
order against another socket matters, see ``RelayedTransports``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from pbxd.transport import Peer
from pbxd.workers.wire import Frame, FrameReader, Kind, WireError, encode

log = logging.getLogger("pbxd.workers")


class Link(asyncio.Protocol):
    def __init__(self, on_frame: Callable[[Link, Frame], None], on_lost: Callable[[Link], None]) -> None:
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._reader = FrameReader()
        self._out: list[bytes] = []
        self._out_size = 0
        self._flush_scheduled = False
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self._reader.feed(data)
        except WireError as error:
            log.error("closing a worker link: %s", error)
            self.close()
            return
        for frame in frames:
            if self.closed:
                return
            self._on_frame(self, frame)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._out.clear()
        self._out_size = 0
        self._on_lost(self)

    def send(self, kind: Kind, peer: Peer | None = None, data: bytes = b"") -> None:
        if self.closed:
            return
        frame = encode(kind, peer, data)
        self._out.append(frame)
        self._out_size += len(frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def send_now(self, kind: Kind, peer: Peer | None = None, data: bytes = b"") -> None:
        self.send(kind, peer, data)
        self.flush()

    def flush(self) -> None:
        self._flush_scheduled = False
        if self._out and self.transport is not None and not self.closed:
            self.transport.write(b"".join(self._out))
        self._out.clear()
        self._out_size = 0

    @property
    def buffered(self) -> int:
        """Bytes written and not yet taken by the other end."""
        waiting = self.transport.get_write_buffer_size() if self.transport is not None else 0
        return waiting + self._out_size

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
