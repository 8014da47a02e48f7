# Copyright: (c) 2026, pbxops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A test phone without I/O: it builds the requests a phone sends and answers the ones it gets.

The phone uses its PBX as outbound proxy (every request goes to it, Route headers say where it
goes next), which is how phones behind one registrar work and why no DNS is needed. It answers
an incoming call at once (180 then 200) and a BYE with 200, so the smoke test needs no person.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field

from ansible_collections.pbxops.wsfc.plugins.module_utils.sip_message import (
    Message,
    authorization,
    choose_challenge,
    response_to,
    split_list,
    uri_in,
)

USER_AGENT = "pbxops-sip-check"
_SDP = b"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass
class Dialog:
    """What a caller keeps of an answered call to send the ACK and the BYE (RFC 3261 §12.1.2)."""

    call_id: str
    local: str  # our From value, with our tag
    remote: str  # the To value of the 2xx, with the callee's tag
    remote_target: str
    route_set: list[str]
    cseq: int


@dataclass
class Phone:
    number: str
    password: str = field(repr=False)
    local: Address
    server: Address
    # Requests the PBX sent this phone, by method, so a check can see that the call arrived.
    received: list[Message] = field(default_factory=list)
    _cseq: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    # A retransmitted request gets the same responses again (RFC 3261 §17.2), not a second answer.
    _answered: dict[tuple[str, str], list[Message]] = field(default_factory=dict, repr=False)

    # --- requests ------------------------------------------------------------------------------
    @property
    def aor(self) -> str:
        return f"sip:{self.number}@{self.server}"

    @property
    def contact(self) -> str:
        return f"<sip:{self.number}@{self.local}>"

    def _via(self) -> str:
        return f"SIP/2.0/UDP {self.local};branch=z9hG4bK{secrets.token_hex(8)};rport"

    def _request(self, method: str, uri: str, *, to: str, call_id: str | None = None) -> Message:
        headers = [
            ("via", self._via()),
            ("max-forwards", "70"),
            ("from", f"<{self.aor}>;tag={secrets.token_hex(6)}"),
            ("to", to),
            ("call-id", call_id or f"{secrets.token_hex(10)}@{self.local.host}"),
            ("cseq", f"{next(self._cseq)} {method}"),
            ("contact", self.contact),
            ("user-agent", USER_AGENT),
        ]
        return Message(f"{method} {uri} SIP/2.0", headers)

    def options(self) -> Message:
        return self._request("OPTIONS", f"sip:{self.server}", to=f"<sip:{self.server}>")

    def register(self, expires: int) -> Message:
        request = self._request("REGISTER", f"sip:{self.server}", to=f"<{self.aor}>")
        request.headers.append(("expires", str(expires)))
        return request

    def invite(self, number: str) -> Message:
        target = f"sip:{number}@{self.server}"
        request = self._request("INVITE", target, to=f"<{target}>")
        request.headers.append(("content-type", "application/sdp"))
        request.body = _SDP.replace(b"{host}", self.local.host.encode())
        return request

    def authorize(self, request: Message, challenge: Message) -> Message:
        """``request`` again with the digest answer to a 401 or 407, a new branch and CSeq + 1."""
        proxy = challenge.status == 407
        params = choose_challenge(challenge.get_all("proxy-authenticate" if proxy else "www-authenticate"))
        retry = Message(request.start_line, list(request.headers), request.body)
        retry.set("via", self._via())
        number, method = request.cseq
        retry.set("cseq", f"{number + 1} {method}")
        answer = authorization(
            params,
            method=method,
            uri=request.uri,
            username=self.number,
            password=self.password,
            cnonce=secrets.token_hex(8),
        )
        retry.set("proxy-authorization" if proxy else "authorization", answer)
        return retry

    def ack_failure(self, invite: Message, final: Message) -> Message:
        """The hop-by-hop ACK of a non-2xx final response: same branch as the INVITE (§17.1.1.3)."""
        headers = [(k, v) for k, v in invite.headers if k in ("via", "max-forwards", "from", "call-id")]
        headers.append(("to", final.get("to") or ""))
        headers.append(("cseq", f"{invite.cseq[0]} ACK"))
        return Message(f"ACK {invite.uri} SIP/2.0", headers)

    def confirm(self, invite: Message, answer: Message) -> tuple[Dialog, Message]:
        """The dialog an answered INVITE made, and its end-to-end ACK (§13.2.2.4)."""
        dialog = Dialog(
            call_id=invite.call_id,
            local=invite.get("from") or "",
            remote=answer.get("to") or "",
            remote_target=uri_in(answer.get("contact") or invite.uri),
            route_set=list(
                reversed([v for value in answer.get_all("record-route") for v in split_list(value)])
            ),
            cseq=invite.cseq[0],
        )
        return dialog, self._in_dialog(dialog, "ACK", dialog.cseq)

    def bye(self, dialog: Dialog) -> Message:
        dialog.cseq += 1
        return self._in_dialog(dialog, "BYE", dialog.cseq)

    def _in_dialog(self, dialog: Dialog, method: str, cseq: int) -> Message:
        headers = [("via", self._via()), ("max-forwards", "70")]
        headers += [("route", route) for route in dialog.route_set]
        headers += [
            ("from", dialog.local),
            ("to", dialog.remote),
            ("call-id", dialog.call_id),
            ("cseq", f"{cseq} {method}"),
            ("user-agent", USER_AGENT),
        ]
        return Message(f"{method} {dialog.remote_target} SIP/2.0", headers)

    # --- answering -----------------------------------------------------------------------------
    def answer(self, request: Message) -> list[Message]:
        """The responses to a request the PBX sent: a call is answered at once, a BYE accepted."""
        method = request.method
        key = (request.top_branch, method)
        if key in self._answered:
            return self._answered[key]
        self.received.append(request)
        if method == "ACK":
            return []
        responses = self._respond(request)
        self._answered[key] = responses
        return responses

    def _respond(self, request: Message) -> list[Message]:
        if request.method != "INVITE" or request.tag("to") is not None:
            return [response_to(request, 200)]
        tag = secrets.token_hex(6)
        ringing = response_to(request, 180, to_tag=tag)
        answered = response_to(request, 200, to_tag=tag)
        answered.headers += [("contact", self.contact), ("content-type", "application/sdp")]
        answered.body = _SDP.replace(b"{host}", self.local.host.encode())
        return [ringing, answered]

    def received_methods(self) -> list[str]:
        return [request.method for request in self.received]
