"""A small SIP phone for service tests: registers, calls, answers, hangs up, over real UDP or
TCP sockets on 127.0.0.x. It answers digest challenges, sends ACKs, and follows the route set
that the PBX records, like a real phone.

Waiting is always bounded (``TIMEOUT``): a test that expects a message fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from dataclasses import dataclass, field

from pbxd.sip import digest
from pbxd.sip.dialog import Dialog
from pbxd.sip.message import Request, Response, make_response, new_tag, parse_message
from pbxd.sip.stream import StreamParser

TIMEOUT = 5.0


@dataclass
class Call:
    """The caller's or the callee's view of one call."""

    invite: Request
    responses: list[Response] = field(default_factory=list)
    final: Response | None = None
    dialog: Dialog | None = None

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    @property
    def statuses(self) -> list[int]:
        return [r.status for r in self.responses]

    @property
    def route_set(self) -> list[str]:
        return self.dialog.route_set if self.dialog is not None else []


class Phone:
    def __init__(
        self,
        number: str,
        password: str,
        *,
        host: str,
        pbx: tuple[str, int],
        transport: str = "udp",
        realm: str = "pbx.test",
    ) -> None:
        self.number = number
        self.password = password
        self.host = host
        self.pbx = pbx
        self.transport = transport
        self.realm = realm
        self.port = 0
        # How to answer an incoming INVITE: the statuses to send, in order ("ring" then final).
        self.answer: list[int] = [180, 200]
        # Whether answers copy Record-Route (RFC 3261 §12.1.1); SIPp's built-in uas does not.
        self.copy_record_route = True
        self.incoming: asyncio.Queue[Request] = asyncio.Queue()
        self.calls: dict[str, Call] = {}
        self._pending: dict[tuple[str, str], asyncio.Queue[Response]] = {}
        self._cseq = itertools.count(1)
        self._udp: asyncio.DatagramTransport | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._ringing: dict[str, Request] = {}
        self._tags: dict[str, str] = {}

    # --- sockets ---------------------------------------------------------------------------
    async def start(self) -> Phone:
        loop = asyncio.get_running_loop()
        if self.transport == "udp":
            phone = self

            class Protocol(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
                    phone._on_message(parse_message(data))

            transport, _ = await loop.create_datagram_endpoint(Protocol, local_addr=(self.host, 0))
            self._udp = transport
            self.port = transport.get_extra_info("sockname")[1]
        else:
            reader, writer = await asyncio.open_connection(
                self.pbx[0], self.pbx[1], local_addr=(self.host, 0)
            )
            self._writer = writer
            self.port = writer.get_extra_info("sockname")[1]
            self._reader_task = loop.create_task(self._read_stream(reader))
        return self

    async def _read_stream(self, reader: asyncio.StreamReader) -> None:
        parser = StreamParser()
        while data := await reader.read(65536):
            for event in parser.feed(data):
                if isinstance(event, Request | Response):
                    self._on_message(event)

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._writer is not None:
            self._writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()

    def send(self, message: Request | Response) -> None:
        data = message.to_bytes()
        if self._udp is not None:
            self._udp.sendto(data, self.pbx)
        else:
            assert self._writer is not None
            self._writer.write(data)

    # --- building requests -----------------------------------------------------------------
    @property
    def contact(self) -> str:
        transport = ";transport=tcp" if self.transport == "tcp" else ""
        return f"<sip:{self.number}@{self.host}:{self.port}{transport}>"

    def via(self) -> str:
        branch = f"z9hG4bK{secrets.token_hex(6)}"
        return f"SIP/2.0/{self.transport.upper()} {self.host}:{self.port};branch={branch};rport"

    def new_request(
        self,
        method: str,
        uri: str,
        *,
        to: str | None = None,
        call_id: str | None = None,
        cseq: int | None = None,
    ) -> Request:
        pbx = f"{self.pbx[0]}:{self.pbx[1]}"
        headers = [
            ("via", self.via()),
            ("max-forwards", "70"),
            ("from", f"<sip:{self.number}@{pbx}>;tag={new_tag()}"),
            ("to", to or f"<sip:{self.number}@{pbx}>"),
            ("call-id", call_id or f"{secrets.token_hex(8)}@{self.host}"),
            ("cseq", f"{cseq or next(self._cseq)} {method}"),
            ("contact", self.contact),
            ("user-agent", "pbxd-test-phone"),
        ]
        return Request(method, uri, headers)

    # --- transactions ----------------------------------------------------------------------
    async def transact(self, request: Request) -> list[Response]:
        """Send ``request``; return the responses up to and including the final one."""
        key = (request.top_via.branch, request.method)
        queue: asyncio.Queue[Response] = asyncio.Queue()
        self._pending[key] = queue
        self.send(request)
        responses: list[Response] = []
        try:
            while True:
                response = await asyncio.wait_for(queue.get(), TIMEOUT)
                responses.append(response)
                if response.status >= 200:
                    return responses
        finally:
            del self._pending[key]

    async def request_with_auth(self, request: Request) -> list[Response]:
        return (await self.send_with_auth(request))[1]

    async def send_with_auth(self, request: Request) -> tuple[Request, list[Response]]:
        """Send ``request``, answering one challenge; the request last sent and its responses."""
        responses = await self.transact(request)
        final = responses[-1]
        if final.status in (401, 407):
            if request.method == "INVITE":
                self.send(_ack_for(request, final))
            request = self.authorize(request, final)
            responses = await self.transact(request)
        return request, responses

    def authorize(
        self, request: Request, challenge: Response, *, algorithm: str | None = None, nc: int = 1
    ) -> Request:
        header = "www-authenticate" if challenge.status == 401 else "proxy-authenticate"
        challenges = challenge.get_all(header)
        chosen = challenges[0]
        if algorithm is not None:
            chosen = next(c for c in challenges if f"algorithm={algorithm}" in c)
        retry = request.copy()
        retry.set("via", self.via())
        number, method = request.cseq
        retry.set("cseq", f"{number + 1} {method}")
        answer = digest.authorization(
            challenge_value=chosen,
            method=request.method,
            uri=request.uri,
            username=self.number,
            password=self.password,
            cnonce=secrets.token_hex(4),
            nc=nc,
        )
        retry.set("authorization" if challenge.status == 401 else "proxy-authorization", answer)
        return retry

    # --- registering -----------------------------------------------------------------------
    async def register(
        self, expires: int = 600, *, extra: list[tuple[str, str]] | None = None, call_id: str | None = None
    ) -> Response:
        request = self.new_request("REGISTER", f"sip:{self.pbx[0]}:{self.pbx[1]}", call_id=call_id)
        request.headers.append(("expires", str(expires)))
        request.headers.extend(extra or [])
        return (await self.request_with_auth(request))[-1]

    # --- calling ---------------------------------------------------------------------------
    async def call(self, number: str, *, call_id: str | None = None) -> Call:
        pbx = f"{self.pbx[0]}:{self.pbx[1]}"
        invite = self.new_request(
            "INVITE", f"sip:{number}@{pbx}", to=f"<sip:{number}@{pbx}>", call_id=call_id
        )
        invite.body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        invite.headers.append(("content-type", "application/sdp"))
        sent, responses = await self.send_with_auth(invite)
        return self._conclude(sent, responses)

    async def start_call(
        self, number: str, *, call_id: str | None = None
    ) -> tuple[Request, asyncio.Queue[Response]]:
        """Send an (authenticated) INVITE and return at once with the queue of its responses."""
        pbx = f"{self.pbx[0]}:{self.pbx[1]}"
        invite = self.new_request(
            "INVITE", f"sip:{number}@{pbx}", to=f"<sip:{number}@{pbx}>", call_id=call_id
        )
        first = await self.transact(invite)
        self.send(_ack_for(invite, first[-1]))
        retry = self.authorize(invite, first[-1])
        queue: asyncio.Queue[Response] = asyncio.Queue()
        self._pending[(retry.top_via.branch, "INVITE")] = queue
        self.send(retry)
        return retry, queue

    def _conclude(self, invite: Request, responses: list[Response]) -> Call:
        call = Call(invite, responses, responses[-1])
        final = responses[-1]
        if final.status >= 300:
            self.send(_ack_for(invite, final))
            return call
        if 200 <= final.status < 300:
            call.dialog = Dialog.as_caller(invite, final)
            self.send(call.dialog.request("ACK", self.via(), cseq=invite.cseq[0]))
            self.calls[call.call_id] = call
        return call

    def in_dialog(self, call: Call, method: str) -> Request:
        assert call.dialog is not None, "the call has no dialog"
        return call.dialog.request(method, self.via())

    async def hang_up(self, call: Call) -> Response:
        return (await self.transact(self.in_dialog(call, "BYE")))[-1]

    async def cancel(self, invite: Request) -> Response:
        headers = [(k, v) for k, v in invite.headers if k in ("via", "from", "to", "call-id", "max-forwards")]
        headers.append(("cseq", f"{invite.cseq[0]} CANCEL"))
        cancel = Request("CANCEL", invite.uri, [headers[0], *headers[1:]])
        return (await self.transact(cancel))[-1]

    async def next_request(self, method: str) -> Request:
        while True:
            request = await asyncio.wait_for(self.incoming.get(), TIMEOUT)
            if request.method == method:
                return request

    # --- answering -------------------------------------------------------------------------
    def _on_message(self, message: Request | Response) -> None:
        if isinstance(message, Response):
            queue = self._pending.get((message.top_via.branch, message.cseq[1]))
            if queue is not None:
                queue.put_nowait(message)
            return
        self.incoming.put_nowait(message)
        if message.method == "INVITE" and message.tag("to") is None:
            self._answer_invite(message)
        elif message.method == "CANCEL":
            self.send(make_response(message, 200))
            invite = self._ringing.pop(message.top_via.branch, None)
            if invite is not None:
                self.send(make_response(invite, 487, to_tag=self._tags[message.call_id]))
        elif message.method == "BYE":
            call = self.calls.get(message.call_id)
            dialog = call.dialog if call is not None else None
            if dialog is not None and (message.tag("to"), message.tag("from")) != (
                dialog.local_tag,
                dialog.remote_tag,
            ):
                self.send(make_response(message, 481))  # §12.2.2: not this dialog's tags
                return
            self.calls.pop(message.call_id, None)
            in_order = dialog is None or dialog.accept(message)
            self.send(make_response(message, 200 if in_order else 500))
        elif message.method != "ACK":
            self.send(make_response(message, 200))

    def _answer_invite(self, invite: Request) -> None:
        tag = self._tags.setdefault(invite.call_id, new_tag())
        for status in self.answer:
            response = make_response(invite, status, to_tag=tag)
            if not self.copy_record_route:
                response.remove("record-route")
            if status < 300:
                response.headers.append(("contact", self.contact))
            self.send(response)
            if 200 <= status < 300:
                dialog = Dialog.as_callee(invite, tag)
                dialog.confirm(response)
                self.calls[invite.call_id] = Call(invite, final=response, dialog=dialog)
        if self.answer and self.answer[-1] < 200:
            self._ringing[invite.top_via.branch] = invite


def offered_algorithms(challenge: Response) -> list[str]:
    """The digest algorithms a 401 or 407 offers, in its order."""
    header = "www-authenticate" if challenge.status == 401 else "proxy-authenticate"
    return [value.split("algorithm=")[1].split(",")[0] for value in challenge.get_all(header)]


def _ack_for(invite: Request, final: Response) -> Request:
    headers = [(k, v) for k, v in invite.headers if k in ("via", "from", "call-id", "max-forwards")]
    headers.append(("to", final.get("to") or ""))
    headers.append(("cseq", f"{invite.cseq[0]} ACK"))
    return Request("ACK", invite.uri, headers)
