"""Dialogs (RFC 3261 §12): created from an INVITE and its answer, used to build in-dialog
requests along the recorded route, and to keep the peer's requests in order."""

from __future__ import annotations

import pytest
from pbxd.sip.dialog import Dialog, DialogError, DialogState
from pbxd.sip.message import Request, Response, make_response, parse_message

VIA = "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKnew"


def invite() -> Request:
    data = (
        "INVITE sip:2000@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
        "Record-Route: <sip:proxy2;lr>\r\nRecord-Route: <sip:proxy1;lr>\r\n"
        'From: "Alice" <sip:1000@pbx>;tag=alice\r\n'
        "To: <sip:2000@pbx>\r\nCall-ID: dlg-1\r\nCSeq: 7 INVITE\r\nContact: <sip:1000@10.0.0.1:5060>\r\n\r\n"
    )
    message = parse_message(data.encode())
    assert isinstance(message, Request)
    return message


def answer(request: Request, status: int = 200, contact: str = "<sip:2000@10.0.0.2:5070>") -> Response:
    response = make_response(request, status, to_tag="bob")
    response.headers.append(("contact", contact))
    return response


def state_of(dialog: Dialog) -> DialogState:
    """The state now (a call, so that type checkers do not narrow it across steps)."""
    return dialog.state


def test_caller_dialog_follows_the_reversed_record_route_to_the_callee_contact() -> None:
    request = invite()
    dialog = Dialog.as_caller(request, answer(request))
    assert dialog.state is DialogState.CONFIRMED
    assert dialog.key == ("dlg-1", "alice", "bob")
    bye = dialog.request("BYE", VIA)
    assert bye.uri == "sip:2000@10.0.0.2:5070"
    assert bye.get_all("route") == ["<sip:proxy1;lr>", "<sip:proxy2;lr>"]
    assert bye.cseq == (8, "BYE")
    assert bye.get("from") == '"Alice" <sip:1000@pbx>;tag=alice'
    assert bye.get("to") == "<sip:2000@pbx>;tag=bob"
    assert state_of(dialog) is DialogState.TERMINATED
    ack = Dialog.as_caller(request, answer(request)).request("ACK", VIA, cseq=7)
    assert ack.cseq == (7, "ACK")


def test_callee_dialog_swaps_the_ends_and_keeps_the_route_order() -> None:
    request = invite()
    dialog = Dialog.as_callee(request, "bob")
    assert dialog.state is DialogState.EARLY
    dialog.confirm(answer(request))
    assert state_of(dialog) is DialogState.CONFIRMED
    bye = dialog.request("BYE", VIA)
    assert bye.uri == "sip:1000@10.0.0.1:5060"
    assert bye.get_all("route") == ["<sip:proxy2;lr>", "<sip:proxy1;lr>"]
    assert bye.get("from") == "<sip:2000@pbx>;tag=bob" and bye.get("to") == '"Alice" <sip:1000@pbx>;tag=alice'


def test_requests_from_the_peer_must_come_in_cseq_order() -> None:
    dialog = Dialog.as_callee(invite(), "bob")
    info = Request("INFO", "sip:x", [("cseq", "8 INFO")])
    assert dialog.accept(info)
    assert not dialog.accept(Request("INFO", "sip:x", [("cseq", "8 INFO")]))
    assert dialog.accept(Request("ACK", "sip:x", [("cseq", "7 ACK")]))  # ACK keeps the INVITE's number
    assert dialog.accept(Request("BYE", "sip:x", [("cseq", "9 BYE")]))
    assert dialog.state is DialogState.TERMINATED


def test_a_strict_router_in_the_route_set_becomes_the_request_uri() -> None:
    request = invite()
    request.set("record-route", "<sip:strict.example.com>")
    dialog = Dialog.as_caller(request, answer(request))
    bye = dialog.request("BYE", VIA)
    assert bye.uri == "sip:strict.example.com"
    assert bye.get_all("route") == ["<sip:2000@10.0.0.2:5070>"]


def test_answers_that_cannot_create_a_dialog() -> None:
    request = invite()
    trying = make_response(request, 100)
    with pytest.raises(DialogError, match="creates no dialog"):
        Dialog.as_caller(request, trying)
    no_contact = make_response(request, 200, to_tag="bob")
    with pytest.raises(DialogError, match="no Contact"):
        Dialog.as_caller(request, no_contact)
