"""The link between the front and its workers: framing and the choice of worker, free of I/O.

A frame is a 4-byte big-endian length, then the kind (one byte), the length of the peer (one
byte), the peer as ``transport host port`` in ASCII (empty when the frame concerns no peer), and
the data.
"""

from __future__ import annotations

import enum
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from pbxd.transport import Peer

_HEADER = struct.Struct(">IBB")
# A frame is at most a SIP message (64 KB) with its peer, or a log record: anything longer
# means the other end is not a pbxd of this version.
MAX_FRAME = 256 * 1024


class Kind(enum.IntEnum):
    HELLO = ord("H")  # worker -> front: token and worker index
    READY = ord("R")  # worker -> front: serving
    MESSAGE = ord("M")  # front -> worker: received from peer; worker -> front: send to peer
    UNREACHABLE = ord("U")  # front -> workers: what was queued for peer is lost
    OPENED = ord("C")  # front -> workers: a TCP connection with peer opened
    CLOSED = ord("X")  # front -> workers: ... closed
    BINDING = ord("B")  # worker -> front -> other workers: a registration changed (JSON)
    LOG = ord("L")  # worker -> front: a log record (JSON)
    QUIT = ord("Q")  # front -> worker: stop


@dataclass(frozen=True, slots=True)
class Frame:
    kind: Kind
    peer: Peer | None
    data: bytes


class WireError(ValueError):
    """The other end sent something that is not a frame of this protocol."""


def encode(kind: Kind, peer: Peer | None, data: bytes = b"") -> bytes:
    address = f"{peer.transport} {peer.host} {peer.port}".encode() if peer is not None else b""
    return _HEADER.pack(2 + len(address) + len(data), kind, len(address)) + address + data


class FrameReader:
    """Splits a byte stream into frames (``feed`` returns those completed)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._peers: dict[bytes, Peer] = {}  # the same few peers come again and again

    def feed(self, data: bytes) -> list[Frame]:
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        start = 0
        while len(buffer) - start >= _HEADER.size:
            length, kind, address_length = _HEADER.unpack_from(buffer, start)
            if not 2 <= length <= MAX_FRAME or address_length > length - 2:
                raise WireError(f"frame of {length} bytes with a peer of {address_length}")
            end = start + 4 + length
            if len(buffer) < end:
                break
            body = start + _HEADER.size
            try:
                frame_kind = Kind(kind)
            except ValueError:
                raise WireError(f"unknown frame kind {kind}") from None
            peer = self._peer(bytes(buffer[body : body + address_length])) if address_length else None
            frames.append(Frame(frame_kind, peer, bytes(buffer[body + address_length : end])))
            start = end
        del buffer[:start]
        return frames

    def _peer(self, address: bytes) -> Peer:
        peer = self._peers.get(address)
        if peer is None:
            try:
                transport, host, port = address.decode("ascii").split(" ")
                peer = Peer(transport, host, int(port))
            except ValueError:
                raise WireError(f"bad peer {address[:60]!r}") from None
            if len(self._peers) >= 10_000:
                self._peers.clear()
            self._peers[address] = peer
        return peer


# The Call-ID header of a message, long form or compact (RFC 3261 §7.3.3), read without parsing
# the message: it must be found in the header block only (a body may mention one).
_CALL_ID = re.compile(rb"(?:^|\n)[ \t]*(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)


def call_id_of(data: bytes) -> bytes | None:
    """The Call-ID of a raw SIP message, or None if its header block has none."""
    end = data.find(b"\r\n\r\n")
    found = _CALL_ID.search(data, 0, end if end >= 0 else len(data))
    return found.group(1).strip() if found is not None else None


def worker_for(data: bytes, count: int) -> int:
    """The worker that handles a raw SIP message: the one its Call-ID falls to. A message
    without a Call-ID (malformed: the worker answers 400 or drops it) goes to worker 0."""
    if count == 1:
        return 0
    call_id = call_id_of(data)
    return 0 if call_id is None else zlib.crc32(call_id) % count


def worker_of_call_id(call_id: str, count: int) -> int:
    return zlib.crc32(call_id.encode()) % count


def call_id_for(index: int, count: int, make: Callable[[], str]) -> str:
    """A new Call-ID (from ``make``) that falls to worker ``index``, so that the answers to a
    request the worker starts come back to it."""
    while True:
        call_id = make()
        if count == 1 or worker_of_call_id(call_id, count) == index:
            return call_id
