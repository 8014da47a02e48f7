"""The signature in pbxd's Record-Route: valid only for the dialog and key it was made for."""

from __future__ import annotations

from pbxd.routesign import Grant, RouteSigner
from pbxd.sip.uri import parse_uri

KEY = b"k" * 32


def params(signer: RouteSigner, call_id: str, caller_tag: str, offset: int = 0) -> dict[str, str | None]:
    return parse_uri(f"sip:127.0.0.1:5060;lr{signer.parameters(call_id, caller_tag, offset)}").params


def test_either_party_of_the_dialog_is_granted_with_the_callers_tag_and_offset() -> None:
    signer = RouteSigner(KEY)
    signed = params(signer, "call-1", "alice", 1)
    assert signed["cs"] == "1"
    # The caller's requests carry its tag as From tag, the callee's as To tag.
    assert signer.verify(signed, "call-1", ("alice", "bob")) == Grant("alice", 1)
    assert signer.verify(signed, "call-1", ("bob", "alice")) == Grant("alice", 1)
    assert "cs" not in params(signer, "call-1", "alice")  # no offset, no parameter


def test_another_call_tag_offset_key_or_a_missing_signature_is_refused() -> None:
    signer = RouteSigner(KEY)
    signed = params(signer, "call-1", "alice", 1)
    assert signer.verify(signed, "call-2", ("alice", "bob")) is None
    assert signer.verify(signed, "call-1", ("mallory", None)) is None
    assert signer.verify({**signed, "cs": "2"}, "call-1", ("alice", "bob")) is None
    assert signer.verify({**signed, "cs": "\u00b2"}, "call-1", ("alice", "bob")) is None
    assert RouteSigner(b"x" * 32).verify(signed, "call-1", ("alice", "bob")) is None
    assert signer.verify({"lr": None}, "call-1", ("alice", "bob")) is None
    # The node that takes over has the same key (from the database): it grants the same.
    assert RouteSigner(KEY).verify(signed, "call-1", ("alice", "bob")) == Grant("alice", 1)
