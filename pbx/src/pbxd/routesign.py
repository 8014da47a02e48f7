"""The signature pbxd writes into its own Record-Route, so that it relays in-dialog requests
only for dialogs it record-routed itself (anything else would make it an open relay: a request
with a To tag and a Route naming the PBX could be sent to any host, from the PBX's address).

The signature is an HMAC over the Call-ID, the caller's From tag and the CSeq offset (the
amount by which the PBX raised the CSeq towards the callee when it answered a trunk's
challenge on the caller's behalf). Either party's in-dialog requests carry the caller's tag, as
From or as To tag, and the route set the PBX recorded. The key is shared by every node through
the database, so that a node that takes over after a failover accepts the calls of the other.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from pbxd.sip.digest import KeyedHash
from pbxd.sip.uri import Params, parse_digits

SIGNATURE_PARAM = "pbxd"
OFFSET_PARAM = "cs"
# The name of the key in the database's shared secrets.
SECRET_NAME = "record-route"  # noqa: S105 - a name, not the secret
_SIGNATURE_LENGTH = 20  # hex digits: 80 bits


@dataclass(frozen=True, slots=True)
class Grant:
    """A valid signature: ``caller_tag`` is the From tag of the dialog's caller, ``offset`` the
    CSeq offset to add to the caller's requests (and take off the answers)."""

    caller_tag: str
    offset: int


class RouteSigner:
    def __init__(self, key: bytes) -> None:
        self._signer = KeyedHash(key)

    def parameters(self, call_id: str, caller_tag: str, offset: int = 0) -> str:
        """The URI parameters to append to a Record-Route of the dialog."""
        signature = self._sign(call_id, caller_tag, offset)
        cs = f";{OFFSET_PARAM}={offset}" if offset else ""
        return f"{cs};{SIGNATURE_PARAM}={signature}"

    def verify(self, params: Params, call_id: str, tags: tuple[str | None, str | None]) -> Grant | None:
        """The grant of a Route's URI parameters, if they sign this dialog (either of the
        request's From and To tags as the caller's), else None."""
        signature = params.get(SIGNATURE_PARAM)
        if not signature:
            return None
        offset_text = params.get(OFFSET_PARAM)
        offset = 0 if offset_text is None else parse_digits(offset_text, 3)
        if offset is None:
            return None
        for tag in tags:
            if tag is not None and hmac.compare_digest(self._sign(call_id, tag, offset), signature):
                return Grant(tag, offset)
        return None

    def _sign(self, call_id: str, caller_tag: str, offset: int) -> str:
        text = f"{call_id}\x00{caller_tag}\x00{offset}".encode("utf-8", "surrogateescape")
        return self._signer.hexdigest(text)[:_SIGNATURE_LENGTH]
