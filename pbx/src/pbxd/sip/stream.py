"""Framing of SIP messages on a byte stream (TCP): Content-Length delimits each message
(RFC 3261 §18.3). Data arrives in arbitrary pieces; one piece may carry several messages.

Blank lines between messages are keepalives (RFC 5626 §3.5.1: a double CRLF "ping" is answered
with a single CRLF "pong"). A Content-Length that is not a number is answered 400 and the
message taken to have no body (the next message is looked for after its blank line), so that one
bad header does not cost the phone its connection. Only a message larger than the limit is a
framing error the stream cannot recover from: the caller must close the connection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pbxd.sip.message import (
    MAX_MESSAGE_SIZE,
    Request,
    Response,
    SipParseError,
    parse_message,
)

_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\S*)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class KeepalivePing:
    """The peer sent a double CRLF; answer with a single CRLF."""


@dataclass(frozen=True, slots=True)
class BadMessage:
    """A complete frame that does not parse (answer 400 when possible, keep the connection)."""

    error: SipParseError


class FramingError(ValueError):
    """The stream cannot be framed any more (oversized or nonsensical Content-Length)."""


StreamEvent = Request | Response | KeepalivePing | BadMessage | bytes


class StreamParser:
    """``parse``: hand each message up parsed (or as a ``BadMessage``); else as its bytes,
    framed but unparsed (for a process that passes messages on to be parsed elsewhere)."""

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE, *, parse: bool = True) -> None:
        self._buffer = bytearray()
        self._max_size = max_size
        self._parse = parse

    @property
    def buffered(self) -> int:
        """Bytes of a message begun but not complete (slow senders are timed out on this)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Add received bytes; return the complete messages (and keepalives) now available.

        Raises FramingError when the stream is beyond repair.
        """
        self._buffer += data
        events: list[StreamEvent] = []
        buffer = self._buffer
        while buffer:
            skipped = _count_leading_blank(buffer)
            if skipped:
                if buffer[:skipped].count(b"\n") >= 2:
                    events.append(KeepalivePing())
                del buffer[:skipped]
                continue
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > self._max_size:
                    raise FramingError(f"headers longer than {self._max_size} bytes")
                break
            head_size = end + 4
            match = _CONTENT_LENGTH.search(buffer, 0, end + 2)
            length = 0
            if match:
                text = match.group(1)
                if text.isdigit():  # ASCII digits only, for bytes
                    # A number, if too large, makes the message too large: framing is lost.
                    length = int(text) if len(text) <= 10 else self._max_size + 1
                # Not a number: the header block alone is the frame, and parse_message refuses
                # it (a 400 that names the value).
            total = head_size + length
            if total > self._max_size:
                raise FramingError(f"message of {total} bytes exceeds the limit of {self._max_size}")
            if len(buffer) < total:
                break
            frame = bytes(buffer[:total])
            del buffer[:total]
            if not self._parse:
                events.append(frame)
                continue
            try:
                events.append(parse_message(frame, stream=True))
            except SipParseError as error:
                events.append(BadMessage(error))
        return events


def _count_leading_blank(buffer: bytearray) -> int:
    count = 0
    for byte in buffer:
        if byte not in (13, 10):
            break
        count += 1
    return count
