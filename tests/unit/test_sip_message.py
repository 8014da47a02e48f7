"""The smoke test's SIP messages and digest answers, checked against the RFCs' own examples."""

from __future__ import annotations

import hashlib

import pytest
from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_message import (
    Message,
    SipParseError,
    authorization,
    choose_challenge,
    ha1,
    parse,
    parse_challenge,
    response_to,
    split_list,
    uri_in,
)

INVITE = (
    b"INVITE sip:191@127.0.0.5:5060 SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 127.0.0.5:5060;branch=z9hG4bKpbx1, SIP/2.0/UDP 127.0.0.9:4000;branch=z9hG4bKphone\r\n"
    b"Record-Route: <sip:127.0.0.5:5060;lr>\r\n"
    b"f: <sip:190@pbx>;tag=abc\r\n"
    b"t: <sip:191@pbx>\r\n"
    b"i: call-1@127.0.0.9\r\n"
    b"CSeq: 2 INVITE\r\n"
    b"Subject: a folded\r\n  value\r\n"
    b"l: 4\r\n"
    b"\r\n"
    b"v=0\r\nextra"
)


def test_parse_reads_compact_names_folded_lines_and_the_body_length() -> None:
    message = parse(INVITE)
    assert message.is_request and message.method == "INVITE"
    assert message.uri == "sip:191@127.0.0.5:5060"
    assert message.call_id == "call-1@127.0.0.9"
    assert message.cseq == (2, "INVITE")
    assert message.get("subject") == "a folded value"
    assert message.body == b"v=0\r"
    assert message.vias == [
        "SIP/2.0/UDP 127.0.0.5:5060;branch=z9hG4bKpbx1",
        "SIP/2.0/UDP 127.0.0.9:4000;branch=z9hG4bKphone",
    ]
    assert message.top_branch == "z9hG4bKpbx1"
    assert message.tag("from") == "abc" and message.tag("to") is None


def test_a_message_survives_serialising_and_parsing() -> None:
    message = Message("OPTIONS sip:127.0.0.5 SIP/2.0", [("call-id", "x"), ("cseq", "1 OPTIONS")], b"body")
    again = parse(message.to_bytes())
    assert again.headers == [("call-id", "x"), ("cseq", "1 OPTIONS"), ("content-length", "4")]
    assert again.body == b"body"
    assert b"Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody" in message.to_bytes()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"HELLO\r\n\r\n", "not a SIP start line"),
        (b"SIP/2.0 abc OK\r\n\r\n", "no numeric status"),
        (b"SIP/2.0 200 OK\r\nno colon here\r\n\r\n", "has no colon"),
        (b"SIP/2.0 200 OK\r\n", "no empty line"),
    ],
)
def test_parse_refuses_what_is_not_sip(data: bytes, expected: str) -> None:
    with pytest.raises(SipParseError, match=expected):
        parse(data)


def test_a_response_copies_vias_in_order_adds_the_tag_and_record_route_only_when_it_should() -> None:
    request = parse(INVITE)
    ringing = response_to(request, 180, to_tag="t1")
    assert ringing.start_line == "SIP/2.0 180 Ringing"
    assert ringing.get_all("via") == request.get_all("via")
    assert ringing.get("to") == "<sip:191@pbx>;tag=t1"
    assert ringing.get_all("record-route") == ["<sip:127.0.0.5:5060;lr>"]
    assert response_to(request, 487).get_all("record-route") == []


def test_split_list_and_uri_in_respect_quotes_and_brackets() -> None:
    assert split_list('<sip:a@h;x=1,2>, "Doe, J" <sip:b@h>') == ["<sip:a@h;x=1,2>", '"Doe, J" <sip:b@h>']
    assert uri_in('"Bob" <sip:b@h:5070>;tag=1') == "sip:b@h:5070"
    assert uri_in("sip:b@h;tag=1") == "sip:b@h"


def test_digest_answer_matches_rfc_2617s_worked_example() -> None:
    # RFC 2617 §3.5: Mufasa, "Circle Of Life", testrealm@host.com, with qop=auth.
    challenge = parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    answer = authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in answer
    assert "qop=auth, nc=00000001" in answer
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in answer


def test_digest_without_qop_and_with_sha256() -> None:
    challenge = {"realm": "r", "nonce": "n", "algorithm": "SHA-256"}
    answer = authorization(
        challenge, method="REGISTER", uri="sip:h", username="100", password="pw", cnonce="c"
    )
    key = hashlib.sha256(b"100:r:pw").hexdigest()
    ha2 = hashlib.sha256(b"REGISTER:sip:h").hexdigest()
    assert f'response="{hashlib.sha256(f"{key}:n:{ha2}".encode()).hexdigest()}"' in answer
    assert "algorithm=SHA-256" in answer and "qop" not in answer


def test_ha1_is_md5_of_user_realm_password() -> None:
    assert ha1("MD5", "100", "pbx.test", "s3cret") == hashlib.md5(b"100:pbx.test:s3cret").hexdigest()
    with pytest.raises(ValueError, match="expected MD5 or SHA-256"):
        ha1("SHA-512", "100", "r", "p")


def test_choose_challenge_takes_the_first_supported_and_refuses_others() -> None:
    chosen = choose_challenge(
        ['Digest realm="r", nonce="1", algorithm=SHA-512-256', 'Digest realm="r", nonce="2"']
    )
    assert chosen["nonce"] == "2"
    with pytest.raises(SipParseError, match="no challenge offers"):
        choose_challenge(['Digest realm="r", nonce="1", algorithm=SHA-512-256'])
    with pytest.raises(SipParseError, match="not Digest"):
        parse_challenge('Basic realm="r"')
