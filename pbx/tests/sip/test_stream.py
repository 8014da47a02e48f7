"""Framing SIP over a TCP byte stream, and fuzzing the parsers with arbitrary bytes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pbxd.sip.message import Request, Response, SipParseError, parse_message
from pbxd.sip.stream import BadMessage, FramingError, KeepalivePing, StreamParser
from pbxd.sip.uri import UriError, parse_name_addr, parse_uri


def message(call_id: str, body: bytes = b"") -> bytes:
    return (
        f"OPTIONS sip:pbx SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK{call_id}\r\nFrom: <sip:a@h>;tag=1\r\n"
        f"To: <sip:pbx>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nl: {len(body)}\r\n\r\n"
    ).encode() + body


def test_several_messages_in_one_chunk_and_keepalives_between() -> None:
    parser = StreamParser()
    events = parser.feed(message("a", b"xyz") + b"\r\n\r\n" + message("b"))
    assert isinstance(events[0], Request) and events[0].body == b"xyz"
    assert isinstance(events[1], KeepalivePing)
    assert isinstance(events[2], Request) and events[2].call_id == "b"


def test_a_message_fed_one_byte_at_a_time() -> None:
    parser = StreamParser()
    data = message("slow", b"body!")
    events = []
    for index in range(len(data)):
        events += parser.feed(data[index : index + 1])
    assert len(events) == 1
    assert isinstance(events[0], Request) and events[0].body == b"body!"


def test_a_bad_frame_is_reported_and_the_next_still_parses() -> None:
    parser = StreamParser()
    bad = message("bad").replace(b"CSeq: 1 OPTIONS", b"CSeq: one OPTIONS")
    events = parser.feed(bad + message("good"))
    assert isinstance(events[0], BadMessage) and "CSeq" in events[0].error.reason
    assert isinstance(events[1], Request) and events[1].call_id == "good"


def test_oversized_framing_cannot_continue() -> None:
    with pytest.raises(FramingError):
        StreamParser(max_size=1000).feed(b"OPTIONS sip:x SIP/2.0\r\n" + b"X: y\r\n" * 500)
    with pytest.raises(FramingError):
        StreamParser().feed(message("big").replace(b"l: 0", b"l: 65500"))
    with pytest.raises(FramingError):
        StreamParser().feed(message("huge").replace(b"l: 0", b"l: 99999999999999999999"))


@pytest.mark.parametrize("value", ["-5", "²", "\uff11", "", "0x10", "12a"])
def test_a_content_length_that_is_not_a_number_is_reported_and_the_stream_goes_on(value: str) -> None:
    parser = StreamParser()
    bad = message("bad").replace(b"l: 0", f"l: {value}".encode())
    events = parser.feed(bad + message("good"))
    assert isinstance(events[0], BadMessage) and "Content-Length" in events[0].error.reason
    assert isinstance(events[0].error.partial, Request)  # enough to answer 400
    assert isinstance(events[1], Request) and events[1].call_id == "good"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_arbitrary_bytes_either_parse_or_raise_a_parse_error(data: bytes) -> None:
    try:
        result = parse_message(data)
    except SipParseError:
        return
    assert isinstance(result, Request | Response)
    result.to_bytes()


_LINES = st.sampled_from(
    [
        b"INVITE sip:1@h SIP/2.0",
        b"SIP/2.0 200 OK",
        b"Via: SIP/2.0/UDP h:5060;branch=z9hG4bK1, SIP/2.0/TCP [::1]:5;rport",
        b"v: SIP/2.0/UDP h",
        b'From: "a,b" <sip:a@h>;tag=1',
        b"t: sip:b@h",
        b"Call-ID: x",
        b"CSeq: 1 INVITE",
        b"CSeq: 99999999999 INVITE",
        b"Contact: *",
        b"m: <sip:a@h;lr>, <sip:b@h>",
        b"Content-Length: 3",
        b"l: 0",
        b" folded",
        b"Route: <sip:x@[::1",
        b"Max-Forwards: -1",
        b"",
    ]
)

# Numeric fields where a non-ASCII digit once reached int(); the fuzzer fills the gap with any
# Unicode text.
_NUMERIC_TEMPLATES = (
    "Content-Length: {}",
    "l: {}",
    "CSeq: {} INVITE",
    "Max-Forwards: {}",
    "Expires: {}",
    "Via: SIP/2.0/UDP h:{};branch=z9hG4bK2",
    "Via: SIP/2.0/UDP h;rport={};branch=z9hG4bK3",
    "Contact: <sip:a@h:{}>;expires={}",
    "INVITE sip:1@h:{} SIP/2.0",
    "SIP/2.0 {} OK",
)


def _check_parsed(event: Request | Response) -> None:
    """Whatever parsed can be used as the PBX uses it, without any error but a parse error."""
    event.to_bytes()
    _ = event.top_via, event.cseq, event.call_id, event.tag("from"), event.tag("to")
    for value in event.get_all("contact"):
        with contextlib.suppress(UriError):
            parse_name_addr(value)
    if isinstance(event, Request):
        with contextlib.suppress(UriError):
            parse_uri(event.uri)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=12), st.binary(max_size=20), st.integers(1, 64))
def test_fuzz_plausible_messages_through_the_stream_parser(lines: list[bytes], tail: bytes, cut: int) -> None:
    data = b"\r\n".join(lines) + b"\r\n\r\n" + tail
    parser = StreamParser(max_size=4096)
    try:
        for start in range(0, len(data), cut):
            for event in parser.feed(data[start : start + cut]):
                if isinstance(event, Request | Response):
                    _check_parsed(event)
    except FramingError:
        pass


_UNICODE_LINES = st.one_of(
    _LINES.map(lambda line: line.decode()),
    st.builds(
        lambda template, text: template.replace("{}", text),
        st.sampled_from(_NUMERIC_TEMPLATES),
        st.text(max_size=8),
    ),
    st.text(max_size=40),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_UNICODE_LINES, max_size=12), st.integers(1, 64), st.booleans())
def test_fuzz_unicode_messages_parse_or_fail_with_a_parse_error(
    lines: list[str], cut: int, udp: bool
) -> None:
    data = "\r\n".join(lines).encode("utf-8", "surrogatepass") + b"\r\n\r\n"
    if udp:
        with contextlib.suppress(SipParseError):
            _check_parsed(parse_message(data))
        return
    parser = StreamParser(max_size=4096)
    try:
        for start in range(0, len(data), cut):
            for event in parser.feed(data[start : start + cut]):
                if isinstance(event, Request | Response):
                    _check_parsed(event)
    except FramingError:
        pass
