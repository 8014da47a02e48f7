"""Which addresses are this PBX: its listen sockets, its domain, and what it writes into Via
when it listens on every address (the domain then stands for the wildcard)."""

from __future__ import annotations

from pbxd.config import Listen, SipSettings
from pbxd.identity import LocalAddresses
from pbxd.sip.message import Request
from pbxd.transport import Transports


def settings(*listen: Listen) -> SipSettings:
    return SipSettings(listen=listen, realm="pbx.test", domain="pbx.example.com")


def request_with_vias(*vias: str) -> Request:
    headers = [("via", via) for via in vias]
    headers += [("from", "<sip:1001@x>;tag=a"), ("to", "<sip:1002@x>"), ("call-id", "c")]
    headers.append(("cseq", "1 INVITE"))
    return Request("INVITE", "sip:1002@pbx.example.com", headers)


def test_the_via_written_while_listening_on_every_address_is_recognised_as_ours() -> None:
    listen = (Listen("udp", "0.0.0.0", 5060), Listen("tcp", "0.0.0.0", 5060))
    local = LocalAddresses(settings(*listen))
    host, port = Transports(listen, fallback_host="pbx.example.com").advertised("udp")
    own = f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK1;rport"

    assert local.is_own_via(own)
    assert local.in_via(request_with_vias("SIP/2.0/UDP 127.0.0.5:5062;branch=z9hG4bK2", own))
    assert not local.is_own_via("SIP/2.0/UDP pbx.example.com:5070;branch=z9hG4bK3")
    assert not local.is_own_via("SIP/2.0/UDP 127.0.0.5:5060;branch=z9hG4bK4")


def test_a_specific_listen_address_is_ours_and_names_are_compared_without_case() -> None:
    local = LocalAddresses(settings(Listen("udp", "127.0.0.8", 5060)))

    assert local.is_own_via("SIP/2.0/UDP 127.0.0.8:5060;branch=z9hG4bK1")
    assert local.is_own_via("SIP/2.0/UDP PBX.Example.com:5060;branch=z9hG4bK1")
    assert not local.is_own_via("SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bK1")
