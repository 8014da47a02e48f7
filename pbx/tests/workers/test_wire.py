"""The front-worker link: framing, and the choice of worker, which must put every message of
one transaction (and of one dialog) on the same worker."""

from __future__ import annotations

import pytest
from pbxd.sip.message import Request, make_response, parse_message
from pbxd.transport import Peer
from pbxd.workers.wire import (
    MAX_FRAME,
    Frame,
    FrameReader,
    Kind,
    WireError,
    call_id_for,
    call_id_of,
    encode,
    worker_for,
    worker_of_call_id,
)

PEER = Peer("udp", "127.0.0.7", 5062)


def test_frames_survive_any_split_of_the_stream() -> None:
    frames = [
        encode(Kind.MESSAGE, PEER, b"INVITE sip:x SIP/2.0\r\n\r\n"),
        encode(Kind.READY, None),
        encode(Kind.BINDING, None, b'{"aor": "201"}'),
        encode(Kind.CLOSED, Peer("tcp", "::1", 5060)),
    ]
    stream = b"".join(frames)
    for size in (1, 3, 7, len(stream)):
        reader = FrameReader()
        got: list[Frame] = []
        for start in range(0, len(stream), size):
            got.extend(reader.feed(stream[start : start + size]))
        assert got == [
            Frame(Kind.MESSAGE, PEER, b"INVITE sip:x SIP/2.0\r\n\r\n"),
            Frame(Kind.READY, None, b""),
            Frame(Kind.BINDING, None, b'{"aor": "201"}'),
            Frame(Kind.CLOSED, Peer("tcp", "::1", 5060), b""),
        ]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ((MAX_FRAME + 1).to_bytes(4, "big") + b"M\x00", "frame of"),
        ((1).to_bytes(4, "big") + b"M\x00", "frame of"),
        ((5).to_bytes(4, "big") + b"M\x09abc", "frame of"),
        ((2).to_bytes(4, "big") + b"Z\x00", "unknown frame kind"),
        ((9).to_bytes(4, "big") + b"M\x07udp x y", "bad peer"),
    ],
)
def test_what_is_not_a_frame_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(WireError, match=why):
        FrameReader().feed(data)


INVITE = (
    b"INVITE sip:202@pbx.test SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.7:5062;branch=z9hG4bK1\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: <sip:201@pbx.test>;tag=a\r\n"
    b"To: <sip:202@pbx.test>\r\n"
    b"Call-ID:   abc123@127.0.0.7  \r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 18\r\n"
    b"\r\n"
    b"Call-ID: elsewhere"
)


def test_the_call_id_is_read_from_the_headers_only() -> None:
    assert call_id_of(INVITE) == b"abc123@127.0.0.7"
    assert call_id_of(INVITE.replace(b"Call-ID:   abc123@127.0.0.7  \r\n", b"")) is None
    assert call_id_of(INVITE.replace(b"Call-ID:", b"i:")) == b"abc123@127.0.0.7"
    assert call_id_of(INVITE.replace(b"Call-ID:", b"CALL-ID :")) == b"abc123@127.0.0.7"
    # A header whose name merely ends in "i" is not the compact Call-ID.
    assert call_id_of(INVITE.replace(b"Max-Forwards: 70", b"X-Hi: other")) == b"abc123@127.0.0.7"


@pytest.mark.parametrize("count", [2, 3, 8])
def test_every_message_of_a_call_goes_to_the_worker_of_its_call_id(count: int) -> None:
    for n in range(40):
        invite = parse_message(INVITE.replace(b"abc123", f"call{n}".encode()))
        assert isinstance(invite, Request)
        cancel = Request(
            "CANCEL",
            invite.uri,
            [(k, v) for k, v in invite.headers if k in ("via", "from", "to", "call-id")]
            + [("cseq", "1 CANCEL")],
        )
        ringing = make_response(invite, 180, to_tag="b")
        compact = invite.to_bytes().replace(b"Call-ID:", b"i:")
        expected = worker_of_call_id(invite.call_id, count)
        sent = [invite.to_bytes(), cancel.to_bytes(), ringing.to_bytes(), compact]
        assert {worker_for(data, count) for data in sent} == {expected}


def test_calls_are_spread_over_the_workers() -> None:
    counts = [0, 0, 0]
    for n in range(3000):
        counts[worker_for(INVITE.replace(b"abc123", f"{n:x}".encode()), 3)] += 1
    assert min(counts) > 800


def test_a_call_id_made_for_a_worker_falls_to_it() -> None:
    made = iter(f"probe{n}@pbx" for n in range(1000))
    for index in range(4):
        call_id = call_id_for(index, 4, lambda: next(made))
        assert worker_of_call_id(call_id, 4) == index
    assert call_id_for(0, 1, lambda: "only") == "only"


def test_a_message_without_a_call_id_goes_to_the_first_worker() -> None:
    assert worker_for(b"garbage", 4) == 0
