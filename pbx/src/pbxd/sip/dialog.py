"""SIP dialogs (RFC 3261 §12) for user agents, free of I/O.

A dialog is what a caller and a callee share after an INVITE: Call-ID, both tags, the route
set recorded by proxies, the peer's target URI and the CSeq counters. The proxy itself keeps
no dialogs (it record-routes and routes by Route and Request-URI, so calls survive a failover);
user agents built on this core (the test phones, a future conference or voicemail service) do.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from pbxd.sip.message import Request, Response
from pbxd.sip.uri import UriError, parse_name_addr


class DialogError(ValueError):
    """A message that cannot create or belong to a dialog."""


class DialogState(enum.Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass(slots=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # From (caller) or To (callee) without its tag
    remote_uri: str
    remote_target: str  # the peer's Contact URI: where in-dialog requests go
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 0
    remote_cseq: int | None = None
    state: DialogState = DialogState.EARLY

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_caller(cls, invite: Request, response: Response) -> Dialog:
        """The caller's dialog from a 1xx (with a To tag) or 2xx to its INVITE (§12.1.2)."""
        remote_tag = response.tag("to")
        if remote_tag is None or not 100 < response.status < 300:
            raise DialogError(f"a {response.status} without a To tag creates no dialog")
        return cls(
            call_id=invite.call_id,
            local_tag=invite.tag("from") or "",
            remote_tag=remote_tag,
            local_uri=_without_tag(invite.get("from")),
            remote_uri=_without_tag(invite.get("to")),
            remote_target=_contact_uri(response),
            route_set=list(reversed(response.get_all("record-route"))),
            local_cseq=invite.cseq[0],
            state=DialogState.CONFIRMED if response.status >= 200 else DialogState.EARLY,
        )

    @classmethod
    def as_callee(cls, invite: Request, local_tag: str) -> Dialog:
        """The callee's dialog when it answers ``invite`` with ``local_tag`` (§12.1.1)."""
        return cls(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=invite.tag("from") or "",
            local_uri=_without_tag(invite.get("to")),
            remote_uri=_without_tag(invite.get("from")),
            remote_target=_contact_uri(invite),
            route_set=invite.get_all("record-route"),
            remote_cseq=invite.cseq[0],
        )

    def confirm(self, response: Response) -> None:
        """A 2xx arrived (caller) or was sent (callee): the dialog is confirmed; a caller takes
        the 2xx's Contact as the new target (§12.2.1.2)."""
        if 200 <= response.status < 300 and self.state is DialogState.EARLY:
            self.state = DialogState.CONFIRMED
            if response.tag("to") == self.remote_tag:
                self.remote_target = _contact_uri(response)

    def request(self, method: str, via: str, *, cseq: int | None = None) -> Request:
        """An in-dialog request (§12.2.1.1). ACK and CANCEL reuse the INVITE's CSeq number:
        pass it as ``cseq``; other methods take the next local number."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        uri, routes = self.remote_target, list(self.route_set)
        if routes and ";lr" not in routes[0]:
            # A strict router first in the set: it becomes the Request-URI (§12.2.1.1).
            uri = parse_name_addr(routes[0]).uri.__str__()
            routes = [*routes[1:], f"<{self.remote_target}>"]
        headers = [
            ("via", via),
            ("max-forwards", "70"),
            ("from", f"{self.local_uri};tag={self.local_tag}"),
            ("to", f"{self.remote_uri};tag={self.remote_tag}"),
            ("call-id", self.call_id),
            ("cseq", f"{cseq} {method}"),
        ]
        headers += [("route", route) for route in routes]
        if method == "BYE":
            self.state = DialogState.TERMINATED
        return Request(method, uri, headers)

    def accept(self, request: Request) -> bool:
        """Whether an in-dialog request from the peer is in order (§12.2.2): a CSeq lower than
        the last one is refused (answer 500). A BYE ends the dialog."""
        number = request.cseq[0]
        if request.method not in ("ACK", "CANCEL"):
            if self.remote_cseq is not None and number <= self.remote_cseq:
                return False
            self.remote_cseq = number
        if request.method == "BYE":
            self.state = DialogState.TERMINATED
        return True


def _without_tag(value: str | None) -> str:
    try:
        name_addr = parse_name_addr(value or "")
    except UriError as error:
        raise DialogError(str(error)) from None
    name_addr.params.pop("tag", None)
    return str(name_addr)


def _contact_uri(message: Request | Response) -> str:
    contact = message.get("contact")
    if contact is None:
        raise DialogError("a dialog-creating message has no Contact")
    try:
        return str(parse_name_addr(contact).uri)
    except UriError as error:
        raise DialogError(f"Contact {contact!r}: {error}") from None
