"""Parsing and serialising SIP messages as real peers send them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pbxd.sip.message import (
    MAX_MESSAGE_SIZE,
    Request,
    Response,
    SipParseError,
    make_response,
    parse_message,
    parse_via,
    split_list,
)
from pbxd.sip.uri import UriError, parse_name_addr, parse_uri


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


REGISTER = crlf(
    """REGISTER sip:127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-1;rport
From: <sip:1001@127.0.0.1>;tag=a1
To: <sip:1001@127.0.0.1>
Call-ID: reg-1@127.0.0.1
CSeq: 1 REGISTER
Contact: <sip:1001@127.0.0.1:5062>;expires=300
Max-Forwards: 70
Content-Length: 0

"""
)

# What SIPp's built-in uas sends back: two Via values on one line.
SIPP_UAS_180 = crlf(
    """SIP/2.0 180 Ringing
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKproxy;rport=5060, SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK-1
From: sipp <sip:sipp@127.0.0.1:5071>;tag=1SIPpTag001
To: sut <sip:2000@127.0.0.1:5060>;tag=99SIPpTag011
Call-ID: 1-123@127.0.0.1
CSeq: 1 INVITE
Contact: <sip:127.0.0.1:5070;transport=UDP>
Content-Length: 0

"""
)


def test_request_is_parsed_with_its_headers_in_order() -> None:
    message = parse_message(REGISTER)
    assert isinstance(message, Request)
    assert (message.method, message.uri) == ("REGISTER", "sip:127.0.0.1:5060")
    assert message.cseq == (1, "REGISTER")
    assert message.call_id == "reg-1@127.0.0.1"
    assert message.tag("from") == "a1" and message.tag("to") is None
    assert [name for name, _ in message.headers][:3] == ["via", "from", "to"]


def test_two_via_values_on_one_line_are_split() -> None:
    message = parse_message(SIPP_UAS_180)
    assert isinstance(message, Response)
    vias = message.get_all("via")
    assert len(vias) == 2
    assert message.top_via.branch == "z9hG4bKproxy"
    assert parse_via(vias[1]).port == 5071


def test_compact_forms_case_and_folding_are_understood() -> None:
    data = crlf(
        """invite sip:2000@pbx.test SIP/2.0
v: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bKa
v: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb
f: "Alice, A." <sip:1001@pbx.test>;tag=x
t: sip:2000@pbx.test
i: abc@10.0.0.1
CSEQ: 7 INVITE
m: <sip:1001@10.0.0.1:5060>
k: 100rel
s: folded
 subject line
c: application/sdp
l: 4

v=0
"""
    )
    message = parse_message(data)
    assert isinstance(message, Request)
    assert message.method == "INVITE"  # methods are case-sensitive tokens; we normalise
    assert len(message.get_all("via")) == 2
    assert message.get("subject") == "folded subject line"
    assert message.get("supported") == "100rel"
    assert message.body == b"v=0\r"  # Content-Length counts bytes, CR included
    assert parse_name_addr(message.get("from") or "").display == '"Alice, A."'


def test_body_is_cut_to_content_length_and_a_short_body_is_an_error() -> None:
    data = REGISTER.replace(b"Content-Length: 0", b"Content-Length: 3") + b"abcdef"
    assert parse_message(data).body == b"abc"
    with pytest.raises(SipParseError, match="shorter"):
        parse_message(REGISTER.replace(b"Content-Length: 0", b"Content-Length: 30"))


@pytest.mark.parametrize(
    ("mutation", "reason"),
    [
        (lambda d: d.replace(b"CSeq: 1 REGISTER", b"CSeq: x REGISTER"), "CSeq"),
        (lambda d: d.replace(b"CSeq: 1 REGISTER", b"CSeq: 1 INVITE"), "differs"),
        (lambda d: d.replace(b"Call-ID: reg-1@127.0.0.1\r\n", b""), "Call-ID"),
        (lambda d: d.replace(b"SIP/2.0/UDP", b"HTTP/1.1/UDP"), "Via"),
        (lambda d: d.replace(b"Max-Forwards: 70", b"Max-Forwards: many"), "Max-Forwards"),
        (lambda d: d.replace(b"Content-Length: 0", b"Content-Length: -1"), "Content-Length"),
    ],
)
def test_malformed_requests_keep_what_parsed_for_a_400(
    mutation: Callable[[bytes], bytes], reason: str
) -> None:
    with pytest.raises(SipParseError, match=reason) as caught:
        parse_message(mutation(REGISTER))
    assert isinstance(caught.value.partial, Request)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n",  # no blank line: truncated
        b"HELLO\r\n\r\n",
        b"SIP/2.0 99 Low\r\n\r\n",
        b"SIP/3.0 200 OK\r\n\r\n",
        b"REG ISTER sip:x SIP/2.0\r\n\r\n",
        b"REGISTER sip:x SIP/2.0\r\nno colon here\r\n\r\n",
    ],
)
def test_garbage_is_rejected(data: bytes) -> None:
    with pytest.raises(SipParseError):
        parse_message(data)


def test_oversized_message_is_rejected() -> None:
    with pytest.raises(SipParseError, match="exceeds"):
        parse_message(REGISTER + b"x" * MAX_MESSAGE_SIZE)


def test_serialising_round_trips_and_recomputes_content_length() -> None:
    message = parse_message(REGISTER)
    message.body = b"hello"
    data = message.to_bytes()
    assert b"Content-Length: 5\r\n\r\nhello" in data
    assert data.startswith(b"REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nVia: ")
    again = parse_message(data)
    assert again.headers[:-1] == message.headers[:-1] and again.body == b"hello"
    assert b"Call-ID: " in data and b"CSeq: " in data


def test_response_copies_the_dialog_headers_and_adds_a_to_tag() -> None:
    request = parse_message(REGISTER)
    assert isinstance(request, Request)
    response = make_response(request, 200, to_tag="t1", extra=[("expires", "300")])
    assert (response.status, response.reason) == (200, "OK")
    assert response.get("to") == "<sip:1001@127.0.0.1>;tag=t1"
    assert response.get_all("via") == request.get_all("via")
    assert response.get("expires") == "300" and response.cseq == (1, "REGISTER")


def test_header_editing_helpers() -> None:
    message = parse_message(SIPP_UAS_180)
    message.prepend("via", "SIP/2.0/UDP top;branch=z9hG4bKtop")
    assert message.top_via.host == "top"
    assert message.pop_first("via") == "SIP/2.0/UDP top;branch=z9hG4bKtop"
    message.set("contact", "<sip:a@b>")
    assert message.get_all("contact") == ["<sip:a@b>"]
    message.remove("contact")
    assert message.get("contact") is None


def test_list_splitting_respects_quotes_and_angle_brackets() -> None:
    value = '"Doe, John" <sip:j@h;x=a,b>;expires=3, <sip:k@h>'
    assert split_list(value) == ['"Doe, John" <sip:j@h;x=a,b>;expires=3', "<sip:k@h>"]


def test_list_splitting_without_quotes_or_brackets_drops_empty_items_and_spaces() -> None:
    value = "SIP/2.0/UDP a:5060;branch=z9hG4bK1 ,, SIP/2.0/UDP b;branch=z9hG4bK2,"
    assert split_list(value) == ["SIP/2.0/UDP a:5060;branch=z9hG4bK1", "SIP/2.0/UDP b;branch=z9hG4bK2"]


def test_via_with_ipv6_received_and_rport() -> None:
    via = parse_via("SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bKx;rport=1234;received=192.0.2.1")
    assert (via.host, via.port, via.branch) == ("[2001:db8::1]", 5070, "z9hG4bKx")
    assert via.params["rport"] == "1234" and via.params["received"] == "192.0.2.1"
    assert parse_via("SIP / 2.0 / UDP host;branch=z9hG4bKy").transport == "UDP"


def test_uris_and_name_addrs() -> None:
    uri = parse_uri("sip:1001:pw@Example.COM:5070;transport=TCP;lr?subject=x")
    assert (uri.user, uri.password, uri.host, uri.port) == ("1001", "pw", "example.com", 5070)
    assert uri.transport == "tcp" and uri.params["lr"] is None and uri.headers == "subject=x"
    assert str(uri) == "sip:1001:pw@example.com:5070;transport=TCP;lr?subject=x"
    bare = parse_name_addr("sip:2000@h;tag=abc")
    assert bare.tag == "abc" and bare.uri.params == {}
    quoted = parse_name_addr('"<weird> name" <sip:a@h>;tag=1')
    assert quoted.uri.user == "a" and quoted.display == '"<weird> name"'
    assert parse_uri("tel:+4930123").scheme == "tel"
    for bad in ("nocolon", "sip:", "sip:a@h:99999", "sip:@", "sip:[::1"):
        with pytest.raises(UriError):
            parse_uri(bad)


# Digits that str.isdigit() accepts and int() refuses (superscript two), and digits of other
# scripts that int() would accept (fullwidth one, Arabic-Indic three): none is a SIP DIGIT.
_NOT_ASCII_DIGITS = ("²", "\uff11", "٣")


@pytest.mark.parametrize("digit", _NOT_ASCII_DIGITS)
@pytest.mark.parametrize(
    ("original", "template", "field"),
    [
        (b"Content-Length: 0", "Content-Length: {}", "Content-Length"),
        (b"CSeq: 1 REGISTER", "CSeq: {} REGISTER", "CSeq"),
        (b"Max-Forwards: 70", "Max-Forwards: {}", "Max-Forwards"),
        (b"Max-Forwards: 70", "Max-Forwards: 70\nExpires: {}", "Expires"),
        (b"127.0.0.1:5062;branch", "127.0.0.1:{};branch", "port"),
        (b"branch=z9hG4bK-1;rport", "branch=z9hG4bK-1;rport={}", "rport"),
    ],
)
def test_a_number_that_is_not_ascii_digits_is_a_parse_error_naming_the_field(
    digit: str, original: bytes, template: str, field: str
) -> None:
    data = REGISTER.replace(original, crlf(template.format(digit)))
    with pytest.raises(SipParseError, match=field) as caught:
        parse_message(data)
    assert isinstance(caught.value.partial, Request)


@pytest.mark.parametrize(
    ("original", "replacement", "field"),
    [
        (b"CSeq: 1 REGISTER", b"CSeq: 12345678901 REGISTER", "CSeq"),
        (b"Content-Length: 0", b"Content-Length: 00000000000", "Content-Length"),
        (b"Max-Forwards: 70", b"Max-Forwards: 1_0", "Max-Forwards"),
        (b"Max-Forwards: 70", b"Max-Forwards: +7", "Max-Forwards"),
        (b"Max-Forwards: 70", b"Max-Forwards: 70\r\nExpires: 99999999999", "Expires"),
    ],
)
def test_numbers_are_bounded_in_length_and_plain_digits_only(
    original: bytes, replacement: bytes, field: str
) -> None:
    with pytest.raises(SipParseError, match=field):
        parse_message(REGISTER.replace(original, replacement))


@pytest.mark.parametrize("digit", _NOT_ASCII_DIGITS)
def test_status_codes_and_uri_ports_refuse_digits_that_are_not_ascii(digit: str) -> None:
    with pytest.raises(SipParseError, match="status code"):
        parse_message(SIPP_UAS_180.replace(b"180", f"18{digit}".encode()))
    with pytest.raises(UriError, match="port"):
        parse_uri(f"sip:1001@127.0.0.1:{digit}")
    with pytest.raises(UriError, match="port"):
        parse_name_addr(f"<sip:1001@127.0.0.1:506{digit}>;expires=60")


def test_a_tag_read_again_follows_a_changed_header() -> None:
    message = parse_message(REGISTER)
    assert message.tag("from") == "a1" and message.tag("to") is None
    message.set("to", "<sip:1001@127.0.0.1>;tag=b2")
    message.set("from", "<sip:1001@127.0.0.1>")
    assert message.tag("to") == "b2" and message.tag("from") is None


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("<sip:1001@127.0.0.1>;tag=b2", "b2"),
        ("<sip:1001@127.0.0.1;transport=udp>;TAG=b2;x=1", "b2"),
        ("<sip:1001@127.0.0.1;tag=uri-param>", None),  # a URI parameter, not the header's
        ("<sip:1001@127.0.0.1;tag=uri-param>;tag=b2", "b2"),
        ("sip:1001@127.0.0.1;tag=b2", "b2"),  # bare: parameters are the header's (§20.10)
        ("sip:1001@127.0.0.1;tagx=1", None),
        ("Alice <sip:1001@127.0.0.1> ; tag = b2 ", "b2"),
        ('"Bob <tag=x>" <sip:1001@127.0.0.1>;tag=b2', "b2"),
        ('"Bob;tag=x" <sip:1001@127.0.0.1>', None),
        ("<sip:1001@127.0.0.1>;tag", None),
        ("<sip:1001@127.0.0.1;tag=b2", None),  # unbalanced: no tag rather than a guess
    ],
)
def test_the_tag_is_the_header_parameter_whatever_the_form(value: str, tag: str | None) -> None:
    message = parse_message(REGISTER)
    message.set("to", value)
    assert message.tag("to") == tag


def test_a_copy_keeps_its_original_s_tags_until_its_own_headers_change() -> None:
    message = parse_message(REGISTER)
    assert message.tag("from") == "a1" and message.tag("to") is None
    copy = message.copy()
    assert copy.tag("from") == "a1" and copy.tag("to") is None
    copy.set("to", "<sip:1001@127.0.0.1>;tag=b2")
    assert copy.tag("to") == "b2" and message.tag("to") is None


def test_a_header_name_seen_before_still_needs_its_colon() -> None:
    parse_message(REGISTER)  # "Max-Forwards" is now a known spelling
    with pytest.raises(SipParseError, match="has no 'Name: value' form"):
        parse_message(REGISTER.replace(b"Max-Forwards: 70", b"Max-Forwards"))
